package coconut

import (
	"crypto/rand"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/coconut/internal/curve"
)

func beaconPartials(f *fixture, epoch uint64) []*BeaconSignature {
	out := make([]*BeaconSignature, len(f.sks))
	for i, sk := range f.sks {
		out[i] = SignBeacon(sk, epoch)
	}
	return out
}

func TestBeaconThreshold(t *testing.T) {
	f := newFixture(t, BandwidthAttributes, 3, 5)
	parts := beaconPartials(f, 42)
	for i, p := range parts {
		if err := VerifyBeacon(f.vks[i], 42, p); err != nil {
			t.Fatalf("partial %d: %v", i+1, err)
		}
		if err := VerifyBeacon(f.vks[(i+1)%5], 42, p); !errors.Is(err, ErrSignature) {
			t.Fatalf("partial %d verified under another authority's key: %v", i+1, err)
		}
		if err := VerifyBeacon(f.vks[i], 43, p); !errors.Is(err, ErrSignature) {
			t.Fatalf("partial %d on epoch 42 verified for epoch 43: %v", i+1, err)
		}
	}
	a, err := AggregateBeacon([]*BeaconSignature{parts[0], parts[2], parts[4]}, []uint64{1, 3, 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyBeacon(f.mvk, 42, a); err != nil {
		t.Fatal(err)
	}
	// Uniqueness: any t partials give the same beacon.
	b, err := AggregateBeacon([]*BeaconSignature{parts[3], parts[1], parts[0]}, []uint64{4, 2, 1})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Equal(b) || a.Randomness() != b.Randomness() {
		t.Fatal("two sets of t partials gave different beacons")
	}
	// Fewer than t partials interpolate to something else.
	c, err := AggregateBeacon(parts[:2], []uint64{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyBeacon(f.mvk, 42, c); !errors.Is(err, ErrSignature) {
		t.Fatalf("t-1 partials verified as the beacon: %v", err)
	}
	// Another epoch, another value.
	next, _ := AggregateBeacon(beaconPartials(f, 43)[:3], []uint64{1, 2, 3})
	if next.Randomness() == a.Randomness() {
		t.Fatal("epochs 42 and 43 share a beacon")
	}
	if _, err := AggregateBeacon(parts[:2], []uint64{1, 1}); !errors.Is(err, ErrIndices) {
		t.Fatalf("repeated index: %v", err)
	}
	if _, err := AggregateBeacon(parts[:2], []uint64{1}); !errors.Is(err, ErrIndices) {
		t.Fatalf("count mismatch: %v", err)
	}
}

// A beacon partial is a Coconut signature on all-zero attributes under a
// point no credential uses: it verifies as such, and as nothing else.
func TestBeaconIsZeroAttributeSignature(t *testing.T) {
	f := newFixture(t, BandwidthAttributes, 1, 1)
	sig := SignBeacon(f.sks[0], 7)
	zero := make([]Scalar, BandwidthAttributes)
	h := beaconPoint(7)
	if err := VerifySignature(f.p, f.mvk, &Signature{h: h, s: sig.s}, zero); err != nil {
		t.Fatalf("the beacon is not the zero-attribute signature the README argues from: %v", err)
	}
	if err := VerifySignature(f.p, f.mvk, &Signature{h: h, s: sig.s}, randomAttrs(t, BandwidthAttributes)); !errors.Is(err, ErrSignature) {
		t.Fatalf("the beacon verified on other attributes: %v", err)
	}
}

func TestBeaconEncoding(t *testing.T) {
	f := newFixture(t, BandwidthAttributes, 1, 1)
	sig := SignBeacon(f.sks[0], 1)
	b, _ := sig.MarshalBinary()
	if len(b) != BeaconSignatureSize {
		t.Fatalf("%d bytes, want %d", len(b), BeaconSignatureSize)
	}
	var back BeaconSignature
	if err := back.UnmarshalBinary(b); err != nil || !back.Equal(sig) {
		t.Fatalf("round trip: %v", err)
	}
	for _, bad := range [][]byte{nil, b[:len(b)-1], append(append([]byte{}, b...), 0), make([]byte, BeaconSignatureSize)} {
		if err := new(BeaconSignature).UnmarshalBinary(bad); !errors.Is(err, ErrEncoding) {
			t.Fatalf("%x decoded: %v", bad, err)
		}
	}
}

func FuzzBeaconSignature(f *testing.F) {
	w := fuzzWorldOnce(f)
	seed(f, SignBeacon(w.f.sks[0], 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		var sig BeaconSignature
		if roundTrip(t, data, &sig) {
			_ = VerifyBeacon(w.f.mvk, 1, &sig)
		}
	})
}

// BenchmarkVerifyBeacon is one partial's check in VerifyVoteExtension (and
// the aggregated beacon's): a hash to G1 and a two-pairing check.
func BenchmarkVerifyBeacon(b *testing.B) {
	f := newFixture(b, BandwidthAttributes, 1, 1)
	sig := SignBeacon(f.sks[0], 9)
	b.ReportAllocs()
	for b.Loop() {
		if err := VerifyBeacon(f.vks[0], 9, sig); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignBeacon(b *testing.B) {
	f := newFixture(b, BandwidthAttributes, 1, 1)
	b.ReportAllocs()
	for b.Loop() {
		SignBeacon(f.sks[0], 9)
	}
}

func BenchmarkAggregateBeacon7of10(b *testing.B) {
	f := newFixture(b, BandwidthAttributes, 7, 10)
	parts := beaconPartials(f, 9)[:7]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AggregateBeacon(parts, f.idx[:7]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyBeaconFloorRatio alternates VerifyBeacon and the bare
// two-pairing check (as BenchmarkVerifyFloorRatio does) and reports the
// median ratio of their times as beacon/floor.
func BenchmarkVerifyBeaconFloorRatio(b *testing.B) {
	f := newFixture(b, BandwidthAttributes, 1, 1)
	sig := SignBeacon(f.sks[0], 9)
	a, _ := curve.RandomScalar(rand.Reader)
	c, _ := curve.RandomScalar(rand.Reader)
	p1 := curve.G1Generator().Mul(a)
	p2 := curve.G1Generator().Mul(a.Mul(c)).Neg()
	q1 := curve.G2Generator().Mul(c)
	q2 := curve.G2Generator()
	var ratios []float64
	for b.Loop() {
		t0 := time.Now()
		if err := VerifyBeacon(f.vks[0], 9, sig); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if !curve.PairingCheck([]curve.G1{p1, p2}, []curve.G2{q1, q2}) {
			b.Fatal("pairing check failed")
		}
		ratios = append(ratios, float64(t1.Sub(t0))/float64(time.Since(t1)))
	}
	sort.Float64s(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "beacon/floor")
}
