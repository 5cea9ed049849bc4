package client

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	"github.com/nyx-privacy/nyx/sidecar/tomltime"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/sphinx"
)

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
	cfg.AverageSendDelay = tomltime.Duration(time.Millisecond)
	// The test acks by hand, however slowly: no packet is sent again.
	cfg.AckWait, cfg.MaxAckWait = tomltime.Duration(time.Hour), tomltime.Duration(time.Hour)
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
	cfg.AckWait, cfg.MaxAckWait, cfg.MaxRetransmissions = tomltime.Duration(20*time.Millisecond), tomltime.Duration(50*time.Millisecond), 3
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
	cfg.AckWait, cfg.MaxAckWait = tomltime.Duration(time.Hour), tomltime.Duration(time.Hour)
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
	cfg.AverageSendDelay = tomltime.Duration(time.Millisecond)
	cfg.AckWait, cfg.MaxAckWait = tomltime.Duration(time.Hour), tomltime.Duration(time.Hour) // no ack comes: none is sent again
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
		d := s.exp(time.Duration(cfg.AveragePacketDelay))
		if d < 0 {
			t.Fatal("negative delay")
		}
		sum += d
		seen[d] = true
	}
	mean := sum / draws
	if d := time.Duration(cfg.AveragePacketDelay); mean < d*9/10 || mean > d*11/10 {
		t.Errorf("mean delay %v, configured %v", mean, cfg.AveragePacketDelay)
	}
	if len(seen) < draws/2 {
		t.Errorf("only %d distinct delays", len(seen))
	}
	if s.exp(0) != 0 {
		t.Error("zero mean gives a delay")
	}
}
