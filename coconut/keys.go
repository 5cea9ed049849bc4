package coconut

import (
	"fmt"
	"io"

	"github.com/nyx-privacy/nyx/coconut/internal/curve"
)

// SecretKey is an issuing authority's signing key (x, y_0..y_{q-1}), or its
// share of the threshold key.
type SecretKey struct {
	x curve.Scalar
	y []curve.Scalar
}

// VerificationKey is (α, β_0..β_{q-1}) = (x·g2, y_i·g2) in G2, plus the same
// y_i in G1 (β'_i = y_i·g1), which a client needs to unblind that
// authority's partial signatures. A key derived from DKG dealings alone has
// no G1 half (HasG1 reports false): it verifies credentials but cannot unblind.
type VerificationKey struct {
	alpha  curve.G2
	beta   []curve.G2
	betaG1 []curve.G1
}

// KeyGen returns a fresh single-authority key for p.
func KeyGen(rng io.Reader, p *Params) (*SecretKey, error) {
	s, err := randomScalars(rng, p.q+1)
	if err != nil {
		return nil, err
	}
	return &SecretKey{x: s[0], y: s[1:]}, nil
}

// TTPKeyGen plays a trusted dealer: it shares a fresh key among n authorities
// with threshold t (any t shares sign, t-1 learn nothing). Share i (0-based in
// the result) belongs to the authority with index i+1. For tests and
// single-operator deployments; validators use the DKG instead.
func TTPKeyGen(rng io.Reader, p *Params, t, n int) ([]*SecretKey, error) {
	if t < 1 || t > n || n > MaxParticipants {
		return nil, fmt.Errorf("%w: t=%d n=%d", ErrThreshold, t, n)
	}
	polys := make([][]curve.Scalar, p.q+1)
	for k := range polys {
		c, err := randomScalars(rng, t)
		if err != nil {
			return nil, err
		}
		polys[k] = c
	}
	keys := make([]*SecretKey, n)
	for i := range keys {
		at := curve.NewScalar(uint64(i + 1))
		sk := &SecretKey{x: evalPoly(polys[0], at), y: make([]curve.Scalar, p.q)}
		for k := 0; k < p.q; k++ {
			sk.y[k] = evalPoly(polys[k+1], at)
		}
		keys[i] = sk
	}
	return keys, nil
}

// evalPoly evaluates Σ c_j·x^j by Horner's rule.
func evalPoly(c []curve.Scalar, x curve.Scalar) curve.Scalar {
	var r curve.Scalar
	for j := len(c) - 1; j >= 0; j-- {
		r = r.Mul(x).Add(c[j])
	}
	return r
}

// Attributes returns the number of attributes the key signs.
func (sk *SecretKey) Attributes() int { return len(sk.y) }

// VerificationKey returns the public key of sk, with its G1 half.
func (sk *SecretKey) VerificationKey() *VerificationKey {
	g1, g2 := curve.G1GeneratorTable(), curve.G2GeneratorTable()
	vk := &VerificationKey{alpha: g2.Mul(sk.x), beta: make([]curve.G2, len(sk.y)), betaG1: make([]curve.G1, len(sk.y))}
	for i, y := range sk.y {
		vk.beta[i] = g2.Mul(y)
		vk.betaG1[i] = g1.Mul(y)
	}
	return vk
}

// Attributes returns the number of attributes the key verifies.
func (vk *VerificationKey) Attributes() int { return len(vk.beta) }

// HasG1 reports whether vk carries the G1 half needed to unblind.
func (vk *VerificationKey) HasG1() bool { return vk.betaG1 != nil }

// Equal reports whether two keys are the same (G1 halves compared when both have one).
func (vk *VerificationKey) Equal(o *VerificationKey) bool {
	if len(vk.beta) != len(o.beta) || !vk.alpha.Equal(o.alpha) {
		return false
	}
	for i := range vk.beta {
		if !vk.beta[i].Equal(o.beta[i]) {
			return false
		}
	}
	if vk.HasG1() && o.HasG1() {
		for i := range vk.betaG1 {
			if !vk.betaG1[i].Equal(o.betaG1[i]) {
				return false
			}
		}
	}
	return true
}

// CheckG1 verifies that the G1 half matches the G2 half: e(β'_i, g2) = e(g1, β_i)
// for every i, checked at once with a random linear combination. A client
// runs it on every authority key it unblinds with, since the G1 half of a DKG
// key share is published by its owner rather than derived from the dealings.
func (vk *VerificationKey) CheckG1(rng io.Reader) error {
	if !vk.HasG1() {
		return fmt.Errorf("%w: key has no G1 half", ErrSignature)
	}
	r, err := randomScalars(rng, len(vk.beta))
	if err != nil {
		return err
	}
	lhs := curve.MultiExpG1(vk.betaG1, r)
	rhs := curve.MultiExpG2(vk.beta, r)
	if !curve.PairingCheck([]curve.G1{lhs, curve.G1Generator().Neg()}, []curve.G2{curve.G2Generator(), rhs}) {
		return fmt.Errorf("%w: G1 half of the key does not match its G2 half", ErrSignature)
	}
	return nil
}

// MaxParticipants bounds n for threshold keys and DKG (indices fit in 16 bits).
const MaxParticipants = 1 << 12

// lagrangeAtZero returns the Lagrange coefficients at 0 for the given
// distinct nonzero indices: λ_i = Π_{j≠i} x_j / (x_j - x_i).
func lagrangeAtZero(indices []uint64) ([]curve.Scalar, error) {
	seen := make(map[uint64]bool, len(indices))
	for _, i := range indices {
		if i == 0 || i > MaxParticipants || seen[i] {
			return nil, fmt.Errorf("%w: %d", ErrIndices, i)
		}
		seen[i] = true
	}
	out := make([]curve.Scalar, len(indices))
	for a, ia := range indices {
		num, den := curve.NewScalar(1), curve.NewScalar(1)
		xa := curve.NewScalar(ia)
		for b, ib := range indices {
			if a == b {
				continue
			}
			xb := curve.NewScalar(ib)
			num = num.Mul(xb)
			den = den.Mul(xb.Sub(xa))
		}
		out[a] = num.Mul(den.Inverse())
	}
	return out, nil
}

// AggregateVerificationKeys interpolates the master key from the keys of the
// authorities with the given indices (1-based): α = Σ λ_i α_i, and so on.
// Any t shares of a threshold key give the same result. The G1 half is
// aggregated when every input has one.
func AggregateVerificationKeys(vks []*VerificationKey, indices []uint64) (*VerificationKey, error) {
	if len(vks) == 0 || len(vks) != len(indices) {
		return nil, fmt.Errorf("%w: %d keys, %d indices", ErrIndices, len(vks), len(indices))
	}
	l, err := lagrangeAtZero(indices)
	if err != nil {
		return nil, err
	}
	q := len(vks[0].beta)
	withG1 := true
	for _, vk := range vks {
		if len(vk.beta) != q {
			return nil, fmt.Errorf("%w: keys of different sizes", ErrParams)
		}
		withG1 = withG1 && vk.HasG1()
	}
	col2 := make([]curve.G2, len(vks))
	col1 := make([]curve.G1, len(vks))
	for i, vk := range vks {
		col2[i] = vk.alpha
	}
	out := &VerificationKey{alpha: curve.MultiExpG2(col2, l), beta: make([]curve.G2, q)}
	if withG1 {
		out.betaG1 = make([]curve.G1, q)
	}
	for k := 0; k < q; k++ {
		for i, vk := range vks {
			col2[i] = vk.beta[k]
			if withG1 {
				col1[i] = vk.betaG1[k]
			}
		}
		out.beta[k] = curve.MultiExpG2(col2, l)
		if withG1 {
			out.betaG1[k] = curve.MultiExpG1(col1, l)
		}
	}
	return out, nil
}
