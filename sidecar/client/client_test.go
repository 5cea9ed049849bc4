package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mr-tron/base58"

	"github.com/nyx-privacy/nyx/sidecar/gateway"
	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/sphinx"
)

func testCtx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustKeys(t *testing.T) *Keys {
	t.Helper()
	k, err := GenerateKeys(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestAddressTextAndBinary(t *testing.T) {
	k := mustKeys(t)
	a := k.Address([32]byte{1, 2, 3})
	s := a.String()
	if strings.Count(s, ".") != 1 || strings.Count(s, "@") != 1 {
		t.Fatalf("address %q", s)
	}
	back, err := ParseAddress(s)
	if err != nil || back != a {
		t.Fatalf("ParseAddress(%q) = %v, %v", s, back, err)
	}
	bin, err := ParseAddressBinary(a.MarshalBinary())
	if err != nil || bin != a {
		t.Fatalf("binary round trip: %v %v", bin, err)
	}
	id, rest, _ := strings.Cut(s, ".")
	for _, bad := range []string{
		"", "abc", id + "@" + rest, strings.Replace(s, "@", "#", 1), s + "0", s + "l", "0" + s,
		// A low-order encryption key: the all-zero point.
		base58.Encode(a.Identity[:]) + "." + base58.Encode(make([]byte, 32)) + "@" + base58.Encode(a.Gateway[:]),
	} {
		if _, err := ParseAddress(bad); !errors.Is(err, ErrAddress) {
			t.Errorf("ParseAddress(%q) = %v, want ErrAddress", bad, err)
		}
	}
}

func TestSealOpen(t *testing.T) {
	k := mustKeys(t)
	p := sphinx.Regular.PayloadSize
	for _, msg := range [][]byte{nil, []byte("hi"), bytes.Repeat([]byte{0xab}, MaxMessageSize(p))} {
		sealed, err := Seal(rand.Reader, k.Encryption.PublicKey(), msg, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) != p {
			t.Fatalf("sealed %d bytes, want %d", len(sealed), p)
		}
		got, err := Open(k.Encryption, sealed)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("Open = %q, %v", got, err)
		}
		// Every byte matters.
		for _, i := range []int{0, 5, 40, p - 1} {
			bad := bytes.Clone(sealed)
			bad[i] ^= 1
			if _, err := Open(k.Encryption, bad); !errors.Is(err, ErrSealed) {
				t.Fatalf("flipped byte %d: %v", i, err)
			}
		}
		// Someone else cannot open it.
		if _, err := Open(mustKeys(t).Encryption, sealed); !errors.Is(err, ErrSealed) {
			t.Fatal("opened with the wrong key")
		}
	}
	if _, err := Seal(rand.Reader, k.Encryption.PublicKey(), make([]byte, MaxMessageSize(p)+1), p); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("oversized message: %v", err)
	}
}

func TestKeysSaveLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home")
	k := mustKeys(t)
	if err := k.Save(dir); err != nil {
		t.Fatal(err)
	}
	if err := k.Save(dir); err == nil {
		t.Fatal("Save overwrote existing keys")
	}
	back, err := LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Identity.Equal(k.Identity) || !back.Encryption.Equal(k.Encryption) {
		t.Fatal("loaded keys differ")
	}
	for _, f := range []string{IdentityKeyFile, EncryptionKeyFile} {
		st, _ := os.Stat(filepath.Join(dir, f))
		if st.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %v", f, st.Mode().Perm())
		}
	}
	os.Chmod(filepath.Join(dir, IdentityKeyFile), 0o644)
	if _, err := LoadKeys(dir); err == nil || !strings.Contains(err.Error(), "others may read") {
		t.Fatalf("world-readable key loaded: %v", err)
	}
	sk := gatewayproto.SharedKey{9}
	if err := SaveSharedKey(dir, sk); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadSharedKey(dir); err != nil || got != sk {
		t.Fatalf("shared key %x %v", got, err)
	}
}

// testNet is the mixnet of one test: real Sphinx keys for three layers and
// gateways, as a topology value.
type testNet struct {
	topo    *topology.Topology
	keys    map[[32]byte]*sphinx.PrivateKey
	gwIDs   []ed25519.PrivateKey
	layerN  int
	gateway map[[32]byte]*gateway.Gateway
}

func newNode(t testing.TB, n *testNet, role topology.Role) (topology.Node, ed25519.PrivateKey) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	sk, err := sphinx.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	node := topology.Node{ID: uint64(len(n.keys) + 1), Role: role, Identity: [32]byte(pub), SphinxKey: sk.PublicKey(), Host: "127.0.0.1", MixPort: 1789, ClientsPort: 9000, HTTPPort: 8000}
	n.keys[node.Identity] = sk
	return node, priv
}

func newTestNet(t testing.TB, perLayer int) *testNet {
	n := &testNet{topo: &topology.Topology{Epoch: 7}, keys: map[[32]byte]*sphinx.PrivateKey{}, gateway: map[[32]byte]*gateway.Gateway{}}
	for l := range 3 {
		for range perLayer {
			node, _ := newNode(t, n, topology.Layer1+topology.Role(l))
			n.topo.Layers[l] = append(n.topo.Layers[l], node)
		}
	}
	for _, role := range []topology.Role{topology.Entry, topology.Exit} {
		node, priv := newNode(t, n, role)
		n.gwIDs = append(n.gwIDs, priv)
		if role == topology.Entry {
			n.topo.Entry = append(n.topo.Entry, node)
		} else {
			n.topo.Exit = append(n.topo.Exit, node)
		}
	}
	if err := n.topo.Validate(); err != nil {
		t.Fatal(err)
	}
	return n
}

// hops processes a packet from layer 1 to the final hop with the nodes'
// real keys, as the mix nodes would (without their delays), and returns
// the final result and the route it took.
func (n *testNet) hops(t *testing.T, first [32]byte, packet []byte) (sphinx.Result, [][32]byte) {
	t.Helper()
	at := first
	var route [][32]byte
	for range 8 {
		route = append(route, at)
		key, ok := n.keys[at]
		if !ok {
			t.Fatalf("packet routed to unknown node %x", at[:4])
		}
		res, err := sphinx.Regular.ProcessHop(key, packet)
		if err != nil {
			t.Fatalf("hop %d: %v", len(route), err)
		}
		if res.Action == sphinx.Deliver {
			return res, route
		}
		at, packet = [32]byte(res.NextHop), res.Packet
	}
	t.Fatal("packet never delivered")
	return sphinx.Result{}, nil
}

func TestSenderRoutesThroughEachLayer(t *testing.T) {
	n := newTestNet(t, 3)
	bob := mustKeys(t)
	bobAddr := bob.Address(n.topo.Exit[0].Identity)
	type sent struct {
		next   [32]byte
		packet []byte
	}
	out := make(chan sent, 16)
	cfg := DefaultSenderConfig()
	cfg.AverageSendDelay = time.Millisecond
	s, err := NewSender(cfg, func() *topology.Topology { return n.topo }, func(next [32]byte, p []byte) error {
		out <- sent{next, p}
		return nil
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	go s.Run(ctx)

	msg := []byte("hello bob")
	const count = 20
	for range count {
		if err := s.Send(bobAddr, msg); err != nil {
			t.Fatal(err)
		}
	}
	firstHops := map[[32]byte]bool{}
	for range count {
		p := <-out
		res, route := n.hops(t, p.next, p.packet)
		if len(route) != 4 {
			t.Fatalf("route of %d hops", len(route))
		}
		for l := range 3 {
			if n.topo.RoleOf(route[l]) != topology.Layer1+topology.Role(l) {
				t.Fatalf("hop %d is a %v", l+1, n.topo.RoleOf(route[l]))
			}
		}
		if route[3] != bobAddr.Gateway || res.Destination != sphinx.DestinationAddress(bobAddr.Identity) {
			t.Fatal("not delivered to bob at his gateway")
		}
		if res.Delay < 0 {
			t.Fatal("negative delay")
		}
		got, err := Open(bob.Encryption, res.Payload)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("bob opened %q, %v", got, err)
		}
		firstHops[p.next] = true
	}
	if len(firstHops) < 2 {
		t.Errorf("%d packets all went through the same layer-1 node", count)
	}
	// The counter moves after transmit returns.
	waitUntil(t, "the sent counter", func() bool { return s.Stats().Sent == count })
	if st := s.Stats(); st.Failed != 0 {
		t.Errorf("stats %+v", st)
	}

	// Refusals.
	if err := s.Send(bobAddr, make([]byte, s.MaxMessageSize()+1)); !errors.Is(err, ErrMessageTooLarge) || !strings.Contains(err.Error(), "at most 65536") {
		t.Errorf("oversized message: %v", err)
	}
	stranger := bob.Address([32]byte{42})
	if err := s.Send(stranger, msg); !errors.Is(err, ErrUnknownGateway) {
		t.Errorf("unknown gateway: %v", err)
	}
	// A recipient whose gateway holds a mix role this epoch is still
	// reachable: its node keeps serving its clients.
	viaMix := bob.Address(n.topo.Layers[0][0].Identity)
	if err := s.Send(viaMix, msg); err != nil {
		t.Errorf("a recipient whose gateway is a mix node this epoch: %v", err)
	}
}

// TestLoopCover: with loop cover an idle sender sends a packet in every
// slot, each routed through the three layers to the client's own gateway
// and sealed so that only the client opens it (as cover); a message takes
// one slot among the cover packets.
func TestLoopCover(t *testing.T) {
	n := newTestNet(t, 2)
	alice, bob := mustKeys(t), mustKeys(t)
	self := alice.Address(n.topo.Entry[0].Identity)
	out := make(chan [2][]byte, 64)
	cfg := DefaultSenderConfig()
	cfg.AverageSendDelay = time.Millisecond
	s, err := NewSender(cfg, func() *topology.Topology { return n.topo }, func(next [32]byte, p []byte) error {
		out <- [2][]byte{next[:], p}
		return nil
	}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.cover, err = s.LoopCover(self); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	go s.Run(ctx)

	open := func(p [2][]byte) (sphinx.Result, []byte, error) {
		res, route := n.hops(t, [32]byte(p[0]), p[1])
		if len(route) != 4 || (route[3] != self.Gateway && route[3] != n.topo.Exit[0].Identity) {
			t.Fatalf("route %d hops, last %x", len(route), route[len(route)-1][:4])
		}
		if res.Destination == sphinx.DestinationAddress(self.Identity) && route[3] != self.Gateway {
			t.Fatal("cover not routed to the client's own gateway")
		}
		if len(p[1]) != cfg.Geometry.PacketSize() {
			t.Fatalf("a %d-byte packet", len(p[1]))
		}
		if res.Destination == sphinx.DestinationAddress(self.Identity) {
			m, err := Open(alice.Encryption, res.Payload)
			return res, m, err
		}
		m, err := Open(bob.Encryption, res.Payload)
		return res, m, err
	}
	for range 10 {
		res, _, err := open(<-out)
		if res.Destination != sphinx.DestinationAddress(self.Identity) || !errors.Is(err, ErrCover) {
			t.Fatalf("an idle sender's packet is not loop cover: %v", err)
		}
		if _, err := Open(bob.Encryption, res.Payload); !errors.Is(err, ErrSealed) {
			t.Fatalf("another key opens a cover payload: %v", err)
		}
	}
	// A message takes one slot; cover goes on around it.
	bobAddr := bob.Address(n.topo.Exit[0].Identity)
	if err := s.Send(bobAddr, []byte("hello bob")); err != nil {
		t.Fatal(err)
	}
	messages := 0
	for range 20 {
		_, m, err := open(<-out)
		switch {
		case errors.Is(err, ErrCover):
		case err == nil && string(m) == "hello bob":
			messages++
		default:
			t.Fatalf("packet neither cover nor the message: %q %v", m, err)
		}
	}
	if messages != 1 {
		t.Fatalf("the message went out %d times", messages)
	}
	waitUntil(t, "the counters", func() bool { st := s.Stats(); return st.Sent == 1 && st.CoverSent >= 29 })

	cfg.AverageSendDelay = 0
	s2, err := NewSender(cfg, func() *topology.Topology { return n.topo }, func([32]byte, []byte) error { return nil }, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.LoopCover(self); err == nil {
		t.Fatal("loop cover without gaps between slots was accepted")
	}
}

func TestSenderDelaysAreExponential(t *testing.T) {
	n := newTestNet(t, 1)
	cfg := DefaultSenderConfig()
	s, err := NewSender(cfg, func() *topology.Topology { return n.topo }, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The mean of many draws is near the configured mean, and draws vary.
	const draws = 20000
	var sum time.Duration
	seen := map[time.Duration]bool{}
	for range draws {
		d := s.exp(cfg.AveragePacketDelay)
		if d < 0 {
			t.Fatal("negative delay")
		}
		sum += d
		seen[d] = true
	}
	mean := sum / draws
	if mean < cfg.AveragePacketDelay*9/10 || mean > cfg.AveragePacketDelay*11/10 {
		t.Errorf("mean delay %v, configured %v", mean, cfg.AveragePacketDelay)
	}
	if len(seen) < draws/2 {
		t.Errorf("only %d distinct delays", len(seen))
	}
	if s.exp(0) != 0 {
		t.Error("zero mean gives a delay")
	}
}

// startGateway runs a real gateway whose forwarder carries packets through
// the test net's mix layers (real Sphinx processing with each node's key)
// to the final gateway's Deliver.
func startGateway(t *testing.T, n *testNet, i int) (string, *gateway.Gateway) {
	t.Helper()
	g, err := gateway.New(gateway.Config{StoreDir: t.TempDir()}, n.gwIDs[i], nil, forwarderFunc(func(next [32]byte, p []byte) error {
		res, route := n.hops(t, next, p)
		g := n.gateway[route[len(route)-1]]
		if g == nil {
			return errors.New("final hop is not a running gateway")
		}
		return g.Deliver([32]byte(res.Destination), res.Payload)
	}), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	n.gateway[[32]byte(n.gwIDs[i].Public().(ed25519.PublicKey))] = g
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(func() {
		srv.Close()
		g.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/", g
}

type forwarderFunc func([32]byte, []byte) error

func (f forwarderFunc) Forward(next [32]byte, p []byte) error { return f(next, p) }

// startClient registers new keys at gateway i and runs a client with its
// local API.
func startClient(t *testing.T, ctx context.Context, n *testNet, i int, url string) (*Client, string) {
	t.Helper()
	keys := mustKeys(t)
	gwID := [32]byte(n.gwIDs[i].Public().(ed25519.PublicKey))
	shared, err := Register(ctx, url, gwID, keys)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{GatewayURL: url, GatewayIdentity: gwID, Sender: DefaultSenderConfig()}
	cfg.Sender.AverageSendDelay = 0
	cfg.Sender.AveragePacketDelay = 0
	c, err := New(cfg, keys, shared, func() *topology.Topology { return n.topo }, nil)
	if err != nil {
		t.Fatal(err)
	}
	api := NewAPI(c, nil)
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	go c.Run(ctx)
	go api.Run(ctx)
	return c, "ws" + strings.TrimPrefix(srv.URL, "http") + "/"
}

func appConn(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	t.Cleanup(func() { conn.Close() })
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	return conn
}

func readJSON(t *testing.T, conn *websocket.Conn) appJSON {
	t.Helper()
	mt, data, err := conn.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if mt != websocket.TextMessage {
		t.Fatalf("binary frame where JSON was expected")
	}
	var j appJSON
	if err := json.Unmarshal(data, &j); err != nil {
		t.Fatal(err)
	}
	return j
}

// TestTwoClientsThroughGateways: app A asks its client for nothing but to
// send; app B, connected to client B's local API, receives exactly the
// bytes, in the JSON form and the binary form.
func TestTwoClientsThroughGateways(t *testing.T) {
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	n := newTestNet(t, 2)
	urlA, _ := startGateway(t, n, 0)
	urlB, _ := startGateway(t, n, 1)
	_, apiA := startClient(t, ctx, n, 0, urlA)
	clientB, apiB := startClient(t, ctx, n, 1, urlB)

	appB := appConn(t, apiB)
	appB.WriteMessage(websocket.TextMessage, []byte(`{"type":"selfAddress"}`))
	self := readJSON(t, appB)
	if self.Type != "selfAddress" || self.Address != clientB.Address().String() {
		t.Fatalf("selfAddress: %+v", self)
	}

	appA := appConn(t, apiA)
	waitConnected(t, clientB)
	msg := "hello, B"
	req, _ := json.Marshal(map[string]string{"type": "send", "recipient": self.Address, "message": msg})
	appA.WriteMessage(websocket.TextMessage, req)
	got := readJSON(t, appB)
	if got.Type != "received" || got.Message == nil || *got.Message != msg || string(got.Data) != msg {
		t.Fatalf("B received %+v", got)
	}

	// Binary: arbitrary bytes, received on a binary-mode connection.
	appB2 := appConn(t, apiB+"?format=binary")
	// An answer shows appB2 is registered: from then on it gets every
	// message, whenever the client notices that appB went.
	appB2.WriteMessage(websocket.TextMessage, []byte(`{"type":"selfAddress"}`))
	if r := readJSON(t, appB2); r.Type != "selfAddress" {
		t.Fatalf("binary-mode app's selfAddress: %+v", r)
	}
	appB.Close()
	data := make([]byte, 1500)
	rand.Read(data)
	addr, _ := ParseAddress(self.Address)
	appA.WriteMessage(websocket.BinaryMessage, append(append([]byte{BinarySend}, addr.MarshalBinary()...), data...))
	mt, frame, err := appB2.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if mt != websocket.BinaryMessage || frame[0] != BinaryReceived || !bytes.Equal(frame[1:], data) {
		t.Fatalf("binary receive: type %d, %d bytes", mt, len(frame))
	}

	// A message longer than a packet goes in fragments and arrives whole.
	long := make([]byte, 3*MaxMessageSize(sphinx.Regular.PayloadSize)+7)
	rand.Read(long)
	appA.WriteMessage(websocket.BinaryMessage, append(append([]byte{BinarySend}, addr.MarshalBinary()...), long...))
	if mt, frame, err = appB2.ReadMessage(); err != nil || mt != websocket.BinaryMessage || !bytes.Equal(frame[1:], long) {
		t.Fatalf("long message: %v, %d bytes", err, len(frame))
	}

	// A message longer than the longest is refused with a clear error.
	big, _ := json.Marshal(map[string]any{"type": "send", "recipient": self.Address, "data": make([]byte, MaxLongMessage+1)})
	appA.WriteMessage(websocket.TextMessage, big)
	if e := readJSON(t, appA); e.Type != "error" || !strings.Contains(e.Error, "too large") {
		t.Fatalf("oversized send: %+v", e)
	}
	appA.WriteMessage(websocket.TextMessage, []byte(`{"type":"send","recipient":"nope","message":"x"}`))
	if e := readJSON(t, appA); e.Type != "error" || !strings.Contains(e.Error, "invalid address") {
		t.Fatalf("bad address: %+v", e)
	}
}

// TestOfflineRecipientGetsMessagesOnReconnect: B is registered but not
// running; A's messages wait at B's gateway and arrive when B starts.
func TestOfflineRecipientGetsMessagesOnReconnect(t *testing.T) {
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	n := newTestNet(t, 1)
	urlA, _ := startGateway(t, n, 0)
	urlB, gB := startGateway(t, n, 1)
	clientA, _ := startClient(t, ctx, n, 0, urlA)
	waitConnected(t, clientA)

	bob := mustKeys(t)
	gwB := [32]byte(n.gwIDs[1].Public().(ed25519.PublicKey))
	shared, err := Register(ctx, urlB, gwB, bob)
	if err != nil {
		t.Fatal(err)
	}
	bobAddr := bob.Address(gwB)
	for i := range 5 {
		if err := clientA.Send(bobAddr, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	id := bob.IdentityPublic()
	waitUntil(t, "five stored messages at B's gateway", func() bool { return gB.StoredMessages(&id) == 5 })

	cfg := Config{GatewayURL: urlB, GatewayIdentity: gwB, Sender: DefaultSenderConfig()}
	b, err := New(cfg, bob, shared, func() *topology.Topology { return n.topo }, nil)
	if err != nil {
		t.Fatal(err)
	}
	go b.Run(ctx)
	for i := range 5 {
		m, err := b.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(m, []byte{byte(i)}) {
			t.Fatalf("message %d: %v", i, m)
		}
	}
	waitUntil(t, "B's gateway to forget the delivered messages", func() bool { return gB.StoredMessages(&id) == 0 })
}

func waitConnected(t *testing.T, c *Client) {
	waitUntil(t, "the client to connect", func() bool { return c.Stats().Connected })
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
