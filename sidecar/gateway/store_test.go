package gateway

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/nyx-privacy/nyx/sidecar/gatewayclient"
	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	"github.com/nyx-privacy/nyx/sidecar/tomltime"
)

// keysSharingStripe returns two client keys whose identities fall in the
// same stripe (the same first byte).
func keysSharingStripe(t *testing.T) (ed25519.PrivateKey, ed25519.PrivateKey) {
	a := newClientKey(t)
	for {
		b := newClientKey(t)
		if idOf(b)[0] == idOf(a)[0] {
			return a, b
		}
	}
}

// TestStalledStoreDoesNotBlockOthers holds the store's writer (as a long
// commit would) while a delivery to an offline client waits for it; a
// delivery to a connected client of the same stripe must still be pushed.
// Before the group commit, Deliver held the stripe across the commit.
func TestStalledStoreDoesNotBlockOthers(t *testing.T) {
	g := newTestGateway(t, Config{}, nil)
	offline, online := keysSharingStripe(t)
	c, _ := register(t, g, offline)
	c.Close()
	waitFor(t, "the session to end", func() bool { return value(g.m.connected) == 0 })
	conn, _ := register(t, g, online)
	waitLive(t, g, idOf(online))

	release := make(chan struct{})
	held := make(chan struct{})
	go g.st.db.Update(func(*bolt.Tx) error {
		close(held)
		<-release
		return nil
	})
	<-held
	stored := make(chan error, 1)
	go func() { stored <- g.store(idOf(offline), []byte("waits for the disk")) }()
	waitFor(t, "the offline delivery to be submitted", func() bool {
		st := g.stripe(idOf(offline))
		st.Lock()
		defer st.Unlock()
		return st.storing[idOf(offline)] == 1
	})
	if err := g.store(idOf(online), []byte("pushed meanwhile")); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, conn); string(m.Payload) != "pushed meanwhile" {
		t.Fatalf("got %q", m.Payload)
	}
	select {
	case err := <-stored:
		t.Fatalf("the offline delivery returned (%v) before its commit could run", err)
	default:
	}
	close(release)
	if err := <-stored; err != nil {
		t.Fatal(err)
	}
	if got := g.StoredMessages(ptr(idOf(offline))); got != 1 {
		t.Fatalf("stored %d", got)
	}
}

func ptr(id [32]byte) *[32]byte { return &id }

// TestByteQuotas fills a client's quota and the store's, and checks the
// refusals (error and metric), that nothing is stored beyond them and that
// they cost no commit, and that messages accepted while the client was
// connected survive its disconnect at a full quota.
func TestByteQuotas(t *testing.T) {
	const size = 1000
	cost := messageCost(size)
	g := newTestGateway(t, Config{MaxStoredBytesPerClient: 2 * cost, MaxStoredBytes: 3 * cost, MaxPayloadSize: size}, nil)
	a, b := newClientKey(t), newClientKey(t)
	ca, keyA := register(t, g, a)
	waitLive(t, g, idOf(a))
	cb, _ := register(t, g, b)
	cb.Close()
	waitFor(t, "b's session to end", func() bool { return value(g.m.connected) == 1 })

	// a is connected: two messages are pushed from memory and count.
	for i := range 2 {
		if err := g.store(idOf(a), bytes.Repeat([]byte{byte(i)}, size)); err != nil {
			t.Fatal(err)
		}
	}
	commits, _ := g.st.commitStats()
	if err := g.store(idOf(a), make([]byte, size)); !errors.Is(err, ErrInboxFull) {
		t.Fatalf("beyond a's quota: %v", err)
	}
	// b may take what is left of the store's quota, one message.
	if err := g.store(idOf(b), make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	after, _ := g.st.commitStats()
	if err := g.store(idOf(b), make([]byte, size)); !errors.Is(err, ErrStoreFull) {
		t.Fatalf("beyond the store's quota: %v", err)
	}
	if now, _ := g.st.commitStats(); now != after || after != commits+1 {
		t.Fatalf("commits %d → %d → %d: a refusal reached the store", commits, after, now)
	}
	if refused(g, ReasonInboxFull) != 1 || refused(g, ReasonStoreFull) != 1 {
		t.Fatalf("refusals: inbox_full %v store_full %v", refused(g, ReasonInboxFull), refused(g, ReasonStoreFull))
	}
	if g.StoredMessages(nil) != 1 || g.st.heldBytes(nil) != 3*cost {
		t.Fatalf("stored %d, held %d bytes", g.StoredMessages(nil), g.st.heldBytes(nil))
	}

	// a leaves without acknowledging: its two in-memory messages are
	// stored (no quota check can refuse them now), and come back.
	for range 2 {
		receive(t, ca)
	}
	ca.Close()
	waitFor(t, "a's messages to be stored", func() bool { return g.StoredMessages(ptr(idOf(a))) == 2 })
	ca2 := dialT(t, g, a, keyA)
	for i := range 2 {
		m := receive(t, ca2)
		if !bytes.Equal(m.Payload, bytes.Repeat([]byte{byte(i)}, size)) {
			t.Fatalf("message %d after the reconnect: %d bytes", i, len(m.Payload))
		}
		if i == 1 {
			ca2.Ack(m.ID)
		}
	}
	waitFor(t, "a's quota to be free", func() bool { return g.st.heldBytes(ptr(idOf(a))) == 0 })
	if err := g.store(idOf(a), make([]byte, size)); err != nil {
		t.Fatalf("after the acknowledgements: %v", err)
	}
}

func dialT(t *testing.T, g *testGateway, client ed25519.PrivateKey, key gatewayproto.SharedKey) *gatewayclient.Conn {
	t.Helper()
	c, err := gatewayclient.Dial(ctx(t), g.url, g.Identity(), client, key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestUnusedRegistrationExpires drives the gateway's clock past
// MaxClientIdle: a registration never used again is forgotten with its
// inbox; one that authenticated meanwhile stays.
func TestUnusedRegistrationExpires(t *testing.T) {
	const idle = 30 * 24 * time.Hour
	g := newTestGateway(t, Config{MaxClientIdle: tomltime.Duration(idle), MaxMessageAge: tomltime.Duration(365 * 24 * time.Hour)}, nil)
	var mu sync.Mutex
	now := time.Now()
	g.setClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	unused, used := newClientKey(t), newClientKey(t)
	c, _ := register(t, g, unused)
	c.Close()
	c, key := register(t, g, used)
	c.Close()
	waitFor(t, "the sessions to end", func() bool { return value(g.m.connected) == 0 })
	for i := range 3 {
		if err := g.store(idOf(unused), payloadN(i)); err != nil {
			t.Fatal(err)
		}
	}
	advance(idle - time.Hour)
	dialT(t, g, used, key).Close()
	waitFor(t, "the session to end", func() bool { return value(g.m.connected) == 0 })
	advance(2 * time.Hour)
	st := g.expire()
	if st.clients != 1 || st.messages != 3 || value(g.m.forgotten) != 1 {
		t.Fatalf("sweep %+v, forgotten %v", st, value(g.m.forgotten))
	}
	if _, err := g.st.client(idOf(unused)); !errors.Is(err, ErrUnknownClient) {
		t.Fatalf("the unused registration is still there: %v", err)
	}
	if g.StoredMessages(ptr(idOf(unused))) != 0 || g.st.heldBytes(nil) != 0 {
		t.Fatal("its inbox is still counted")
	}
	g.st.db.View(func(tx *bolt.Tx) error {
		if id := idOf(unused); tx.Bucket(bucketInbox).Bucket(id[:]) != nil {
			t.Error("its inbox bucket is still there")
		}
		return nil
	})
	if err := g.store(idOf(unused), []byte("x")); !errors.Is(err, ErrUnknownClient) {
		t.Fatalf("delivery to the forgotten client: %v", err)
	}
	if _, err := g.st.client(idOf(used)); err != nil {
		t.Fatalf("the client that authenticated was forgotten: %v", err)
	}
	dialT(t, g, used, key)
}

// TestSweepInSmallTransactions expires 100,000 messages and checks that no
// sweep transaction deletes more than sweepBatch of them: the writer's
// lock, which every delivery's commit needs, is never held for long.
func TestSweepInSmallTransactions(t *testing.T) {
	g := newTestGateway(t, Config{MaxMessageAge: tomltime.Duration(time.Hour)}, nil)
	ids := registerOfflineT(t, g, 4)
	const n = 100_000
	old := time.Now().Add(-2 * time.Hour)
	// Written straight into the file, in big transactions: only the sweep
	// is under test.
	held := map[[32]byte]int64{}
	for done := 0; done < n; {
		err := g.st.db.Update(func(tx *bolt.Tx) error {
			for i := 0; i < 10_000; i++ {
				id := ids[(done+i)%len(ids)]
				b := tx.Bucket(bucketInbox).Bucket(id[:])
				seq, _ := b.NextSequence()
				if err := b.Put(seqKey(seq), marshalMessage(old, payloadN(done+i))); err != nil {
					return err
				}
				held[id] += messageCost(len(payloadN(done + i)))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		done += 10_000
	}
	for _, id := range ids {
		g.st.account(id, n/len(ids), held[id])
	}
	if err := g.store(ids[0], []byte("young")); err != nil {
		t.Fatal(err)
	}
	st := g.expire()
	if st.messages != n || st.maxPerTx > sweepBatch || st.txs < n/sweepBatch {
		t.Fatalf("sweep of %d messages: %+v (at most %d deletions per transaction)", n, st, sweepBatch)
	}
	if g.StoredMessages(nil) != 1 || g.st.heldBytes(nil) != messageCost(len("young")) {
		t.Fatalf("left %d messages, %d bytes", g.StoredMessages(nil), g.st.heldBytes(nil))
	}
}

func registerOfflineT(t *testing.T, g *testGateway, n int) [][32]byte {
	var ids [][32]byte
	for range n {
		id := idOf(newClientKey(t))
		if err := g.st.putClient(id, clientRecord{RegisteredAt: time.Now(), LastSeen: time.Now()}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// TestSweepPagesThroughClients forgets more idle clients than one page of
// the sweep holds.
func TestSweepPagesThroughClients(t *testing.T) {
	g := newTestGateway(t, Config{MaxClientIdle: tomltime.Duration(time.Hour)}, nil)
	const n = 2*sweepPage + 500
	long := time.Now().Add(-2 * time.Hour)
	err := g.st.db.Update(func(tx *bolt.Tx) error {
		for range n {
			id := idOf(newClientKey(t))
			if err := tx.Bucket(bucketClients).Put(id[:], clientRecord{RegisteredAt: long, LastSeen: long}.marshal()); err != nil {
				return err
			}
			if _, err := tx.Bucket(bucketInbox).CreateBucket(id[:]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	kept := registerOfflineT(t, g, 1)[0]
	if st := g.expire(); st.clients != n {
		t.Fatalf("forgot %d of %d idle clients", st.clients, n)
	}
	g.st.db.View(func(tx *bolt.Tx) error {
		if k := tx.Bucket(bucketClients).Stats().KeyN; k != 1 {
			t.Errorf("%d client records left, want 1", k)
		}
		if tx.Bucket(bucketClients).Get(kept[:]) == nil {
			t.Error("the client seen just now was forgotten")
		}
		return nil
	})
}

// TestMaxClients: registrations of new identities stop at MaxClients (each
// takes room on disk, and anyone may make any number); a known identity
// may register again, and a place comes back when a client is forgotten.
func TestMaxClients(t *testing.T) {
	g := newTestGateway(t, Config{MaxClients: 3, MaxClientIdle: tomltime.Duration(time.Hour)}, nil)
	var keys []ed25519.PrivateKey
	for range 3 {
		k := newClientKey(t)
		c, _ := register(t, g, k)
		c.Close()
		keys = append(keys, k)
	}
	extra := newClientKey(t)
	if _, _, err := gatewayclient.Register(ctx(t), g.url, g.Identity(), extra); !errors.Is(err, gatewayclient.ErrRefused) || !strings.Contains(err.Error(), ReasonTooManyClients) {
		t.Fatalf("a fourth identity: %v", err)
	}
	if refused(g, ReasonTooManyClients) != 1 || g.st.registered() != 3 {
		t.Fatalf("too_many_clients %v, registered %d", refused(g, ReasonTooManyClients), g.st.registered())
	}
	c, _ := register(t, g, keys[0]) // again: its own place
	c.Close()
	waitFor(t, "the sessions to end", func() bool { return value(g.m.connected) == 0 })
	later := time.Now().Add(2 * time.Hour)
	g.setClock(func() time.Time { return later })
	if st := g.expire(); st.clients != 3 || g.st.registered() != 0 {
		t.Fatalf("sweep %+v, registered %d", st, g.st.registered())
	}
	register(t, g, extra)
}
