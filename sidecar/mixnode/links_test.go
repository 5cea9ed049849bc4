package mixnode

import (
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/tomltime"
	"github.com/nyx-privacy/nyx/sidecar/wire"
	"github.com/nyx-privacy/nyx/sphinx"
	"github.com/nyx-privacy/nyx/testutil/syncbuf"
)

// TestPlaintextLinkRefused: a peer of the old, unencrypted framing (the
// version 1 preface and a sound packet) is refused before a byte of its
// packet is read, counted, and told about in a log line; the packet is
// never processed.
func TestPlaintextLinkRefused(t *testing.T) {
	var logs syncbuf.Buffer
	tn := newTestNet(t)
	tn.log = slog.New(slog.NewTextHandler(&logs, nil))
	a, c := tn.start(Config{}, ""), tn.start(Config{}, "")
	var bob [32]byte
	conn := dialFrom(t, strangerIP, a.addr)
	w, err := wire.NewWriter(conn)
	if err != nil {
		t.Fatal(err)
	}
	_ = w.WritePacket(packet(t, bob, []byte("plaintext"), a.hop(0), c.hop(0)))
	_ = w.Flush()
	s := &sender{c: conn}
	s.waitClosed(t, 5*time.Second, "a plaintext peer")
	eventually(t, "plaintext peer counted", func() bool { return a.Stats().Dropped["plaintext_peer"] == 1 })
	if st := a.Stats(); st.Received != 0 || st.DroppedTotal() != 1 {
		t.Fatalf("the plaintext packet was read: %+v", st)
	}
	if !strings.Contains(logs.String(), "refused a plaintext link") {
		t.Fatalf("no log line for the plaintext peer:\n%s", logs.String())
	}
}

// TestWrongStaticKeyRefused: the address the topology gives for node c is
// taken by another node (not holding c's identity key). A node sending to
// c fails the handshake there and never hands it a packet: the impostor
// reads no frame, both ends count the failure.
func TestWrongStaticKeyRefused(t *testing.T) {
	tn := newTestNet(t)
	a := tn.start(Config{ReconnectMin: tomltime.Duration(10 * time.Millisecond), ReconnectMax: tomltime.Duration(20 * time.Millisecond)}, "")
	c, impostor := tn.start(Config{}, ""), tn.start(Config{}, "")
	tn.mu.Lock()
	tn.addrs[c.id] = impostor.addr
	tn.mu.Unlock()
	box := newInbox()
	impostor.SetDeliverer(box)
	var bob [32]byte
	s := dial(t, a.addr)
	for range 3 {
		s.send(t, packet(t, bob, []byte("for c only"), a.hop(0), c.hop(0)))
		time.Sleep(30 * time.Millisecond) // past the redial backoff: each packet dials
	}
	eventually(t, "handshake failures counted", func() bool {
		return a.Stats().LinkHandshakeFailures >= 1 && impostor.Stats().Dropped["handshake_failed"] >= 1
	})
	eventually(t, "every packet dropped as the link is down", func() bool {
		return a.Stats().Dropped["link_down"] == 3
	})
	if st := impostor.Stats(); st.Received != 0 || st.ConnsAccepted == 0 {
		t.Fatalf("the impostor was given a packet: %+v", st)
	}
	if a.Stats().Forwarded != 0 {
		t.Fatal("a counted a packet forwarded to the impostor")
	}
}

// TestStalledHandshake: a dialler that sends a sound first handshake
// message, reads the answer, and never sends the third is closed at
// PrefaceTimeout and gives its slot back.
func TestStalledHandshake(t *testing.T) {
	tn := newTestNet(t)
	a := tn.start(Config{PrefaceTimeout: tomltime.Duration(time.Second)}, "")
	c := dialFrom(t, strangerIP, a.addr)
	_, ident, _ := ed25519.GenerateKey(rand.Reader)
	k, _ := wire.NewLinkKey(ident)
	// Initiate writes message 1, then reads message 2 from stall, which
	// gives it nothing until the test ends: message 3 is never sent.
	stall := make(chan struct{})
	t.Cleanup(func() { close(stall) })
	go wire.Initiate(struct {
		io.Reader
		io.Writer
	}{stalled(stall), c}, k, a.id)
	eventually(t, "connection admitted", func() bool { return a.ConnsFrom(strangerIP) == 1 })
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(5 * time.Second))
	if n, err := io.Copy(io.Discard, c); err != nil || n != int64(wire.HandshakeSizes[1]) {
		// EOF (a nil error here) after message 2, not the deadline.
		t.Fatalf("a stalled handshake: read %d bytes, then %v", n, err)
	}
	if time.Since(start) < 500*time.Millisecond {
		t.Fatalf("closed after %v: not a stall but a refusal (%+v)", time.Since(start), a.Stats().Dropped)
	}
	eventually(t, "slot given back", func() bool { return a.ConnsFrom(strangerIP) == 0 })
	if st := a.Stats(); st.Dropped["preface_timeout"] != 1 || st.DroppedTotal() != 1 {
		t.Fatalf("drops %+v", st.Dropped)
	}
}

type stalled chan struct{}

func (s stalled) Read([]byte) (int, error) {
	<-s
	return 0, io.EOF
}

// TestLinksRekeyOnRotation: when the node's primary sphinx key changes, its
// links to next hops run a new handshake (fresh session keys) before
// their next packet; other key changes leave them be.
func TestLinksRekeyOnRotation(t *testing.T) {
	tn := newTestNet(t)
	a, c := tn.start(Config{}, ""), tn.start(Config{}, "")
	box := newInbox()
	c.SetDeliverer(box)
	var bob [32]byte
	s := dial(t, a.addr)
	s.send(t, packet(t, bob, []byte("one"), a.hop(0), c.hop(0)))
	box.wait(t, 1)
	next, _ := sphinx.GenerateKey(rand.Reader)
	if err := a.SetKeys(a.key, next); err != nil { // next announced: same primary
		t.Fatal(err)
	}
	s.send(t, packet(t, bob, []byte("two"), a.hop(0), c.hop(0)))
	box.wait(t, 1)
	if got := c.Stats().ConnsAccepted; got != 1 {
		t.Fatalf("%d links without a rotation", got)
	}
	if err := a.SetKeys(next, a.key); err != nil { // rotation
		t.Fatal(err)
	}
	a.key = next
	s.send(t, packet(t, bob, []byte("three"), a.hop(0), c.hop(0)))
	box.wait(t, 1)
	if got := c.Stats().ConnsAccepted; got != 2 {
		t.Fatalf("%d links after a rotation, want a new one", got)
	}
	if st := a.Stats(); st.DroppedTotal() != 0 {
		t.Fatalf("drops at the rekey: %+v", st.Dropped)
	}
}

// TestProvenPeerIsPeer: a node of the topology that dials from an address
// not among the peers' IPs proves its identity in the handshake and is
// treated as a peer: its idle link is not closed as a stranger's.
func TestProvenPeerIsPeer(t *testing.T) {
	tn := newTestNet(t)
	a := tn.start(Config{StrangerIdle: tomltime.Duration(500 * time.Millisecond)}, "")
	b := tn.start(Config{}, "")
	a.SetPeers([]netip.Addr{netip.MustParseAddr("127.0.9.9")}) // not b's address
	var bob [32]byte
	if err := b.Forward(a.id, packet(t, bob, []byte("from b"), a.hop(0))); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b's packet processed", func() bool { return a.Stats().Dropped["no_gateway"] == 1 })
	time.Sleep(1500 * time.Millisecond)
	if st := a.Stats(); st.Dropped["stranger_idle"] != 0 {
		t.Fatalf("a proven node's link was closed as a stranger's: %+v", st.Dropped)
	}
	// A stranger's link, as idle, is closed.
	s := dial(t, a.addr)
	s.send(t, packet(t, bob, []byte("stranger"), a.hop(0)))
	s.waitClosed(t, 5*time.Second, "an idle stranger")
}
