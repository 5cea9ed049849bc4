package sphinx

import (
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/cloudflare/circl/dh/x25519"
	fp "github.com/cloudflare/circl/math/fp25519"
)

// PrivateKey is a node's (or a client's) X25519 Sphinx key. It keeps its
// public key, computed once, so nothing on the packet path re-derives it.
type PrivateKey struct {
	scalar x25519.Key
	public PublicKey
}

// PublicKey is an X25519 public key that has passed validation: canonical
// encoding, on the curve (not its twist), not of low order.
type PublicKey struct {
	point x25519.Key
}

// GenerateKey returns a new private key with KeySize bytes read from rand.
func GenerateKey(rand io.Reader) (*PrivateKey, error) {
	var b [KeySize]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return nil, fmt.Errorf("sphinx: generate key: %w", err)
	}
	return NewPrivateKey(b[:])
}

// NewPrivateKey returns the private key whose 32-byte encoding is b. Any 32
// bytes are a scalar (X25519 clamps them); all-zero bytes are refused as a
// sign of an uninitialised key.
func NewPrivateKey(b []byte) (*PrivateKey, error) {
	if len(b) != KeySize {
		return nil, fmt.Errorf("%w: private key is %d bytes, want %d", ErrInvalidKey, len(b), KeySize)
	}
	if isZero(b) {
		return nil, fmt.Errorf("%w: all-zero private key", ErrInvalidKey)
	}
	k := new(PrivateKey)
	copy(k.scalar[:], b)
	x25519.KeyGen(&k.public.point, &k.scalar)
	return k, nil
}

// Bytes returns a copy of the key's 32-byte encoding.
func (k *PrivateKey) Bytes() []byte { return append([]byte(nil), k.scalar[:]...) }

// PublicKey returns the key's public key.
func (k *PrivateKey) PublicKey() *PublicKey { p := k.public; return &p }

// Equal reports whether k and o encode the same scalar, in constant time.
func (k *PrivateKey) Equal(o *PrivateKey) bool {
	return subtle.ConstantTimeCompare(k.scalar[:], o.scalar[:]) == 1
}

// NewPublicKey parses a 32-byte X25519 public key. It refuses encodings that
// are not canonical (top bit set, or u >= 2^255-19), points on the quadratic
// twist and the points of low order, whose shared secrets are all-zero or
// predictable.
func NewPublicKey(b []byte) (*PublicKey, error) {
	if len(b) != KeySize {
		return nil, fmt.Errorf("%w: public key is %d bytes, want %d", ErrInvalidKey, len(b), KeySize)
	}
	p := new(PublicKey)
	copy(p.point[:], b)
	if err := checkPoint(&p.point); err != nil {
		return nil, err
	}
	return p, nil
}

// Bytes returns a copy of the key's 32-byte encoding.
func (p *PublicKey) Bytes() []byte { return append([]byte(nil), p.point[:]...) }

// Equal reports whether p and o are the same key.
func (p *PublicKey) Equal(o *PublicKey) bool { return p.point == o.point }

// String returns the key in hex.
func (p *PublicKey) String() string { return hex.EncodeToString(p.point[:]) }

// checkPoint validates a public key. It is used where keys enter from
// outside (the chain, a file), not on the per-packet path: there, low-order
// group elements are refused by the all-zero check and everything else is
// settled by the header MAC.
func checkPoint(u *x25519.Key) error {
	if u[31]&0x80 != 0 {
		return fmt.Errorf("%w: top bit of the u-coordinate is set", ErrInvalidKey)
	}
	// Canonical: u < p. ToBytes reduces modulo p; a canonical u is unchanged.
	e := fp.Elt(*u)
	var reduced [fp.Size]byte
	_ = fp.ToBytes(reduced[:], &e)
	if reduced != *u {
		return fmt.Errorf("%w: u-coordinate is not reduced modulo 2^255-19", ErrInvalidKey)
	}
	// On the curve: u^3 + A*u^2 + u must be a square (A = 486662).
	x := fp.Elt(*u)
	var u2, rhs, t, one, a fp.Elt
	fp.SetOne(&one)
	a[0], a[1], a[2] = 0x06, 0x6d, 0x07 // 486662 = 0x076d06, little-endian
	fp.Sqr(&u2, &x)
	fp.Mul(&t, &u2, &x)   // u^3
	fp.Mul(&rhs, &u2, &a) // A*u^2
	fp.Add(&rhs, &rhs, &t)
	fp.Add(&rhs, &rhs, &x)
	if !fp.IsZero(&rhs) {
		var root fp.Elt
		if !fp.InvSqrt(&root, &rhs, &one) {
			return fmt.Errorf("%w: point is on the twist, not on Curve25519", ErrInvalidKey)
		}
	}
	// Low order: the shared secret with any scalar is all-zero.
	var probe, shared x25519.Key
	probe[0] = 1
	if !x25519.Shared(&shared, &probe, u) || isZero(shared[:]) {
		return fmt.Errorf("%w: point of low order", ErrInvalidKey)
	}
	return nil
}

// dh computes X25519(scalar, u) into out and reports whether the result is
// usable: false if u is of low order (the result is all-zero).
func dh(out, scalar, u *x25519.Key) bool {
	ok := x25519.Shared(out, scalar, u)
	return ok && !isZero(out[:])
}

// isZero reports, in constant time, whether b is all zero bytes.
func isZero(b []byte) bool {
	var acc byte
	for _, c := range b {
		acc |= c
	}
	return subtle.ConstantTimeByteEq(acc, 0) == 1
}
