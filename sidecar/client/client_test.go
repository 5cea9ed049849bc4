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
	"slices"
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

// TestEnvelopes: a piece sealed to a key opens with it only; a reply
// envelope opens with its reply key only; a flipped bit anywhere is refused.
func TestEnvelopes(t *testing.T) {
	k := mustKeys(t)
	n := ContentSize(sphinx.Regular.PayloadSize) - envelopeOverhead
	for _, data := range [][]byte{nil, []byte("hi"), bytes.Repeat([]byte{0xab}, ChunkCapacity(sphinx.Regular.PayloadSize))} {
		piece, err := Piece{ID: MessageID{1}, Index: 0, Count: 1, Data: data}.marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := seal(rand.Reader, k.Encryption.PublicKey(), piece)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) != ContentSize(sphinx.Regular.PayloadSize) {
			t.Fatalf("sealed %d bytes", len(sealed))
		}
		plain, err := openSealed(k.Encryption, sealed)
		if err != nil {
			t.Fatal(err)
		}
		if p, err := parsePiece(plain); err != nil || !bytes.Equal(p.Data, data) || p.ID != (MessageID{1}) {
			t.Fatalf("opened %+v, %v", p, err)
		}
		for _, i := range []int{0, 40, len(sealed) - 1} {
			bad := bytes.Clone(sealed)
			bad[i] ^= 1
			if _, err := openSealed(k.Encryption, bad); !errors.Is(err, ErrSealed) {
				t.Errorf("flipped byte %d: %v", i, err)
			}
		}
		if _, err := openSealed(mustKeys(t).Encryption, sealed); !errors.Is(err, ErrSealed) {
			t.Error("another key opened it")
		}
		var key, other [ReplyKeySize]byte
		rand.Read(key[:])
		rand.Read(other[:])
		r, err := sealReply(rand.Reader, key, piece)
		if err != nil || len(r) != len(sealed) {
			t.Fatalf("reply envelope of %d bytes: %v", len(r), err)
		}
		if got, err := openReply(key, r); err != nil || !bytes.Equal(got, piece) {
			t.Fatalf("reply opened: %v", err)
		}
		if _, err := openReply(other, r); !errors.Is(err, ErrSealed) {
			t.Error("another reply key opened it")
		}
	}
	if _, err := (Piece{Count: 1, Data: make([]byte, n)}).marshal(n); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("oversized chunk: %v", err)
	}
	if _, err := parsePiece(coverPiece(n)); !errors.Is(err, ErrCover) {
		t.Fatalf("cover piece: %v", err)
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
	// drop, if set, loses the packets it returns true for on their way
	// to the final gateway (a fault on the path).
	drop func(gateway [32]byte) bool
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
		g, err := sphinx.GeometryForPacketSize(len(packet))
		if err != nil {
			t.Fatal(err)
		}
		res, err := g.ProcessHop(key, packet)
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
		if n.drop != nil && n.drop(route[len(route)-1]) {
			return nil
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
	sentFrame := readJSON(t, appA)
	if sentFrame.Type != "sent" || len(sentFrame.ID) != 16 {
		t.Fatalf("answer to a send: %+v", sentFrame)
	}
	if d := readJSON(t, appA); d.Type != "delivered" || d.ID != sentFrame.ID {
		t.Fatalf("report of the send: %+v", d)
	}
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
	long := make([]byte, 3*ChunkCapacity(sphinx.Regular.PayloadSize)+7)
	rand.Read(long)
	appA.WriteMessage(websocket.BinaryMessage, append(append([]byte{BinarySend}, addr.MarshalBinary()...), long...))
	if mt, frame, err = appB2.ReadMessage(); err != nil || mt != websocket.BinaryMessage || !bytes.Equal(frame[1:], long) {
		t.Fatalf("long message: %v, %d bytes", err, len(frame))
	}

	// A message longer than the longest is refused with a clear error.
	big, _ := json.Marshal(map[string]any{"type": "send", "recipient": self.Address, "data": make([]byte, MaxLongMessage+1)})
	appA.WriteMessage(websocket.TextMessage, big)
	if e := readSkipping(t, appA, "sent", "delivered"); e.Type != "error" || !strings.Contains(e.Error, "too large") {
		t.Fatalf("oversized send: %+v", e)
	}
	appA.WriteMessage(websocket.TextMessage, []byte(`{"type":"send","recipient":"nope","message":"x"}`))
	if e := readSkipping(t, appA, "sent", "delivered"); e.Type != "error" || !strings.Contains(e.Error, "invalid address") {
		t.Fatalf("bad address: %+v", e)
	}
}

// readSkipping reads JSON frames until one of a type not listed.
func readSkipping(t *testing.T, conn *websocket.Conn, skip ...string) appJSON {
	t.Helper()
	for {
		j := readJSON(t, conn)
		if !slices.Contains(skip, j.Type) {
			return j
		}
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
		if _, err := clientA.Send(ctx, bobAddr, []byte{byte(i)}); err != nil {
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
		if !bytes.Equal(m.Data, []byte{byte(i)}) {
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
