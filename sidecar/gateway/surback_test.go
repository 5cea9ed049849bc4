package gateway

import (
	"bytes"
	"errors"
	"testing"

	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	"github.com/nyx-privacy/nyx/sphinx"
)

// TestDeliverSendsSURBAck delivers final-hop payloads as the mix engine
// does: the content reaches the client, the SURB-ACK goes to its first hop
// once the content is pushed or stored, an ack-size payload is delivered
// whole, and a payload without room for a SURB-ACK is refused and counted.
func TestDeliverSendsSURBAck(t *testing.T) {
	g := newTestGateway(t, Config{}, nil)
	online, offline := newClientKey(t), newClientKey(t)
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
	for i, dest := range [][32]byte{idOf(online), idOf(offline)} {
		content := []byte{byte(i), 'c', 'o', 'n', 't', 'e', 'n', 't'}
		p, err := gatewayproto.JoinSURBAck([32]byte{byte(7 + i)}, ack, content)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Deliver(dest, p); err != nil {
			t.Fatal(err)
		}
		f := <-g.fwd.ch
		if f.next != [32]byte{byte(7 + i)} || !bytes.Equal(f.packet, ack) {
			t.Fatalf("SURB-ACK forwarded to %x, %d bytes", f.next[:1], len(f.packet))
		}
		if i == 0 {
			if m := receive(t, c); !bytes.Equal(m.Payload, content) {
				t.Fatalf("client got %q, want the content %q", m.Payload, content)
			}
		} else if g.StoredMessages(&dest) != 1 {
			t.Fatal("the offline client's content is not stored")
		}
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
	if refused(g, ReasonNoSURBAck) != 1 || value(g.m.acks.WithLabelValues("sent")) != 2 {
		t.Fatalf("refused %v, acks sent %v", refused(g, ReasonNoSURBAck), value(g.m.acks.WithLabelValues("sent")))
	}
	select {
	case f := <-g.fwd.ch:
		t.Fatalf("forwarded %d bytes for an ack or a refused payload", len(f.packet))
	default:
	}
}
