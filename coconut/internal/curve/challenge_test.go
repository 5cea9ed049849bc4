package curve

import (
	"crypto/rand"
	"encoding/binary"
	"math/big"
	"testing"

	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"github.com/consensys/gnark-crypto/field/hash"
)

// TestLambdaNorm checks λ² + λ + 1 = r, on which the injectivity of
// (lo, hi) ↦ lo + hi·λ (and so the size of the challenge space) rests.
func TestLambdaNorm(t *testing.T) {
	var n big.Int
	n.Mul(&glvLambda, &glvLambda).Add(&n, &glvLambda).Add(&n, big.NewInt(1))
	if n.Cmp(fr.Modulus()) != 0 {
		t.Fatal("λ² + λ + 1 ≠ r")
	}
	if lambdaScalar.bigInt().Cmp(&glvLambda) != 0 {
		t.Fatal("lambdaScalar ≠ λ")
	}
}

func edgeChallenges(t testing.TB) []Challenge {
	halves := []uint64{0, 1, 2, 127, 128, 129, 255, 256, 1<<63 - 1, 1 << 63, 1<<64 - 1}
	for k := 8; k < 64; k += 8 {
		halves = append(halves, 1<<k-1, 1<<k, 1<<k+1, 1<<k|0x80<<(k-8), 0x80<<(k-8)-1)
	}
	var out []Challenge
	for _, lo := range halves {
		for _, hi := range []uint64{0, 1, 0x80, 1<<64 - 1, lo} {
			out = append(out, NewChallenge(lo, hi), NewChallenge(hi, lo))
		}
	}
	for i := 0; i < 20; i++ {
		var b [16]byte
		rand.Read(b[:])
		out = append(out, NewChallenge(binary.LittleEndian.Uint64(b[:8]), binary.LittleEndian.Uint64(b[8:])))
	}
	n := len(out)
	for i := 0; i < n; i++ {
		out = append(out, out[i].Neg())
	}
	return out
}

func TestChallengeScalar(t *testing.T) {
	for _, c := range edgeChallenges(t) {
		lo, hi, neg := c.Halves()
		var want big.Int
		want.SetUint64(hi).Mul(&want, &glvLambda).Add(&want, new(big.Int).SetUint64(lo))
		if neg {
			want.Neg(&want)
		}
		want.Mod(&want, fr.Modulus())
		if c.Scalar().bigInt().Cmp(&want) != 0 {
			t.Fatalf("Scalar(%x, %x, %v) wrong", lo, hi, neg)
		}
		if !c.Neg().Scalar().Equal(c.Scalar().Neg()) {
			t.Fatal("Neg wrong")
		}
	}
	// Distinct halves give distinct scalars (spot check near the boundaries).
	if NewChallenge(1<<64-1, 0).Scalar().Equal(NewChallenge(0, 1).Scalar()) {
		t.Fatal("collision")
	}
}

func TestHashToChallenge(t *testing.T) {
	// expandShort at 32 bytes is the library's (RFC 9380-tested) expand_message_xmd.
	for _, msg := range []string{"", "abc", string(make([]byte, 200))} {
		want, err := hash.ExpandMsgXmd([]byte(msg), []byte("QUUX-V01-CS02-with-expander-SHA256-128"), 32)
		if err != nil {
			t.Fatal(err)
		}
		if got := expandShort([]byte(msg), []byte("QUUX-V01-CS02-with-expander-SHA256-128"), 32); string(got) != string(want) {
			t.Fatalf("expand_message_xmd(%q) wrong", msg)
		}
	}
	a := HashToChallenge([]byte("m"), []byte("DST-A"))
	if a != HashToChallenge([]byte("m"), []byte("DST-A")) {
		t.Fatal("not deterministic")
	}
	if a == HashToChallenge([]byte("m"), []byte("DST-B")) || a == HashToChallenge([]byte("n"), []byte("DST-A")) {
		t.Fatal("message or tag ignored")
	}
	if _, _, neg := a.Halves(); neg {
		t.Fatal("hashed challenge negated")
	}
}

func TestMulChallengeG1(t *testing.T) {
	p := G1Generator().Mul(rs(t))
	for _, c := range edgeChallenges(t) {
		if !p.MulChallenge(c).Equal(p.Mul(c.Scalar())) {
			lo, hi, neg := c.Halves()
			t.Fatalf("MulChallenge(%x, %x, %v) wrong", lo, hi, neg)
		}
	}
	if !(G1{}).MulChallenge(NewChallenge(5, 7)).IsIdentity() {
		t.Fatal("c·identity ≠ identity")
	}
}

func TestSchnorrCheck(t *testing.T) {
	g1 := G1GeneratorTable()
	for i, c := range edgeChallenges(t) {
		if i%7 != 0 {
			continue
		}
		x, rho := rs(t), rs(t)
		X, A := G1Generator().Mul(x), G1Generator().Mul(rho)
		z := rho.Add(c.Scalar().Mul(x))
		if !g1.SchnorrCheck(z, A, c, X) {
			t.Fatal("valid proof refused")
		}
		one := NewScalar(1)
		lo, hi, _ := c.Halves()
		if c.Scalar().IsZero() {
			continue // the zero challenge binds nothing: never derived in practice (probability 2^-128)
		}
		switch {
		case g1.SchnorrCheck(z.Add(one), A, c, X):
			t.Fatal("wrong response accepted")
		case g1.SchnorrCheck(z, A.Add(G1Generator()), c, X):
			t.Fatal("wrong commitment accepted")
		case g1.SchnorrCheck(z, A, c, X.Add(G1Generator())):
			t.Fatal("wrong statement accepted")
		case g1.SchnorrCheck(z, A, NewChallenge(lo+1, hi), X), g1.SchnorrCheck(z, A, NewChallenge(lo, hi^1), X), g1.SchnorrCheck(z, A, c.Neg(), X):
			t.Fatal("wrong challenge accepted")
		}
	}
	// Zero response with a = -c·x is valid (the accumulator ends at the identity).
	X := G1Generator().Mul(rs(t))
	c := NewChallenge(3, 9)
	if !g1.SchnorrCheck(Scalar{}, X.MulChallenge(c).Neg(), c, X) {
		t.Fatal("z = 0 case refused")
	}
}

func TestFixedMultiExpG2BatchChallenges(t *testing.T) {
	bases := []G2{G2Generator(), G2Generator().Mul(rs(t))}
	tables := []*G2Table{NewG2Table(bases[0]), NewG2Table(bases[1])}
	s := rs(t)
	for i, c := range edgeChallenges(t) {
		if i%3 != 0 {
			continue
		}
		start := G2Generator().Mul(rs(t))
		got := FixedMultiExpG2Batch(
			FixedSum{Start: start, Tables: tables[:1], Scalars: []Scalar{s}, ChallengeTables: tables[1:], Challenges: []Challenge{c}},
			FixedSum{ChallengeTables: tables, Challenges: []Challenge{c, c.Neg()}},
		)
		want0 := start.Add(bases[0].Mul(s)).Add(bases[1].Mul(c.Scalar()))
		want1 := bases[0].Sub(bases[1]).Mul(c.Scalar())
		if !got[0].Equal(want0) || !got[1].Equal(want1) {
			lo, hi, neg := c.Halves()
			t.Fatalf("challenge sum wrong for (%x, %x, %v)", lo, hi, neg)
		}
	}
	// c·B − c·B cancels.
	c := NewChallenge(1<<64-1, 1<<63)
	if got := FixedMultiExpG2Batch(FixedSum{ChallengeTables: []*G2Table{tables[1], tables[1]}, Challenges: []Challenge{c, c.Neg()}})[0]; !got.IsIdentity() {
		t.Fatal("cancellation wrong")
	}
}

func BenchmarkSchnorrCheck(b *testing.B) {
	g1 := G1GeneratorTable()
	x, rho := rs(b), rs(b)
	X, A := G1Generator().Mul(x), G1Generator().Mul(rho)
	c := HashToChallenge([]byte("m"), []byte("DST"))
	z := rho.Add(c.Scalar().Mul(x))
	b.ReportAllocs()
	for b.Loop() {
		if !g1.SchnorrCheck(z, A, c, X) {
			b.Fatal("refused")
		}
	}
}
