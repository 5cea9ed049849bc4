package curve

import (
	"crypto/sha256"
	"encoding/binary"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
)

// Challenge is a 128-bit Fiat-Shamir challenge in GLV form: the scalar
//
//	c = lo + hi·λ mod r,   0 ≤ lo, hi < 2^64,
//
// with λ = z² − 1 the eigenvalue of the endomorphism φ (glv.go). The map
// (lo, hi) ↦ c is injective (a nonzero difference (a, b) with a + b·λ ≡ 0
// would make a² − ab + b² ≡ b²(λ² + λ + 1) = b²·r ≡ 0 mod r, yet
// 0 < a² − ab + b² < 3·2^128 < r), so there are exactly 2^128 challenges,
// and any two differ as scalars. Multiplying a point by c costs 64
// doublings: c·X = lo·X + hi·φ(X). A Challenge may carry a sign (Neg).
type Challenge struct {
	lo, hi uint64
	neg    bool
}

// lambdaScalar is λ = z² − 1 as a scalar (computed here rather than from
// glvLambda, which package initialisation sets only later, in init).
var lambdaScalar = func() Scalar {
	var s Scalar
	s.e.SetUint64(0xd201000000010000)
	s.e.Square(&s.e)
	return s.Sub(NewScalar(1))
}()

// NewChallenge returns the challenge lo + hi·λ.
func NewChallenge(lo, hi uint64) Challenge { return Challenge{lo: lo, hi: hi} }

// HashToChallenge derives a challenge from msg: the 16 bytes of RFC 9380
// expand_message_xmd (SHA-256) under dst, read as lo || hi, big-endian.
func HashToChallenge(msg, dst []byte) Challenge {
	b := expandShort(msg, dst, 16)
	return Challenge{lo: binary.BigEndian.Uint64(b[:8]), hi: binary.BigEndian.Uint64(b[8:])}
}

// expandShort is RFC 9380 expand_message_xmd with SHA-256 for outputs of at
// most 32 bytes (ell = 1), where the output is the first n bytes of
// b_1 = H(b_0 || 1 || DST'), b_0 = H(Z_pad || msg || I2OSP(n, 2) || 0 || DST').
// (gnark-crypto's ExpandMsgXmd requires n >= 32.)
func expandShort(msg, dst []byte, n int) []byte {
	if n < 1 || n > sha256.Size || len(dst) < 1 || len(dst) > 255 {
		panic("curve: invalid expand_message_xmd length or domain separation tag")
	}
	dstPrime := append(append([]byte{}, dst...), byte(len(dst)))
	h := sha256.New()
	h.Write(make([]byte, h.BlockSize()))
	h.Write(msg)
	h.Write([]byte{byte(n >> 8), byte(n), 0})
	h.Write(dstPrime)
	b0 := h.Sum(nil)
	h.Reset()
	h.Write(b0)
	h.Write([]byte{1})
	h.Write(dstPrime)
	return h.Sum(nil)[:n]
}

// Neg returns −c.
func (c Challenge) Neg() Challenge { c.neg = !c.neg; return c }

// Halves returns lo and hi (and whether c is negated).
func (c Challenge) Halves() (lo, hi uint64, neg bool) { return c.lo, c.hi, c.neg }

// Scalar returns c as a scalar.
func (c Challenge) Scalar() Scalar {
	var lo, hi, s Scalar
	lo.e.SetUint64(c.lo)
	hi.e.SetUint64(c.hi)
	s.e.Mul(&hi.e, &lambdaScalar.e)
	s.e.Add(&s.e, &lo.e)
	if c.neg {
		s.e.Neg(&s.e)
	}
	return s
}

// MulChallenge returns c·a.
func (a G1) MulChallenge(c Challenge) G1 {
	acc := challengeMulG1(a, c)
	var r G1
	r.p.FromJacobian(&acc)
	return r
}

func challengeMulG1(x G1, c Challenge) bls.G1Jac {
	acc := strausG1([]G1{x}, [][2][3]uint64{{{c.lo}, {c.hi}}})
	if c.neg {
		acc.Neg(&acc)
	}
	return acc
}

// SchnorrCheck reports whether z·B = a + c·x for the table's base B, the
// verification equation of a Schnorr proof of knowledge of log_B x with
// commitment a, challenge c and response z. It works in Jacobian
// coordinates throughout (no inversion beyond the one of the small table
// of x): a + c·x − z·B must be the identity.
func (t *G1Table) SchnorrCheck(z Scalar, a G1, c Challenge, x G1) bool {
	acc := challengeMulG1(x, c)
	acc.AddMixed(&a.p)
	t.mulAdd(&acc, z.Neg())
	return acc.Z.IsZero()
}

// recode64 splits k < 2^64 into 9 signed 8-bit digits with Σ d[j]·2^(8j) = k
// (the last one is the carry, 0 or 1).
func recode64(k uint64) [9]int16 {
	var d [9]int16
	carry := int16(0)
	for j := 0; j < 8; j++ {
		v := int16(k>>(8*j)&0xff) + carry
		carry = 0
		if v > windowEntries {
			v -= 1 << windowBits
			carry = 1
		}
		d[j] = v
	}
	d[8] = carry
	return d
}

// appendChallengeEntries appends the table entries whose sum is c·B:
// lo·B from the table, hi·φ(B) from the table's entries mapped by φ
// (φ commutes with multiplication by an integer).
func (t *G2Table) appendChallengeEntries(out []bls.G2Affine, c Challenge) []bls.G2Affine {
	for h, k := range [2]uint64{c.lo, c.hi} {
		for j, v := range recode64(k) {
			if v == 0 {
				continue
			}
			neg := v < 0
			if neg {
				v = -v
			}
			out = append(out, t.t[j*windowEntries+int(v)-1])
			e := &out[len(out)-1]
			if h == 1 {
				e.X.MulByElement(&e.X, &glvBetaG2)
			}
			if neg != c.neg {
				e.Y.Neg(&e.Y)
			}
		}
	}
	return out
}
