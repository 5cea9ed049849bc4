package curve

import bls "github.com/consensys/gnark-crypto/ecc/bls12-381"

// Summing many affine points. A Jacobian mixed addition costs about 11 Fp2
// multiplications; adding the points pairwise in affine coordinates, with the
// slopes' denominators of one round inverted together (Montgomery's trick),
// costs about 6 plus one shared inversion per round. Rounds stop when too
// few points remain for the shared inversion to pay off.
const batchAddMin = 8

// sumG2 returns Σ pts (pts is used as scratch space). Identity entries are
// allowed.
func sumG2(pts []bls.G2Affine) bls.G2Jac {
	// Drop identities: the affine formulas below assume proper points.
	n := 0
	for i := range pts {
		if !pts[i].IsInfinity() {
			pts[n] = pts[i]
			n++
		}
	}
	pts = pts[:n]
	den := make([]bls.E2, len(pts)/2)
	pre := make([]bls.E2, len(pts)/2)
	for len(pts) >= batchAddMin {
		half := len(pts) / 2
		// Denominators x2 - x1; a zero one (P = ±Q) is added generically.
		var acc bls.E2
		acc.SetOne()
		for i := 0; i < half; i++ {
			den[i].Sub(&pts[2*i+1].X, &pts[2*i].X)
			pre[i] = acc
			if !den[i].IsZero() {
				acc.Mul(&acc, &den[i])
			}
		}
		acc.Inverse(&acc)
		for i := half - 1; i >= 0; i-- {
			if den[i].IsZero() {
				continue
			}
			var inv bls.E2
			inv.Mul(&acc, &pre[i])
			acc.Mul(&acc, &den[i])
			den[i] = inv
		}
		for i := 0; i < half; i++ {
			p, q := &pts[2*i], &pts[2*i+1]
			if den[i].IsZero() {
				var r bls.G2Affine
				r.Add(p, q)
				pts[i] = r
				continue
			}
			var lambda, x3, y3 bls.E2
			lambda.Sub(&q.Y, &p.Y).Mul(&lambda, &den[i])
			x3.Square(&lambda).Sub(&x3, &p.X).Sub(&x3, &q.X)
			y3.Sub(&p.X, &x3).Mul(&y3, &lambda).Sub(&y3, &p.Y)
			pts[i].X, pts[i].Y = x3, y3
		}
		if len(pts)%2 == 1 {
			pts[half] = pts[len(pts)-1]
			half++
		}
		// Identities can appear (P + (-P)); drop them again.
		m := 0
		for i := 0; i < half; i++ {
			if !pts[i].IsInfinity() {
				pts[m] = pts[i]
				m++
			}
		}
		pts = pts[:m]
	}
	var r bls.G2Jac
	r.Set(&g2Identity)
	for i := range pts {
		r.AddMixed(&pts[i])
	}
	return r
}

var g2Identity = func() bls.G2Jac {
	var p bls.G2Jac
	p.X.SetOne()
	p.Y.SetOne()
	return p
}()

// appendEntries appends the table entries whose sum is s·B.
func (t *G2Table) appendEntries(out []bls.G2Affine, s Scalar) []bls.G2Affine {
	d := recode(s)
	for j, v := range d {
		switch {
		case v > 0:
			out = append(out, t.t[j*windowEntries+int(v)-1])
		case v < 0:
			e := t.t[j*windowEntries+int(-v)-1]
			e.Y.Neg(&e.Y)
			out = append(out, e)
		}
	}
	return out
}

// FixedMultiExpG2Batch is FixedMultiExpG2 computed by batched affine
// additions: the same result, faster for several tables.
func FixedMultiExpG2Batch(start G2, tables []*G2Table, scalars []Scalar) G2 {
	if len(tables) != len(scalars) {
		panic("curve: FixedMultiExpG2Batch length mismatch")
	}
	pts := make([]bls.G2Affine, 0, 1+windowCount*len(tables))
	pts = append(pts, start.p)
	for i, t := range tables {
		pts = t.appendEntries(pts, scalars[i])
	}
	acc := sumG2(pts)
	var r G2
	r.p.FromJacobian(&acc)
	return r
}
