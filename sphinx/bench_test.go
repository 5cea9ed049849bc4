package sphinx

import (
	"testing"
	"time"

	"github.com/cloudflare/circl/dh/x25519"
)

// The benchmarks run on the Regular geometry with Nyx's route length of four
// (three mix layers and the recipient's gateway). Compare BenchmarkProcessHop
// with BenchmarkFloorTwoX25519 from the same run: the difference is the
// symmetric work of a hop.

func benchPacket(b *testing.B, hops int) ([]testNode, []byte) {
	nodes := newTestNodes(b, "bench", hops)
	packet, err := Regular.NewPacket(newDetReader("bench"), routeOf(nodes), testDestination("bench"), testMessage("bench", Regular.PayloadSize))
	if err != nil {
		b.Fatal(err)
	}
	return nodes, packet
}

// BenchmarkFloorTwoX25519 is the floor of one hop: two X25519 scalar
// multiplications with circl (the shared secret and the blinding).
func BenchmarkFloorTwoX25519(b *testing.B) {
	var secret, blind, point, shared, next x25519.Key
	_, _ = newDetReader("floor").Read(secret[:])
	_, _ = newDetReader("floor2").Read(blind[:])
	x25519.KeyGen(&point, &secret)
	b.ReportAllocs()
	for b.Loop() {
		x25519.Shared(&shared, &secret, &point)
		x25519.Shared(&next, &blind, &point)
	}
}

// BenchmarkProcessHop processes the first hop of a regular packet into a new
// buffer.
func BenchmarkProcessHop(b *testing.B) {
	nodes, packet := benchPacket(b, 4)
	b.SetBytes(int64(len(packet)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Regular.ProcessHop(nodes[0].key, packet); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProcessHopInto processes the first hop of a regular packet into a
// caller-provided buffer, as a mix node's worker does.
func BenchmarkProcessHopInto(b *testing.B) {
	nodes, packet := benchPacket(b, 4)
	dst := make([]byte, len(packet))
	b.SetBytes(int64(len(packet)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Regular.ProcessHopInto(dst, nodes[0].key, packet); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProcessFinalHop processes the last hop (one multiplication, the
// integrity check) of a regular packet into a caller-provided buffer.
func BenchmarkProcessFinalHop(b *testing.B) {
	nodes, packet := benchPacket(b, 1)
	dst := make([]byte, len(packet))
	b.SetBytes(int64(len(packet)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Regular.ProcessHopInto(dst, nodes[0].key, packet); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProcessHopBadMAC is the cost of refusing a packet whose MAC fails
// (one multiplication and the key derivation).
func BenchmarkProcessHopBadMAC(b *testing.B) {
	nodes, packet := benchPacket(b, 4)
	packet[GroupElementSize] ^= 1
	dst := make([]byte, len(packet))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Regular.ProcessHopInto(dst, nodes[0].key, packet); err == nil {
			b.Fatal("tampered packet accepted")
		}
	}
}

// BenchmarkProcessHopReplay is the cost of refusing a replay with
// ProcessHopFiltered (one multiplication, the key derivation and the filter).
func BenchmarkProcessHopReplay(b *testing.B) {
	nodes, packet := benchPacket(b, 4)
	filter, err := NewReplayFilterFor(1000, 1e-5)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, len(packet))
	if _, err := Regular.ProcessHopFiltered(dst, nodes[0].key, packet, filter); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Regular.ProcessHopFiltered(dst, nodes[0].key, packet, filter); err != ErrReplay {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreatePacket4Hops creates a regular packet for a four-hop route.
func BenchmarkCreatePacket4Hops(b *testing.B) {
	nodes := newTestNodes(b, "bench", 4)
	route, dst, msg := routeOf(nodes), testDestination("bench"), testMessage("bench", Regular.PayloadSize)
	rnd := newDetReader("bench-create")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Regular.NewPacket(rnd, route, dst, msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateSURB creates a SURB for a four-hop route.
func BenchmarkCreateSURB(b *testing.B) {
	nodes := newTestNodes(b, "bench", 4)
	route, dst := routeOf(nodes), testDestination("bench")
	rnd := newDetReader("bench-surb")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Regular.NewSURB(rnd, route, dst); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewReply builds a regular reply packet from a four-hop SURB (no
// public-key operation: four LIONESS encryptions).
func BenchmarkNewReply(b *testing.B) {
	nodes := newTestNodes(b, "bench", 4)
	surb, err := Regular.NewSURB(newDetReader("bench"), routeOf(nodes), testDestination("bench"))
	if err != nil {
		b.Fatal(err)
	}
	msg := testMessage("bench", Regular.PayloadSize)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Regular.NewReply(surb, msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLIONESSDecrypt2K is one hop's payload work on a regular packet.
func BenchmarkLIONESSDecrypt2K(b *testing.B) {
	var key [PayloadKeySize]byte
	block := make([]byte, Regular.WirePayloadSize())
	b.SetBytes(int64(len(block)))
	b.ReportAllocs()
	for b.Loop() {
		lionessDecrypt(&key, block)
	}
}

// BenchmarkReplayFilterTestAndAdd adds fresh tags to a filter sized for an
// hour at 1,000 packets a second with a 1e-5 false-positive target.
func BenchmarkReplayFilterTestAndAdd(b *testing.B) {
	f, err := NewReplayFilterFor(3_600_000, 1e-5)
	if err != nil {
		b.Fatal(err)
	}
	rnd := newDetReader("bench-replay")
	var tag ReplayTag
	b.ReportAllocs()
	for b.Loop() {
		_, _ = rnd.Read(tag[:])
		f.TestAndAdd(tag)
	}
}

// BenchmarkProcessHopVsFloor alternates one hop (ProcessHopInto, regular
// packet) with the floor (two circl X25519 multiplications) in the same loop,
// so both see the same machine load, and reports each one's mean and their
// ratio. On a shared machine this ratio is steadier than two separate runs.
func BenchmarkProcessHopVsFloor(b *testing.B) {
	nodes, packet := benchPacket(b, 4)
	dst := make([]byte, len(packet))
	var secret, blind, point, shared, next x25519.Key
	_, _ = newDetReader("floor").Read(secret[:])
	_, _ = newDetReader("floor2").Read(blind[:])
	x25519.KeyGen(&point, &secret)
	var hop, floor time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		if _, err := Regular.ProcessHopInto(dst, nodes[0].key, packet); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		x25519.Shared(&shared, &secret, &point)
		x25519.Shared(&next, &blind, &point)
		t2 := time.Now()
		hop += t1.Sub(t0)
		floor += t2.Sub(t1)
	}
	b.ReportMetric(float64(hop.Nanoseconds())/float64(b.N), "hop-ns")
	b.ReportMetric(float64(floor.Nanoseconds())/float64(b.N), "floor-ns")
	b.ReportMetric(float64(hop)/float64(floor), "hop/floor")
}
