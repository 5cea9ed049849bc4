// Package curve is the small layer between Coconut and the BLS12-381
// implementation (gnark-crypto). Everything above it sees only Scalar, G1 and
// G2 values, their fixed encodings and a handful of operations, so the curve
// library can be replaced by editing this package alone.
//
// Encodings are the usual compressed ones (ZCash / IETF pairing-friendly
// curves draft): 48 bytes for G1, 96 for G2, big-endian 32 bytes for scalars.
// Decoding is strict: exact length, the compression flag set, canonical field
// elements, the point on the curve and in the prime-order subgroup, and never
// the identity (no value this package decodes may legitimately be it).
package curve

import (
	"errors"
	"fmt"
	"io"
	"math/big"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// Encoded sizes in bytes.
const (
	ScalarSize = fr.Bytes                     // 32
	G1Size     = bls.SizeOfG1AffineCompressed // 48
	G2Size     = bls.SizeOfG2AffineCompressed // 96
	compressed = 0x80                         // flag bit: compressed form
	infinity   = 0x40                         // flag bit: point at infinity
)

var (
	// ErrLength reports an encoding of the wrong size.
	ErrLength = errors.New("curve: wrong encoding length")
	// ErrIdentity reports an encoding of the group identity where a proper point is required.
	ErrIdentity = errors.New("curve: identity point")
	// ErrZeroScalar reports a zero scalar where a nonzero one is required.
	ErrZeroScalar = errors.New("curve: zero scalar")
)

// Scalar is an element of the scalar field of BLS12-381 (integers modulo the
// group order r). The zero value is 0.
type Scalar struct{ e fr.Element }

// NewScalar returns v as a scalar.
func NewScalar(v uint64) Scalar {
	var s Scalar
	s.e.SetUint64(v)
	return s
}

// RandomScalar draws a uniform scalar from rng (64 bytes reduced modulo r, so
// the bias is below 2^-250). It never returns zero.
func RandomScalar(rng io.Reader) (Scalar, error) {
	var buf [64]byte
	for {
		if _, err := io.ReadFull(rng, buf[:]); err != nil {
			return Scalar{}, fmt.Errorf("curve: read randomness: %w", err)
		}
		var s Scalar
		s.e.SetBytes(buf[:])
		if !s.e.IsZero() {
			return s, nil
		}
	}
}

// HashToScalar maps msg to a scalar with RFC 9380 hash_to_field
// (expand_message_xmd with SHA-256, 48 bytes per element) under dst.
func HashToScalar(msg, dst []byte) Scalar {
	es, err := fr.Hash(msg, dst, 1)
	if err != nil {
		// Only an empty or over-long dst makes hash_to_field fail; every dst
		// used in this module is a non-empty constant.
		panic("curve: invalid domain separation tag: " + err.Error())
	}
	return Scalar{es[0]}
}

// Add returns a+b.
func (a Scalar) Add(b Scalar) Scalar { var r Scalar; r.e.Add(&a.e, &b.e); return r }

// Sub returns a-b.
func (a Scalar) Sub(b Scalar) Scalar { var r Scalar; r.e.Sub(&a.e, &b.e); return r }

// Mul returns a*b.
func (a Scalar) Mul(b Scalar) Scalar { var r Scalar; r.e.Mul(&a.e, &b.e); return r }

// Neg returns -a.
func (a Scalar) Neg() Scalar { var r Scalar; r.e.Neg(&a.e); return r }

// Inverse returns 1/a, and 0 for a = 0.
func (a Scalar) Inverse() Scalar { var r Scalar; r.e.Inverse(&a.e); return r }

// IsZero reports whether a = 0.
func (a Scalar) IsZero() bool { return a.e.IsZero() }

// Equal reports whether a = b.
func (a Scalar) Equal(b Scalar) bool { return a.e.Equal(&b.e) }

// Bytes returns the 32-byte big-endian encoding of a.
func (a Scalar) Bytes() [ScalarSize]byte { return a.e.Bytes() }

// SetBytes decodes exactly ScalarSize big-endian bytes holding a value below r.
func (a *Scalar) SetBytes(b []byte) error {
	if len(b) != ScalarSize {
		return ErrLength
	}
	if err := a.e.SetBytesCanonical(b); err != nil {
		return fmt.Errorf("curve: scalar not canonical: %w", err)
	}
	return nil
}

func (a Scalar) bigInt() *big.Int {
	var b big.Int
	return a.e.BigInt(&b)
}

// limbs returns the regular (non-Montgomery) little-endian 64-bit limbs of a.
func (a Scalar) limbs() [4]uint64 { return a.e.Bits() }

// G1 is a point of the prime-order subgroup of E(Fp). The zero value is the identity.
type G1 struct{ p bls.G1Affine }

// G2 is a point of the prime-order subgroup of E'(Fp2). The zero value is the identity.
type G2 struct{ p bls.G2Affine }

var (
	g1Gen bls.G1Affine
	g2Gen bls.G2Affine
)

func init() {
	_, _, g1Gen, g2Gen = bls.Generators()
}

// G1Generator returns the standard generator of G1.
func G1Generator() G1 { return G1{g1Gen} }

// G2Generator returns the standard generator of G2.
func G2Generator() G2 { return G2{g2Gen} }

// HashToG1 maps msg to G1 with the RFC 9380 suite BLS12381G1_XMD:SHA-256_SSWU_RO_ under dst.
func HashToG1(msg, dst []byte) G1 {
	p, err := bls.HashToG1(msg, dst)
	if err != nil {
		panic("curve: invalid domain separation tag: " + err.Error())
	}
	return G1{p}
}

// Add returns a+b.
func (a G1) Add(b G1) G1 { var r G1; r.p.Add(&a.p, &b.p); return r }

// Sub returns a-b.
func (a G1) Sub(b G1) G1 { var r G1; r.p.Sub(&a.p, &b.p); return r }

// Neg returns -a.
func (a G1) Neg() G1 { var r G1; r.p.Neg(&a.p); return r }

// Mul returns s·a.
func (a G1) Mul(s Scalar) G1 { var r G1; r.p.ScalarMultiplication(&a.p, s.bigInt()); return r }

// IsIdentity reports whether a is the identity.
func (a G1) IsIdentity() bool { return a.p.IsInfinity() }

// Equal reports whether a = b.
func (a G1) Equal(b G1) bool { return a.p.Equal(&b.p) }

// Bytes returns the 48-byte compressed encoding of a.
func (a G1) Bytes() [G1Size]byte { return a.p.Bytes() }

// SetBytes decodes a compressed G1 point strictly (see the package comment).
func (a *G1) SetBytes(b []byte) error {
	if len(b) != G1Size {
		return ErrLength
	}
	if b[0]&compressed == 0 {
		return errors.New("curve: G1 point not in compressed form")
	}
	if b[0]&infinity != 0 {
		return ErrIdentity
	}
	var p bls.G1Affine
	if _, err := p.SetBytes(b); err != nil { // on-curve and subgroup checks
		return fmt.Errorf("curve: G1 point: %w", err)
	}
	a.p = p
	return nil
}

// Add returns a+b.
func (a G2) Add(b G2) G2 { var r G2; r.p.Add(&a.p, &b.p); return r }

// Sub returns a-b.
func (a G2) Sub(b G2) G2 { var r G2; r.p.Sub(&a.p, &b.p); return r }

// Neg returns -a.
func (a G2) Neg() G2 { var r G2; r.p.Neg(&a.p); return r }

// Mul returns s·a.
func (a G2) Mul(s Scalar) G2 { var r G2; r.p.ScalarMultiplication(&a.p, s.bigInt()); return r }

// IsIdentity reports whether a is the identity.
func (a G2) IsIdentity() bool { return a.p.IsInfinity() }

// Equal reports whether a = b.
func (a G2) Equal(b G2) bool { return a.p.Equal(&b.p) }

// Bytes returns the 96-byte compressed encoding of a.
func (a G2) Bytes() [G2Size]byte { return a.p.Bytes() }

// SetBytes decodes a compressed G2 point strictly (see the package comment).
func (a *G2) SetBytes(b []byte) error {
	if len(b) != G2Size {
		return ErrLength
	}
	if b[0]&compressed == 0 {
		return errors.New("curve: G2 point not in compressed form")
	}
	if b[0]&infinity != 0 {
		return ErrIdentity
	}
	var p bls.G2Affine
	if _, err := p.SetBytes(b); err != nil { // on-curve and subgroup checks
		return fmt.Errorf("curve: G2 point: %w", err)
	}
	a.p = p
	return nil
}

// msmThreshold is the size from which the library's bucket method is used;
// below it (where its set-up costs more than it saves) sums use the
// GLV-Straus interleaving of glv.go.
const msmThreshold = 24

// MultiExpG1 returns Σ scalars[i]·points[i]. The slices must have equal length.
func MultiExpG1(points []G1, scalars []Scalar) G1 {
	if len(points) != len(scalars) {
		panic("curve: MultiExpG1 length mismatch")
	}
	var acc bls.G1Jac
	if len(points) >= msmThreshold {
		ps := make([]bls.G1Affine, len(points))
		ss := make([]fr.Element, len(points))
		for i := range points {
			ps[i], ss[i] = points[i].p, scalars[i].e
		}
		if _, err := acc.MultiExp(ps, ss, multiExpConfig); err != nil {
			panic("curve: " + err.Error())
		}
	} else if len(points) > 1 {
		acc = glvMultiExpG1(points, scalars)
	} else if len(points) == 1 {
		return points[0].Mul(scalars[0])
	}
	var r G1
	r.p.FromJacobian(&acc)
	return r
}

// MultiExpG2 returns Σ scalars[i]·points[i]. The slices must have equal length.
func MultiExpG2(points []G2, scalars []Scalar) G2 {
	if len(points) != len(scalars) {
		panic("curve: MultiExpG2 length mismatch")
	}
	var acc bls.G2Jac
	if len(points) >= msmThreshold {
		ps := make([]bls.G2Affine, len(points))
		ss := make([]fr.Element, len(points))
		for i := range points {
			ps[i], ss[i] = points[i].p, scalars[i].e
		}
		if _, err := acc.MultiExp(ps, ss, multiExpConfig); err != nil {
			panic("curve: " + err.Error())
		}
	} else if len(points) > 1 {
		acc = glvMultiExpG2(points, scalars)
	} else if len(points) == 1 {
		return points[0].Mul(scalars[0])
	}
	var r G2
	r.p.FromJacobian(&acc)
	return r
}

// PairingCheck reports whether Π e(a[i], b[i]) = 1. Identity inputs
// contribute 1. It returns false if the slices differ in length or are empty.
func PairingCheck(a []G1, b []G2) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	ps := make([]bls.G1Affine, len(a))
	qs := make([]bls.G2Affine, len(b))
	for i := range a {
		ps[i], qs[i] = a[i].p, b[i].p
	}
	ok, err := bls.PairingCheck(ps, qs)
	return err == nil && ok
}
