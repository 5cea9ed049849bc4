package curve

import (
	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
)

// The same GLV-Straus sum in G2, with φ(x, y) = (β₂·x, y), β₂ ∈ Fp the cube
// root of unity for which φ acts on G2 as multiplication by the same λ.

var glvBetaG2 fp.Element

func init() {
	var lg bls.G2Affine
	lg.ScalarMultiplication(&g2Gen, &glvLambda)
	for _, b := range []fp.Element{glvBeta, *new(fp.Element).Square(&glvBeta)} {
		var x bls.E2
		x.MulByElement(&g2Gen.X, &b)
		if x.Equal(&lg.X) && lg.Y.Equal(&g2Gen.Y) {
			glvBetaG2 = b
			return
		}
	}
	panic("curve: G2 GLV endomorphism constants inconsistent")
}

// glvMultiExpG2 returns Σ scalars[i]·points[i].
func glvMultiExpG2(points []G2, scalars []Scalar) bls.G2Jac {
	const tsize = 1 << (wnafWidth - 2)
	n := len(points)
	jac := make([]bls.G2Jac, 0, n*tsize)
	digits := make([][2][130]int8, n)
	lens := make([][2]int, n)
	used := make([]int, 0, n)
	maxLen := 0
	for i := range points {
		if points[i].IsIdentity() || scalars[i].IsZero() {
			continue
		}
		k1, k2 := splitGLV(scalars[i])
		lens[i][0] = wnaf(k1, &digits[i][0])
		lens[i][1] = wnaf(k2, &digits[i][1])
		maxLen = max(maxLen, lens[i][0], lens[i][1])
		used = append(used, i)
		var p, p2 bls.G2Jac
		p.FromAffine(&points[i].p)
		p2.Double(&p)
		jac = append(jac, p)
		for j := 1; j < tsize; j++ {
			next := jac[len(jac)-1]
			next.AddAssign(&p2)
			jac = append(jac, next)
		}
	}
	tab := batchToAffineG2(jac)
	phi := make([]bls.G2Affine, len(tab))
	for j := range tab {
		phi[j].X.MulByElement(&tab[j].X, &glvBetaG2)
		phi[j].Y = tab[j].Y
	}
	acc := g2Identity
	var e bls.G2Affine
	for bit := maxLen - 1; bit >= 0; bit-- {
		acc.DoubleAssign()
		for u, i := range used {
			for h, t := range [2][]bls.G2Affine{tab, phi} {
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
