package sphinx

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func geometryName(g Geometry) string {
	s := g.String()
	if i := strings.IndexByte(s, '('); i > 0 {
		return s[:i]
	}
	return s
}

func TestRoundTripAllHopsAllGeometries(t *testing.T) {
	for _, g := range StandardGeometries() {
		for hops := 1; hops <= g.MaxHops; hops++ {
			t.Run(fmt.Sprintf("%s/%dhops", geometryName(g), hops), func(t *testing.T) {
				seed := fmt.Sprintf("rt/%d/%d", g.PayloadSize, hops)
				nodes := newTestNodes(t, seed, hops)
				route := routeOf(nodes)
				dst := testDestination(seed)
				msg := testMessage(seed, g.PayloadSize)
				packet, err := g.NewPacket(newDetReader(seed), route, dst, msg)
				if err != nil {
					t.Fatal(err)
				}
				res, seen := walk(t, g, nodes, packet)
				for i, p := range seen {
					if len(p) != g.PacketSize() {
						t.Fatalf("packet at hop %d is %d bytes, want %d", i, len(p), g.PacketSize())
					}
				}
				if res.Destination != dst.Address || res.Identifier != dst.Identifier {
					t.Fatalf("delivered to %v/%v, want %v/%v", res.Destination, res.Identifier, dst.Address, dst.Identifier)
				}
				if !bytes.Equal(res.Payload, msg) {
					t.Fatal("payload differs from the message")
				}
				if res.Delay != route[hops-1].Delay {
					t.Fatalf("final delay %v, want %v", res.Delay, route[hops-1].Delay)
				}
			})
		}
	}
}

func TestDelaysAndShortMessage(t *testing.T) {
	nodes := newTestNodes(t, "delays", 3)
	route := routeOf(nodes)
	route[0].Delay = 0
	route[1].Delay = time.Duration(math.MaxInt64)
	route[2].Delay = 15 * time.Millisecond
	msg := []byte("hello, mixnet")
	packet, err := Regular.NewPacket(newDetReader("delays"), route, testDestination("delays"), msg)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range nodes {
		res, err := Regular.ProcessHop(n.key, packet)
		if err != nil {
			t.Fatalf("hop %d: %v", i, err)
		}
		if res.Delay != route[i].Delay {
			t.Fatalf("hop %d: delay %v, want %v", i, res.Delay, route[i].Delay)
		}
		packet = res.Packet
		if i == len(nodes)-1 {
			want := make([]byte, Regular.PayloadSize)
			copy(want, msg)
			if !bytes.Equal(res.Payload, want) {
				t.Fatal("short message not delivered zero-padded")
			}
		}
	}
}

func TestProcessHopIntoMatchesProcessHop(t *testing.T) {
	nodes := newTestNodes(t, "into", 4)
	packet, err := Regular.NewPacket(newDetReader("into"), routeOf(nodes), testDestination("into"), testMessage("into", 100))
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range nodes {
		want, err := Regular.ProcessHop(n.key, packet)
		if err != nil {
			t.Fatal(err)
		}
		// In place.
		inPlace := bytes.Clone(packet)
		got, err := Regular.ProcessHopInto(inPlace, n.key, inPlace)
		if err != nil {
			t.Fatal(err)
		}
		// Into a larger, overlapping buffer: output starts 7 bytes in.
		big := make([]byte, len(packet)+7)
		copy(big, packet)
		shifted, err := Regular.ProcessHopInto(big[7:], n.key, big[:len(packet)])
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []Result{got, shifted} {
			if r.Action != want.Action || r.ReplayTag != want.ReplayTag || r.Delay != want.Delay ||
				!bytes.Equal(r.Packet, want.Packet) || !bytes.Equal(r.Payload, want.Payload) {
				t.Fatalf("hop %d: ProcessHopInto differs from ProcessHop", i)
			}
		}
		if i < len(nodes)-1 && &got.Packet[0] != &inPlace[0] {
			t.Fatal("in-place result is not in the caller's buffer")
		}
		packet = want.Packet
	}
	if _, err := Regular.ProcessHopInto(make([]byte, Regular.PacketSize()-1), nodes[0].key, packet); !errors.Is(err, ErrPacketSize) {
		t.Fatalf("short output buffer: %v, want ErrPacketSize", err)
	}
}

// longestCommonRun returns the length of the longest byte string found in
// both a and b, up to limit.
func longestCommonRun(a, b []byte, limit int) int {
	best := 0
	for n := 1; n <= limit; n++ {
		windows := make(map[string]struct{}, len(a))
		for i := 0; i+n <= len(a); i++ {
			windows[string(a[i:i+n])] = struct{}{}
		}
		found := false
		for i := 0; i+n <= len(b); i++ {
			if _, ok := windows[string(b[i:i+n])]; ok {
				found = true
				break
			}
		}
		if !found {
			return best
		}
		best = n
	}
	return best
}

func TestHopOutputSharesNoRunWithInput(t *testing.T) {
	// For two independent uniform strings of about 2.4 KB the longest
	// common run is 3 or 4 bytes; 8 would happen by chance with
	// probability around 2^-41.
	const limit = 8
	for _, g := range []Geometry{Ack, Regular} {
		nodes := newTestNodes(t, "runs", 5)
		packet, err := g.NewPacket(newDetReader("runs"), routeOf(nodes), testDestination("runs"), testMessage("runs", g.PayloadSize))
		if err != nil {
			t.Fatal(err)
		}
		_, seen := walk(t, g, nodes, packet)
		for i := 0; i+1 < len(seen); i++ {
			if n := longestCommonRun(seen[i], seen[i+1], limit); n >= limit {
				t.Fatalf("%s: hop %d's output shares a %d-byte run with its input", g, i, n)
			}
		}
		// Nothing shows structure either: no run of zero bytes (padding,
		// a shifted-in record) survives into any packet.
		for i, p := range seen {
			if bytes.Contains(p, make([]byte, limit)) {
				t.Fatalf("%s: the packet at hop %d has %d zero bytes in a row", g, i, limit)
			}
		}
	}
}

func TestEveryHeaderBitFlipFailsTheMAC(t *testing.T) {
	nodes := newTestNodes(t, "hdrflip", 4)
	packet, err := Regular.NewPacket(newDetReader("hdrflip"), routeOf(nodes), testDestination("hdrflip"), testMessage("hdrflip", 64))
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, len(packet))
	for hop, n := range nodes {
		for bit := 0; bit < Regular.HeaderSize()*8; bit++ {
			bad := bytes.Clone(packet)
			bad[bit/8] ^= 1 << (bit % 8)
			orig := bytes.Clone(bad)
			sentinel := bytes.Repeat([]byte{0xa5}, len(dst))
			copy(dst, sentinel)
			_, err := Regular.ProcessHopInto(dst, n.key, bad)
			if !errors.Is(err, ErrMAC) {
				t.Fatalf("hop %d, header bit %d flipped: %v, want ErrMAC", hop, bit, err)
			}
			if !bytes.Equal(bad, orig) || !bytes.Equal(dst, sentinel) {
				t.Fatalf("hop %d, bit %d: a failed MAC changed a buffer", hop, bit)
			}
		}
		res, err := Regular.ProcessHop(n.key, packet)
		if err != nil {
			t.Fatal(err)
		}
		packet = res.Packet
	}
}

// flipBitsAt flips bit of the payload of the packet entering hop `at` and
// reports the error of the final hop (nil if it accepted).
func finalHopAfterFlip(t *testing.T, g Geometry, nodes []testNode, packet []byte, at, bit int) error {
	t.Helper()
	for i, n := range nodes {
		if i == at {
			packet = bytes.Clone(packet)
			packet[g.HeaderSize()+bit/8] ^= 1 << (bit % 8)
		}
		res, err := g.ProcessHop(n.key, packet)
		if i == len(nodes)-1 {
			return err
		}
		if err != nil {
			t.Fatalf("hop %d rejected a payload-flipped packet before the final hop: %v", i, err)
		}
		packet = res.Packet
	}
	return nil
}

func TestPayloadBitFlipIsRejectedAtTheFinalHop(t *testing.T) {
	t.Run("ack/every bit at every hop", func(t *testing.T) {
		nodes := newTestNodes(t, "plflip", 4)
		packet, err := Ack.NewPacket(newDetReader("plflip"), routeOf(nodes), testDestination("plflip"), testMessage("plflip", Ack.PayloadSize))
		if err != nil {
			t.Fatal(err)
		}
		for at := range nodes {
			for bit := 0; bit < Ack.WirePayloadSize()*8; bit++ {
				if err := finalHopAfterFlip(t, Ack, nodes, packet, at, bit); !errors.Is(err, ErrPayloadIntegrity) {
					t.Fatalf("bit %d flipped before hop %d: final hop says %v, want ErrPayloadIntegrity", bit, at, err)
				}
			}
		}
	})
	t.Run("regular/every bit, one hop", func(t *testing.T) {
		nodes := newTestNodes(t, "plflip1", 1)
		packet, err := Regular.NewPacket(newDetReader("plflip1"), routeOf(nodes), testDestination("plflip1"), testMessage("plflip1", Regular.PayloadSize))
		if err != nil {
			t.Fatal(err)
		}
		for bit := 0; bit < Regular.WirePayloadSize()*8; bit++ {
			if err := finalHopAfterFlip(t, Regular, nodes, packet, 0, bit); !errors.Is(err, ErrPayloadIntegrity) {
				t.Fatalf("bit %d flipped: final hop says %v, want ErrPayloadIntegrity", bit, err)
			}
		}
	})
	t.Run("regular/spread bits at every hop", func(t *testing.T) {
		nodes := newTestNodes(t, "plflip4", 4)
		packet, err := Regular.NewPacket(newDetReader("plflip4"), routeOf(nodes), testDestination("plflip4"), testMessage("plflip4", Regular.PayloadSize))
		if err != nil {
			t.Fatal(err)
		}
		bits := Regular.WirePayloadSize() * 8
		for at := range nodes {
			for bit := at; bit < bits; bit += 97 {
				if err := finalHopAfterFlip(t, Regular, nodes, packet, at, bit); !errors.Is(err, ErrPayloadIntegrity) {
					t.Fatalf("bit %d flipped before hop %d: final hop says %v, want ErrPayloadIntegrity", bit, at, err)
				}
			}
			if err := finalHopAfterFlip(t, Regular, nodes, packet, at, bits-1); !errors.Is(err, ErrPayloadIntegrity) {
				t.Fatalf("last bit flipped before hop %d: %v", at, err)
			}
		}
	})
}

func TestReplayIsCaughtByTheFilter(t *testing.T) {
	nodes := newTestNodes(t, "replay", 3)
	route := routeOf(nodes)
	packet, err := Regular.NewPacket(newDetReader("replay"), route, testDestination("replay"), []byte("once"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := Regular.NewPacket(newDetReader("replay-other"), route, testDestination("replay"), []byte("once"))
	if err != nil {
		t.Fatal(err)
	}
	filter, err := NewReplayFilter(1000, time.Hour, 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	first, err := Regular.ProcessHop(nodes[0].key, packet)
	if err != nil {
		t.Fatal(err)
	}
	if filter.TestAndAdd(first.ReplayTag) {
		t.Fatal("a fresh packet was reported as a replay")
	}
	again, err := Regular.ProcessHop(nodes[0].key, packet)
	if err != nil {
		t.Fatal(err)
	}
	if again.ReplayTag != first.ReplayTag || !filter.TestAndAdd(again.ReplayTag) {
		t.Fatal("the replayed packet was not caught")
	}
	// Replaying the header with another payload is the same packet to the filter.
	tampered := bytes.Clone(packet)
	tampered[len(tampered)-1] ^= 0xff
	res, err := Regular.ProcessHop(nodes[0].key, tampered)
	if err != nil {
		t.Fatal(err)
	}
	if !filter.TestAndAdd(res.ReplayTag) {
		t.Fatal("a replayed header with a changed payload was not caught")
	}
	// Another packet to the same node is not a replay.
	o, err := Regular.ProcessHop(nodes[0].key, other)
	if err != nil {
		t.Fatal(err)
	}
	if o.ReplayTag == first.ReplayTag || filter.TestAndAdd(o.ReplayTag) {
		t.Fatal("a different packet was reported as a replay")
	}
	// The next hop sees a different tag for the same packet.
	second, err := Regular.ProcessHop(nodes[1].key, first.Packet)
	if err != nil {
		t.Fatal(err)
	}
	if second.ReplayTag == first.ReplayTag {
		t.Fatal("two hops derived the same replay tag")
	}
}

func TestPacketForAnotherKeyIsRefused(t *testing.T) {
	nodes := newTestNodes(t, "otherkey", 2)
	stranger := newTestNodes(t, "stranger", 1)[0]
	packet, err := Regular.NewPacket(newDetReader("otherkey"), routeOf(nodes), testDestination("otherkey"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []*PrivateKey{stranger.key, nodes[1].key} {
		if _, err := Regular.ProcessHop(k, packet); !errors.Is(err, ErrMAC) {
			t.Fatalf("packet processed with the wrong key: %v, want ErrMAC", err)
		}
	}
	// The right key still works, and a rotated key refuses the old packets.
	if _, err := Regular.ProcessHop(nodes[0].key, packet); err != nil {
		t.Fatal(err)
	}
}

func TestLowOrderGroupElementIsRefused(t *testing.T) {
	nodes := newTestNodes(t, "loworder", 1)
	packet, err := Regular.NewPacket(newDetReader("loworder"), routeOf(nodes), testDestination("loworder"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range lowOrderPoints(t) {
		bad := bytes.Clone(packet)
		copy(bad, p)
		if _, err := Regular.ProcessHop(nodes[0].key, bad); !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("low-order group element %x: %v, want ErrInvalidKey", p, err)
		}
	}
}

func TestProcessHopRefusesBadInput(t *testing.T) {
	nodes := newTestNodes(t, "badin", 1)
	packet, err := Regular.NewPacket(newDetReader("badin"), routeOf(nodes), testDestination("badin"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		g    Geometry
		key  *PrivateKey
		pkt  []byte
		want error
	}{
		{"empty", Regular, nodes[0].key, nil, ErrPacketSize},
		{"short", Regular, nodes[0].key, packet[:len(packet)-1], ErrPacketSize},
		{"long", Regular, nodes[0].key, append(bytes.Clone(packet), 0), ErrPacketSize},
		{"other geometry", Ack, nodes[0].key, packet, ErrPacketSize},
		{"nil key", Regular, nil, packet, ErrInvalidKey},
		{"zero geometry", Geometry{}, nodes[0].key, packet, ErrGeometry},
	}
	for _, c := range cases {
		if _, err := c.g.ProcessHop(c.key, c.pkt); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestNewPacketRefusesBadInput(t *testing.T) {
	nodes := newTestNodes(t, "badnew", 6)
	route := routeOf(nodes)
	dst := testDestination("badnew")
	negative := routeOf(nodes[:2])
	negative[1].Delay = -time.Second
	noKey := routeOf(nodes[:2])
	noKey[0].PublicKey = nil
	cases := []struct {
		name  string
		g     Geometry
		route []Hop
		msg   []byte
		rand  *shortReader
		want  error
	}{
		{"no hops", Regular, nil, nil, nil, ErrRoute},
		{"six hops", Regular, route, nil, nil, ErrRoute},
		{"negative delay", Regular, negative, nil, nil, ErrRoute},
		{"nil key", Regular, noKey, nil, nil, ErrRoute},
		{"message too long", Regular, route[:2], make([]byte, Regular.PayloadSize+1), nil, ErrMessageSize},
		{"bad geometry", Geometry{MaxHops: 5, PayloadSize: 1}, route[:2], nil, nil, ErrGeometry},
		{"short randomness", Regular, route[:2], nil, &shortReader{n: 40}, errShortRead},
	}
	for _, c := range cases {
		var rnd interface{ Read([]byte) (int, error) } = newDetReader("badnew")
		if c.rand != nil {
			rnd = c.rand
		}
		if _, err := c.g.NewPacket(rnd, c.route, dst, c.msg); !errors.Is(err, c.want) {
			t.Errorf("NewPacket %s: %v, want %v", c.name, err, c.want)
		}
		if c.msg == nil {
			if _, err := c.g.NewSURB(rnd, c.route, dst); !errors.Is(err, c.want) {
				t.Errorf("NewSURB %s: %v, want %v", c.name, err, c.want)
			}
		}
	}
	if _, err := Regular.NewPacket(nil, route[:1], dst, nil); !errors.Is(err, ErrRoute) {
		t.Errorf("nil rand: %v", err)
	}
}

var errShortRead = errors.New("randomness ran out")

// shortReader gives n bytes, then fails.
type shortReader struct{ n int }

func (r *shortReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errShortRead
	}
	k := min(r.n, len(p))
	r.n -= k
	return k, nil
}

func TestMalformedRoutingRecordIsRefused(t *testing.T) {
	node := newTestNodes(t, "malformed", 1)[0]
	for _, c := range []struct {
		name  string
		flag  byte
		delay uint64
	}{
		{"unknown flag", 0x7f, 0},
		{"zero flag", 0x00, 0},
		{"delay beyond time.Duration", flagFinal, math.MaxInt64 + 1},
	} {
		packet := craftOneHop(t, Regular, node.key.PublicKey(), c.flag, c.delay)
		if _, err := Regular.ProcessHop(node.key, packet); !errors.Is(err, ErrRoutingInfo) {
			t.Errorf("%s: %v, want ErrRoutingInfo", c.name, err)
		}
	}
	// The hand-built packet is right otherwise: with a good record it is delivered.
	packet := craftOneHop(t, Regular, node.key.PublicKey(), flagFinal, 5)
	res, err := Regular.ProcessHop(node.key, packet)
	if err != nil || res.Action != Deliver || res.Delay != 5 {
		t.Fatalf("hand-built packet: %+v, %v", res.Action, err)
	}
}

func TestAllocationsPerHop(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector adds allocations")
	}
	nodes := newTestNodes(t, "allocs", 4)
	packet, err := Regular.NewPacket(newDetReader("allocs"), routeOf(nodes), testDestination("allocs"), nil)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, len(packet))
	into := testing.AllocsPerRun(50, func() {
		if _, err := Regular.ProcessHopInto(dst, nodes[0].key, packet); err != nil {
			t.Fatal(err)
		}
	})
	alloc := testing.AllocsPerRun(50, func() {
		if _, err := Regular.ProcessHop(nodes[0].key, packet); err != nil {
			t.Fatal(err)
		}
	})
	if into > 1 || alloc > 2 {
		t.Fatalf("allocations per hop: ProcessHopInto %v (want <= 1), ProcessHop %v (want <= 2)", into, alloc)
	}
}

func TestConcurrentProcessingWithOneKey(t *testing.T) {
	nodes := newTestNodes(t, "concurrent", 2)
	route := routeOf(nodes)
	const n = 16
	packets := make([][]byte, n)
	for i := range packets {
		p, err := Regular.NewPacket(newDetReader(fmt.Sprintf("concurrent/%d", i)), route, testDestination("c"), []byte{byte(i)})
		if err != nil {
			t.Fatal(err)
		}
		packets[i] = p
	}
	filter, err := NewReplayFilterFor(1000, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2*n)
	for round := 0; round < 2; round++ {
		for i := range packets {
			go func() {
				res, err := Regular.ProcessHopInto(bytes.Clone(packets[i]), nodes[0].key, packets[i])
				if err == nil && res.NextHop != nodes[1].addr {
					err = fmt.Errorf("packet %d: wrong next hop", i)
				}
				if err == nil && filter.TestAndAdd(res.ReplayTag) {
					err = errReplayed
				}
				errs <- err
			}()
		}
	}
	replays := 0
	for range 2 * n {
		switch err := <-errs; {
		case errors.Is(err, errReplayed):
			replays++
		case err != nil:
			t.Fatal(err)
		}
	}
	if replays != n {
		t.Fatalf("%d of %d duplicate packets were caught", replays, n)
	}
}

var errReplayed = errors.New("replayed")

func TestProcessHopFiltered(t *testing.T) {
	nodes := newTestNodes(t, "filtered", 2)
	packet, err := Regular.NewPacket(newDetReader("filtered"), routeOf(nodes), testDestination("filtered"), []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	filter, err := NewReplayFilterFor(100, 1e-6)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Regular.ProcessHop(nodes[0].key, packet)
	if err != nil {
		t.Fatal(err)
	}
	// A packet that fails the MAC does not reach the filter.
	bad := bytes.Clone(packet)
	bad[100] ^= 1
	dst := make([]byte, len(packet))
	if _, err := Regular.ProcessHopFiltered(dst, nodes[0].key, bad, filter); !errors.Is(err, ErrMAC) || filter.Len() != 0 {
		t.Fatalf("bad MAC: %v, filter holds %d", err, filter.Len())
	}
	got, err := Regular.ProcessHopFiltered(dst, nodes[0].key, packet, filter)
	if err != nil || !bytes.Equal(got.Packet, want.Packet) || got.ReplayTag != want.ReplayTag {
		t.Fatalf("first copy: %v", err)
	}
	sentinel := bytes.Repeat([]byte{0x5a}, len(dst))
	copy(dst, sentinel)
	if _, err := Regular.ProcessHopFiltered(dst, nodes[0].key, packet, filter); !errors.Is(err, ErrReplay) {
		t.Fatalf("second copy: %v, want ErrReplay", err)
	}
	if !bytes.Equal(dst, sentinel) {
		t.Fatal("a refused replay changed the output buffer")
	}
	if _, err := Regular.ProcessHopFiltered(dst, nodes[0].key, packet, nil); err == nil {
		t.Fatal("nil filter accepted")
	}
}
