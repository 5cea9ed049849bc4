package gateway

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/nyx-privacy/nyx/sidecar/gatewayclient"
	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	"github.com/nyx-privacy/nyx/sidecar/tomltime"
	"github.com/nyx-privacy/nyx/sphinx"
)

// chanForwarder is the test's layer-1 side: it hands forwarded packets to
// the test.
type chanForwarder struct {
	ch   chan forwarded
	fail error
}

type forwarded struct {
	next   [32]byte
	packet []byte
}

func (f *chanForwarder) Forward(next [32]byte, packet []byte) error {
	if f.fail != nil {
		return f.fail
	}
	f.ch <- forwarded{next, packet}
	return nil
}

type testGateway struct {
	*Gateway
	url string
	fwd *chanForwarder
	reg *prometheus.Registry
}

func newTestGateway(t testing.TB, cfg Config, identity ed25519.PrivateKey) *testGateway {
	t.Helper()
	return newTestGatewayLog(t, cfg, identity, nil)
}

func newTestGatewayLog(t testing.TB, cfg Config, identity ed25519.PrivateKey, log *slog.Logger) *testGateway {
	t.Helper()
	if cfg.StoreDir == "" {
		cfg.StoreDir = t.TempDir()
	}
	if identity == nil {
		_, identity, _ = ed25519.GenerateKey(rand.Reader)
	}
	fwd := &chanForwarder{ch: make(chan forwarded, 16)}
	reg := prometheus.NewRegistry()
	g, err := New(cfg, identity, nil, fwd, log, reg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(func() {
		g.Close()
		srv.Close()
	})
	return &testGateway{Gateway: g, url: "ws" + strings.TrimPrefix(srv.URL, "http"), fwd: fwd, reg: reg}
}

func newClientKey(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func refused(g *testGateway, reason string) float64 {
	return value(g.m.refused.WithLabelValues(reason))
}

// value reads a counter or gauge.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	panic("not a counter or gauge")
}

func idOf(k ed25519.PrivateKey) [32]byte {
	return [32]byte(k.Public().(ed25519.PublicKey))
}

func register(t *testing.T, g *testGateway, client ed25519.PrivateKey) (*gatewayclient.Conn, gatewayproto.SharedKey) {
	t.Helper()
	c, key, err := gatewayclient.Register(ctx(t), g.url, g.Identity(), client)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, key
}

func receive(t *testing.T, c *gatewayclient.Conn) gatewayclient.Message {
	t.Helper()
	m, err := c.Receive(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// waitFor polls cond; the test fails if it never holds. It waits for an
// asynchronous effect (an ack processed by the gateway), it times nothing.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestForwardFailureReported(t *testing.T) {
	g := newTestGateway(t, Config{}, nil)
	g.fwd.fail = errors.New("no link to that node")
	c, _ := register(t, g, newClientKey(t))
	if err := c.Send([32]byte{1}, make([]byte, sphinx.Regular.PacketSize())); err != nil {
		t.Fatal(err)
	}
	r := <-c.Refusals()
	if r.Code != ReasonForwardFailed || !strings.Contains(r.Message, "no link") {
		t.Fatalf("refusal %q %q", r.Code, r.Message)
	}
	if refused(g, ReasonForwardFailed) != 1 {
		t.Fatal("forward failure not counted")
	}
}

// TestForwardRealPacket sends a real Sphinx packet through the gateway and
// checks that layer 1 can process what the forwarder got.
func TestForwardRealPacket(t *testing.T) {
	g := newTestGateway(t, Config{}, nil)
	c, _ := register(t, g, newClientKey(t))
	var route []sphinx.Hop
	var keys []*sphinx.PrivateKey
	for i := range 4 {
		k, err := sphinx.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
		route = append(route, sphinx.Hop{Address: sphinx.NodeAddress{byte(i + 1)}, PublicKey: k.PublicKey()})
	}
	packet, err := sphinx.Regular.NewPacket(rand.Reader, route, sphinx.Destination{}, []byte("through the gateway"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send([32]byte(route[0].Address), packet); err != nil {
		t.Fatal(err)
	}
	f := <-g.fwd.ch
	res, err := sphinx.Regular.ProcessHop(keys[0], f.packet)
	if err != nil {
		t.Fatal(err)
	}
	if f.next != [32]byte(route[0].Address) || res.Action != sphinx.Forward || res.NextHop != route[1].Address {
		t.Fatalf("forwarded to %x, layer 1 sends to %x", f.next[:2], res.NextHop[:2])
	}
	waitFor(t, "the forward to be counted", func() bool { return value(g.m.forwarded) == 1 })
}

func payloadN(i int) []byte { return fmt.Appendf(nil, "message %04d", i) }

func TestOfflineStorageDeliveredOnReconnect(t *testing.T) {
	dir := t.TempDir()
	_, gwKey, _ := ed25519.GenerateKey(rand.Reader)
	client := newClientKey(t)
	id := idOf(client)
	g := newTestGateway(t, Config{StoreDir: dir}, gwKey)
	c, key := register(t, g, client)
	c.Close()
	waitFor(t, "the session to end", func() bool { return value(g.m.connected) == 0 })

	const n = 20
	for i := range n {
		if err := g.store(id, payloadN(i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := g.StoredMessages(&id); got != n {
		t.Fatalf("stored %d, want %d", got, n)
	}
	// Unregistered clients get nothing stored.
	if err := g.store([32]byte{9}, []byte("x")); !errors.Is(err, ErrUnknownClient) {
		t.Fatalf("delivery to an unknown client: %v", err)
	}

	// A clean restart keeps everything.
	g.Close()
	g = newTestGateway(t, Config{StoreDir: dir}, gwKey)
	if got := g.StoredMessages(&id); got != n {
		t.Fatalf("after restart: stored %d, want %d", got, n)
	}
	if got := value(g.m.stored); got != n {
		t.Fatalf("stored_messages gauge %v", got)
	}
	c, err := gatewayclient.Dial(ctx(t), g.url, g.Identity(), client, key)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Stored != n {
		t.Errorf("authenticated says %d stored", c.Stored)
	}
	for i := range n {
		m := receive(t, c)
		if !bytes.Equal(m.Payload, payloadN(i)) {
			t.Fatalf("message %d: %q", i, m.Payload)
		}
		if i == n-1 {
			if err := c.Ack(m.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, "the acknowledged messages to leave the store", func() bool { return g.StoredMessages(&id) == 0 })
	waitFor(t, "the delivered counter", func() bool { return value(g.m.delivered) == n })
	waitFor(t, "the pushed{stored} counter", func() bool { return value(g.m.pushed.WithLabelValues("stored")) == n })
}

func TestLivePushWindowAndDisconnect(t *testing.T) {
	const window = 4
	g := newTestGateway(t, Config{Window: window}, nil)
	client := newClientKey(t)
	id := idOf(client)
	c, key := register(t, g, client)
	waitLive(t, g, id)

	// Nothing acknowledged: the first `window` are pushed from memory, the
	// rest are stored, in order.
	const n = 10
	for i := range n {
		if err := g.store(id, payloadN(i)); err != nil {
			t.Fatal(err)
		}
	}
	var last uint64
	for i := range window {
		m := receive(t, c)
		if !bytes.Equal(m.Payload, payloadN(i)) {
			t.Fatalf("message %d: %q", i, m.Payload)
		}
		last = m.ID
	}
	if got := g.StoredMessages(&id); got != n-window {
		// The window filled: the pushed ones stay in memory (stored if the
		// session ends before they are acknowledged), the rest are stored.
		t.Fatalf("stored %d, want %d", got, n-window)
	}
	if err := c.Ack(last); err != nil {
		t.Fatal(err)
	}
	for i := window; i < 7; i++ {
		m := receive(t, c)
		if !bytes.Equal(m.Payload, payloadN(i)) {
			t.Fatalf("message %d: %q", i, m.Payload)
		}
		last = m.ID
	}
	if err := c.Ack(last); err != nil {
		t.Fatal(err)
	}
	// Disconnect with 7..9 pushed but unacknowledged.
	for i := 7; i < n; i++ {
		receive(t, c)
	}
	c.Close()
	waitFor(t, "the session to end", func() bool { return value(g.m.connected) == 0 })
	if got := g.StoredMessages(&id); got != n-7 {
		t.Fatalf("stored after disconnect %d, want %d", got, n-7)
	}

	// Reconnect, catch up, go live; a live message that is never
	// acknowledged is stored at disconnect and comes back.
	c, err := gatewayclient.Dial(ctx(t), g.url, g.Identity(), client, key)
	if err != nil {
		t.Fatal(err)
	}
	for i := 7; i < n; i++ {
		if m := receive(t, c); !bytes.Equal(m.Payload, payloadN(i)) {
			t.Fatalf("message %d: %q", i, m.Payload)
		} else {
			last = m.ID
		}
	}
	if err := c.Ack(last); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the store to empty", func() bool { return g.StoredMessages(&id) == 0 })
	if err := g.store(id, []byte("live")); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, c); string(m.Payload) != "live" {
		t.Fatalf("live message %q", m.Payload)
	}
	if g.StoredMessages(&id) != 0 {
		t.Fatal("a live push to a caught-up client was stored")
	}
	c.Close()
	waitFor(t, "the unacknowledged live message to be stored", func() bool { return g.StoredMessages(&id) == 1 })
	c, err = gatewayclient.Dial(ctx(t), g.url, g.Identity(), client, key)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if m := receive(t, c); string(m.Payload) != "live" {
		t.Fatalf("after reconnect %q", m.Payload)
	}
}

// waitLive waits until the client's session has read the store and takes
// new messages from memory.
func waitLive(t testing.TB, g *testGateway, id [32]byte) {
	t.Helper()
	waitFor(t, "the session to go live", func() bool {
		g.mu.Lock()
		s := g.sessions[id]
		g.mu.Unlock()
		if s == nil {
			return false
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.live
	})
}

func TestAckOfUnsentIDRefused(t *testing.T) {
	g := newTestGateway(t, Config{}, nil)
	c, _ := register(t, g, newClientKey(t))
	if err := c.Ack(5); err != nil {
		t.Fatal(err)
	}
	<-c.Done()
	if refused(g, ReasonBadFrame) != 1 {
		t.Fatalf("bad_frame = %v", refused(g, ReasonBadFrame))
	}
}

func TestNewSessionReplacesOld(t *testing.T) {
	g := newTestGateway(t, Config{}, nil)
	client := newClientKey(t)
	c1, key := register(t, g, client)
	c2, err := gatewayclient.Dial(ctx(t), g.url, g.Identity(), client, key)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	<-c1.Done()
	if err := g.store(idOf(client), []byte("to the new one")); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, c2); string(m.Payload) != "to the new one" {
		t.Fatalf("%q", m.Payload)
	}
}

func TestExpiry(t *testing.T) {
	g := newTestGateway(t, Config{MaxMessageAge: tomltime.Duration(time.Hour)}, nil)
	client := newClientKey(t)
	id := idOf(client)
	c, _ := register(t, g, client)
	c.Close()
	waitFor(t, "the session to end", func() bool { return value(g.m.connected) == 0 })
	start := time.Now()
	g.setClock(func() time.Time { return start })
	for i := range 3 {
		if err := g.store(id, payloadN(i)); err != nil {
			t.Fatal(err)
		}
	}
	g.setClock(func() time.Time { return start.Add(30 * time.Minute) })
	if err := g.store(id, payloadN(3)); err != nil {
		t.Fatal(err)
	}
	g.setClock(func() time.Time { return start.Add(61 * time.Minute) })
	g.expire()
	if got := g.StoredMessages(&id); got != 1 {
		t.Fatalf("after expiry %d stored, want 1", got)
	}
	if value(g.m.expired) != 3 {
		t.Fatalf("expired counter %v", value(g.m.expired))
	}
	msgs, _, _, err := g.st.after(id, 0, 10, 1<<20)
	if err != nil || len(msgs) != 1 || !bytes.Equal(msgs[0].Payload, payloadN(3)) {
		t.Fatalf("left %v %v", msgs, err)
	}
}

func TestInboxQuotaAndSizeLimits(t *testing.T) {
	g := newTestGateway(t, Config{MaxStoredBytesPerClient: 2 * messageCost(100), MaxPayloadSize: 100}, nil)
	client := newClientKey(t)
	id := idOf(client)
	c, _ := register(t, g, client)
	c.Close()
	waitFor(t, "the session to end", func() bool { return value(g.m.connected) == 0 })
	if err := g.Deliver(id, make([]byte, 101)); err == nil {
		t.Fatal("oversized payload accepted")
	}
	// A config whose quota cannot hold one message is refused at New.
	if _, err := New(Config{StoreDir: t.TempDir(), MaxStoredBytesPerClient: 50, MaxPayloadSize: 100}, newClientKey(t), nil, discardForwarder{}, nil, nil); err == nil {
		t.Fatal("oversized payload accepted")
	}
	for range 2 {
		if err := g.store(id, make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.store(id, make([]byte, 100)); !errors.Is(err, ErrInboxFull) {
		t.Fatalf("third message: %v", err)
	}
	if refused(g, ReasonInboxFull) != 1 || refused(g, ReasonTooLarge) != 1 {
		t.Fatal("refusals not counted")
	}
}

func TestConcurrentDeliveriesKeepOrderPerClient(t *testing.T) {
	g := newTestGateway(t, Config{Window: 8}, nil)
	const clients, n = 4, 50
	var keys []ed25519.PrivateKey
	var conns []*gatewayclient.Conn
	for range clients {
		k := newClientKey(t)
		c, _ := register(t, g, k)
		keys = append(keys, k)
		conns = append(conns, c)
	}
	var wg sync.WaitGroup
	for _, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				if err := g.store(idOf(k), payloadN(i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for ci, c := range conns {
		for i := range n {
			m := receive(t, c)
			if !bytes.Equal(m.Payload, payloadN(i)) {
				t.Fatalf("client %d message %d: %q", ci, i, m.Payload)
			}
			if i%5 == 4 {
				c.Ack(m.ID)
			}
		}
	}
	wg.Wait()
	waitFor(t, "every acknowledged message to leave the store", func() bool { return g.StoredMessages(nil) == 0 })
}
