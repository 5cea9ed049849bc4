package curve

import (
	"math/big"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
)

// Variable-base multi-scalar multiplication in G1 for a few points
// (Straus's interleaving with the GLV endomorphism and width-5 NAF).
//
// φ(x, y) = (β·x, y), β a cube root of unity in Fp, acts on G1 as
// multiplication by λ = z² − 1 (z the BLS parameter, λ ≈ 2^127.7, a root of
// λ² + λ + 1 mod r). A scalar k < r splits as k = k1 + k2·λ with
// k1 = k mod λ and k2 = ⌊k/λ⌋, both below 2^128, so every point contributes
// two 128-bit scalars on P and φ(P) and all of them share 128 doublings.

const wnafWidth = 5 // odd multiples 1, 3, .., 15 per point

var (
	glvLambda big.Int
	glvBeta   fp.Element
)

func init() {
	// λ = z² − 1 with |z| = 0xd201000000010000.
	z := new(big.Int).SetUint64(0xd201000000010000)
	glvLambda.Mul(z, z).Sub(&glvLambda, big.NewInt(1))
	// Of the two primitive cube roots of unity, β is the one with φ(g1) = λ·g1.
	var w fp.Element
	e := new(big.Int).Sub(fp.Modulus(), big.NewInt(1))
	e.Div(e, big.NewInt(3))
	for g := uint64(2); ; g++ {
		var b fp.Element
		b.SetUint64(g)
		w.Exp(b, e)
		if !w.IsOne() {
			break
		}
	}
	var lg bls.G1Affine
	lg.ScalarMultiplication(&g1Gen, &glvLambda)
	var x fp.Element
	x.Mul(&g1Gen.X, &w)
	if !x.Equal(&lg.X) {
		w.Square(&w)
		x.Mul(&g1Gen.X, &w)
	}
	if !x.Equal(&lg.X) || !lg.Y.Equal(&g1Gen.Y) {
		panic("curve: GLV endomorphism constants inconsistent")
	}
	glvBeta = w
}

// splitGLV returns k1, k2 < 2^128 with k = k1 + k2·λ, as little-endian limbs
// (one spare limb for the NAF recoding's carry).
func splitGLV(s Scalar) (k1, k2 [3]uint64) {
	var q, r big.Int
	q.QuoRem(s.bigInt(), &glvLambda, &r)
	toLimbs := func(v *big.Int) (l [3]uint64) {
		for i, w := range v.Bits() { // big.Word is 64 bits on the supported platforms
			l[i] = uint64(w)
		}
		return l
	}
	return toLimbs(&r), toLimbs(&q)
}

// wnaf writes the width-5 NAF digits of k (at most 130) into d and returns
// their count. Digits are odd in (−16, 16) or zero.
func wnaf(k [3]uint64, d *[130]int8) int {
	n := 0
	for k[0]|k[1]|k[2] != 0 {
		var v int8
		if k[0]&1 == 1 {
			v = int8(k[0] & (1<<wnafWidth - 1))
			if v >= 1<<(wnafWidth-1) {
				v -= 1 << wnafWidth
			}
			if v > 0 {
				sub := uint64(v)
				var b uint64
				k[0], b = k[0]-sub, boolToBorrow(k[0] < sub)
				k[1], b = k[1]-b, boolToBorrow(k[1] < b)
				k[2] -= b
			} else {
				add := uint64(-v)
				var c uint64
				k[0], c = k[0]+add, boolToBorrow(k[0]+add < add)
				k[1], c = k[1]+c, boolToBorrow(k[1]+c < c)
				k[2] += c
			}
		}
		d[n] = v
		n++
		k[0] = k[0]>>1 | k[1]<<63
		k[1] = k[1]>>1 | k[2]<<63
		k[2] >>= 1
	}
	return n
}

func boolToBorrow(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// glvMultiExpG1 returns Σ scalars[i]·points[i].
func glvMultiExpG1(points []G1, scalars []Scalar) bls.G1Jac {
	ks := make([][2][3]uint64, len(points))
	for i := range points {
		if !scalars[i].IsZero() {
			ks[i][0], ks[i][1] = splitGLV(scalars[i])
		}
	}
	return strausG1(points, ks)
}

// strausG1 returns Σ (ks[i][0] + ks[i][1]·λ)·points[i] for integers
// ks[i][h] < 2^129 given as little-endian limbs.
func strausG1(points []G1, ks [][2][3]uint64) bls.G1Jac {
	const tsize = 1 << (wnafWidth - 2) // 8 odd multiples
	n := len(points)
	jac := make([]bls.G1Jac, 0, n*tsize)
	digits := make([][2][130]int8, n)
	lens := make([][2]int, n)
	used := make([]int, 0, n)
	maxLen := 0
	for i := range points {
		k1, k2 := ks[i][0], ks[i][1]
		if points[i].IsIdentity() || k1 == [3]uint64{} && k2 == [3]uint64{} {
			continue
		}
		lens[i][0] = wnaf(k1, &digits[i][0])
		lens[i][1] = wnaf(k2, &digits[i][1])
		maxLen = max(maxLen, lens[i][0], lens[i][1])
		used = append(used, i)
		var p, p2 bls.G1Jac
		p.FromAffine(&points[i].p)
		p2.Double(&p)
		jac = append(jac, p)
		for j := 1; j < tsize; j++ {
			next := jac[len(jac)-1]
			next.AddAssign(&p2)
			jac = append(jac, next)
		}
	}
	tab := batchToAffineG1(jac)
	phi := make([]bls.G1Affine, len(tab))
	for j := range tab {
		phi[j].X.Mul(&tab[j].X, &glvBeta)
		phi[j].Y = tab[j].Y
	}
	var acc bls.G1Jac
	acc.X.SetOne()
	acc.Y.SetOne() // Z = 0: the identity
	var e bls.G1Affine
	for bit := maxLen - 1; bit >= 0; bit-- {
		acc.DoubleAssign()
		for u, i := range used {
			for h, t := range [2][]bls.G1Affine{tab, phi} {
				if bit >= lens[i][h] {
					continue
				}
				v := digits[i][h][bit]
				switch {
				case v > 0:
					acc.AddMixed(&t[u*tsize+int(v>>1)])
				case v < 0:
					e = t[u*tsize+int((-v)>>1)]
					e.Y.Neg(&e.Y)
					acc.AddMixed(&e)
				}
			}
		}
	}
	return acc
}

// batchToAffineG1 normalises Jacobian points with one inversion; the
// identity maps to (0, 0).
func batchToAffineG1(pts []bls.G1Jac) []bls.G1Affine {
	out := make([]bls.G1Affine, len(pts))
	prefix := make([]fp.Element, len(pts))
	var acc fp.Element
	acc.SetOne()
	for i := range pts {
		prefix[i] = acc
		if !pts[i].Z.IsZero() {
			acc.Mul(&acc, &pts[i].Z)
		}
	}
	acc.Inverse(&acc)
	for i := len(pts) - 1; i >= 0; i-- {
		if pts[i].Z.IsZero() {
			continue
		}
		var zinv, zinv2 fp.Element
		zinv.Mul(&acc, &prefix[i])
		acc.Mul(&acc, &pts[i].Z)
		zinv2.Square(&zinv)
		out[i].X.Mul(&pts[i].X, &zinv2)
		zinv2.Mul(&zinv2, &zinv)
		out[i].Y.Mul(&pts[i].Y, &zinv2)
	}
	return out
}
