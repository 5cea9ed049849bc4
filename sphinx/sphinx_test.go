package sphinx

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

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
				if len(packet) != g.PacketSize() {
					t.Fatalf("packet is %d bytes, want %d", len(packet), g.PacketSize())
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

func geometryName(g Geometry) string {
	s := g.String()
	if i := bytes.IndexByte([]byte(s), '('); i > 0 {
		return s[:i]
	}
	return s
}

var _ = errors.Is
