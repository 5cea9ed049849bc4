package gateway

import (
	"bytes"
	"errors"
	"testing"

	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	"github.com/nyx-privacy/nyx/sphinx"
)

// TestDeliverSendsSURBAck delivers final-hop payloads as the mix engine
// does: the content reaches the client; the SURB-ACK goes to its first hop
// once the content is durable: when the client acknowledges a pushed
// payload (not at the push: a crash then would lose it), when an offline
// client's payload is committed, and when a pushed payload is stored
// because its client left without acknowledging it. An ack-size payload is
// delivered whole, and a payload without room for a SURB-ACK is refused
// and counted.
func TestDeliverSendsSURBAck(t *testing.T) {
	g := newTestGateway(t, Config{}, nil)
	online, offline, leaving := newClientKey(t), newClientKey(t), newClientKey(t)
	c, _ := register(t, g, online)
	// Registered, then gone: its messages are stored.
	gone, _ := register(t, g, offline)
	gone.Close()
	waitFor(t, "the offline client's session to end", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.sessions[idOf(offline)] == nil
	})
	ack := bytes.Repeat([]byte{0xac}, sphinx.Ack.PacketSize())
	forwarded := func(hop byte) {
		t.Helper()
		select {
		case f := <-g.fwd.ch:
			if f.next != [32]byte{hop} || !bytes.Equal(f.packet, ack) {
				t.Fatalf("SURB-ACK forwarded to %x, %d bytes", f.next[:1], len(f.packet))
			}
		case <-ctx(t).Done():
			t.Fatal("SURB-ACK never forwarded")
		}
	}
	deliver := func(dest [32]byte, hop byte, content []byte) {
		t.Helper()
		p, err := gatewayproto.JoinSURBAck([32]byte{hop}, ack, content)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Deliver(dest, p); err != nil {
			t.Fatal(err)
		}
	}

	// Pushed only once the session is live (before that, stored).
	waitLive := func(k [32]byte) {
		t.Helper()
		waitFor(t, "the session to go live", func() bool {
			g.mu.Lock()
			s := g.sessions[k]
			g.mu.Unlock()
			if s == nil {
				return false
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.live
		})
	}
	waitLive(idOf(online))
	deliver(idOf(online), 7, []byte("pushed"))
	m := receive(t, c)
	if !bytes.Equal(m.Payload, []byte("pushed")) {
		t.Fatalf("client got %q", m.Payload)
	}
	// Deliver returned and the client has the push, unacknowledged.
	if len(g.fwd.ch) != 0 {
		t.Fatal("SURB-ACK forwarded before the client acknowledged the push")
	}
	if err := c.Ack(m.ID); err != nil {
		t.Fatal(err)
	}
	forwarded(7)

	deliver(idOf(offline), 8, []byte("stored"))
	// Deliver returns once the payload is committed; the SURB-ACK is on
	// its way by then.
	if id := idOf(offline); g.StoredMessages(&id) != 1 {
		t.Fatal("the offline client's content is not stored")
	}
	forwarded(8)

	l, _ := register(t, g, leaving)
	waitLive(idOf(leaving))
	deliver(idOf(leaving), 9, []byte("left unacknowledged"))
	receive(t, l)
	if len(g.fwd.ch) != 0 {
		t.Fatal("SURB-ACK forwarded before the client acknowledged the push")
	}
	l.Close()
	forwarded(9)
	if id := idOf(leaving); g.StoredMessages(&id) != 1 {
		t.Fatal("the unacknowledged push was not stored")
	}

	back := bytes.Repeat([]byte{1}, sphinx.Ack.PayloadSize)
	if err := g.Deliver(idOf(online), back); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, c); !bytes.Equal(m.Payload, back) {
		t.Fatal("an ack payload was not delivered whole")
	}
	if err := g.Deliver(idOf(online), make([]byte, gatewayproto.SURBAckSize-1)); !errors.Is(err, gatewayproto.ErrBadFrame) {
		t.Fatalf("a payload without a SURB-ACK: %v", err)
	}
	if refused(g, ReasonNoSURBAck) != 1 || value(g.m.acks.WithLabelValues("sent")) != 3 {
		t.Fatalf("refused %v, acks sent %v", refused(g, ReasonNoSURBAck), value(g.m.acks.WithLabelValues("sent")))
	}
	select {
	case f := <-g.fwd.ch:
		t.Fatalf("forwarded %d bytes for an ack or a refused payload", len(f.packet))
	default:
	}
}
