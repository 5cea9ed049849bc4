package types

import (
	"bytes"
	"crypto/ecdh"

	"filippo.io/edwards25519/field"

	errorsmod "cosmossdk.io/errors"
)

// curveA is Curve25519's Montgomery coefficient A = 486662.
var curveA = new(field.Element).Mult32(new(field.Element).One(), 486662)

// lowOrderProbe is a private scalar that X25519 clamps to 2^254, a multiple of the
// cofactor: its product with a point is zero exactly when the point has low order.
var lowOrderProbe = func() *ecdh.PrivateKey {
	b := make([]byte, 32)
	b[0] = 1
	k, err := ecdh.X25519().NewPrivateKey(b)
	if err != nil {
		panic(err)
	}
	return k
}()

// ValidateSphinxKey checks an X25519 public key as strictly as the sidecars do
// (sphinx.NewPublicKey): 32 bytes, the canonical encoding of a u-coordinate
// (top bit clear, u < 2^255-19), a point on Curve25519 rather than on its twist,
// and not of low order. Every such refused key would make the shared secret of a
// packet's hop zero, predictable or leak the node's private key modulo a small
// order, and no node's sidecar could load it; the chain refuses it at bonding
// time so the topology never carries a key a client cannot use. The sphinx package
// is out of reach of the chain's modules, so the same rules are written here and a
// test cross-checks both on the same vectors.
func ValidateSphinxKey(k []byte) error {
	if len(k) != SphinxKeySize {
		return errorsmod.Wrapf(ErrInvalidKey, "sphinx key is %d bytes, want %d", len(k), SphinxKeySize)
	}
	if k[31]&0x80 != 0 {
		return errorsmod.Wrap(ErrInvalidKey, "sphinx key: top bit of the u-coordinate is set")
	}
	u, err := new(field.Element).SetBytes(k)
	if err != nil {
		return errorsmod.Wrapf(ErrInvalidKey, "sphinx key: %v", err)
	}
	// SetBytes reduces modulo p; a canonical encoding comes back unchanged.
	if !bytes.Equal(u.Bytes(), k) {
		return errorsmod.Wrap(ErrInvalidKey, "sphinx key: u-coordinate is not reduced modulo 2^255-19")
	}
	// On the curve: v^2 = u^3 + A*u^2 + u has a solution.
	u2 := new(field.Element).Square(u)
	rhs := new(field.Element).Multiply(u2, u)
	rhs.Add(rhs, new(field.Element).Multiply(u2, curveA))
	rhs.Add(rhs, u)
	if _, square := new(field.Element).SqrtRatio(rhs, new(field.Element).One()); square != 1 {
		return errorsmod.Wrap(ErrInvalidKey, "sphinx key: point is on the twist, not on Curve25519")
	}
	pub, err := ecdh.X25519().NewPublicKey(k)
	if err != nil {
		return errorsmod.Wrapf(ErrInvalidKey, "sphinx key: %v", err)
	}
	// crypto/ecdh refuses an all-zero shared secret.
	if _, err := lowOrderProbe.ECDH(pub); err != nil {
		return errorsmod.Wrap(ErrInvalidKey, "sphinx key: point of low order")
	}
	return nil
}
