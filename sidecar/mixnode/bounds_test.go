package mixnode

import (
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nyx-privacy/nyx/sidecar/tomltime"
	"github.com/nyx-privacy/nyx/sidecar/wire"
	"github.com/nyx-privacy/nyx/sphinx"
	"github.com/nyx-privacy/nyx/testutil/syncbuf"
)

// gauge reads one gauge of reg by name and label value.
func gauge(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{%s=%q}", name, label, value)
	return 0
}

// extendedPackets builds n 32 KiB packets, each through hops.
func extendedPackets(t *testing.T, n int, hops ...sphinx.Hop) [][]byte {
	t.Helper()
	var dest [32]byte
	out := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() {
			p, err := sphinx.Extended32.NewPacket(rand.Reader, hops, sphinx.Destination{Address: dest}, []byte("large"))
			if err != nil {
				t.Error(err)
			}
			out[i] = p
		})
	}
	wg.Wait()
	return out
}

// TestDelayQueueBytes floods a node's delay queue with 32 KiB packets over
// its mix port: the bytes held never pass delay_queue_bytes, and what does
// not fit is dropped as delay_queue_bytes (the packet count bound, far
// larger, takes no part).
func TestDelayQueueBytes(t *testing.T) {
	const bound = 1 << 20
	tn := newTestNet(t)
	a := tn.start(Config{DelayQueueBytes: bound}, "")
	packets := extendedPackets(t, 100, a.hop(20*time.Second))
	s := dial(t, a.addr)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, p := range packets {
			s.send(t, p)
		}
	}()
	held := func() float64 { return gauge(t, a.reg, "nyx_mixnode_queue_bytes", "queue", "delay") }
	for settled := false; !settled; {
		select {
		case <-done:
		default:
		}
		st := a.Stats()
		settled = st.Dropped["delay_queue_bytes"]+uint64(a.delay.len()) == uint64(len(packets))
		if h := held(); h > bound {
			t.Fatalf("delay queue holds %.0f bytes, bound %d", h, bound)
		}
	}
	size := float64(len(packets[0]))
	if h, n := held(), a.delay.len(); h != float64(n)*size || h+size <= bound {
		t.Fatalf("delay queue holds %.0f bytes in %d packets: not filled to its bound %d", h, n, bound)
	}
	if st := a.Stats(); st.Dropped["delay_queue_bytes"] == 0 || st.DroppedTotal() != st.Dropped["delay_queue_bytes"] {
		t.Fatalf("drops %+v", st.Dropped)
	}
}

// TestLinkQueueBytes floods a link to a next hop that accepts and never
// reads: once the socket's buffers are full, the link's queue fills up to
// link_queue_bytes and no further, and the rest is dropped as
// link_queue_bytes.
func TestLinkQueueBytes(t *testing.T) {
	const bound = 1 << 20
	tn := newTestNet(t)
	a := tn.start(Config{LinkQueueBytes: bound, LinksBytes: 2 * bound, WriteTimeout: tomltime.Duration(time.Minute)}, "")
	stall, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stall.Close()
	var held []net.Conn
	var mu sync.Mutex
	_, stallIdent, _ := ed25519.GenerateKey(rand.Reader)
	stallLink, _ := wire.NewLinkKey(stallIdent)
	go func() {
		for {
			c, err := stall.Accept()
			if err != nil {
				return
			}
			if _, err := wire.Respond(c, stallLink); err != nil { // then never read
				c.Close()
				continue
			}
			mu.Lock()
			held = append(held, c) // never read
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	stallID := stallLink.Identity()
	stallKey, _ := sphinx.GenerateKey(rand.Reader)
	tn.mu.Lock()
	tn.addrs[stallID] = stall.Addr().String()
	tn.mu.Unlock()
	hops := []sphinx.Hop{a.hop(0), {Address: stallID, PublicKey: stallKey.PublicKey()}}
	s := dial(t, a.addr)
	linkBytes := func() float64 { return gauge(t, a.reg, "nyx_mixnode_queue_bytes", "queue", "links") }
	// Batches until drops show the queue is full; loopback socket buffers
	// take several MB first.
	for sent := 0; a.Stats().Dropped["link_queue_bytes"] == 0; sent += 50 {
		if sent > 4000 {
			t.Fatalf("no link_queue_bytes drop after %d packets: %+v", sent, a.Stats())
		}
		s.send(t, extendedPackets(t, 50, hops...)...)
		if h := linkBytes(); h > bound {
			t.Fatalf("link queue holds %.0f bytes, bound %d", h, bound)
		}
	}
	if h := linkBytes(); h > bound {
		t.Fatalf("link queue holds %.0f bytes, bound %d", h, bound)
	}
	for r, n := range a.Stats().Dropped {
		if r != "link_queue_bytes" && r != "process_queue_full" {
			t.Fatalf("dropped %d as %s", n, r)
		}
	}
}

// TestMalformedConnectionsLogBounded: 10,000 connections that send bytes
// that are no preface are each refused and counted, and cause only a few
// log lines.
func TestMalformedConnectionsLogBounded(t *testing.T) {
	const conns = 10_000
	var buf syncbuf.Buffer
	key, _ := sphinx.GenerateKey(rand.Reader)
	_, ident, _ := ed25519.GenerateKey(rand.Reader)
	n, err := New(Config{Identity: ident}, key, func([32]byte) (string, bool) { return "", false }, slog.New(slog.NewTextHandler(&buf, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go n.Serve(l)
	start := time.Now()
	for i := range conns {
		src := netip.AddrFrom4([4]byte{127, 0, 4, byte(1 + i%16)})
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
		c, err := d.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
		var b [1]byte
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		c.Read(b[:]) // until the node closes it
		c.Close()
	}
	eventually(t, "every connection refused", func() bool {
		st := n.Stats()
		return st.Dropped["bad_preface"]+st.Dropped["conn_per_ip"] == conns
	})
	elapsed := time.Since(start)
	lines := strings.Count(buf.String(), "refused bytes on the mix port")
	// A burst, then one line per interval.
	if max := 5 + int(elapsed/(10*time.Second)) + 1; lines > max || lines == 0 {
		t.Fatalf("%d connections logged %d lines in %v (at most %d)", conns, lines, elapsed, max)
	}
}
