package mixnode

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nyx-privacy/nyx/sidecar/tomltime"
	"github.com/nyx-privacy/nyx/sidecar/wire"
	"github.com/nyx-privacy/nyx/sphinx"
)

// testNet is a few real nodes on loopback that resolve each other.
type testNet struct {
	t     *testing.T
	log   *slog.Logger // for the nodes started next; nil discards
	mu    sync.Mutex
	addrs map[[32]byte]string
}

func newTestNet(t *testing.T) *testNet {
	return &testNet{t: t, addrs: map[[32]byte]string{}}
}

func (tn *testNet) resolve(id [32]byte) (string, bool) {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	a, ok := tn.addrs[id]
	return a, ok
}

// inbox is a Deliverer that records what it is given.
type inbox struct {
	mu   sync.Mutex
	got  []delivery
	fail error
	ch   chan struct{}
}

type delivery struct {
	dest    [32]byte
	payload []byte
}

func newInbox() *inbox { return &inbox{ch: make(chan struct{}, 1024)} }

func (b *inbox) Deliver(dest [32]byte, payload []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fail != nil {
		return b.fail
	}
	b.got = append(b.got, delivery{dest, payload})
	b.ch <- struct{}{}
	return nil
}

func (b *inbox) wait(t *testing.T, n int) []delivery {
	t.Helper()
	for range n {
		select {
		case <-b.ch:
		case <-time.After(20 * time.Second):
			t.Fatalf("waited for %d deliveries", n)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]delivery(nil), b.got...)
}

type testNode struct {
	*Node
	id    [32]byte
	ident ed25519.PrivateKey
	key   *sphinx.PrivateKey
	addr  string
	reg   *prometheus.Registry
}

// identities maps a test node's address to its identity, for dial.
var identities sync.Map

// start starts a node on a fresh loopback port (or addr, if given).
func (tn *testNet) start(cfg Config, addr string) *testNode {
	t := tn.t
	_, ident, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := sphinx.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return tn.startWith(cfg, addr, ident, key)
}

func (tn *testNet) startWith(cfg Config, addr string, ident ed25519.PrivateKey, key *sphinx.PrivateKey) *testNode {
	t := tn.t
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ReplayRate == 0 {
		cfg.ReplayRate, cfg.ReplayWindow = 100, tomltime.Duration(time.Minute)
	}
	cfg.Identity = ident
	reg := prometheus.NewRegistry()
	n, err := New(cfg, key, tn.resolve, tn.log, reg)
	if err != nil {
		t.Fatal(err)
	}
	go n.Serve(l)
	t.Cleanup(func() { n.Close() })
	id := [32]byte(ident.Public().(ed25519.PublicKey))
	tn.mu.Lock()
	tn.addrs[id] = l.Addr().String()
	tn.mu.Unlock()
	identities.Store(l.Addr().String(), id)
	return &testNode{Node: n, id: id, ident: ident, key: key, addr: l.Addr().String(), reg: reg}
}

func (n *testNode) hop(d time.Duration) sphinx.Hop {
	return sphinx.Hop{Address: n.id, PublicKey: n.key.PublicKey(), Delay: d}
}

func packet(t *testing.T, dest [32]byte, msg []byte, hops ...sphinx.Hop) []byte {
	t.Helper()
	p, err := sphinx.Regular.NewPacket(rand.Reader, hops, sphinx.Destination{Address: dest}, msg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sender is a raw connection to a node's mix port.
type sender struct {
	c net.Conn
	w *wire.Writer
}

func dial(t *testing.T, addr string) *sender {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return linkOver(t, c, addr)
}

// linkOver runs the handshake of a stranger (a fresh identity, not in the
// topology) with the node at addr over c.
func linkOver(t *testing.T, c net.Conn, addr string) *sender {
	t.Helper()
	id, ok := identities.Load(addr)
	if !ok {
		t.Fatalf("no test node at %s", addr)
	}
	_, ident, _ := ed25519.GenerateKey(rand.Reader)
	k, err := wire.NewLinkKey(ident)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	s, err := wire.Initiate(c, k, id.([32]byte))
	if err != nil {
		t.Fatalf("link to %s: %v", addr, err)
	}
	_ = c.SetDeadline(time.Time{})
	w, err := wire.NewSecureWriter(c, s)
	if err != nil {
		t.Fatal(err)
	}
	return &sender{c: c, w: w}
}

func (s *sender) send(t *testing.T, packets ...[]byte) {
	t.Helper()
	for _, p := range packets {
		if err := s.w.WritePacket(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond until it holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestThreeHops(t *testing.T) {
	tn := newTestNet(t)
	a, b, c := tn.start(Config{}, ""), tn.start(Config{}, ""), tn.start(Config{}, "")
	box := newInbox()
	c.SetDeliverer(box)
	var bob [32]byte
	rand.Read(bob[:])
	msgs := [][]byte{[]byte("hello bob"), []byte("second"), bytes.Repeat([]byte{0xab}, sphinx.Regular.PayloadSize)}
	s := dial(t, a.addr)
	for _, m := range msgs {
		s.send(t, packet(t, bob, m, a.hop(time.Millisecond), b.hop(0), c.hop(2*time.Millisecond)))
	}
	got := box.wait(t, len(msgs))
	for _, want := range msgs {
		found := false
		for _, d := range got {
			if d.dest == bob && bytes.Equal(d.payload[:len(want)], want) && len(d.payload) == sphinx.Regular.PayloadSize {
				found = true
			}
		}
		if !found {
			t.Fatalf("message %q not delivered", want)
		}
	}
	// Counters move once a write or delivery has returned, possibly after
	// the sink has the packet.
	eventually(t, "three forwarded", func() bool { return a.Stats().Forwarded == 3 })
	eventually(t, "three delivered", func() bool { return c.Stats().Delivered == 3 })
	if st := a.Stats(); st.Received != 3 || st.DroppedTotal() != 0 {
		t.Fatalf("a: %+v", st)
	}
	if st := c.Stats(); st.Delivered != 3 || st.DroppedTotal() != 0 {
		t.Fatalf("c: %+v", st)
	}
	if got := metric(t, a.reg, "nyx_mixnode_packets_forwarded_total"); got != 3 {
		t.Fatalf("forwarded metric %v", got)
	}
	if a.links.count() != 1 {
		t.Fatalf("a has %d links, want one long-lived link to b", a.links.count())
	}
}

// metric reads a registered single-valued counter or gauge by name.
func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) == 1 {
			return mf.Metric[0].GetCounter().GetValue() + mf.Metric[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

// droppedMetric reads nyx_mixnode_packets_dropped_total for a reason.
func droppedMetric(t *testing.T, reg *prometheus.Registry, reason string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "nyx_mixnode_packets_dropped_total" {
			continue
		}
		for _, m := range mf.Metric {
			for _, l := range m.Label {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no dropped metric for %s", reason)
	return 0
}

// TestGarbageRefused sends what is not a packet, in every way, and checks
// each is refused and counted and the node still carries real traffic.
func TestGarbageRefused(t *testing.T) {
	tn := newTestNet(t)
	a, c := tn.start(Config{}, ""), tn.start(Config{}, "")
	box := newInbox()
	c.SetDeliverer(box)
	var bob [32]byte
	rand.Read(bob[:])

	// Not our protocol at all.
	raw, err := net.Dial("tcp", a.addr)
	if err != nil {
		t.Fatal(err)
	}
	raw.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	eventually(t, "bad preface counted", func() bool { return a.Stats().Dropped["bad_preface"] == 1 })
	raw.Close()

	// Right preface, wrong frame length.
	s := dial(t, a.addr)
	s.send(t, make([]byte, 100))
	eventually(t, "bad frame counted", func() bool { return a.Stats().Dropped["bad_frame"] == 1 })

	// Right size, random bytes: a bad MAC. Then a packet with one bit
	// flipped in its header, another bad MAC.
	s = dial(t, a.addr)
	junk := make([]byte, sphinx.Regular.PacketSize())
	rand.Read(junk)
	flipped := packet(t, bob, []byte("x"), a.hop(0), c.hop(0))
	flipped[40] ^= 1
	s.send(t, junk, flipped)
	eventually(t, "bad MACs counted", func() bool { return a.Stats().Dropped["bad_mac"] == 2 })

	// A packet whose payload was modified on the way reaches the final hop,
	// which refuses it.
	tampered := packet(t, bob, []byte("x"), a.hop(0), c.hop(0))
	tampered[len(tampered)-1] ^= 1
	s.send(t, tampered)
	eventually(t, "tampered payload counted", func() bool { return c.Stats().Dropped["bad_payload"] == 1 })

	// A replay: the second copy is dropped.
	p := packet(t, bob, []byte("once"), a.hop(0), c.hop(0))
	s.send(t, p, p)
	got := box.wait(t, 1)
	eventually(t, "replay counted", func() bool { return a.Stats().Dropped["replay"] == 1 })

	// And the node still serves, on the same connection.
	s.send(t, packet(t, bob, []byte("still here"), a.hop(0), c.hop(0)))
	got = box.wait(t, 1)
	if len(got) != 2 || !bytes.HasPrefix(got[0].payload, []byte("once")) || !bytes.HasPrefix(got[1].payload, []byte("still here")) {
		t.Fatalf("deliveries %d", len(got))
	}
	if v := droppedMetric(t, a.reg, "bad_mac"); v != 2 {
		t.Fatalf("bad_mac metric %v", v)
	}
	if v := droppedMetric(t, a.reg, "replay"); v != 1 {
		t.Fatalf("replay metric %v", v)
	}
}

func TestUnknownNextHopAndNoGateway(t *testing.T) {
	tn := newTestNet(t)
	a := tn.start(Config{}, "")
	var nowhere, bob [32]byte
	rand.Read(nowhere[:])
	key, _ := sphinx.GenerateKey(rand.Reader)
	s := dial(t, a.addr)
	s.send(t, packet(t, bob, []byte("x"), a.hop(0), sphinx.Hop{Address: nowhere, PublicKey: key.PublicKey()}))
	eventually(t, "unknown next hop counted", func() bool { return a.Stats().Dropped["unknown_next_hop"] == 1 })
	// A final-hop packet at a node without a gateway.
	s.send(t, packet(t, bob, []byte("x"), a.hop(0)))
	eventually(t, "no gateway counted", func() bool { return a.Stats().Dropped["no_gateway"] == 1 })
	// Forward refuses an unknown hop and a wrong size with clear errors.
	if err := a.Forward(nowhere, make([]byte, sphinx.Regular.PacketSize())); !errors.Is(err, ErrUnknownHop) {
		t.Fatalf("Forward to unknown: %v", err)
	}
	if err := a.Forward(nowhere, make([]byte, 10)); !errors.Is(err, ErrPacketSize) {
		t.Fatalf("Forward of 10 bytes: %v", err)
	}
}

// TestForwardFromGateway is the entry gateway's path: a client's packet,
// unprocessed, to layer 1.
func TestForwardFromGateway(t *testing.T) {
	tn := newTestNet(t)
	gw, l1, exit := tn.start(Config{}, ""), tn.start(Config{}, ""), tn.start(Config{}, "")
	box := newInbox()
	exit.SetDeliverer(box)
	var bob [32]byte
	rand.Read(bob[:])
	p := packet(t, bob, []byte("via the gateway"), l1.hop(0), exit.hop(0))
	if err := gw.Forward(l1.id, p); err != nil {
		t.Fatal(err)
	}
	got := box.wait(t, 1)
	if !bytes.HasPrefix(got[0].payload, []byte("via the gateway")) {
		t.Fatal("payload differs")
	}
}

// TestDelayQueueBounded fills a two-packet delay heap: the rest is dropped
// and counted, and what was held is still forwarded.
func TestDelayQueueBounded(t *testing.T) {
	tn := newTestNet(t)
	a, c := tn.start(Config{DelayQueue: 2}, ""), tn.start(Config{}, "")
	box := newInbox()
	c.SetDeliverer(box)
	var bob [32]byte
	s := dial(t, a.addr)
	for i := range 5 {
		s.send(t, packet(t, bob, []byte{byte(i)}, a.hop(300*time.Millisecond), c.hop(0)))
	}
	eventually(t, "three drops", func() bool { return a.Stats().Dropped["delay_queue_full"] == 3 })
	box.wait(t, 2)
	// The forwarded count follows the flush, which may return after c has
	// the packets.
	eventually(t, "two forwarded", func() bool { return a.Stats().Forwarded == 2 })
	if st := a.Stats(); st.Received != 5 || st.DroppedTotal() != 3 {
		t.Fatalf("%+v", st)
	}
}

func TestDelayTooLong(t *testing.T) {
	tn := newTestNet(t)
	a, c := tn.start(Config{MaxDelay: tomltime.Duration(time.Second)}, ""), tn.start(Config{}, "")
	var bob [32]byte
	dial(t, a.addr).send(t, packet(t, bob, []byte("x"), a.hop(time.Hour), c.hop(0)))
	eventually(t, "too long a delay counted", func() bool { return a.Stats().Dropped["delay_too_long"] == 1 })
}

// TestReconnect restarts the next hop on the same address: the link redials
// and traffic flows again.
func TestReconnect(t *testing.T) {
	tn := newTestNet(t)
	a := tn.start(Config{ReconnectMin: tomltime.Duration(10 * time.Millisecond), ReconnectMax: tomltime.Duration(50 * time.Millisecond)}, "")
	c := tn.start(Config{}, "")
	box := newInbox()
	c.SetDeliverer(box)
	var bob [32]byte
	s := dial(t, a.addr)
	s.send(t, packet(t, bob, []byte("before"), a.hop(0), c.hop(0)))
	box.wait(t, 1)

	c.Close()
	// While c is down, packets for it are dropped and counted, not queued
	// without bound.
	eventually(t, "link down counted", func() bool {
		s.send(t, packet(t, bob, []byte("lost"), a.hop(0), c.hop(0)))
		time.Sleep(10 * time.Millisecond)
		return a.Stats().Dropped["link_down"] >= 1
	})

	c2 := tn.startWith(Config{}, c.addr, c.ident, c.key)
	box2 := newInbox()
	c2.SetDeliverer(box2)
	// Send until one gets through: the first may meet the old connection
	// (a write that only fails on the next one) or the dial backoff.
	deadline := time.Now().Add(20 * time.Second)
	for len(box2.ch) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no delivery after the next hop came back")
		}
		s.send(t, packet(t, bob, []byte("after"), a.hop(0), c.hop(0)))
		time.Sleep(20 * time.Millisecond)
	}
	got := box2.wait(t, 1)
	if !bytes.HasPrefix(got[0].payload, []byte("after")) {
		t.Fatal("payload differs")
	}
}

// TestKeyRotation: after SetKey, packets for the old key fail the MAC, packets
// for the new key pass, and a packet seen under the old key is not remembered
// (the filter was reset).
func TestKeyRotation(t *testing.T) {
	tn := newTestNet(t)
	a := tn.start(Config{}, "")
	box := newInbox()
	a.SetDeliverer(box)
	var bob [32]byte
	s := dial(t, a.addr)
	old := packet(t, bob, []byte("old"), a.hop(0))
	s.send(t, old)
	box.wait(t, 1)
	if (*a.keys.Load())[0].filter.Len() != 1 {
		t.Fatal("filter did not take the tag")
	}

	newKey, _ := sphinx.GenerateKey(rand.Reader)
	if err := a.SetKey(newKey); err != nil {
		t.Fatal(err)
	}
	if (*a.keys.Load())[0].filter.Len() != 0 {
		t.Fatal("filter not reset")
	}
	s.send(t, old)
	eventually(t, "old-key packet refused", func() bool { return a.Stats().Dropped["bad_mac"] == 1 })
	a.key = newKey
	s.send(t, packet(t, bob, []byte("new"), a.hop(0)))
	got := box.wait(t, 1)
	if !bytes.HasPrefix(got[1].payload, []byte("new")) {
		t.Fatal("new-key packet not delivered")
	}
}

// TestTwoKeys: a node holding its current and its next key processes
// packets for either; when the next key becomes the primary its replay
// filter stays (a packet seen before the switch is still a replay after
// it); once the old key is removed its packets fail the MAC, and a packet
// that fails both keys is counted once.
func TestTwoKeys(t *testing.T) {
	tn := newTestNet(t)
	a := tn.start(Config{}, "")
	box := newInbox()
	a.SetDeliverer(box)
	var bob [32]byte
	s := dial(t, a.addr)
	cur := a.key
	next, _ := sphinx.GenerateKey(rand.Reader)
	if err := a.SetKeys(cur, next); err != nil {
		t.Fatal(err)
	}
	if err := a.SetKeys(next, next); err == nil {
		t.Fatal("a key given twice was accepted")
	}
	if got := a.Keys(); len(got) != 2 || !got[0].Equal(cur.PublicKey()) || !got[1].Equal(next.PublicKey()) {
		t.Fatal("Keys does not list the current then the next key")
	}
	forCur := packet(t, bob, []byte("for the current key"), a.hop(0))
	a.key = next
	forNext := packet(t, bob, []byte("for the next key"), a.hop(0))
	s.send(t, forCur)
	s.send(t, forNext)
	got := box.wait(t, 2)
	for _, want := range []string{"for the current key", "for the next key"} {
		if !slices.ContainsFunc(got, func(d delivery) bool { return bytes.HasPrefix(d.payload, []byte(want)) }) {
			t.Fatalf("%q not delivered", want)
		}
	}

	// The switch: next is primary, the old key stays for late packets.
	if err := a.SetKeys(next, cur); err != nil {
		t.Fatal(err)
	}
	s.send(t, forNext)
	eventually(t, "replay under the promoted key caught", func() bool { return a.Stats().Dropped["replay"] == 1 })
	a.key = cur
	s.send(t, packet(t, bob, []byte("late for the old key"), a.hop(0)))
	got = box.wait(t, 1)
	if !bytes.HasPrefix(got[2].payload, []byte("late for the old key")) {
		t.Fatal("a late packet for the previous key was not delivered")
	}

	// The old key goes.
	if err := a.SetKeys(next); err != nil {
		t.Fatal(err)
	}
	s.send(t, packet(t, bob, []byte("too late"), a.hop(0)))
	junk := make([]byte, sphinx.Regular.PacketSize())
	rand.Read(junk[sphinx.GroupElementSize:])
	copy(junk, next.PublicKey().Bytes())
	s.send(t, junk)
	eventually(t, "two bad MACs", func() bool { return a.Stats().Dropped["bad_mac"] == 2 })
	eventually(t, "three delivered", func() bool { return a.Stats().Delivered == 3 })
	if st := a.Stats(); st.DroppedTotal() != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestDeliverFailedCounted(t *testing.T) {
	tn := newTestNet(t)
	a := tn.start(Config{}, "")
	box := newInbox()
	box.fail = errors.New("disk full")
	a.SetDeliverer(box)
	var bob [32]byte
	dial(t, a.addr).send(t, packet(t, bob, []byte("x"), a.hop(0)))
	eventually(t, "deliver failure counted", func() bool { return a.Stats().Dropped["deliver_failed"] == 1 })
}

func TestConnLimit(t *testing.T) {
	tn := newTestNet(t)
	a := tn.start(Config{MaxConns: 1}, "")
	dial(t, a.addr)
	eventually(t, "first connection accepted", func() bool { return a.Stats().ConnsAccepted == 1 })
	c2, err := net.Dial("tcp", a.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	eventually(t, "second connection refused", func() bool { return a.Stats().Dropped["conn_limit"] == 1 })
}

// TestDelayQueueOrder releases packets in due order, equal due times in
// arrival order.
func TestDelayQueueOrder(t *testing.T) {
	q := newDelayQueue(10, 1<<30)
	base := time.Now().Add(-time.Hour) // all already due
	for i, off := range []int{3, 1, 2, 1} {
		q.add(base.Add(time.Duration(off)*time.Second), outgoing{dest: [32]byte{byte(i)}})
	}
	if _, ok := q.add(base, outgoing{}); !ok || q.len() != 5 {
		t.Fatal("add")
	}
	var got []byte
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		q.run(ctx, func(o outgoing) {
			got = append(got, o.dest[0])
			if len(got) == 5 {
				cancel()
			}
		}, func(outgoing) {})
		close(done)
	}()
	<-done
	if want := []byte{0, 1, 3, 2, 0}; !bytes.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	full := newDelayQueue(1, 1<<30)
	full.add(time.Now(), outgoing{})
	if reason, ok := full.add(time.Now(), outgoing{}); ok || reason != DropDelayQueueFull {
		t.Fatalf("a full queue took a packet (%v, %v)", reason, ok)
	}
}

func TestDropReasonNames(t *testing.T) {
	seen := map[string]bool{}
	for r := DropReason(0); r < numDropReasons; r++ {
		name := r.String()
		if name == "" || name == "unknown" || seen[name] || strings.ContainsAny(name, " -") {
			t.Fatalf("reason %d: %q", r, name)
		}
		seen[name] = true
	}
}
