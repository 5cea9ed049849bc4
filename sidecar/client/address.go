package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mr-tron/base58"

	"github.com/nyx-privacy/nyx/sphinx"
)

// ErrAddress is wrapped by every error about an address that does not parse.
var ErrAddress = errors.New("client: invalid address")

// AddressSize is the size of an address's binary form.
const AddressSize = 96

// Address names a client: its identity key (what its gateway delivers to),
// its encryption key (what senders seal messages to) and its gateway's
// identity key (where messages for it go).
//
// Its text form is
//
//	<identity>.<encryption>@<gateway>
//
// with each key in base58 (the Bitcoin alphabet), as Nym writes client
// addresses. Its binary form is the three keys concatenated (96 bytes).
type Address struct {
	Identity   [32]byte
	Encryption [32]byte
	Gateway    [32]byte
}

// String returns the text form.
func (a Address) String() string {
	return base58.Encode(a.Identity[:]) + "." + base58.Encode(a.Encryption[:]) + "@" + base58.Encode(a.Gateway[:])
}

// MarshalBinary returns the 96-byte binary form.
func (a Address) MarshalBinary() []byte {
	b := make([]byte, 0, AddressSize)
	b = append(b, a.Identity[:]...)
	b = append(b, a.Encryption[:]...)
	return append(b, a.Gateway[:]...)
}

// ParseAddress parses the text form. The encryption key must be a valid
// X25519 public key (canonical, on the curve, not of low order).
func ParseAddress(s string) (Address, error) {
	var a Address
	if len(s) > 3*50 {
		return a, fmt.Errorf("%w: %d characters", ErrAddress, len(s))
	}
	keys, gw, ok := strings.Cut(s, "@")
	if !ok {
		return a, fmt.Errorf("%w: %q has no '@' before the gateway", ErrAddress, s)
	}
	id, enc, ok := strings.Cut(keys, ".")
	if !ok {
		return a, fmt.Errorf("%w: %q has no '.' between identity and encryption key", ErrAddress, s)
	}
	for _, f := range []struct {
		name string
		text string
		dst  *[32]byte
	}{{"identity", id, &a.Identity}, {"encryption key", enc, &a.Encryption}, {"gateway", gw, &a.Gateway}} {
		b, err := base58.Decode(f.text)
		if err != nil || len(b) != 32 {
			return Address{}, fmt.Errorf("%w: %s %q is not 32 bytes of base58", ErrAddress, f.name, f.text)
		}
		copy(f.dst[:], b)
	}
	if a.String() != s {
		// base58 has one spelling per value; anything else is a typo.
		return Address{}, fmt.Errorf("%w: %q is not in canonical form", ErrAddress, s)
	}
	return a, a.validate()
}

// ParseAddressBinary parses the 96-byte binary form.
func ParseAddressBinary(b []byte) (Address, error) {
	var a Address
	if len(b) != AddressSize {
		return a, fmt.Errorf("%w: binary address of %d bytes, want %d", ErrAddress, len(b), AddressSize)
	}
	copy(a.Identity[:], b[0:32])
	copy(a.Encryption[:], b[32:64])
	copy(a.Gateway[:], b[64:96])
	return a, a.validate()
}

func (a Address) validate() error {
	if _, err := sphinx.NewPublicKey(a.Encryption[:]); err != nil {
		return fmt.Errorf("%w: encryption key: %v", ErrAddress, err)
	}
	return nil
}
