package curve

import (
	"sync"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
)

// Summing many affine points. A Jacobian mixed addition costs about 11 Fp2
// multiplications; adding the points pairwise in affine coordinates, with the
// slopes' denominators of one round inverted together (Montgomery's trick),
// costs about 6 plus a share of one inversion per round. Several independent
// sums share each round's inversion. Rounds stop when too few additions
// remain for the shared inversion to pay off.
const batchAddMin = 2

// sumG2 returns Σ g for every group g of points (the groups are used as
// scratch space). Identity entries are allowed.
func sumG2(groups [][]bls.G2Affine, sc *scratch) []bls.G2Jac {
	total := 0
	for gi, g := range groups {
		groups[gi] = dropIdentities(g)
		total += len(groups[gi]) / 2
	}
	if cap(sc.den) < total {
		sc.den, sc.pre = make([]bls.E2, total), make([]bls.E2, total)
	}
	den, pre := sc.den[:total], sc.pre[:total]
	for {
		pairs := 0
		for _, g := range groups {
			pairs += len(g) / 2
		}
		if pairs < batchAddMin {
			break
		}
		// Denominators x2 - x1 of every pair; a zero one (P = ±Q) is added generically.
		var acc bls.E2
		acc.SetOne()
		n := 0
		for _, g := range groups {
			for i := 0; i+1 < len(g); i += 2 {
				den[n].Sub(&g[i+1].X, &g[i].X)
				pre[n] = acc
				if !den[n].IsZero() {
					acc.Mul(&acc, &den[n])
				}
				n++
			}
		}
		acc.Inverse(&acc)
		for i := n - 1; i >= 0; i-- {
			if den[i].IsZero() {
				continue
			}
			var inv bls.E2
			inv.Mul(&acc, &pre[i])
			acc.Mul(&acc, &den[i])
			den[i] = inv
		}
		n = 0
		for gi, g := range groups {
			half := len(g) / 2
			identity := false
			for i := 0; i < half; i++ {
				p, q := &g[2*i], &g[2*i+1]
				if den[n].IsZero() {
					var r bls.G2Affine
					r.Add(p, q)
					g[i] = r
					identity = identity || r.IsInfinity()
				} else {
					var lambda, x3, y3 bls.E2
					lambda.Sub(&q.Y, &p.Y).Mul(&lambda, &den[n])
					x3.Square(&lambda).Sub(&x3, &p.X).Sub(&x3, &q.X)
					y3.Sub(&p.X, &x3).Mul(&y3, &lambda).Sub(&y3, &p.Y)
					g[i].X, g[i].Y = x3, y3
				}
				n++
			}
			if len(g)%2 == 1 {
				g[half] = g[len(g)-1]
				half++
			}
			g = g[:half]
			if identity { // P + (-P): drop it before the next round
				g = dropIdentities(g)
			}
			groups[gi] = g
		}
	}
	out := make([]bls.G2Jac, len(groups))
	for gi, g := range groups {
		out[gi].Set(&g2Identity)
		for i := range g {
			out[gi].AddMixed(&g[i])
		}
	}
	return out
}

func dropIdentities(g []bls.G2Affine) []bls.G2Affine {
	n := 0
	for i := range g {
		if !g[i].IsInfinity() {
			if n != i {
				g[n] = g[i]
			}
			n++
		}
	}
	return g[:n]
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
			out = append(out, t.t[j*windowEntries+int(-v)-1])
			e := &out[len(out)-1]
			e.Y.Neg(&e.Y)
		}
	}
	return out
}

// FixedSum is one sum start + Σ Scalars[i]·B_i + Σ Challenges[j]·C_j over
// fixed bases B_i, C_j given by their tables. A challenge term takes at most
// 18 table entries, a scalar term 32.
type FixedSum struct {
	Start   G2
	Tables  []*G2Table
	Scalars []Scalar

	ChallengeTables []*G2Table
	Challenges      []Challenge
}

// scratch is the working memory of FixedMultiExpG2Batch (about 50 KB for a
// verification), recycled through scratchPool.
type scratch struct {
	entries  []bls.G2Affine
	den, pre []bls.E2
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// FixedMultiExpG2Batch computes several fixed-base sums together with
// batched affine additions; the results equal FixedMultiExpG2's.
func FixedMultiExpG2Batch(sums ...FixedSum) []G2 {
	size := 0
	for _, s := range sums {
		if len(s.Tables) != len(s.Scalars) || len(s.ChallengeTables) != len(s.Challenges) {
			panic("curve: FixedMultiExpG2Batch length mismatch")
		}
		size += 1 + windowCount*len(s.Tables) + 18*len(s.ChallengeTables)
	}
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	if cap(sc.entries) < size {
		sc.entries = make([]bls.G2Affine, 0, size)
	}
	buf := sc.entries[:0]
	groups := make([][]bls.G2Affine, len(sums))
	for gi, s := range sums {
		from := len(buf)
		buf = append(buf, s.Start.p)
		for i, t := range s.Tables {
			buf = t.appendEntries(buf, s.Scalars[i])
		}
		for i, t := range s.ChallengeTables {
			buf = t.appendChallengeEntries(buf, s.Challenges[i])
		}
		groups[gi] = buf[from:len(buf):len(buf)]
	}
	jac := sumG2(groups, sc)
	out := make([]G2, len(sums))
	for i := range jac {
		out[i].p.FromJacobian(&jac[i])
	}
	return out
}
