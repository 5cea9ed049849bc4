package curve

import (
	"crypto/rand"
	"encoding/hex"
	"testing"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
)

func rs(t testing.TB) Scalar {
	s, err := RandomScalar(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func edgeScalars(t testing.TB) []Scalar {
	one := NewScalar(1)
	out := []Scalar{{}, one, one.Neg(), NewScalar(127), NewScalar(128), NewScalar(129), NewScalar(255), NewScalar(256)}
	// 2^k and 2^k-1 for every window boundary.
	p := one
	for k := 0; k < 255; k++ {
		out = append(out, p, p.Sub(one), p.Neg())
		p = p.Add(p)
	}
	for i := 0; i < 20; i++ {
		out = append(out, rs(t))
	}
	return out
}

func TestFixedBaseMatchesScalarMul(t *testing.T) {
	g1, g2 := G1Generator().Mul(rs(t)), G2Generator().Mul(rs(t))
	t1, t2 := NewG1Table(g1), NewG2Table(g2)
	for _, s := range edgeScalars(t) {
		if !t1.Mul(s).Equal(g1.Mul(s)) {
			t.Fatalf("G1 table wrong for %x", s.Bytes())
		}
		if !t2.Mul(s).Equal(g2.Mul(s)) {
			t.Fatalf("G2 table wrong for %x", s.Bytes())
		}
	}
	a, b := rs(t), rs(t)
	h := G2Generator().Mul(rs(t))
	got := FixedMultiExpG2(h, []*G2Table{t2, NewG2Table(G2Generator())}, []Scalar{a, b})
	if !got.Equal(h.Add(g2.Mul(a)).Add(G2Generator().Mul(b))) {
		t.Fatal("FixedMultiExpG2 wrong")
	}
	k := G1Generator().Mul(rs(t))
	if !FixedMultiExpG1(k, []*G1Table{t1}, []Scalar{a}).Equal(k.Add(g1.Mul(a))) {
		t.Fatal("FixedMultiExpG1 wrong")
	}
}

func TestMultiExp(t *testing.T) {
	for _, n := range []int{1, 3, msmThreshold + 1} {
		p1, p2, s := make([]G1, n), make([]G2, n), make([]Scalar, n)
		var w1 G1
		var w2 G2
		for i := range s {
			s[i] = rs(t)
			p1[i], p2[i] = G1Generator().Mul(rs(t)), G2Generator().Mul(rs(t))
			w1, w2 = w1.Add(p1[i].Mul(s[i])), w2.Add(p2[i].Mul(s[i]))
		}
		if !MultiExpG1(p1, s).Equal(w1) || !MultiExpG2(p2, s).Equal(w2) {
			t.Fatalf("multiexp of %d wrong", n)
		}
	}
}

func TestPairingCheck(t *testing.T) {
	a, b := rs(t), rs(t)
	P, Q := G1Generator().Mul(a), G2Generator().Mul(b)
	R := G1Generator().Mul(a.Mul(b))
	if !PairingCheck([]G1{P, R.Neg()}, []G2{Q, G2Generator()}) {
		t.Fatal("bilinearity check failed")
	}
	if PairingCheck([]G1{P, R}, []G2{Q, G2Generator()}) {
		t.Fatal("wrong product accepted")
	}
	if PairingCheck(nil, nil) || PairingCheck([]G1{P}, nil) {
		t.Fatal("malformed input accepted")
	}
}

func TestEncodingRoundTrip(t *testing.T) {
	s := rs(t)
	var s2 Scalar
	b := s.Bytes()
	if err := s2.SetBytes(b[:]); err != nil || !s2.Equal(s) {
		t.Fatal("scalar round trip")
	}
	p := G1Generator().Mul(s)
	var p2 G1
	pb := p.Bytes()
	if err := p2.SetBytes(pb[:]); err != nil || !p2.Equal(p) {
		t.Fatal("G1 round trip")
	}
	q := G2Generator().Mul(s)
	var q2 G2
	qb := q.Bytes()
	if err := q2.SetBytes(qb[:]); err != nil || !q2.Equal(q) {
		t.Fatal("G2 round trip")
	}
}

func TestStrictDecoding(t *testing.T) {
	var s Scalar
	max := [32]byte{}
	for i := range max {
		max[i] = 0xff
	}
	if s.SetBytes(max[:]) == nil {
		t.Error("non-canonical scalar accepted")
	}
	if s.SetBytes(make([]byte, 31)) == nil {
		t.Error("short scalar accepted")
	}
	var p G1
	var q G2
	var id1 [G1Size]byte
	id1[0] = 0xc0
	if p.SetBytes(id1[:]) == nil {
		t.Error("G1 identity accepted")
	}
	var id2 [G2Size]byte
	id2[0] = 0xc0
	if q.SetBytes(id2[:]) == nil {
		t.Error("G2 identity accepted")
	}
	g := G1Generator()
	raw := g.p.RawBytes()
	if p.SetBytes(raw[:]) == nil || p.SetBytes(raw[:G1Size]) == nil {
		t.Error("uncompressed G1 accepted")
	}
	gb := g.Bytes()
	if p.SetBytes(gb[:47]) == nil || p.SetBytes(append(gb[:], 0)) == nil {
		t.Error("wrong-length G1 accepted")
	}
	// A point on the curve outside the prime-order subgroup.
	j := bls.GeneratePointNotInG1(fp.NewElement(7))
	var bad bls.G1Affine
	bad.FromJacobian(&j)
	if !bad.IsOnCurve() || bad.IsInSubGroup() {
		t.Fatal("test point is not what it should be")
	}
	bb := bad.Bytes()
	if p.SetBytes(bb[:]) == nil {
		t.Error("G1 point outside the subgroup accepted")
	}
	var e bls.E2
	e.A0.SetUint64(5)
	j2 := bls.GeneratePointNotInG2(e)
	var bad2 bls.G2Affine
	bad2.FromJacobian(&j2)
	if !bad2.IsOnCurve() || bad2.IsInSubGroup() {
		t.Fatal("test point is not what it should be")
	}
	bb2 := bad2.Bytes()
	if q.SetBytes(bb2[:]) == nil {
		t.Error("G2 point outside the subgroup accepted")
	}
}

func BenchmarkG2TableMul(b *testing.B) {
	t2 := NewG2Table(G2Generator())
	s := rs(b)
	b.ReportAllocs()
	for b.Loop() {
		t2.Mul(s)
	}
}

func BenchmarkG1TableMul(b *testing.B) {
	t1 := NewG1Table(G1Generator())
	s := rs(b)
	b.ReportAllocs()
	for b.Loop() {
		t1.Mul(s)
	}
}

func BenchmarkNewG2Table(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		NewG2Table(G2Generator())
	}
}

func TestFixedMultiExpG2Batch(t *testing.T) {
	bases := []G2{G2Generator(), G2Generator().Mul(rs(t)), G2Generator().Mul(rs(t))}
	tables := []*G2Table{NewG2Table(bases[0]), NewG2Table(bases[1]), NewG2Table(bases[2])}
	edge := edgeScalars(t)
	for i := 0; i+2 < len(edge); i += 3 {
		sc := edge[i : i+3]
		start := G2Generator().Mul(rs(t))
		want := start.Add(MultiExpG2(bases, sc))
		if got := FixedMultiExpG2Batch(FixedSum{Start: start, Tables: tables, Scalars: sc})[0]; !got.Equal(want) {
			t.Fatalf("batch sum wrong for scalars %d..%d", i, i+2)
		}
	}
	// Cancellations and repeated points: s·B + (-s)·B + start, and B taken twice.
	s := rs(t)
	start := G2Generator().Mul(rs(t))
	if got := FixedMultiExpG2Batch(FixedSum{Start: start, Tables: []*G2Table{tables[1], tables[1]}, Scalars: []Scalar{s, s.Neg()}})[0]; !got.Equal(start) {
		t.Fatal("cancellation wrong")
	}
	if got := FixedMultiExpG2Batch(FixedSum{Start: G2{}, Tables: []*G2Table{tables[1], tables[1]}, Scalars: []Scalar{s, s}})[0]; !got.Equal(bases[1].Mul(s.Add(s))) {
		t.Fatal("doubling wrong")
	}
	if got := FixedMultiExpG2Batch(FixedSum{Start: G2{}, Tables: []*G2Table{tables[1]}, Scalars: []Scalar{{}}})[0]; !got.IsIdentity() {
		t.Fatal("zero scalar wrong")
	}
	// Several sums at once, one of them short, one cancelling to the identity.
	a, c := rs(t), rs(t)
	got := FixedMultiExpG2Batch(
		FixedSum{Start: start, Tables: tables, Scalars: []Scalar{a, c, s}},
		FixedSum{Start: G2{}, Tables: tables[:1], Scalars: []Scalar{c}},
		FixedSum{Start: bases[2].Mul(s), Tables: tables[2:], Scalars: []Scalar{s.Neg()}},
	)
	if !got[0].Equal(start.Add(MultiExpG2(bases, []Scalar{a, c, s}))) || !got[1].Equal(bases[0].Mul(c)) || !got[2].IsIdentity() {
		t.Fatal("joint sums wrong")
	}
}

func benchFixed(b *testing.B, batch bool) {
	tables := make([]*G2Table, 7)
	sc := make([]Scalar, 7)
	for i := range tables {
		tables[i] = NewG2Table(G2Generator().Mul(rs(b)))
		sc[i] = rs(b)
	}
	start := G2Generator().Mul(rs(b))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if batch {
			FixedMultiExpG2Batch(FixedSum{Start: start, Tables: tables, Scalars: sc})
		} else {
			FixedMultiExpG2(start, tables, sc)
		}
	}
}

func BenchmarkFixedMultiExpG2x7Jacobian(b *testing.B) { benchFixed(b, false) }
func BenchmarkFixedMultiExpG2x7Batch(b *testing.B)    { benchFixed(b, true) }

func TestGLVMultiExpG1(t *testing.T) {
	edge := edgeScalars(t)
	lam := Scalar{}
	lam.e.SetBigInt(&glvLambda)
	edge = append(edge, lam, lam.Add(NewScalar(1)), lam.Sub(NewScalar(1)), lam.Mul(lam))
	p := G1Generator().Mul(rs(t))
	for _, s := range edge {
		var want bls.G1Affine
		want.ScalarMultiplication(&p.p, s.bigInt())
		got := glvMultiExpG1([]G1{p}, []Scalar{s})
		var g bls.G1Affine
		g.FromJacobian(&got)
		if !g.Equal(&want) {
			t.Fatalf("GLV wrong for %x", s.Bytes())
		}
	}
	for n := 1; n <= 9; n++ {
		pts, sc := make([]G1, n), make([]Scalar, n)
		var want bls.G1Jac
		for i := range pts {
			pts[i], sc[i] = G1Generator().Mul(rs(t)), rs(t)
			if i == 2 {
				pts[i] = pts[0] // repeated point
			}
			if i == 3 {
				sc[i] = Scalar{} // zero scalar
			}
			if i == 4 {
				pts[i] = G1{} // identity
			}
			var tmp bls.G1Jac
			tmp.FromAffine(&pts[i].p)
			tmp.ScalarMultiplication(&tmp, sc[i].bigInt())
			want.AddAssign(&tmp)
		}
		got := glvMultiExpG1(pts, sc)
		if !got.Equal(&want) {
			t.Fatalf("GLV multiexp of %d wrong", n)
		}
	}
	// Cancellation to the identity.
	s := rs(t)
	got := glvMultiExpG1([]G1{p, p}, []Scalar{s, s.Neg()})
	if !got.Z.IsZero() {
		t.Fatal("cancellation not the identity")
	}
}

func BenchmarkG1Mul(b *testing.B) {
	p, s := G1Generator().Mul(rs(b)), rs(b)
	b.ReportAllocs()
	for b.Loop() {
		var r bls.G1Affine
		r.ScalarMultiplication(&p.p, s.bigInt())
	}
}

func BenchmarkGLVMultiExpG1x1(b *testing.B) { benchGLV(b, 1) }
func BenchmarkGLVMultiExpG1x3(b *testing.B) { benchGLV(b, 3) }
func BenchmarkGLVMultiExpG1x7(b *testing.B) { benchGLV(b, 7) }

func benchGLV(b *testing.B, n int) {
	pts, sc := make([]G1, n), make([]Scalar, n)
	for i := range pts {
		pts[i], sc[i] = G1Generator().Mul(rs(b)), rs(b)
	}
	b.ReportAllocs()
	for b.Loop() {
		glvMultiExpG1(pts, sc)
	}
}

func TestGLVMultiExpG2(t *testing.T) {
	q := G2Generator().Mul(rs(t))
	for _, s := range edgeScalars(t) {
		got := glvMultiExpG2([]G2{q}, []Scalar{s})
		var g bls.G2Affine
		g.FromJacobian(&got)
		if !(G2{g}).Equal(q.Mul(s)) {
			t.Fatalf("G2 GLV wrong for %x", s.Bytes())
		}
	}
	for n := 1; n <= 6; n++ {
		pts, sc := make([]G2, n), make([]Scalar, n)
		var want G2
		for i := range pts {
			pts[i], sc[i] = G2Generator().Mul(rs(t)), rs(t)
			if i == 2 {
				pts[i] = pts[0]
			}
			if i == 3 {
				pts[i] = G2{}
			}
			want = want.Add(pts[i].Mul(sc[i]))
		}
		got := glvMultiExpG2(pts, sc)
		var g bls.G2Affine
		g.FromJacobian(&got)
		if !(G2{g}).Equal(want) {
			t.Fatalf("G2 GLV multiexp of %d wrong", n)
		}
	}
}

func BenchmarkGLVMultiExpG2x4(b *testing.B) {
	pts, sc := make([]G2, 4), make([]Scalar, 4)
	for i := range pts {
		pts[i], sc[i] = G2Generator().Mul(rs(b)), rs(b)
	}
	b.ReportAllocs()
	for b.Loop() {
		glvMultiExpG2(pts, sc)
	}
}

func BenchmarkSeqMulG2x4(b *testing.B) {
	pts, sc := make([]G2, 4), make([]Scalar, 4)
	for i := range pts {
		pts[i], sc[i] = G2Generator().Mul(rs(b)), rs(b)
	}
	b.ReportAllocs()
	for b.Loop() {
		var acc G2
		for i := range pts {
			acc = acc.Add(pts[i].Mul(sc[i]))
		}
	}
}

// TestHashToG1Vector checks the RFC 9380 suite against the published test
// vector (RFC 9380, Appendix J.9.1, BLS12381G1_XMD:SHA-256_SSWU_RO_, msg "").
func TestHashToG1Vector(t *testing.T) {
	p := HashToG1(nil, []byte("QUUX-V01-CS02-with-BLS12381G1_XMD:SHA-256_SSWU_RO_"))
	x, y := p.p.X.Bytes(), p.p.Y.Bytes()
	const wantX = "052926add2207b76ca4fa57a8734416c8dc95e24501772c814278700eed6d1e4e8cf62d9c09db0fac349612b759e79a1"
	const wantY = "08ba738453bfed09cb546dbb0783dbb3a5f1f566ed67bb6be0e8c67e2e81a4cc68ee29813bb7994998f3eae0c9c6a265"
	if hex.EncodeToString(x[:]) != wantX || hex.EncodeToString(y[:]) != wantY {
		t.Fatalf("HashToG1 = (%x, %x)", x, y)
	}
}
