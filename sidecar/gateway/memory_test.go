package gateway

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/nyx-privacy/nyx/sidecar/gatewayclient"
	"github.com/nyx-privacy/nyx/testutil/syncbuf"
)

func inflight(g *testGateway, id [32]byte) (n int, held int64) {
	g.mu.Lock()
	s := g.sessions[id]
	g.mu.Unlock()
	if s == nil {
		return 0, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.inflight), s.held
}

// TestPushedBytesBounded: two connected clients that do not acknowledge get
// no more pushed than MaxSessionPushedBytes each and MaxPushedBytes in all;
// the rest waits in the store and comes, in order, as they acknowledge.
// Before the bounds, a session held up to Window messages in memory
// whatever their size.
func TestPushedBytesBounded(t *testing.T) {
	const size = 1000
	g := newTestGateway(t, Config{MaxPayloadSize: size, MaxSessionPushedBytes: 3 * size, MaxPushedBytes: 4 * size}, nil)
	a, b := newClientKey(t), newClientKey(t)
	ca, _ := register(t, g, a)
	waitLive(t, g, idOf(a))
	cb, _ := register(t, g, b)
	waitLive(t, g, idOf(b))
	payload := func(c, i int) []byte { return bytes.Repeat([]byte{byte(c), byte(i)}, size/2) }
	const n = 10
	for i := range n {
		if err := g.Deliver(idOf(a), payload(0, i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if err := g.Deliver(idOf(b), payload(1, i)); err != nil {
			t.Fatal(err)
		}
	}
	if k, held := inflight(g, idOf(a)); k != 3 || held != 3*size {
		t.Fatalf("a has %d messages (%d bytes) in flight, want 3 (the session bound)", k, held)
	}
	if k, _ := inflight(g, idOf(b)); k != 1 {
		t.Fatalf("b has %d messages in flight, want 1 (what the gateway's bound left)", k)
	}
	if got := g.mem.inUse(); got != 4*size {
		t.Fatalf("%d bytes pushed and unacknowledged, want %d", got, 4*size)
	}
	if g.StoredMessages(ptr(idOf(a))) != n-3 || g.StoredMessages(ptr(idOf(b))) != n-1 {
		t.Fatalf("stored: a %d, b %d", g.StoredMessages(ptr(idOf(a))), g.StoredMessages(ptr(idOf(b))))
	}
	// Both read and acknowledge one by one: everything arrives, in order,
	// and the bounds hold throughout.
	for i := range n {
		for ci, c := range []*gatewayclient.Conn{ca, cb} {
			m := receive(t, c)
			if !bytes.Equal(m.Payload, payload(ci, i)) {
				t.Fatalf("client %d message %d: got %x...", ci, i, m.Payload[:2])
			}
			if used := g.mem.inUse(); used > 4*size {
				t.Fatalf("%d bytes pushed and unacknowledged", used)
			}
			if _, held := inflight(g, idOf([]ed25519.PrivateKey{a, b}[ci])); held > 3*size {
				t.Fatalf("client %d holds %d bytes in flight", ci, held)
			}
			if err := c.Ack(m.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, "the store and memory to empty", func() bool { return g.StoredMessages(nil) == 0 && g.mem.inUse() == 0 })
}

// TestLogFloodBounded: hundreds of malformed handshakes and registrations
// write a bounded number of log lines (each used to write one).
func TestLogFloodBounded(t *testing.T) {
	var buf syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g := newTestGatewayLog(t, Config{}, nil, log)
	const garbage = 300
	for range garbage {
		conn := rawConn(t, g)
		if err := conn.WriteMessage(websocket.TextMessage, []byte("not a frame")); err != nil {
			t.Fatal(err)
		}
		conn.ReadMessage()
		conn.Close()
	}
	for range 20 {
		c, _ := register(t, g, newClientKey(t))
		c.Close()
	}
	waitFor(t, "the refusals to be counted", func() bool { return refused(g, ReasonBadFrame) == garbage })
	for _, kind := range []string{"handshake refused", "client registered", "client session open"} {
		if n := strings.Count(buf.String(), fmt.Sprintf("msg=%q", kind)); n < 1 || n > 6 {
			t.Errorf("%d lines %q", n, kind)
		}
	}
}
