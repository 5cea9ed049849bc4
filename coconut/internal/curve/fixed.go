package curve

import (
	"sync"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
)

// Fixed-base multiplication. For a base known in advance (a generator, a
// verification key's alpha and betas) a table of d·2^(8j)·B for every 8-bit
// window j and digit d in 1..128 turns a multiplication by a 255-bit scalar
// into 32 mixed additions and no doubling. With signed digits in [-127, 128]
// the top window (bits 248..254 plus a carry) never carries again, so 32
// windows cover every scalar below r.
const (
	windowBits    = 8
	windowCount   = 32
	windowEntries = 1 << (windowBits - 1) // 128
)

// recode splits s into 32 signed 8-bit digits with Σ d[j]·2^(8j) = s.
func recode(s Scalar) [windowCount]int16 {
	limbs := s.limbs()
	var d [windowCount]int16
	carry := int16(0)
	for j := 0; j < windowCount; j++ {
		v := int16((limbs[j/8]>>(8*(j%8)))&0xff) + carry
		carry = 0
		if v > windowEntries {
			v -= 1 << windowBits
			carry = 1
		}
		d[j] = v
	}
	return d
}

// G1Table holds the fixed-base table of one G1 point (about 400 KB).
type G1Table struct{ t []bls.G1Affine }

// G2Table holds the fixed-base table of one G2 point (about 800 KB).
type G2Table struct{ t []bls.G2Affine }

// NewG1Table precomputes the table of base.
func NewG1Table(base G1) *G1Table {
	jac := make([]bls.G1Jac, windowCount*windowEntries)
	var b bls.G1Jac
	b.FromAffine(&base.p)
	for j := 0; j < windowCount; j++ {
		row := jac[j*windowEntries : (j+1)*windowEntries]
		row[0].Set(&b)
		for d := 1; d < windowEntries; d++ {
			row[d].Set(&row[d-1])
			row[d].AddAssign(&b)
		}
		b.Double(&row[windowEntries-1]) // 256·2^(8j)·B
	}
	return &G1Table{bls.BatchJacobianToAffineG1(jac)}
}

// NewG2Table precomputes the table of base.
func NewG2Table(base G2) *G2Table {
	jac := make([]bls.G2Jac, windowCount*windowEntries)
	var b bls.G2Jac
	b.FromAffine(&base.p)
	for j := 0; j < windowCount; j++ {
		row := jac[j*windowEntries : (j+1)*windowEntries]
		row[0].Set(&b)
		for d := 1; d < windowEntries; d++ {
			row[d].Set(&row[d-1])
			row[d].AddAssign(&b)
		}
		b.Double(&row[windowEntries-1])
	}
	return &G2Table{batchToAffineG2(jac)}
}

// batchToAffineG2 normalises Jacobian points with one field inversion
// (Montgomery's trick over Fp2).
func batchToAffineG2(pts []bls.G2Jac) []bls.G2Affine {
	n := len(pts)
	out := make([]bls.G2Affine, n)
	prefix := make([]bls.E2, n)
	var acc bls.E2
	acc.SetOne()
	for i := range pts {
		prefix[i] = acc
		if !pts[i].Z.IsZero() {
			acc.Mul(&acc, &pts[i].Z)
		}
	}
	acc.Inverse(&acc)
	for i := n - 1; i >= 0; i-- {
		if pts[i].Z.IsZero() {
			continue // identity stays (0,0)
		}
		var zinv, zinv2 bls.E2
		zinv.Mul(&acc, &prefix[i])
		acc.Mul(&acc, &pts[i].Z)
		zinv2.Square(&zinv)
		out[i].X.Mul(&pts[i].X, &zinv2)
		zinv2.Mul(&zinv2, &zinv)
		out[i].Y.Mul(&pts[i].Y, &zinv2)
	}
	return out
}

// Mul returns s·B for the table's base B.
func (t *G1Table) Mul(s Scalar) G1 {
	var acc bls.G1Jac
	t.mulAdd(&acc, s)
	var r G1
	r.p.FromJacobian(&acc)
	return r
}

func (t *G1Table) mulAdd(acc *bls.G1Jac, s Scalar) {
	d := recode(s)
	var neg bls.G1Affine
	for j, v := range d {
		switch {
		case v > 0:
			acc.AddMixed(&t.t[j*windowEntries+int(v)-1])
		case v < 0:
			e := &t.t[j*windowEntries+int(-v)-1]
			neg.X = e.X
			neg.Y.Neg(&e.Y)
			acc.AddMixed(&neg)
		}
	}
}

// Mul returns s·B for the table's base B.
func (t *G2Table) Mul(s Scalar) G2 {
	var acc bls.G2Jac
	t.mulAdd(&acc, s)
	var r G2
	r.p.FromJacobian(&acc)
	return r
}

func (t *G2Table) mulAdd(acc *bls.G2Jac, s Scalar) {
	d := recode(s)
	var neg bls.G2Affine
	for j, v := range d {
		switch {
		case v > 0:
			acc.AddMixed(&t.t[j*windowEntries+int(v)-1])
		case v < 0:
			e := &t.t[j*windowEntries+int(-v)-1]
			neg.X = e.X
			neg.Y.Neg(&e.Y)
			acc.AddMixed(&neg)
		}
	}
}

// FixedMultiExpG2 returns start + Σ scalars[i]·B_i for the tables' bases B_i.
func FixedMultiExpG2(start G2, tables []*G2Table, scalars []Scalar) G2 {
	if len(tables) != len(scalars) {
		panic("curve: FixedMultiExpG2 length mismatch")
	}
	var acc bls.G2Jac
	acc.FromAffine(&start.p)
	for i, t := range tables {
		t.mulAdd(&acc, scalars[i])
	}
	var r G2
	r.p.FromJacobian(&acc)
	return r
}

// FixedMultiExpG1 returns start + Σ scalars[i]·B_i for the tables' bases B_i.
func FixedMultiExpG1(start G1, tables []*G1Table, scalars []Scalar) G1 {
	if len(tables) != len(scalars) {
		panic("curve: FixedMultiExpG1 length mismatch")
	}
	var acc bls.G1Jac
	acc.FromAffine(&start.p)
	for i, t := range tables {
		t.mulAdd(&acc, scalars[i])
	}
	var r G1
	r.p.FromJacobian(&acc)
	return r
}

var (
	g1TableOnce = sync.OnceValue(func() *G1Table { return NewG1Table(G1Generator()) })
	g2TableOnce = sync.OnceValue(func() *G2Table { return NewG2Table(G2Generator()) })
)

// G1GeneratorTable returns the (lazily built, shared, read-only) table of the G1 generator.
func G1GeneratorTable() *G1Table { return g1TableOnce() }

// G2GeneratorTable returns the (lazily built, shared, read-only) table of the G2 generator.
func G2GeneratorTable() *G2Table { return g2TableOnce() }
