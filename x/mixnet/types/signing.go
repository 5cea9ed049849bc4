package types

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"net"
	"strings"

	"filippo.io/edwards25519"

	errorsmod "cosmossdk.io/errors"
)

// Key and signature sizes.
const (
	IdentityKeySize = ed25519.PublicKeySize
	SphinxKeySize   = 32
	SignatureSize   = ed25519.SignatureSize
	// MaxHostLength bounds a node's host name.
	MaxHostLength = 253
)

// BondSigningDomain starts every bond signing payload, so the signature can be
// used for nothing else.
const BondSigningDomain = "nyx/mixnet/bond/v1"

// BondPayload is what a node's identity key signs to let an owner bond it.
type BondPayload struct {
	// ChainID binds the signature to one chain.
	ChainID string
	// Owner is the owner's bech32 address, as in MsgBondNode.
	Owner       string
	IdentityKey []byte
	SphinxKey   []byte
	Host        string
	MixPort     uint32
	ClientsPort uint32
	HTTPPort    uint32
	// Nonce is the owner's signing nonce (Query/SigningNonce); it grows with every
	// bond, so a signature cannot be replayed after an unbond.
	Nonce uint64
}

// BondSigningBytes returns the canonical bytes the identity key signs:
//
//	domain || chain id || owner || identity key || sphinx key || host
//	       || mix port || clients port || http port || nonce
//
// where domain is BondSigningDomain and every string or byte field is preceded by
// its length as a 4-byte big-endian integer, ports are 4-byte and the nonce 8-byte
// big-endian integers. The encoding is injective, so two different payloads never
// share a signature. The chain and the nym-node binary both call this function.
func BondSigningBytes(p BondPayload) []byte {
	n := len(BondSigningDomain) + len(p.ChainID) + len(p.Owner) + len(p.IdentityKey) + len(p.SphinxKey) + len(p.Host) + 6*4 + 3*4 + 8
	b := make([]byte, 0, n)
	field := func(v []byte) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	field([]byte(BondSigningDomain))
	field([]byte(p.ChainID))
	field([]byte(p.Owner))
	field(p.IdentityKey)
	field(p.SphinxKey)
	field([]byte(p.Host))
	b = binary.BigEndian.AppendUint32(b, p.MixPort)
	b = binary.BigEndian.AppendUint32(b, p.ClientsPort)
	b = binary.BigEndian.AppendUint32(b, p.HTTPPort)
	b = binary.BigEndian.AppendUint64(b, p.Nonce)
	return b
}

// SignBond signs a bond payload with a node's identity key.
func SignBond(key ed25519.PrivateKey, p BondPayload) []byte {
	return ed25519.Sign(key, BondSigningBytes(p))
}

// VerifyBondSignature checks sig is the payload's identity key's signature.
func VerifyBondSignature(p BondPayload, sig []byte) error {
	if err := ValidateIdentityKey(p.IdentityKey); err != nil {
		return err
	}
	if len(sig) != SignatureSize {
		return errorsmod.Wrapf(ErrInvalidSignature, "signature is %d bytes, want %d", len(sig), SignatureSize)
	}
	if !ed25519.Verify(ed25519.PublicKey(p.IdentityKey), BondSigningBytes(p), sig) {
		return errorsmod.Wrapf(ErrInvalidSignature, "signature does not verify for chain %q, owner %s and nonce %d", p.ChainID, p.Owner, p.Nonce)
	}
	return nil
}

// BondPayload returns the payload the message's signature must cover.
func (m *MsgBondNode) BondPayload(chainID string, nonce uint64) BondPayload {
	return BondPayload{
		ChainID: chainID, Owner: m.Owner, IdentityKey: m.IdentityKey, SphinxKey: m.SphinxKey,
		Host: m.Host, MixPort: m.MixPort, ClientsPort: m.ClientsPort, HTTPPort: m.HttpPort, Nonce: nonce,
	}
}

// AnnounceSphinxKeySigningDomain starts every sphinx key announcement's signing
// payload, so the signature can be used for nothing else (not as a bond signature).
const AnnounceSphinxKeySigningDomain = "nyx/mixnet/announce-sphinx-key/v1"

// AnnounceSphinxKeyPayload is what a node's identity key signs to announce its next
// sphinx key without its owner (MsgAnnounceSphinxKey).
type AnnounceSphinxKeyPayload struct {
	// ChainID binds the signature to one chain.
	ChainID       string
	NodeID        uint64
	NextSphinxKey []byte
	// EpochID is the epoch the announcement is signed in; the chain accepts it in
	// that epoch and the next only, so it cannot be replayed later.
	EpochID uint64
}

// AnnounceSphinxKeySigningBytes returns the canonical bytes the identity key signs:
//
//	domain || chain id || uint64_be(node id) || next sphinx key || uint64_be(epoch id)
//
// where domain is AnnounceSphinxKeySigningDomain and every string or byte field is
// preceded by its length as a 4-byte big-endian integer, as in BondSigningBytes.
// The chain and the nym-node binary both call this function.
func AnnounceSphinxKeySigningBytes(p AnnounceSphinxKeyPayload) []byte {
	n := len(AnnounceSphinxKeySigningDomain) + len(p.ChainID) + len(p.NextSphinxKey) + 3*4 + 2*8
	b := make([]byte, 0, n)
	field := func(v []byte) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		b = append(b, v...)
	}
	field([]byte(AnnounceSphinxKeySigningDomain))
	field([]byte(p.ChainID))
	b = binary.BigEndian.AppendUint64(b, p.NodeID)
	field(p.NextSphinxKey)
	b = binary.BigEndian.AppendUint64(b, p.EpochID)
	return b
}

// SignAnnounceSphinxKey signs a sphinx key announcement with a node's identity key.
func SignAnnounceSphinxKey(key ed25519.PrivateKey, p AnnounceSphinxKeyPayload) []byte {
	return ed25519.Sign(key, AnnounceSphinxKeySigningBytes(p))
}

// VerifyAnnounceSphinxKey checks sig is identityKey's signature over the payload.
func VerifyAnnounceSphinxKey(identityKey []byte, p AnnounceSphinxKeyPayload, sig []byte) error {
	if err := ValidateIdentityKey(identityKey); err != nil {
		return err
	}
	if len(sig) != SignatureSize {
		return errorsmod.Wrapf(ErrInvalidSignature, "signature is %d bytes, want %d", len(sig), SignatureSize)
	}
	if !ed25519.Verify(ed25519.PublicKey(identityKey), AnnounceSphinxKeySigningBytes(p), sig) {
		return errorsmod.Wrapf(ErrInvalidSignature, "announcement signature does not verify for chain %q, node %d and epoch %d", p.ChainID, p.NodeID, p.EpochID)
	}
	return nil
}

// AnnouncePayload returns the payload the message's signature must cover.
func (m *MsgAnnounceSphinxKey) AnnouncePayload(chainID string) AnnounceSphinxKeyPayload {
	return AnnounceSphinxKeyPayload{ChainID: chainID, NodeID: m.NodeId, NextSphinxKey: m.NextSphinxKey, EpochID: m.EpochId}
}

// ValidateIdentityKey checks an ed25519 public key is the canonical encoding of
// a curve point outside the small-order subgroup. ed25519.Verify accepts such
// weak keys, for which signatures can be forged without any private key (an
// all-zero key and an all-zero signature verify), so they must be refused before
// a signature is trusted.
func ValidateIdentityKey(k []byte) error {
	if len(k) != IdentityKeySize {
		return errorsmod.Wrapf(ErrInvalidKey, "identity key is %d bytes, want %d", len(k), IdentityKeySize)
	}
	p, err := new(edwards25519.Point).SetBytes(k)
	if err != nil {
		return errorsmod.Wrap(ErrInvalidKey, "identity key is not a curve point")
	}
	if !bytes.Equal(p.Bytes(), k) {
		return errorsmod.Wrap(ErrInvalidKey, "identity key is not canonically encoded")
	}
	if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return errorsmod.Wrap(ErrInvalidKey, "identity key is a small-order point")
	}
	return nil
}

// ValidateSphinxKey checks an x25519 public key's length and that it is not zero.
func ValidateSphinxKey(k []byte) error {
	if len(k) != SphinxKeySize {
		return errorsmod.Wrapf(ErrInvalidKey, "sphinx key is %d bytes, want %d", len(k), SphinxKeySize)
	}
	for _, c := range k {
		if c != 0 {
			return nil
		}
	}
	return errorsmod.Wrap(ErrInvalidKey, "sphinx key is all zero")
}

// ValidateHost checks a host is an IP address or a DNS name.
func ValidateHost(host string) error {
	if host == "" || len(host) > MaxHostLength {
		return errorsmod.Wrapf(ErrInvalidHost, "host must be 1 to %d characters", MaxHostLength)
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return errorsmod.Wrapf(ErrInvalidHost, "host %q is not an IP address or a DNS name", host)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return errorsmod.Wrapf(ErrInvalidHost, "host %q is not an IP address or a DNS name", host)
			}
		}
	}
	return nil
}

// ValidatePorts checks the three ports are set and distinct.
func ValidatePorts(mix, clients, http uint32) error {
	for _, p := range []uint32{mix, clients, http} {
		if p == 0 || p > 65535 {
			return errorsmod.Wrapf(ErrInvalidHost, "port %d is not in 1..65535", p)
		}
	}
	if mix == clients || mix == http || clients == http {
		return errorsmod.Wrapf(ErrInvalidHost, "ports %d, %d, %d are not distinct", mix, clients, http)
	}
	return nil
}

// HostPortKeys returns the keys under which a node's host and ports are unique.
func HostPortKeys(host string, mix, clients, http uint32) []string {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return []string{
		net.JoinHostPort(h, itoa(mix)),
		net.JoinHostPort(h, itoa(clients)),
		net.JoinHostPort(h, itoa(http)),
	}
}

func itoa(v uint32) string {
	var buf [10]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(buf[i:])
		}
	}
}
