package mixnode

import (
	"crypto/rand"
	"errors"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/tomltime"
	"github.com/nyx-privacy/nyx/sphinx"
)

// dialSender opens a mix connection from the loopback address src.
func dialSender(t *testing.T, src netip.Addr, addr string) *sender {
	t.Helper()
	return linkOver(t, dialFrom(t, src, addr), addr)
}

// waitClosed waits up to d for the node to close s's connection.
func (s *sender) waitClosed(t *testing.T, d time.Duration, what string) {
	t.Helper()
	_ = s.c.SetReadDeadline(time.Now().Add(d))
	var b [1]byte
	// EOF or a reset: anything but the deadline (or a byte, which the
	// node never sends).
	if _, err := s.c.Read(b[:]); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("%s: connection not closed by the node within %v (%v)", what, d, err)
	}
}

var (
	peerIP     = netip.MustParseAddr("127.0.0.1")
	strangerIP = netip.MustParseAddr("127.0.6.1")
)

// TestStrangerIdle: a stranger that sends one sound packet and then keeps
// quiet is closed after StrangerIdle, though read_idle (30 min) is far
// off; a peer that does the same keeps its connection.
func TestStrangerIdle(t *testing.T) {
	tn := newTestNet(t)
	a := tn.start(Config{StrangerIdle: tomltime.Duration(time.Second)}, "")
	a.SetPeers([]netip.Addr{peerIP})
	var dest [32]byte
	peer := dialSender(t, peerIP, a.addr)
	peer.send(t, packet(t, dest, []byte("peer"), a.hop(0)))
	stranger := dialSender(t, strangerIP, a.addr)
	stranger.send(t, packet(t, dest, []byte("stranger"), a.hop(0)))
	eventually(t, "both packets processed", func() bool { return a.Stats().Dropped["no_gateway"] == 2 })

	stranger.waitClosed(t, 10*time.Second, "an idle stranger")
	eventually(t, "stranger_idle counted", func() bool { return a.Stats().Dropped["stranger_idle"] == 1 })
	if !connOpen(peer.c) {
		t.Fatal("the peer's connection, as idle as the stranger's, was closed")
	}
	if p, s := a.admit.open(); p != 1 || s != 0 {
		t.Fatalf("open: %d peers, %d strangers", p, s)
	}
}

// TestStrangerFailures: a stranger whose packets all fail (random bytes of
// a packet's size: bad MACs) is closed after StrangerFailures of them in a
// row; a stranger whose run is broken by a sound packet is not, and a peer
// that sends many more bad packets (a previous hop carries what clients
// made) keeps its connection and is still served, as does a connection
// from a stranger that has since become a peer.
func TestStrangerFailures(t *testing.T) {
	const failures = 8
	tn := newTestNet(t)
	// One worker: packets are judged in the order they came.
	a := tn.start(Config{Workers: 1, StrangerFailures: failures}, "")
	a.SetPeers([]netip.Addr{peerIP})
	box := newInbox()
	a.SetDeliverer(box)
	junk := func(n int) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			out[i] = make([]byte, sphinx.Regular.PacketSize())
			rand.Read(out[i])
		}
		return out
	}
	var dest [32]byte
	badMACs := func() uint64 { return a.Stats().Dropped["bad_mac"] }

	broken := dialSender(t, netip.MustParseAddr("127.0.6.2"), a.addr)
	broken.send(t, junk(failures-1)...)
	broken.send(t, packet(t, dest, []byte("sound"), a.hop(0)))
	broken.send(t, junk(failures-1)...)
	eventually(t, "the broken run processed", func() bool { return badMACs() == 2*(failures-1) })
	box.wait(t, 1)
	if !connOpen(broken.c) {
		t.Fatal("a stranger whose failures were not all in a row was closed")
	}

	stranger := dialSender(t, strangerIP, a.addr)
	stranger.send(t, junk(failures)...)
	stranger.waitClosed(t, 10*time.Second, "a stranger sending only bad packets")
	eventually(t, "stranger_failures counted", func() bool { return a.Stats().Dropped["stranger_failures"] == 1 })

	peer := dialSender(t, peerIP, a.addr)
	before := badMACs()
	peer.send(t, junk(10*failures)...)
	eventually(t, "the peer's bad packets processed", func() bool { return badMACs() == before+10*failures })
	peer.send(t, packet(t, dest, []byte("after"), a.hop(0)))
	got := box.wait(t, 1)
	if string(got[len(got)-1].payload[:5]) != "after" {
		t.Fatalf("delivered %q", got[len(got)-1].payload[:5])
	}
	if !connOpen(peer.c) || !connOpen(broken.c) {
		t.Fatal("a peer's or a sound stranger's connection was closed")
	}

	// A node that connected before this one knew it as a peer is judged
	// as a peer once it is one.
	late := netip.MustParseAddr("127.0.6.3")
	early := dialSender(t, late, a.addr)
	early.send(t, packet(t, dest, []byte("early"), a.hop(0)))
	box.wait(t, 1)
	a.SetPeers([]netip.Addr{peerIP, late})
	before = badMACs()
	early.send(t, junk(2*failures)...)
	eventually(t, "the late peer's bad packets processed", func() bool { return badMACs() == before+2*failures })
	if !connOpen(early.c) {
		t.Fatal("a connection from a node that joined the peers was closed as a stranger's")
	}
	if st := a.Stats(); st.Dropped["stranger_failures"] != 1 {
		t.Fatalf("drops %+v", st.Dropped)
	}
}
