package sphinx

import (
	"errors"
	"testing"
)

// The size table of SPEC.md. These numbers are written out on purpose: a
// change to any of them is a change of the wire format.
func TestSizeTable(t *testing.T) {
	want := []struct {
		g                                    Geometry
		header, routing, wirePayload, packet int
		surb                                 int
	}{
		{Ack, 333, 285, 48, 381, 526},
		{Regular, 333, 285, 2064, 2397, 526},
		{Extended8, 333, 285, 8208, 8541, 526},
		{Extended16, 333, 285, 16400, 16733, 526},
		{Extended32, 333, 285, 32784, 33117, 526},
	}
	for _, w := range want {
		if err := w.g.Validate(); err != nil {
			t.Fatal(err)
		}
		got := []int{w.g.HeaderSize(), w.g.RoutingInfoSize(), w.g.WirePayloadSize(), w.g.PacketSize(), w.g.SURBSize()}
		exp := []int{w.header, w.routing, w.wirePayload, w.packet, w.surb}
		for i := range got {
			if got[i] != exp[i] {
				t.Errorf("%s: sizes %v, want %v", w.g, got, exp)
				break
			}
		}
		g, err := GeometryForPacketSize(w.packet)
		if err != nil || g != w.g {
			t.Errorf("GeometryForPacketSize(%d) = %v, %v", w.packet, g, err)
		}
	}
	if RoutingRecordSize != 57 {
		t.Errorf("routing record is %d bytes, want 57", RoutingRecordSize)
	}
	if _, err := GeometryForPacketSize(2398); !errors.Is(err, ErrPacketSize) {
		t.Errorf("GeometryForPacketSize(2398): %v", err)
	}
	// An ack packet fits in a regular payload, so a sender can embed it.
	if Ack.PacketSize() > Regular.PayloadSize {
		t.Error("an ack packet does not fit in a regular payload")
	}
}

func TestGeometryValidate(t *testing.T) {
	for _, g := range []Geometry{
		{}, {MaxHops: 0, PayloadSize: 2048}, {MaxHops: MaxHopsLimit + 1, PayloadSize: 2048},
		{MaxHops: 5, PayloadSize: MinPayloadSize - 1}, {MaxHops: 5, PayloadSize: MaxPayloadSize + 1},
		{MaxHops: -1, PayloadSize: -1},
	} {
		if err := g.Validate(); !errors.Is(err, ErrGeometry) {
			t.Errorf("%+v: %v, want ErrGeometry", g, err)
		}
	}
	// The smallest and largest geometries work end to end.
	for _, g := range []Geometry{{MaxHops: 1, PayloadSize: MinPayloadSize}, {MaxHops: 8, PayloadSize: 100}} {
		nodes := newTestNodes(t, "edge", g.MaxHops)
		msg := testMessage("edge", g.PayloadSize)
		packet, err := g.NewPacket(newDetReader("edge"), routeOf(nodes), testDestination("edge"), msg)
		if err != nil {
			t.Fatal(err)
		}
		res, _ := walk(t, g, nodes, packet)
		if string(res.Payload) != string(msg) {
			t.Fatalf("%s: payload differs", g)
		}
	}
}
