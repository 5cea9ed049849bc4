package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/tomltime"
	"github.com/nyx-privacy/nyx/sidecar/topology"
)

// TestKilledClientLosesNothing: B receives three messages and one chunk
// of a four-chunk message has been lost on the way (its sender sends it
// again later); B's app reads one message; B is killed (no state written
// at its stop) after its gateway forgot all it delivered. Restarted, B
// hands its app the two unread messages and the four-chunk message once
// the lost chunk comes again (the other chunks came back from the
// journal), and nothing twice.
//
// Compacted: the journal is compacted (a snapshot written, the file
// emptied) after every payload, with the same outcome.
func TestKilledClientLosesNothing(t *testing.T) {
	t.Run("journal", func(t *testing.T) { testKilledClient(t, false) })
	t.Run("compacted", func(t *testing.T) { testKilledClient(t, true) })
}

func testKilledClient(t *testing.T, compact bool) {
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	n := newTestNet(t, 1)
	urlA, _ := startGateway(t, n, 0)
	urlB, gB := startGateway(t, n, 1)
	gwA := [32]byte(n.gwIDs[0].Public().(ed25519.PublicKey))
	gwB := [32]byte(n.gwIDs[1].Public().(ed25519.PublicKey))
	topo := func() *topology.Topology { return n.topo }

	var toB, dropped atomic.Int64
	n.drop = func(gw [32]byte) bool {
		// The first packet to B's gateway, a chunk of the long message.
		return gw == gwB && toB.Add(1) == 1 && dropped.Add(1) == 1
	}

	alice := mustKeys(t)
	sharedA, err := Register(ctx, urlA, gwA, alice)
	if err != nil {
		t.Fatal(err)
	}
	cfgA := Config{GatewayURL: urlA, GatewayIdentity: gwA, Sender: DefaultSenderConfig()}
	cfgA.Sender.AverageSendDelay, cfgA.Sender.AveragePacketDelay = 0, 0
	// Long enough that the lost chunk comes again only after the kill.
	cfgA.Sender.AckWait = tomltime.Duration(3 * time.Second)
	a, err := New(cfgA, alice, sharedA, topo, nil)
	if err != nil {
		t.Fatal(err)
	}
	go a.Run(ctx)
	waitConnected(t, a)

	bob := mustKeys(t)
	sharedB, err := Register(ctx, urlB, gwB, bob)
	if err != nil {
		t.Fatal(err)
	}
	cfgB := Config{GatewayURL: urlB, GatewayIdentity: gwB, Sender: DefaultSenderConfig(), StateFile: filepath.Join(t.TempDir(), "state.json")}
	b, err := New(cfgB, bob, sharedB, topo, nil)
	if err != nil {
		t.Fatal(err)
	}
	if compact {
		b.journal.max = 1
	}
	bctx, kill := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		b.Run(bctx)
	}()
	waitConnected(t, b)

	long := bytes.Repeat([]byte("0123456789"), 3*ChunkCapacity(defaultPayload)/10+20)
	want := map[string]bool{string(long): true}
	if _, err := a.Send(ctx, bob.Address(gwB), long); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the long message's chunks to reach B's gateway", func() bool { return toB.Load() == 4 })
	for i := range 3 {
		m := []byte{'m', byte(i)}
		want[string(m)] = true
		if _, err := a.Send(ctx, bob.Address(gwB), m); err != nil {
			t.Fatal(err)
		}
	}
	id := bob.IdentityPublic()
	waitUntil(t, "B to receive three messages and its gateway to forget them", func() bool {
		return b.Stats().Received == 3 && toB.Load() == 7 && gB.StoredMessages(&id) == 0
	})
	m, err := b.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !want[string(m.Data)] || len(m.Data) != 2 {
		t.Fatalf("read %q before the kill", m.Data)
	}
	delete(want, string(m.Data))
	if toB.Load() != 7 {
		t.Fatal("the lost chunk came again before the kill: make AckWait longer")
	}

	if compact {
		if b.journal.compactions.Load() == 0 {
			t.Fatal("the journal was never compacted")
		}
	}
	b.abandon.Store(true)
	kill()
	<-ran
	b2, err := New(cfgB, bob, sharedB, topo, nil)
	if err != nil {
		t.Fatal(err)
	}
	ran2 := make(chan struct{})
	go func() {
		defer close(ran2)
		b2.Run(ctx)
	}()
	// b2 writes its state when it stops: before the temporary dir goes.
	defer func() {
		cancel()
		<-ran2
	}()
	for len(want) > 0 {
		m, err := b2.Receive(ctx)
		if err != nil {
			t.Fatalf("%d messages lost: %v", len(want), err)
		}
		if !want[string(m.Data)] {
			t.Fatalf("a message handed out again or unknown: %.20q", m.Data)
		}
		delete(want, string(m.Data))
	}
	// Everything acknowledged end to end: nothing more is on its way.
	waitUntil(t, "A's messages to be acknowledged", func() bool {
		st := a.Stats()
		return st.Pending == 0
	})
	rctx, rcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer rcancel()
	if m, err := b2.Receive(rctx); err == nil {
		t.Fatalf("handed out again: %.20q", m.Data)
	}
}

// defaultPayload is the payload size of the default geometry.
var defaultPayload = DefaultSenderConfig().Geometry.PayloadSize

// TestJournalTornTail: a record cut short by a kill ends the replay; the
// records before it are kept.
func TestJournalTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j")
	j, err := openJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	first, second := chunkRecord([]byte("piece"), true, SenderTag{9}), takenRecord(MessageID{4})
	c1, c2 := j.commit(first), j.commit(second)
	if err := <-c1; err != nil {
		t.Fatal(err)
	}
	if err := <-c2; err != nil {
		t.Fatal(err)
	}
	if err := j.close(); err != nil {
		t.Fatal(err)
	}
	if err := <-j.commit(nil); err == nil {
		t.Fatal("a closed journal took a commit")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs := readJournal(b)
	if len(recs) != 2 || !recs[0].reply || recs[0].rtag != (SenderTag{9}) || string(recs[0].plain) != "piece" || recs[1].id != (MessageID{4}) {
		t.Fatalf("read back %+v", recs)
	}
	if recs := readJournal(b[:len(b)-1]); len(recs) != 1 {
		t.Fatalf("torn tail: %d records", len(recs))
	}
	b[9] ^= 1
	if recs := readJournal(b); len(recs) != 0 {
		t.Fatalf("damaged first record: %d records", len(recs))
	}
}
