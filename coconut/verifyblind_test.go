package coconut

import (
	"crypto/rand"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/coconut/internal/curve"
)

func TestVerifyBlindedSignature(t *testing.T) {
	f := newFixture(t, BandwidthAttributes, 2, 3)
	v, err := NewBandwidthVoucher(rand.Reader, HashToScalar([]byte("client")), 1<<20, "bandwidth")
	if err != nil {
		t.Fatal(err)
	}
	req, _, err := PrepareBlindSign(rand.Reader, f.p, v.Private(), v.Public())
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := PrepareBlindSign(rand.Reader, f.p, v.Private(), v.Public())
	if err != nil {
		t.Fatal(err)
	}
	bss := make([]*BlindedSignature, f.n)
	for i := range bss {
		if bss[i], err = BlindSign(f.p, f.sks[i], req); err != nil {
			t.Fatal(err)
		}
		if err := VerifyBlindedSignature(f.p, f.vks[i], req, bss[i]); err != nil {
			t.Fatalf("authority %d's own partial refused: %v", i+1, err)
		}
	}
	// A key without its G1 half (as the DKG derives them) verifies as well.
	g2only := &VerificationKey{alpha: f.vks[0].alpha, beta: f.vks[0].beta}
	if err := VerifyBlindedSignature(f.p, g2only, req, bss[0]); err != nil {
		t.Fatalf("G2-only key: %v", err)
	}

	if err := VerifyBlindedSignature(f.p, f.vks[1], req, bss[0]); !errors.Is(err, ErrSignature) {
		t.Fatalf("partial checked against another authority's key: %v", err)
	}
	if err := VerifyBlindedSignature(f.p, f.mvk, req, bss[0]); !errors.Is(err, ErrSignature) {
		t.Fatalf("partial checked against the master key: %v", err)
	}
	if err := VerifyBlindedSignature(f.p, f.vks[0], other, bss[0]); !errors.Is(err, ErrSignature) {
		t.Fatalf("partial checked against another request: %v", err)
	}
	// Same h, wrong c̃: only the pairing catches it.
	bad := &BlindedSignature{h: bss[0].h, c: bss[0].c.Add(curve.G1Generator())}
	if err := VerifyBlindedSignature(f.p, f.vks[0], req, bad); !errors.Is(err, ErrSignature) {
		t.Fatalf("tampered c̃: %v", err)
	}
	// A public attribute changed after signing.
	req2 := *req
	req2.public = append([]curve.Scalar(nil), req.public...)
	req2.public[0] = req2.public[0].Add(curve.NewScalar(1))
	if err := VerifyBlindedSignature(f.p, f.vks[0], &req2, bss[0]); !errors.Is(err, ErrSignature) {
		t.Fatalf("changed public attribute: %v", err)
	}
	if err := VerifyBlindedSignature(f.p, f.vks[0], req, &BlindedSignature{}); !errors.Is(err, ErrSignature) {
		t.Fatalf("identity signature: %v", err)
	}
	p3, _ := Setup(3)
	if err := VerifyBlindedSignature(p3, f.vks[0], req, bss[0]); !errors.Is(err, ErrAttributes) {
		t.Fatalf("wrong parameters: %v", err)
	}
}

// BenchmarkVerifyBlindedVsFloor alternates VerifyBlindedSignature on a
// bandwidth request (2 private, 2 public attributes) with the bare
// two-pairing check and reports the median ratio as blind/floor.
func BenchmarkVerifyBlindedVsFloor(b *testing.B) {
	s := newBenchState(b)
	a, _ := curve.RandomScalar(rand.Reader)
	c, _ := curve.RandomScalar(rand.Reader)
	p1 := curve.G1Generator().Mul(a)
	p2 := curve.G1Generator().Mul(a.Mul(c)).Neg()
	q1 := curve.G2Generator().Mul(c)
	q2 := curve.G2Generator()
	var ratios []float64
	var blind, floor time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := VerifyBlindedSignature(s.f.p, s.f.vks[0], s.req, s.bs); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if !curve.PairingCheck([]curve.G1{p1, p2}, []curve.G2{q1, q2}) {
			b.Fatal("pairing check failed")
		}
		t2 := time.Now()
		blind += t1.Sub(t0)
		floor += t2.Sub(t1)
		ratios = append(ratios, float64(t1.Sub(t0))/float64(t2.Sub(t1)))
	}
	sort.Float64s(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "blind/floor")
	b.ReportMetric(float64(blind.Microseconds())/float64(len(ratios)), "blind-µs/op")
	b.ReportMetric(float64(floor.Microseconds())/float64(len(ratios)), "floor-µs/op")
}
