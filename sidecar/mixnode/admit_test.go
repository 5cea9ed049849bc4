package mixnode

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/tomltime"
	"github.com/nyx-privacy/nyx/sidecar/wire"
	"github.com/nyx-privacy/nyx/sphinx"
)

// dialFrom opens a TCP connection to addr from the loopback address src
// (Linux routes all of 127.0.0.0/8 to lo).
func dialFrom(t *testing.T, src netip.Addr, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src.AsSlice()}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial from %v: %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestIdleConnectionFlood attacks a node's mix port with 2,000 idle
// connections from 40 loopback addresses (50 each) that are not nodes of
// the topology. Each address holds at most MaxConnsPerIP of them, strangers
// together at most MaxConns-ReservedConns; a node of the topology (from
// 127.0.0.1) still connects, from the reserved share, and its packets are
// processed while the flood holds every slot strangers may take; after
// PrefaceTimeout the idle connections are all closed.
func TestIdleConnectionFlood(t *testing.T) {
	const (
		attackers   = 40
		perAttacker = 50
		prefaceWait = 5 * time.Second
	)
	tn := newTestNet(t)
	b := tn.start(Config{PrefaceTimeout: tomltime.Duration(prefaceWait)}, "")
	a := tn.start(Config{}, "")
	box := newInbox()
	b.SetDeliverer(box)
	b.SetPeers([]netip.Addr{netip.MustParseAddr("127.0.0.1")})
	cfg := b.cfg
	strangersShare := cfg.MaxConns - cfg.ReservedConns
	if attackers*perAttacker <= cfg.MaxConns || attackers*cfg.MaxConnsPerIP <= strangersShare || perAttacker <= cfg.MaxConnsPerIP {
		t.Fatalf("the flood does not reach the limits of %+v", cfg)
	}

	src := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{127, 0, 1, byte(10 + i)}) }
	var conns []net.Conn
	for i := range attackers * perAttacker {
		conns = append(conns, dialFrom(t, src(i%attackers), b.addr))
	}
	eventually(t, "every attacking connection accepted or refused", func() bool {
		st := b.Stats()
		return st.ConnsAccepted+st.Dropped["conn_limit"]+st.Dropped["conn_per_ip"] == attackers*perAttacker
	})
	if _, strangers := b.admit.open(); strangers != strangersShare {
		t.Fatalf("strangers hold %d connections, want the strangers' share %d", strangers, strangersShare)
	}
	for i := range attackers {
		if n := b.ConnsFrom(src(i)); n > cfg.MaxConnsPerIP {
			t.Fatalf("%v holds %d connections, over the per-IP limit %d", src(i), n, cfg.MaxConnsPerIP)
		}
	}
	// Seen from the attacker: of one address's connections, only the
	// per-IP limit stays open, the rest were closed at once.
	open := 0
	for i := 0; i < len(conns); i += attackers {
		if connOpen(conns[i]) {
			open++
		}
	}
	if open > cfg.MaxConnsPerIP {
		t.Fatalf("one attacking address holds %d connections", open)
	}
	// A stranger from a fresh address finds no slot.
	refused := b.Stats().Dropped["conn_limit"]
	dialFrom(t, netip.MustParseAddr("127.0.2.1"), b.addr)
	eventually(t, "a fresh stranger refused", func() bool { return b.Stats().Dropped["conn_limit"] == refused+1 })

	// The previous hop gets in and its packets are processed.
	var bob [32]byte
	rand.Read(bob[:])
	p := packet(t, bob, []byte("through the flood"), sphinx.Hop{Address: b.id, PublicKey: b.key.PublicKey()})
	if err := a.Forward(b.id, p); err != nil {
		t.Fatal(err)
	}
	got := box.wait(t, 1)
	if got[0].dest != bob || string(got[0].payload[:17]) != "through the flood" {
		t.Fatalf("delivered %x", got[0].dest)
	}
	if peers, strangers := b.admit.open(); peers != 1 || strangers != strangersShare {
		t.Fatalf("open: %d peers, %d strangers; want 1 and %d (the flood still holding its share)", peers, strangers, strangersShare)
	}

	// The idle connections are closed after the preface deadline.
	eventually(t, "idle connections closed", func() bool {
		_, strangers := b.admit.open()
		return strangers == 0
	})
	if n := b.Stats().Dropped["preface_timeout"]; n != uint64(strangersShare) {
		t.Fatalf("preface_timeout %d, want %d", n, strangersShare)
	}
	for i, c := range conns {
		if connOpen(c) {
			t.Fatalf("attacking connection %d still open", i)
		}
	}
	if peers, _ := b.admit.open(); peers != 1 {
		t.Fatalf("the previous hop's link was closed too (%d peers)", peers)
	}
}

// connOpen reports whether the other end has not closed c: a read neither
// ends nor fails at once.
func connOpen(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
	var b [1]byte
	_, err := c.Read(b[:])
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// TestSlowPreface: a connection that sends the preface one byte at a time,
// each well within any idle timeout, is closed at the preface deadline.
func TestSlowPreface(t *testing.T) {
	tn := newTestNet(t)
	b := tn.start(Config{PrefaceTimeout: tomltime.Duration(time.Second)}, "")
	c := dialFrom(t, netip.MustParseAddr("127.0.3.1"), b.addr)
	// The preface and the start of the first handshake message, byte by
	// byte: 12 bytes at 200 ms take 2.4 s, the deadline is 1 s.
	var drip []byte
	drip = append(drip, wire.PrefaceNoise[:]...)
	drip = binary.BigEndian.AppendUint32(drip, uint32(sphinx.Regular.PacketSize()))
	closed := false
	for i := 0; i < len(drip) && !closed; i++ {
		_, err := c.Write(drip[i : i+1])
		closed = err != nil || !connOpen(c)
		time.Sleep(200 * time.Millisecond)
	}
	if !closed {
		t.Fatal("a connection dripping its preface is still open after its whole preface and header")
	}
	eventually(t, "preface timeout counted", func() bool { return b.Stats().Dropped["preface_timeout"] == 1 })
	if st := b.Stats(); st.DroppedTotal() != 1 {
		t.Fatalf("drops %+v", st.Dropped)
	}
}

// TestAdmissionIPv6Prefix: IPv6 sources are limited by their /64, so a
// host cannot pass the per-source limit by using more of its addresses;
// another /64 has its own count.
func TestAdmissionIPv6Prefix(t *testing.T) {
	a := newAdmission(Config{MaxConns: 100, MaxConnsPerIP: 3}.WithDefaults())
	from := func(s string) net.Addr { return &net.TCPAddr{IP: net.ParseIP(s), Port: 1000} }
	for _, s := range []string{"2001:db8:1:1::1", "2001:db8:1:1::2", "2001:db8:1:1:ffff::3"} {
		if _, _, ok := a.admit(from(s)); !ok {
			t.Fatalf("%s refused", s)
		}
	}
	if _, reason, ok := a.admit(from("2001:db8:1:1::4")); ok || reason != DropConnPerIP {
		t.Fatalf("a fourth address of one /64 admitted (%v, %v)", ok, reason)
	}
	adm, _, ok := a.admit(from("2001:db8:1:2::1"))
	if !ok {
		t.Fatal("another /64 refused")
	}
	a.release(adm)
	if got := a.from(netip.MustParseAddr("2001:db8:1:1::9")); got != 3 {
		t.Fatalf("the /64 holds %d", got)
	}
	// IPv4, also written as IPv4-mapped IPv6, is counted per address.
	for range 3 {
		if _, _, ok := a.admit(from("192.0.2.1")); !ok {
			t.Fatal("192.0.2.1 refused")
		}
	}
	if _, _, ok := a.admit(from("::ffff:192.0.2.1")); ok {
		t.Fatal("an IPv4 source passed its limit as IPv4-mapped IPv6")
	}
	if _, _, ok := a.admit(from("192.0.2.2")); !ok {
		t.Fatal("192.0.2.2 refused")
	}
}
