package coconut

import (
	"crypto/rand"
	"sort"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/coconut/internal/curve"
)

// Benchmarks use the bandwidth credential shape (q = 4: serial and binding
// private, value and type public) and a 7-of-10 authority set.

type benchState struct {
	f     *fixture
	v     *BandwidthVoucher
	req   *BlindSignRequest
	sec   *BlindSignSecrets
	bs    *BlindedSignature
	sig   *Signature
	attrs []Scalar
	pk    *PreparedVerificationKey
	th    *Theta
}

func newBenchState(b *testing.B) *benchState {
	b.Helper()
	s := &benchState{f: newFixture(b, BandwidthAttributes, 7, 10)}
	var err error
	s.v, err = NewBandwidthVoucher(rand.Reader, HashToScalar([]byte("client")), 1<<20, "bandwidth")
	if err != nil {
		b.Fatal(err)
	}
	s.req, s.sec, err = PrepareBlindSign(rand.Reader, s.f.p, s.v.Private(), s.v.Public())
	if err != nil {
		b.Fatal(err)
	}
	s.bs, err = BlindSign(s.f.p, s.f.sks[0], s.req)
	if err != nil {
		b.Fatal(err)
	}
	s.sig, s.attrs = s.f.credential(b, s.v.Private(), s.v.Public())
	s.pk = s.f.mvk.Prepare()
	if err := s.pk.PrepareBandwidth(s.v.Value, s.v.Type); err != nil {
		b.Fatal(err)
	}
	s.th, err = Prove(rand.Reader, s.f.p, s.f.mvk, s.sig, s.attrs, BandwidthShowSpec, []byte("ctx"))
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkPrepareBlindSign(b *testing.B) {
	s := newBenchState(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := PrepareBlindSign(rand.Reader, s.f.p, s.v.Private(), s.v.Public()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBlindSign includes the verification of the request's proof.
func BenchmarkBlindSign(b *testing.B) {
	s := newBenchState(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BlindSign(s.f.p, s.f.sks[0], s.req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnblind(b *testing.B) {
	s := newBenchState(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Unblind(s.f.p, s.f.vks[0], s.bs, s.sec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifySignature checks a partial signature (or the aggregated
// credential) on attributes in clear.
func BenchmarkVerifySignature(b *testing.B) {
	s := newBenchState(b)
	sig, err := Unblind(s.f.p, s.f.vks[0], s.bs, s.sec)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := VerifySignature(s.f.p, s.f.vks[0], sig, s.sec.Attributes()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAggregate7of10(b *testing.B) {
	s := newBenchState(b)
	sigs, idx, _ := s.f.issue(b, s.v.Private(), s.v.Public(), []int{0, 2, 3, 5, 6, 8, 9})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AggregateSignatures(sigs, idx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAggregateKeys7of10(b *testing.B) {
	s := newBenchState(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AggregateVerificationKeys(s.f.vks[3:], s.f.idx[3:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkProveShow(b *testing.B) {
	s := newBenchState(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Prove(rand.Reader, s.f.p, s.f.mvk, s.sig, s.attrs, BandwidthShowSpec, []byte("ctx")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify is the gateway's path: a prepared master key, with the
// voucher's value and type prepared too (PrepareBandwidth).
func BenchmarkVerify(b *testing.B) {
	s := newBenchState(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyBandwidth(s.f.p, s.pk, s.th, []byte("ctx")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyUndisclosedPrepared verifies with a prepared key whose
// disclosed values were not prepared.
func BenchmarkVerifyUndisclosedPrepared(b *testing.B) {
	s := newBenchState(b)
	pk := s.f.mvk.Prepare()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VerifyBandwidth(s.f.p, pk, s.th, []byte("ctx")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyUnprepared verifies without the fixed-base tables of the key.
func BenchmarkVerifyUnprepared(b *testing.B) {
	s := newBenchState(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := Verify(s.f.p, s.f.mvk, s.th, []byte("ctx")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkThetaUnmarshal is the decoding (with subgroup checks) a verifier
// does before Verify.
func BenchmarkThetaUnmarshal(b *testing.B) {
	s := newBenchState(b)
	enc, _ := s.th.MarshalBinary()
	b.ReportAllocs()
	for b.Loop() {
		var th Theta
		if err := th.UnmarshalBinary(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPrepareVerificationKey(b *testing.B) {
	s := newBenchState(b)
	b.ReportAllocs()
	for b.Loop() {
		s.f.mvk.Prepare()
	}
}

// BenchmarkFloorPairingCheck is the pairing product check e(h', Q1)·e(s”, Q2) = 1
// that Verify performs, alone: the floor of any verification.
func BenchmarkFloorPairingCheck(b *testing.B) {
	a, _ := curve.RandomScalar(rand.Reader)
	c, _ := curve.RandomScalar(rand.Reader)
	p1 := curve.G1Generator().Mul(a)
	p2 := curve.G1Generator().Mul(a.Mul(c)).Neg()
	q1 := curve.G2Generator().Mul(c)
	q2 := curve.G2Generator()
	b.ReportAllocs()
	for b.Loop() {
		if !curve.PairingCheck([]curve.G1{p1, p2}, []curve.G2{q1, q2}) {
			b.Fatal("pairing check failed")
		}
	}
}

func benchDealing(b *testing.B, n int) {
	g, _ := newDKG(b, BandwidthAttributes, n)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Deal(rand.Reader, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDealing10(b *testing.B)  { benchDealing(b, 10) }
func BenchmarkDealing100(b *testing.B) { benchDealing(b, 100) }

// BenchmarkDecryptShare100 is one participant checking its shares in one
// dealing of a 100-participant DKG (t = 67).
func BenchmarkDecryptShare100(b *testing.B) {
	g, keys := newDKG(b, BandwidthAttributes, 100)
	d, err := g.Deal(rand.Reader, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.DecryptShare(d, 50, keys[49]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyFloorRatio alternates Verify (prepared key) and the bare
// pairing check, so both see the same machine load, and reports the median
// over iterations of the ratio of their times as the metric verify/floor.
func BenchmarkVerifyFloorRatio(b *testing.B) {
	s := newBenchState(b)
	a, _ := curve.RandomScalar(rand.Reader)
	c, _ := curve.RandomScalar(rand.Reader)
	p1 := curve.G1Generator().Mul(a)
	p2 := curve.G1Generator().Mul(a.Mul(c)).Neg()
	q1 := curve.G2Generator().Mul(c)
	q2 := curve.G2Generator()
	var ratios []float64
	for b.Loop() {
		t0 := time.Now()
		if _, err := VerifyBandwidth(s.f.p, s.pk, s.th, []byte("ctx")); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if !curve.PairingCheck([]curve.G1{p1, p2}, []curve.G2{q1, q2}) {
			b.Fatal("pairing check failed")
		}
		ratios = append(ratios, float64(t1.Sub(t0))/float64(time.Since(t1)))
	}
	sort.Float64s(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "verify/floor")
}
