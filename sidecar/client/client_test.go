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
	"github.com/nyx-privacy/nyx/sidecar/gatewayclient"
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

func newTestSender(t testing.TB, n *testNet, k *Keys, cfg SenderConfig, transmit Transmit, cover bool) *Sender {
	t.Helper()
	s, err := NewSender(cfg, k, k.Address(n.topo.Entry[0].Identity), func() *topology.Topology { return n.topo }, transmit, cover, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type sent struct {
	next   [32]byte
	packet []byte
}

// TestSenderRoutesThroughEachLayer: every packet goes through one node of
// each layer to the recipient's gateway and carries a SURB-ACK that goes
// through one node of each layer back to the sender's gateway, to the
// sender, whose ack ends the packet's wait and reports the message
// delivered.
func TestSenderRoutesThroughEachLayer(t *testing.T) {
	n := newTestNet(t, 3)
	alice, bob := mustKeys(t), mustKeys(t)
	bobAddr := bob.Address(n.topo.Exit[0].Identity)
	out := make(chan sent, 16)
	cfg := DefaultSenderConfig()
	cfg.AverageSendDelay = time.Millisecond
	// The test acks by hand, however slowly: no packet is sent again.
	cfg.AckWait, cfg.MaxAckWait = time.Hour, time.Hour
	s := newTestSender(t, n, alice, cfg, func(next [32]byte, p []byte) error {
		out <- sent{next, p}
		return nil
	}, false)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	go s.Run(ctx)

	msg := []byte("hello bob")
	const count = 20
	ids := map[MessageID]bool{}
	for range count {
		id, err := s.Send(bobAddr, msg)
		if err != nil {
			t.Fatal(err)
		}
		ids[id] = true
	}
	firstHops := map[[32]byte]bool{}
	for range count {
		p := <-out
		res, route := n.hops(t, p.next, p.packet)
		n.checkRoute(t, route, bobAddr.Gateway)
		if res.Destination != sphinx.DestinationAddress(bobAddr.Identity) || res.Delay < 0 {
			t.Fatal("not delivered to bob at his gateway")
		}
		ackFirst, ack, content, err := gatewayproto.SplitSURBAck(res.Payload)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := openSealed(bob.Encryption, content)
		if err != nil {
			t.Fatal(err)
		}
		piece, _ := parsePiece(plain)
		if m, err := parseMessage(piece.Data); err != nil || m.kind != kindPlain || !bytes.Equal(m.data, msg) || !ids[piece.ID] {
			t.Fatalf("bob got %+v, %v", m, err)
		}
		ackRes, ackRoute := n.hops(t, ackFirst, ack)
		n.checkRoute(t, ackRoute, n.topo.Entry[0].Identity)
		if ackRes.Destination != sphinx.DestinationAddress(alice.IdentityPublic()) || !gatewayproto.IsAck(ackRes.Payload) {
			t.Fatal("the SURB-ACK does not come back to alice")
		}
		s.handleAck(ackRes.Payload)
		firstHops[p.next] = true
	}
	if len(firstHops) < 2 {
		t.Errorf("%d packets all went through the same layer-1 node", count)
	}
	for range count {
		r := nextReport(t, s)
		if r.Err != nil || !ids[r.ID] {
			t.Fatalf("report %+v", r)
		}
	}
	// The sent counter moves after transmit returns.
	waitUntil(t, "the sent counter", func() bool { return s.Stats().Sent == count })
	if st := s.Stats(); st.Acked != count || st.Delivered != count || st.Pending != 0 || st.Failed != 0 || st.Retransmitted != 0 {
		t.Errorf("stats %+v", st)
	}

	// Refusals.
	if _, err := s.Send(bobAddr, make([]byte, s.MaxMessageSize()+1)); !errors.Is(err, ErrMessageTooLarge) || !strings.Contains(err.Error(), "at most 65536") {
		t.Errorf("oversized message: %v", err)
	}
	stranger := bob.Address([32]byte{42})
	if _, err := s.Send(stranger, msg); !errors.Is(err, ErrUnknownGateway) {
		t.Errorf("unknown gateway: %v", err)
	}
	// A recipient whose gateway holds a mix role this epoch is still
	// reachable: its node keeps serving its clients.
	viaMix := bob.Address(n.topo.Layers[0][0].Identity)
	if _, err := s.Send(viaMix, msg); err != nil {
		t.Errorf("a recipient whose gateway is a mix node this epoch: %v", err)
	}
}

func (n *testNet) checkRoute(t *testing.T, route [][32]byte, last [32]byte) {
	t.Helper()
	if len(route) != 4 || route[3] != last {
		t.Fatalf("route of %d hops to %x, want 4 to %x", len(route), route[len(route)-1][:4], last[:4])
	}
	for l := range 3 {
		if n.topo.RoleOf(route[l]) != topology.Layer1+topology.Role(l) {
			t.Fatalf("hop %d is a %v", l+1, n.topo.RoleOf(route[l]))
		}
	}
}

// TestRetransmission: a packet whose ack does not come is sent again over
// a fresh route, up to the limit, and then its message is reported failed;
// a forged ack, and the ack of an earlier transmission, change nothing.
func TestRetransmission(t *testing.T) {
	n := newTestNet(t, 3)
	alice, bob := mustKeys(t), mustKeys(t)
	bobAddr := bob.Address(n.topo.Exit[0].Identity)
	out := make(chan sent, 64)
	cfg := DefaultSenderConfig()
	cfg.AverageSendDelay, cfg.AveragePacketDelay = 0, 0
	cfg.AckWait, cfg.MaxAckWait, cfg.MaxRetransmissions = 20*time.Millisecond, 50*time.Millisecond, 3
	s := newTestSender(t, n, alice, cfg, func(next [32]byte, p []byte) error {
		out <- sent{next, p}
		return nil
	}, false)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	go s.Run(ctx)
	id, err := s.Send(bobAddr, []byte("lost"))
	if err != nil {
		t.Fatal(err)
	}
	var acks [][]byte
	routes := map[[32]byte]bool{}
	for range cfg.MaxRetransmissions + 1 {
		p := <-out
		res, route := n.hops(t, p.next, p.packet)
		routes[route[0]], routes[route[1]] = true, true
		ackFirst, ack, _, err := gatewayproto.SplitSURBAck(res.Payload)
		if err != nil {
			t.Fatal(err)
		}
		ackRes, _ := n.hops(t, ackFirst, ack)
		acks = append(acks, ackRes.Payload)
		forged := bytes.Clone(ackRes.Payload)
		forged[20] ^= 1
		s.handleAck(forged)
	}
	r := nextReport(t, s)
	if r.ID != id || !errors.Is(r.Err, ErrNotDelivered) {
		t.Fatalf("report %+v", r)
	}
	// A late ack of any of its transmissions is now no one's.
	s.handleAck(acks[0])
	st := s.Stats()
	if st.Retransmitted != uint64(cfg.MaxRetransmissions) || st.Undelivered != 1 || st.ForgedAcks != uint64(cfg.MaxRetransmissions+1) ||
		st.OtherAcks != 1 || st.Acked != 0 || st.Pending != 0 {
		t.Fatalf("stats %+v", st)
	}
	if len(routes) < 3 {
		t.Errorf("transmissions all took the same route")
	}
	select {
	case p := <-out:
		t.Fatalf("a packet of %d bytes sent after the message failed", len(p.packet))
	case <-time.After(100 * time.Millisecond):
	}

	// A packet acknowledged after its first retransmission: the ack of
	// the first transmission came late, and counts nothing. (Its wait is
	// long; the test ends it by hand, so that no timing matters.)
	cfg.AckWait, cfg.MaxAckWait = time.Hour, time.Hour
	s = newTestSender(t, n, alice, cfg, func(next [32]byte, p []byte) error {
		out <- sent{next, p}
		return nil
	}, false)
	go s.Run(ctx)
	id, _ = s.Send(bobAddr, []byte("late"))
	var first []byte
	for i := range 2 {
		p := <-out
		res, _ := n.hops(t, p.next, p.packet)
		ackFirst, ack, _, _ := gatewayproto.SplitSURBAck(res.Payload)
		ackRes, _ := n.hops(t, ackFirst, ack)
		if i == 0 {
			first = ackRes.Payload
			waitUntil(t, "the packet to wait for its ack", func() bool { return pendingCount(s) == 1 })
			s.mu.Lock()
			var pj *job
			var pid ackID
			for pid, pj = range s.pending {
			}
			pj.timer.Stop()
			s.mu.Unlock()
			s.timeout(pj, pid)
			continue
		}
		s.handleAck(ackRes.Payload)
	}
	s.handleAck(first)
	if r := nextReport(t, s); r.ID != id || r.Err != nil {
		t.Fatalf("report %+v", r)
	}
	if st := s.Stats(); st.Acked != 1 || st.OtherAcks != 1 || st.Delivered != 1 || st.Retransmitted != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func nextReport(t *testing.T, s *Sender) Report {
	t.Helper()
	select {
	case r := <-s.Reports():
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("no report")
	}
	return Report{}
}

func pendingCount(s *Sender) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// TestAckTimeout: the wait is 1.5 times the sampled delays plus AckWait,
// doubled per retransmission, capped.
func TestAckTimeout(t *testing.T) {
	c := DefaultSenderConfig()
	for _, tc := range []struct {
		rtt     time.Duration
		attempt int
		want    time.Duration
	}{
		{0, 1, 1500 * time.Millisecond},
		{200 * time.Millisecond, 1, 1800 * time.Millisecond},
		{200 * time.Millisecond, 2, 3600 * time.Millisecond},
		{200 * time.Millisecond, 4, 14400 * time.Millisecond},
		{200 * time.Millisecond, 5, 28800 * time.Millisecond},
		{200 * time.Millisecond, 6, 30 * time.Second},
		{time.Minute, 1, 30 * time.Second},
	} {
		if got := c.ackTimeout(tc.rtt, tc.attempt); got != tc.want {
			t.Errorf("ackTimeout(%v, %d) = %v, want %v", tc.rtt, tc.attempt, got, tc.want)
		}
	}
}

// TestLoopCover: with loop cover an idle sender sends a packet in every
// slot, each routed through the three layers to the client's own gateway,
// with a SURB-ACK, and sealed so that only the client opens it (as cover);
// a message takes one slot among the cover packets.
func TestLoopCover(t *testing.T) {
	n := newTestNet(t, 2)
	alice, bob := mustKeys(t), mustKeys(t)
	self := alice.Address(n.topo.Entry[0].Identity)
	out := make(chan sent, 64)
	cfg := DefaultSenderConfig()
	cfg.AverageSendDelay = time.Millisecond
	cfg.AckWait, cfg.MaxAckWait = time.Hour, time.Hour // no ack comes: none is sent again
	s := newTestSender(t, n, alice, cfg, func(next [32]byte, p []byte) error {
		out <- sent{next, p}
		return nil
	}, true)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	go s.Run(ctx)

	open := func(p sent) (sphinx.Result, *message, error) {
		res, route := n.hops(t, p.next, p.packet)
		if len(route) != 4 || (route[3] != self.Gateway && route[3] != n.topo.Exit[0].Identity) {
			t.Fatalf("route %d hops, last %x", len(route), route[len(route)-1][:4])
		}
		if res.Destination == sphinx.DestinationAddress(self.Identity) && route[3] != self.Gateway {
			t.Fatal("cover not routed to the client's own gateway")
		}
		if len(p.packet) != cfg.Geometry.PacketSize() {
			t.Fatalf("a %d-byte packet", len(p.packet))
		}
		_, _, content, err := gatewayproto.SplitSURBAck(res.Payload)
		if err != nil {
			t.Fatal("no SURB-ACK")
		}
		key := bob.Encryption
		if res.Destination == sphinx.DestinationAddress(self.Identity) {
			key = alice.Encryption
		}
		plain, err := openSealed(key, content)
		if err != nil {
			return res, nil, err
		}
		piece, err := parsePiece(plain)
		if err != nil {
			return res, nil, err
		}
		m, err := parseMessage(piece.Data)
		return res, m, err
	}
	for range 10 {
		res, _, err := open(<-out)
		if res.Destination != sphinx.DestinationAddress(self.Identity) || !errors.Is(err, ErrCover) {
			t.Fatalf("an idle sender's packet is not loop cover: %v", err)
		}
		_, _, content, _ := gatewayproto.SplitSURBAck(res.Payload)
		if _, err := openSealed(bob.Encryption, content); !errors.Is(err, ErrSealed) {
			t.Fatalf("another key opens a cover payload: %v", err)
		}
	}
	bobAddr := bob.Address(n.topo.Exit[0].Identity)
	if _, err := s.Send(bobAddr, []byte("hello bob")); err != nil {
		t.Fatal(err)
	}
	messages := 0
	for range 20 {
		_, m, err := open(<-out)
		switch {
		case errors.Is(err, ErrCover):
		case err == nil && string(m.data) == "hello bob":
			messages++
		default:
			t.Fatalf("packet neither cover nor the message: %v", err)
		}
	}
	if messages != 1 {
		t.Fatalf("the message went out %d times", messages)
	}
	waitUntil(t, "the counters", func() bool { st := s.Stats(); return st.Sent == 1 && st.CoverSent >= 29 })

	cfg.AverageSendDelay = 0
	if _, err := NewSender(cfg, alice, self, func() *topology.Topology { return n.topo }, nil, true, nil); err == nil {
		t.Fatal("loop cover without gaps between slots was accepted")
	}
}

func TestSenderDelaysAreExponential(t *testing.T) {
	n := newTestNet(t, 1)
	cfg := DefaultSenderConfig()
	s := newTestSender(t, n, mustKeys(t), cfg, nil, false)
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

// TestAnonymousThroughGateways: an anonymous request and its replies
// through real gateways: the replier holds the SURBs under the tag, a
// reply the SURBs cannot carry is parked and SURBs are asked for, the
// asker tops a tag up unasked when replies use most of what it gave, and
// outside bytes are dropped and counted: a reply envelope with an unknown
// digest, a SURB request sealed to the address instead of over a SURB, a
// reply over an expired SURB, an oversized reply.
func TestAnonymousThroughGateways(t *testing.T) {
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	n := newTestNet(t, 2)
	urlA, _ := startGateway(t, n, 0)
	urlB, _ := startGateway(t, n, 1)
	asker, _ := startClient(t, ctx, n, 0, urlA)
	service, _ := startClient(t, ctx, n, 1, urlB)
	waitConnected(t, asker)
	waitConnected(t, service)

	if _, err := asker.SendAnonymous(ctx, service.Address(), []byte("q"), 6); err != nil {
		t.Fatal(err)
	}
	req, err := service.Receive(ctx)
	if err != nil || req.SenderTag == nil {
		t.Fatalf("request %+v %v", req, err)
	}
	tag := *req.SenderTag
	if got := asker.sender.outstanding(tag); got != 6 {
		t.Fatalf("asker counts %d SURBs outstanding, gave 6", got)
	}
	// Two one-chunk replies leave 4 SURBs: below the low water mark of 5,
	// so the asker tops up unasked as the replies come in (the service,
	// holding 5 and then 4 after keeping one back, asks too).
	for _, r := range []string{"a1", "a2"} {
		if _, err := service.Reply(ctx, tag, []byte(r)); err != nil {
			t.Fatal(err)
		}
		if m, err := asker.Receive(ctx); err != nil || !m.Reply || string(m.Data) != r {
			t.Fatalf("reply %q: %+v %v", r, m, err)
		}
	}
	waitUntil(t, "the SURBs topped up", func() bool { return service.HeldSURBs(tag) >= 10 })

	// Oversized: refused at once.
	if _, err := service.Reply(ctx, tag, make([]byte, MaxLongMessage+1)); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("oversized reply: %v", err)
	}

	// Outside bytes, straight into the receive path.
	before := asker.Stats()
	var unknownKey [ReplyKeySize]byte
	rand.Read(unknownKey[:])
	plain, _ := Piece{ID: MessageID{9}, Count: 1, Data: []byte{kindReply, 'x'}}.marshal(ContentSize(sphinx.Regular.PayloadSize) - envelopeOverhead)
	forged, _ := sealReply(rand.Reader, unknownKey, plain)
	if _, ok := asker.handle(forged); ok {
		t.Fatal("a reply over an unknown SURB was handed on")
	}
	ask, _ := (&message{kind: kindSURBAsk, want: 50}).marshal()
	plain, _ = Piece{ID: MessageID{10}, Count: 1, Data: ask}.marshal(ContentSize(sphinx.Regular.PayloadSize) - envelopeOverhead)
	sealed, _ := seal(rand.Reader, asker.keys.Encryption.PublicKey(), plain)
	if _, ok := asker.handle(sealed); ok {
		t.Fatal("a SURB request by address was handed on")
	}
	if st := asker.Stats(); st.Undecryptable != before.Undecryptable+1 || st.BadMessages != before.BadMessages+1 {
		t.Fatalf("undecryptable %d, bad messages %d", st.Undecryptable-before.Undecryptable, st.BadMessages-before.BadMessages)
	}

	// An expired reply key: the reply is refused, and the key is gone.
	var key [ReplyKeySize]byte
	rand.Read(key[:])
	asker.sender.mu.Lock()
	asker.sender.replies.keys[replyDigest(key)] = replyKey{key: key, tag: tag, expires: time.Now().Add(-time.Second)}
	asker.sender.mu.Unlock()
	plain, _ = Piece{ID: MessageID{11}, Count: 1, Data: []byte{kindReply, 'y'}}.marshal(ContentSize(sphinx.Regular.PayloadSize) - envelopeOverhead)
	late, _ := sealReply(rand.Reader, key, plain)
	if _, ok := asker.handle(late); ok {
		t.Fatal("a reply over an expired SURB was handed on")
	}
	asker.sender.mu.Lock()
	_, kept := asker.sender.replies.keys[replyDigest(key)]
	asker.sender.mu.Unlock()
	if kept {
		t.Fatal("the expired reply key is still kept")
	}

	// A long reply over the SURBs held: more chunks than SURBs, parked,
	// asked for, sent.
	long := make([]byte, 20*ChunkCapacity(sphinx.Regular.PayloadSize))
	rand.Read(long)
	if _, err := service.Reply(ctx, tag, long); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := asker.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(m.Data, long) {
			break
		}
	}
}

// TestForgedTrafficOverGateways: someone who knows a client's address
// sends it, through real gateways, an ack packet with a forged payload, a
// message packet whose content is random, and a packet with a SURB-ACK but
// a reply envelope for a SURB the client never made. Each is counted and
// dropped: no message reaches the client's apps, no report changes.
func TestForgedTrafficOverGateways(t *testing.T) {
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	n := newTestNet(t, 1)
	urlA, _ := startGateway(t, n, 0)
	urlB, _ := startGateway(t, n, 1)
	victim, _ := startClient(t, ctx, n, 1, urlB)
	waitConnected(t, victim)
	_, attackerID, _ := ed25519.GenerateKey(rand.Reader)
	conn, _, err := gatewayclient.Register(ctx, urlA, ed25519.PublicKey(n.gwIDs[0].Public().(ed25519.PublicKey)), attackerID)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	to := victim.Address()
	route := func() []sphinx.Hop {
		var r []sphinx.Hop
		for l := 1; l <= 3; l++ {
			r = append(r, n.topo.Layer(l)[0].Hop(0))
		}
		gw, _ := n.topo.ByIdentity(to.Gateway)
		return append(r, gw.Hop(0))
	}
	send := func(g sphinx.Geometry, payload []byte) {
		t.Helper()
		r := route()
		p, err := g.NewPacket(rand.Reader, r, sphinx.Destination{Address: sphinx.DestinationAddress(to.Identity)}, payload)
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.Send([32]byte(r[0].Address), p); err != nil {
			t.Fatal(err)
		}
	}
	forgedAck := make([]byte, sphinx.Ack.PayloadSize)
	rand.Read(forgedAck)
	send(sphinx.Ack, forgedAck)
	// A SURB-ACK back to the attacker's own gateway, so the gateway takes
	// the payload; then random content, and a reply envelope.
	ackPacket, err := sphinx.Ack.NewPacket(rand.Reader, route()[:3], sphinx.Destination{}, make([]byte, sphinx.Ack.PayloadSize))
	if err != nil {
		t.Fatal(err)
	}
	content := make([]byte, ContentSize(sphinx.Regular.PayloadSize))
	rand.Read(content)
	withAck, _ := gatewayproto.JoinSURBAck([32]byte(route()[0].Address), ackPacket, content)
	send(sphinx.Regular, withAck)
	var key [ReplyKeySize]byte
	rand.Read(key[:])
	plain, _ := Piece{ID: MessageID{1}, Count: 1, Data: []byte{kindReply, 'x'}}.marshal(ContentSize(sphinx.Regular.PayloadSize) - envelopeOverhead)
	reply, _ := sealReply(rand.Reader, key, plain)
	withAck, _ = gatewayproto.JoinSURBAck([32]byte(route()[0].Address), ackPacket, reply)
	send(sphinx.Regular, withAck)

	waitUntil(t, "the forged packets counted", func() bool {
		st := victim.Stats()
		return st.ForgedAcks == 1 && st.Undecryptable == 2
	})
	quiet, stop := context.WithTimeout(ctx, 300*time.Millisecond)
	defer stop()
	if m, err := victim.Receive(quiet); err == nil {
		t.Fatalf("forged traffic reached the apps: %q", m.Data)
	}
	if st := victim.Stats(); st.Received != 0 || st.Acked != 0 || st.OtherAcks != 0 || st.BadMessages != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestAnonymousOverTheLocalAPI: an app sends anonymously with
// sendAnonymous; the other app gets the message with a senderTag and no
// address, answers with reply to the tag (JSON and binary), and the first
// app gets the replies; a reply to an unknown tag is an error frame.
func TestAnonymousOverTheLocalAPI(t *testing.T) {
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	n := newTestNet(t, 1)
	urlA, _ := startGateway(t, n, 0)
	urlB, _ := startGateway(t, n, 1)
	clientA, apiA := startClient(t, ctx, n, 0, urlA)
	clientB, apiB := startClient(t, ctx, n, 1, urlB)
	waitConnected(t, clientA)
	waitConnected(t, clientB)
	appA, appB := appConn(t, apiA), appConn(t, apiB)
	// An answer shows each app is registered for what comes next.
	for _, app := range []*websocket.Conn{appA, appB} {
		app.WriteMessage(websocket.TextMessage, []byte(`{"type":"selfAddress"}`))
		readJSON(t, app)
	}
	req, _ := json.Marshal(map[string]any{"type": "sendAnonymous", "recipient": clientB.Address().String(), "message": "who am I talking to?", "replySurbs": 4})
	appA.WriteMessage(websocket.TextMessage, req)
	if j := readJSON(t, appA); j.Type != "sent" {
		t.Fatalf("answer: %+v", j)
	}
	got := readSkipping(t, appB, "delivered")
	if got.Type != "received" || got.SenderTag == "" || *got.Message != "who am I talking to?" || got.Recipient != "" || got.Address != "" {
		t.Fatalf("B's app got %+v", got)
	}
	reply, _ := json.Marshal(map[string]any{"type": "reply", "senderTag": got.SenderTag, "message": "a service"})
	appB.WriteMessage(websocket.TextMessage, reply)
	if j := readJSON(t, appB); j.Type != "sent" {
		t.Fatalf("answer to the reply: %+v", j)
	}
	if j := readSkipping(t, appA, "delivered"); j.Type != "received" || *j.Message != "a service" || j.SenderTag != "" {
		t.Fatalf("A's app got %+v", j)
	}
	tag, _ := ParseSenderTag(got.SenderTag)
	appB.WriteMessage(websocket.BinaryMessage, append(append([]byte{BinaryReply}, tag[:]...), "binary"...))
	if j := readSkipping(t, appA, "delivered"); j.Type != "received" || *j.Message != "binary" {
		t.Fatalf("A's app got %+v", j)
	}
	unknown, _ := json.Marshal(map[string]any{"type": "reply", "senderTag": SenderTag{1}.String(), "message": "x"})
	appB.WriteMessage(websocket.TextMessage, unknown)
	if j := readSkipping(t, appB, "sent", "delivered"); j.Type != "error" || !strings.Contains(j.Error, "no reply SURBs") {
		t.Fatalf("reply to an unknown tag: %+v", j)
	}
}
