package coconut

import (
	"fmt"

	"github.com/nyx-privacy/nyx/coconut/internal/curve"
)

// reader consumes a byte string strictly: every read must fit, and done()
// fails unless every byte was used.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b) < n {
		r.err = fmt.Errorf("%w: truncated", ErrEncoding)
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) u8() int {
	b := r.take(1)
	if b == nil {
		return 0
	}
	return int(b[0])
}

func (r *reader) u16() int {
	b := r.take(2)
	if b == nil {
		return 0
	}
	return int(b[0])<<8 | int(b[1])
}

func (r *reader) u32() uint32 {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func (r *reader) scalar() curve.Scalar {
	var s curve.Scalar
	b := r.take(ScalarSize)
	if b != nil {
		if err := s.SetBytes(b); err != nil {
			r.err = fmt.Errorf("%w: %v", ErrEncoding, err)
		}
	}
	return s
}

func (r *reader) scalars(n int) []curve.Scalar {
	out := make([]curve.Scalar, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, r.scalar())
	}
	return out
}

func (r *reader) g1() curve.G1 {
	var p curve.G1
	b := r.take(G1Size)
	if b != nil {
		if err := p.SetBytes(b); err != nil {
			r.err = fmt.Errorf("%w: %v", ErrEncoding, err)
		}
	}
	return p
}

func (r *reader) g1s(n int) []curve.G1 {
	out := make([]curve.G1, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, r.g1())
	}
	return out
}

func (r *reader) g2() curve.G2 {
	var p curve.G2
	b := r.take(G2Size)
	if b != nil {
		if err := p.SetBytes(b); err != nil {
			r.err = fmt.Errorf("%w: %v", ErrEncoding, err)
		}
	}
	return p
}

func (r *reader) g2s(n int) []curve.G2 {
	out := make([]curve.G2, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, r.g2())
	}
	return out
}

// expect fails early when the remaining length is not exactly n, so a
// decoder never does curve work on input of the wrong size.
func (r *reader) expect(n int) {
	if r.err == nil && len(r.b) != n {
		r.err = fmt.Errorf("%w: %d bytes left, want %d", ErrEncoding, len(r.b), n)
	}
}

func (r *reader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("%w: %d trailing bytes", ErrEncoding, len(r.b))
	}
	return r.err
}

func appendScalars(b []byte, ss ...curve.Scalar) []byte {
	for _, s := range ss {
		e := s.Bytes()
		b = append(b, e[:]...)
	}
	return b
}

func appendG1(b []byte, ps ...curve.G1) []byte {
	for _, p := range ps {
		e := p.Bytes()
		b = append(b, e[:]...)
	}
	return b
}

func appendG2(b []byte, ps ...curve.G2) []byte {
	for _, p := range ps {
		e := p.Bytes()
		b = append(b, e[:]...)
	}
	return b
}

func checkAttrCount(q int) error {
	if q < 1 || q > MaxAttributes {
		return fmt.Errorf("%w: %d attributes", ErrEncoding, q)
	}
	return nil
}

// SecretKeySize returns the encoded size of a secret key for q attributes: 1 + 32(q+1).
func SecretKeySize(q int) int { return 1 + ScalarSize*(q+1) }

// MarshalBinary encodes sk as q (1 byte) || x || y_0 .. y_{q-1}.
func (sk *SecretKey) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, SecretKeySize(len(sk.y)))
	b = append(b, byte(len(sk.y)))
	b = appendScalars(b, sk.x)
	return appendScalars(b, sk.y...), nil
}

// UnmarshalBinary decodes the encoding of MarshalBinary strictly.
func (sk *SecretKey) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	q := r.u8()
	if err := checkAttrCount(q); r.err == nil && err != nil {
		return err
	}
	r.expect(ScalarSize * (q + 1))
	x := r.scalar()
	y := r.scalars(q)
	if err := r.done(); err != nil {
		return fmt.Errorf("secret key: %w", err)
	}
	sk.x, sk.y = x, y
	return nil
}

// VerificationKeySize returns the encoded size of a verification key for q
// attributes: 2 + 96(q+1), plus 48q with the G1 half.
func VerificationKeySize(q int, withG1 bool) int {
	n := 2 + G2Size*(q+1)
	if withG1 {
		n += G1Size * q
	}
	return n
}

// MarshalBinary encodes vk as q (1 byte) || flags (1 byte, bit 0: G1 half
// present) || α || β_0..β_{q-1} || [β'_0..β'_{q-1}].
func (vk *VerificationKey) MarshalBinary() ([]byte, error) {
	q := len(vk.beta)
	b := make([]byte, 0, VerificationKeySize(q, vk.HasG1()))
	flags := byte(0)
	if vk.HasG1() {
		flags = 1
	}
	b = append(b, byte(q), flags)
	b = appendG2(b, vk.alpha)
	b = appendG2(b, vk.beta...)
	return appendG1(b, vk.betaG1...), nil
}

// UnmarshalBinary decodes the encoding of MarshalBinary strictly.
func (vk *VerificationKey) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	q, flags := r.u8(), r.u8()
	if r.err == nil {
		if err := checkAttrCount(q); err != nil {
			return err
		}
		if flags > 1 {
			return fmt.Errorf("%w: verification key flags %#x", ErrEncoding, flags)
		}
	}
	r.expect(VerificationKeySize(q, flags == 1) - 2)
	alpha := r.g2()
	beta := r.g2s(q)
	var betaG1 []curve.G1
	if flags == 1 {
		betaG1 = r.g1s(q)
	}
	if err := r.done(); err != nil {
		return fmt.Errorf("verification key: %w", err)
	}
	vk.alpha, vk.beta, vk.betaG1 = alpha, beta, betaG1
	return nil
}

// BlindSignSecretsSize returns the encoded size of the secrets of a request
// with k private and p public attributes: 2 + 48 + 32(2k + p).
func BlindSignSecretsSize(k, p int) int { return 2 + G1Size + ScalarSize*(2*k+p) }

// MarshalBinary encodes the secrets as k (1 byte) || p (1 byte) || h ||
// m_1..m_k (private attributes) || public_1..public_p || o_1..o_k (the
// openings of the c_i). The encoding holds the private attributes and the
// blinding factors: store it as a secret (encrypted at rest), and discard it
// once the credential is unblinded.
func (s *BlindSignSecrets) MarshalBinary() ([]byte, error) {
	k, p := len(s.private), len(s.public)
	if k < 1 || len(s.o) != k || k+p > MaxAttributes || s.h.IsIdentity() {
		return nil, fmt.Errorf("%w: blind-sign secrets not from PrepareBlindSign", ErrEncoding)
	}
	b := make([]byte, 0, BlindSignSecretsSize(k, p))
	b = append(b, byte(k), byte(p))
	b = appendG1(b, s.h)
	b = appendScalars(b, s.private...)
	b = appendScalars(b, s.public...)
	return appendScalars(b, s.o...), nil
}

// UnmarshalBinary decodes the encoding of MarshalBinary strictly: at least
// one private attribute, at most MaxAttributes in all, h a proper G1 point,
// canonical scalars, no trailing bytes.
func (s *BlindSignSecrets) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	k, p := r.u8(), r.u8()
	if r.err != nil {
		return fmt.Errorf("blind-sign secrets: %w", r.err)
	}
	if k < 1 {
		return fmt.Errorf("blind-sign secrets: %w: no private attribute", ErrEncoding)
	}
	if err := checkAttrCount(k + p); err != nil {
		return fmt.Errorf("blind-sign secrets: %w", err)
	}
	r.expect(BlindSignSecretsSize(k, p) - 2)
	t := &BlindSignSecrets{h: r.g1()}
	t.private = r.scalars(k)
	t.public = r.scalars(p)
	t.o = r.scalars(k)
	if err := r.done(); err != nil {
		return fmt.Errorf("blind-sign secrets: %w", err)
	}
	*s = *t
	return nil
}
