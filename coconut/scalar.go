package coconut

import (
	"errors"
	"io"

	"github.com/nyx-privacy/nyx/coconut/internal/curve"
)

// Encoded sizes in bytes.
const (
	ScalarSize = curve.ScalarSize // a scalar (attribute, secret, proof response)
	G1Size     = curve.G1Size     // a compressed G1 point
	G2Size     = curve.G2Size     // a compressed G2 point
)

// MaxAttributes is the largest number of attributes a credential may carry.
const MaxAttributes = 32

// Scalar is an element of the BLS12-381 scalar field: an attribute value, a
// secret key component or a proof response. The zero value is 0.
type Scalar struct{ s curve.Scalar }

// NewScalar returns v as a scalar (e.g. a bandwidth amount).
func NewScalar(v uint64) Scalar { return Scalar{curve.NewScalar(v)} }

// RandomScalar draws a uniform nonzero scalar from rng (e.g. a serial number).
func RandomScalar(rng io.Reader) (Scalar, error) {
	s, err := curve.RandomScalar(rng)
	return Scalar{s}, err
}

// HashToScalar maps an arbitrary string (e.g. a credential type name) to an
// attribute, with RFC 9380 hash_to_field under the tag DSTAttribute.
func HashToScalar(msg []byte) Scalar { return Scalar{curve.HashToScalar(msg, []byte(DSTAttribute))} }

// ScalarFromBytes decodes exactly 32 big-endian bytes holding a value below
// the group order.
func ScalarFromBytes(b []byte) (Scalar, error) {
	var s Scalar
	err := s.s.SetBytes(b)
	return s, err
}

// Bytes returns the 32-byte big-endian encoding of s.
func (s Scalar) Bytes() [ScalarSize]byte { return s.s.Bytes() }

// Equal reports whether s and t are the same scalar.
func (s Scalar) Equal(t Scalar) bool { return s.s.Equal(t.s) }

// Uint64 returns s as a uint64 if it is below 2^64.
func (s Scalar) Uint64() (uint64, bool) {
	b := s.Bytes()
	for _, x := range b[:24] {
		if x != 0 {
			return 0, false
		}
	}
	var v uint64
	for _, x := range b[24:] {
		v = v<<8 | uint64(x)
	}
	return v, true
}

func unwrap(xs []Scalar) []curve.Scalar {
	out := make([]curve.Scalar, len(xs))
	for i, x := range xs {
		out[i] = x.s
	}
	return out
}

// randomScalars draws n scalars.
func randomScalars(rng io.Reader, n int) ([]curve.Scalar, error) {
	out := make([]curve.Scalar, n)
	for i := range out {
		s, err := curve.RandomScalar(rng)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// Errors returned by the package. Functions wrap them with detail; test with errors.Is.
var (
	ErrEncoding     = errors.New("coconut: malformed encoding")
	ErrParams       = errors.New("coconut: parameters do not match")
	ErrProof        = errors.New("coconut: proof does not verify")
	ErrSignature    = errors.New("coconut: signature does not verify")
	ErrCredential   = errors.New("coconut: credential does not verify")
	ErrIndices      = errors.New("coconut: invalid or repeated participant indices")
	ErrThreshold    = errors.New("coconut: invalid threshold")
	ErrDealing      = errors.New("coconut: invalid dealing")
	ErrShare        = errors.New("coconut: share does not match the dealing's commitments")
	ErrDisclosure   = errors.New("coconut: invalid disclosure")
	ErrAttributes   = errors.New("coconut: wrong number of attributes")
	ErrNotEnoughKey = errors.New("coconut: not enough qualified dealings")
)
