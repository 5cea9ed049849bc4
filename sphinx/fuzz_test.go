package sphinx

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/cloudflare/circl/dh/x25519"
)

// Fuzz targets for every function that takes bytes from outside: packets
// (ProcessHop), SURBs (ParseSURB) and public keys (NewPublicKey). Run one
// with, for example:
//
//	go test ./sphinx -run '^$' -fuzz '^FuzzProcessHop$' -fuzztime 60s
//
// The seeds below run as ordinary tests under go test.

func fuzzNode(t testing.TB) testNode { return newTestNodes(t, "fuzz", 1)[0] }

// seedPackets returns valid packets for the fuzz node as the first hop, in
// the ack and regular geometries, with one and several hops.
func seedPackets(t testing.TB) [][]byte {
	node := fuzzNode(t)
	others := newTestNodes(t, "fuzz-others", 3)
	var out [][]byte
	for _, g := range []Geometry{Ack, Regular} {
		for _, route := range [][]testNode{{node}, append([]testNode{node}, others...)} {
			p, err := g.NewPacket(newDetReader("fuzz-seed"), routeOf(route), testDestination("fuzz"), []byte("seed"))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, p)
		}
	}
	return out
}

func FuzzProcessHop(f *testing.F) {
	for _, p := range seedPackets(f) {
		f.Add(p)
		f.Add(p[:len(p)-1])
		bad := bytes.Clone(p)
		bad[40] ^= 4
		f.Add(bad)
	}
	f.Add([]byte{})
	f.Add(make([]byte, Ack.PacketSize()))
	node := fuzzNode(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := GeometryForPacketSize(len(data))
		if err != nil {
			g = Regular
		}
		orig := bytes.Clone(data)
		res, err := g.ProcessHop(node.key, data)
		if !bytes.Equal(data, orig) {
			t.Fatal("ProcessHop modified its input")
		}
		inPlace := bytes.Clone(data)
		res2, err2 := g.ProcessHopInto(inPlace, node.key, inPlace)
		if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
			t.Fatalf("ProcessHop and ProcessHopInto disagree: %v / %v", err, err2)
		}
		if err != nil {
			if errors.Is(err, ErrMAC) && !bytes.Equal(inPlace, orig) {
				t.Fatal("a failed MAC changed the buffer")
			}
			return
		}
		switch res.Action {
		case Forward:
			if len(res.Packet) != len(data) || !bytes.Equal(res.Packet, res2.Packet) {
				t.Fatal("forwarded packet has the wrong length or differs")
			}
		case Deliver:
			if len(res.Payload) != g.PayloadSize || !bytes.Equal(res.Payload, res2.Payload) {
				t.Fatal("delivered payload has the wrong length or differs")
			}
		default:
			t.Fatalf("action %v", res.Action)
		}
	})
}

// FuzzFinalHopPayload XORs fuzz bytes into the payload of a valid one-hop
// packet: whatever the change, the final hop refuses it, and it never panics.
func FuzzFinalHopPayload(f *testing.F) {
	f.Add([]byte{1}, uint16(0))
	f.Add([]byte{0x80}, uint16(47))
	f.Add(bytes.Repeat([]byte{0xff}, 48), uint16(0))
	f.Add([]byte{0}, uint16(3))
	node := fuzzNode(f)
	packet, err := Ack.NewPacket(newDetReader("fuzz-final"), routeOf([]testNode{node}), testDestination("fuzz"), []byte("payload"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, delta []byte, at uint16) {
		p := bytes.Clone(packet)
		payload := p[Ack.HeaderSize():]
		for i, d := range delta {
			payload[(int(at)+i)%len(payload)] ^= d
		}
		changed := !bytes.Equal(p, packet)
		res, err := Ack.ProcessHop(node.key, p)
		if changed && !errors.Is(err, ErrPayloadIntegrity) {
			t.Fatalf("changed payload: %v, want ErrPayloadIntegrity", err)
		}
		if !changed && (err != nil || !bytes.HasPrefix(res.Payload, []byte("payload"))) {
			t.Fatalf("unchanged payload: %v", err)
		}
	})
}

// FuzzRoundTrip builds packets from fuzzed messages, route lengths and
// delays, and checks they arrive intact.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("hello"), uint8(1), int64(0))
	f.Add(bytes.Repeat([]byte{7}, Ack.PayloadSize), uint8(5), int64(1<<62))
	f.Add([]byte{}, uint8(3), int64(15*time.Millisecond))
	nodes := newTestNodes(f, "fuzz-rt", 5)
	f.Fuzz(func(t *testing.T, msg []byte, hops uint8, delay int64) {
		n := int(hops)%5 + 1
		route := routeOf(nodes[:n])
		for i := range route {
			route[i].Delay = time.Duration(delay)
		}
		packet, err := Ack.NewPacket(newDetReader("fuzz-rt"), route, testDestination("fuzz-rt"), msg)
		switch {
		case len(msg) > Ack.PayloadSize:
			if !errors.Is(err, ErrMessageSize) {
				t.Fatalf("long message: %v", err)
			}
			return
		case delay < 0:
			if !errors.Is(err, ErrRoute) {
				t.Fatalf("negative delay: %v", err)
			}
			return
		case err != nil:
			t.Fatal(err)
		}
		res, _ := walk(t, Ack, nodes[:n], packet)
		want := make([]byte, Ack.PayloadSize)
		copy(want, msg)
		if !bytes.Equal(res.Payload, want) || res.Delay != time.Duration(delay) {
			t.Fatal("round trip changed the message or the delay")
		}
	})
}

func FuzzParseSURB(f *testing.F) {
	nodes := newTestNodes(f, "fuzz-surb", 4)
	for _, n := range []int{1, 4} {
		s, err := Regular.NewSURB(newDetReader("fuzz-surb"), routeOf(nodes[:n]), testDestination("fuzz"))
		if err != nil {
			f.Fatal(err)
		}
		b, err := s.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)-1])
	}
	f.Add([]byte{})
	f.Add(make([]byte, Regular.SURBSize()))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Regular.ParseSURB(data)
		if err != nil {
			if !errors.Is(err, ErrSURB) {
				t.Fatalf("error does not wrap ErrSURB: %v", err)
			}
			return
		}
		again, err := s.MarshalBinary()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatal("a parsed SURB does not marshal back to its bytes")
		}
		if p, err := Regular.NewReply(s, []byte("reply")); err != nil || len(p) != Regular.PacketSize() {
			t.Fatalf("reply from a parsed SURB: %v", err)
		}
	})
}

func FuzzNewPublicKey(f *testing.F) {
	k, err := GenerateKey(newDetReader("fuzz-pk"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(k.PublicKey().Bytes())
	f.Add(make([]byte, 32))
	f.Add(bytes.Repeat([]byte{0xff}, 32))
	f.Add([]byte{9})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := NewPublicKey(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("error does not wrap ErrInvalidKey: %v", err)
			}
			return
		}
		if !bytes.Equal(p.Bytes(), data) {
			t.Fatal("accepted key does not encode to its input")
		}
		// An accepted key is usable: it gives a non-zero shared secret.
		var s x25519.Key
		if !dh(&s, &k.scalar, &p.point) {
			t.Fatal("accepted key gives an all-zero shared secret")
		}
	})
}

// FuzzUnmarshalReplayFilter: a replay filter file is read back at every
// start, and may have been torn or damaged on disk.
func FuzzUnmarshalReplayFilter(f *testing.F) {
	for _, n := range []uint64{1, 100, 1000} {
		rf, err := NewReplayFilterFor(n, 1e-2)
		if err != nil {
			f.Fatal(err)
		}
		for i := range n / 2 {
			rf.TestAndAdd(ReplayTag{byte(i), byte(i >> 8), 1, 2, 3, 4, 5, 6, 7, 8, 9})
		}
		b, _ := rf.MarshalBinary()
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte(replayMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		rf, err := UnmarshalReplayFilter(b)
		rf2, err2 := ReadReplayFilter(bytes.NewReader(b), int64(len(b)))
		if (err == nil) != (err2 == nil) {
			t.Fatalf("unmarshal says %v, read says %v", err, err2)
		}
		if err != nil {
			if !errors.Is(err, ErrReplayEncoding) || !errors.Is(err2, ErrReplayEncoding) {
				t.Fatalf("errors %v, %v are not ErrReplayEncoding", err, err2)
			}
			return
		}
		for _, g := range []*ReplayFilter{rf, rf2} {
			again, err := g.MarshalBinary()
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("decoded filter encodes differently (%v)", err)
			}
		}
	})
}
