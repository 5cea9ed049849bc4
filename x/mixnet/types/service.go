package types

import (
	"crypto/ed25519"
	"encoding/binary"
	"strings"
	"unicode"
	"unicode/utf8"

	errorsmod "cosmossdk.io/errors"
	"github.com/mr-tron/base58"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// The service directory's bounds and defaults.
const (
	// ServiceKindNetworkRequester is the kind a network requester announces.
	ServiceKindNetworkRequester = "network-requester"
	// MaxServiceKindLength bounds a kind.
	MaxServiceKindLength = 32
	// MaxServiceDescriptionLength bounds a description, in bytes.
	MaxServiceDescriptionLength = 256
	// MaxNymAddressLength bounds a client address's text: three base58 keys of 32
	// bytes take at most 44 characters each.
	MaxNymAddressLength = 3*44 + 2
	// DefaultServiceDeposit is Nym's service provider directory deposit, 100 NYM.
	DefaultServiceDeposit = 100_000_000
	// DefaultMaxServicesPerAnnouncer bounds one account's entries.
	DefaultMaxServicesPerAnnouncer = 10
	// MaxMaxServicesPerAnnouncer is the largest bound the params may set.
	MaxMaxServicesPerAnnouncer = 1_000
)

// NymAddress is a client address as the chain sees it: the client's identity
// key, its encryption key (an X25519 key senders seal messages to) and its
// gateway's identity key. It is the same format as sidecar/client's Address,
// parsed here without the sidecars (a test cross-checks both).
type NymAddress struct {
	Identity   [32]byte
	Encryption [32]byte
	Gateway    [32]byte
}

// String returns the text form, <identity>.<encryption>@<gateway> in base58.
func (a NymAddress) String() string {
	return base58.Encode(a.Identity[:]) + "." + base58.Encode(a.Encryption[:]) + "@" + base58.Encode(a.Gateway[:])
}

// ParseNymAddress parses a client address's text form: three keys of 32 bytes in
// base58, in their one canonical spelling, the encryption key a valid X25519
// public key (ValidateSphinxKey's rules, which are the client's).
func ParseNymAddress(s string) (NymAddress, error) {
	var a NymAddress
	if s == "" || len(s) > MaxNymAddressLength {
		return a, errorsmod.Wrapf(ErrInvalidService, "address must be 1 to %d characters", MaxNymAddressLength)
	}
	keys, gw, ok := strings.Cut(s, "@")
	if !ok {
		return a, errorsmod.Wrapf(ErrInvalidService, "address %q has no '@' before the gateway", s)
	}
	id, enc, ok := strings.Cut(keys, ".")
	if !ok {
		return a, errorsmod.Wrapf(ErrInvalidService, "address %q has no '.' between identity and encryption key", s)
	}
	for _, f := range []struct {
		name string
		text string
		dst  *[32]byte
	}{{"identity", id, &a.Identity}, {"encryption key", enc, &a.Encryption}, {"gateway", gw, &a.Gateway}} {
		b, err := base58.Decode(f.text)
		if err != nil || len(b) != 32 {
			return NymAddress{}, errorsmod.Wrapf(ErrInvalidService, "address: %s %q is not 32 bytes of base58", f.name, f.text)
		}
		copy(f.dst[:], b)
	}
	if a.String() != s {
		// base58 has one spelling per value (no leading '1's beyond the zero
		// bytes): anything else would let one address be listed twice.
		return NymAddress{}, errorsmod.Wrapf(ErrInvalidService, "address %q is not in canonical form", s)
	}
	if err := ValidateSphinxKey(a.Encryption[:]); err != nil {
		return NymAddress{}, errorsmod.Wrapf(ErrInvalidService, "address: encryption key: %v", err)
	}
	return a, nil
}

// ValidateServiceKind accepts 1 to MaxServiceKindLength characters of a-z, 0-9
// and '-', so kinds compare by bytes and print safely.
func ValidateServiceKind(kind string) error {
	if kind == "" || len(kind) > MaxServiceKindLength {
		return errorsmod.Wrapf(ErrInvalidService, "kind must be 1 to %d characters", MaxServiceKindLength)
	}
	for _, c := range kind {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return errorsmod.Wrapf(ErrInvalidService, "kind %q: only a-z, 0-9 and '-' are allowed", kind)
		}
	}
	return nil
}

// ValidateServiceDescription accepts at most MaxServiceDescriptionLength bytes
// of printable UTF-8: no control characters that would rewrite a terminal when a
// client or the CLI prints it.
func ValidateServiceDescription(d string) error {
	if len(d) > MaxServiceDescriptionLength {
		return errorsmod.Wrapf(ErrInvalidService, "description is %d bytes, at most %d", len(d), MaxServiceDescriptionLength)
	}
	if !utf8.ValidString(d) {
		return errorsmod.Wrap(ErrInvalidService, "description is not UTF-8")
	}
	for _, c := range d {
		if !unicode.IsPrint(c) {
			return errorsmod.Wrapf(ErrInvalidService, "description has the unprintable character %U", c)
		}
	}
	return nil
}

// ServiceSigningDomain starts every service announcement's signing payload, so
// the signature can be used for nothing else.
const ServiceSigningDomain = "nyx/mixnet/announce-service/v1"

// ServiceSigningBytes returns the canonical bytes a client's identity key signs
// to let announcer list its address:
//
//	domain || chain id || announcer || kind || nym address || description
//
// every field preceded by its length as a 4-byte big-endian integer (as in
// BondSigningBytes), so the encoding is injective. The chain id and announcer
// keep a signature from being used on another chain or by another account.
func ServiceSigningBytes(chainID, announcer, kind, nymAddress, description string) []byte {
	b := make([]byte, 0, 6*4+len(ServiceSigningDomain)+len(chainID)+len(announcer)+len(kind)+len(nymAddress)+len(description))
	for _, f := range []string{ServiceSigningDomain, chainID, announcer, kind, nymAddress, description} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return b
}

// SignService signs an announcement of m's address with the address's identity
// key and sets m.IdentitySignature.
func (m *MsgAnnounceService) SignService(chainID string, identity ed25519.PrivateKey) {
	m.IdentitySignature = ed25519.Sign(identity, ServiceSigningBytes(chainID, m.Announcer, m.Kind, m.NymAddress, m.Description))
}

// VerifyServiceSignature checks m's signature is the address's identity key's,
// for chain chainID. m has passed ValidateBasic.
func (m *MsgAnnounceService) VerifyServiceSignature(chainID string) error {
	a, err := ParseNymAddress(m.NymAddress)
	if err != nil {
		return err
	}
	if len(m.IdentitySignature) != SignatureSize {
		return errorsmod.Wrapf(ErrInvalidSignature, "identity signature is %d bytes, want %d", len(m.IdentitySignature), SignatureSize)
	}
	if !ed25519.Verify(ed25519.PublicKey(a.Identity[:]), ServiceSigningBytes(chainID, m.Announcer, m.Kind, m.NymAddress, m.Description), m.IdentitySignature) {
		return errorsmod.Wrapf(ErrInvalidSignature, "the identity key of %s did not sign this announcement (chain %q, announcer %s, kind %q and description)", m.NymAddress, chainID, m.Announcer, m.Kind)
	}
	return nil
}

// ValidateBasic checks the message without state.
func (m *MsgAnnounceService) ValidateBasic() error {
	if err := requireAddress("announcer", m.Announcer); err != nil {
		return err
	}
	if err := ValidateServiceKind(m.Kind); err != nil {
		return err
	}
	if _, err := ParseNymAddress(m.NymAddress); err != nil {
		return err
	}
	if len(m.IdentitySignature) != SignatureSize {
		return errorsmod.Wrapf(ErrInvalidSignature, "identity signature is %d bytes, want %d (the address's identity key signs the announcement)", len(m.IdentitySignature), SignatureSize)
	}
	return ValidateServiceDescription(m.Description)
}

// ValidateBasic checks the message without state.
func (m *MsgWithdrawService) ValidateBasic() error {
	if err := requireAddress("announcer", m.Announcer); err != nil {
		return err
	}
	if m.ServiceId == 0 {
		return errorsmod.Wrap(ErrServiceNotFound, "service id 0")
	}
	return nil
}

// validateService checks a directory entry's own fields (genesis).
func validateService(s *Service) error {
	if s.Announcer == "" {
		return errorsmod.Wrap(ErrInvalidService, "no announcer")
	}
	if err := ValidateServiceKind(s.Kind); err != nil {
		return err
	}
	if _, err := ParseNymAddress(s.NymAddress); err != nil {
		return err
	}
	if err := ValidateServiceDescription(s.Description); err != nil {
		return err
	}
	return validateDeposit("deposit", s.Deposit)
}

// validateDeposit accepts a zero or positive amount of unym.
func validateDeposit(what string, c sdk.Coin) error {
	if c.Denom != Denom || c.Amount.IsNil() || c.Amount.IsNegative() {
		return errorsmod.Wrapf(ErrInvalidAmount, "%s %s must be a non-negative amount of %s", what, c, Denom)
	}
	return nil
}
