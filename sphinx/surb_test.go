package sphinx

import (
	"bytes"
	"errors"
	"testing"
)

func TestSURBReplyRoundTrip(t *testing.T) {
	for _, hops := range []int{1, 4, 5} {
		nodes := newTestNodes(t, "surb", hops)
		creator := testDestination("creator")
		surb, err := Regular.NewSURB(newDetReader("surb"), routeOf(nodes), creator)
		if err != nil {
			t.Fatal(err)
		}
		// The SURB travels to the correspondent as bytes.
		wire, err := surb.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if len(wire) != Regular.SURBSize() {
			t.Fatalf("SURB is %d bytes, want %d", len(wire), Regular.SURBSize())
		}
		if bytes.Contains(wire, creator.Address[:]) {
			t.Fatal("the SURB reveals its creator's address")
		}
		for _, n := range nodes[1:] {
			if bytes.Contains(wire, n.addr[:]) {
				t.Fatal("the SURB reveals a hop after the first")
			}
		}
		got, err := Regular.ParseSURB(wire)
		if err != nil {
			t.Fatal(err)
		}
		if got.FirstHop() != nodes[0].addr || got.Hops() != hops {
			t.Fatalf("parsed SURB: first hop %v, %d hops", got.FirstHop(), got.Hops())
		}
		msg := testMessage("reply", Regular.PayloadSize)
		reply, err := Regular.NewReply(got, msg)
		if err != nil {
			t.Fatal(err)
		}
		if len(reply) != Regular.PacketSize() {
			t.Fatalf("reply is %d bytes, want %d", len(reply), Regular.PacketSize())
		}
		res, _ := walk(t, Regular, nodes, reply)
		if res.Destination != creator.Address || res.Identifier != creator.Identifier {
			t.Fatal("reply delivered to the wrong place")
		}
		if !bytes.Equal(res.Payload, msg) {
			t.Fatal("reply payload differs")
		}
	}
}

func TestSURBReplyIsLikeAForwardPacket(t *testing.T) {
	// A forward packet and a reply on the same route with the same
	// randomness are the same bytes: no hop can tell them apart.
	nodes := newTestNodes(t, "alike", 4)
	route, dst := routeOf(nodes), testDestination("alike")
	msg := testMessage("alike", 500)
	forward, err := Regular.NewPacket(newDetReader("alike"), route, dst, msg)
	if err != nil {
		t.Fatal(err)
	}
	surb, err := Regular.NewSURB(newDetReader("alike"), route, dst)
	if err != nil {
		t.Fatal(err)
	}
	reply, err := Regular.NewReply(surb, msg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(forward, reply) {
		t.Fatal("a reply differs from the forward packet built from the same inputs")
	}
	// A reply with a flipped payload bit is refused at the final hop too.
	if err := finalHopAfterFlip(t, Regular, nodes, reply, 2, 12345); !errors.Is(err, ErrPayloadIntegrity) {
		t.Fatalf("tampered reply: %v, want ErrPayloadIntegrity", err)
	}
}

func TestSURBIsSingleUse(t *testing.T) {
	nodes := newTestNodes(t, "single", 4)
	surb, err := Regular.NewSURB(newDetReader("single"), routeOf(nodes), testDestination("single"))
	if err != nil {
		t.Fatal(err)
	}
	filter, err := NewReplayFilterFor(1000, 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	for i, msg := range [][]byte{[]byte("first reply"), []byte("second reply")} {
		reply, err := Regular.NewReply(surb, msg)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Regular.ProcessHop(nodes[0].key, reply)
		if err != nil {
			t.Fatal(err)
		}
		if seen := filter.TestAndAdd(res.ReplayTag); seen != (i == 1) {
			t.Fatalf("reply %d: seen=%v", i, seen)
		}
	}
}

func TestParseSURBRefusesMalformed(t *testing.T) {
	nodes := newTestNodes(t, "badsurb", 3)
	surb, err := Regular.NewSURB(newDetReader("badsurb"), routeOf(nodes), testDestination("badsurb"))
	if err != nil {
		t.Fatal(err)
	}
	wire, err := surb.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(wire)) }
	alphaAt := 1 + NodeAddressSize
	cases := map[string][]byte{
		"empty":            nil,
		"short":            wire[:len(wire)-1],
		"long":             append(bytes.Clone(wire), 0),
		"zero hops":        mutate(func(b []byte) []byte { b[0] = 0; return b }),
		"six hops":         mutate(func(b []byte) []byte { b[0] = 6; return b }),
		"unused key set":   mutate(func(b []byte) []byte { b[len(b)-1] = 1; return b }),
		"low-order alpha":  mutate(func(b []byte) []byte { clear(b[alphaAt : alphaAt+32]); return b }),
		"top bit of alpha": mutate(func(b []byte) []byte { b[alphaAt+31] |= 0x80; return b }),
	}
	for name, b := range cases {
		if _, err := Regular.ParseSURB(b); !errors.Is(err, ErrSURB) {
			t.Errorf("%s: %v, want ErrSURB", name, err)
		}
	}
	// A SURB for five-hop headers does not fit a geometry with other MaxHops.
	small := Geometry{MaxHops: 3, PayloadSize: 100}
	if _, err := small.NewReply(surb, nil); !errors.Is(err, ErrSURB) {
		t.Errorf("SURB used with another MaxHops: %v", err)
	}
	if _, err := Regular.NewReply(nil, nil); !errors.Is(err, ErrSURB) {
		t.Errorf("nil SURB: %v", err)
	}
	if _, err := Regular.NewReply(surb, make([]byte, Regular.PayloadSize+1)); !errors.Is(err, ErrMessageSize) {
		t.Errorf("long reply: %v", err)
	}
	if _, err := new(SURB).MarshalBinary(); !errors.Is(err, ErrSURB) {
		t.Errorf("empty SURB marshalled: %v", err)
	}
	// A reply may use a larger payload than the geometry the SURB was made with.
	reply, err := Extended8.NewReply(surb, []byte("big"))
	if err != nil {
		t.Fatal(err)
	}
	res, _ := walk(t, Extended8, nodes, reply)
	if !bytes.HasPrefix(res.Payload, []byte("big")) {
		t.Fatal("extended reply not delivered")
	}
}
