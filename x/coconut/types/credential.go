package types

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"sync"

	errorsmod "cosmossdk.io/errors"

	"github.com/nyx-privacy/nyx/coconut"
)

// Encoded sizes of what the module accepts from outside. Every decoder checks the
// exact size before it parses, so no outside party can make the chain parse more.
var (
	// RequestSize is the size of a bandwidth BlindSignRequest: two private
	// attributes (serial, binding), two public (value, type).
	RequestSize = coconut.BlindSignRequestSize(2, 2)
	// ThetaSize is the size of a bandwidth show (BandwidthShowSpec, with its spend tag).
	ThetaSize = coconut.ThetaSize(coconut.BandwidthAttributes, true)
	// KeySize and KeySizeG2 are the sizes of a verification key with and without
	// its G1 half.
	KeySize   = coconut.VerificationKeySize(coconut.BandwidthAttributes, true)
	KeySizeG2 = coconut.VerificationKeySize(coconut.BandwidthAttributes, false)
)

const (
	// GatewayIdentitySize is the size of a gateway's ed25519 identity key.
	GatewayIdentitySize = 32
	// MaxNonceSize bounds the nonce a show is bound to.
	MaxNonceSize = 64
	// MaxCredentialTypeName bounds a credential type's name.
	MaxCredentialTypeName = 64

	// RequestVerifyGas and SpendVerifyGas are charged before each proof is
	// verified (a spend tried under a key in its grace period after failing under
	// the current one pays twice), so a tx pays for the work whether or not the
	// proof holds. The SDK prices a secp256k1 signature check at 1,000 gas;
	// BenchmarkRequestVsFloor and BenchmarkSpendVsFloor in x/coconut/keeper
	// measure a whole request at about 5.3 such checks and a spend, under the
	// cached prepared key, at about 8.8 per credential (2-core Xeon, 2026-11).
	RequestVerifyGas = 5_500
	SpendVerifyGas   = 9_000

	// spendContextDomain separates the context of an on-chain spend from any other
	// use of a show.
	spendContextDomain = "nyx-coconut-spend-v1"
)

// CredentialParams returns the Coconut parameters of bandwidth credentials (four
// attributes), derived once.
var CredentialParams = sync.OnceValue(func() *coconut.Params {
	p, err := coconut.Setup(coconut.BandwidthAttributes)
	if err != nil {
		panic(fmt.Sprintf("coconut setup: %v", err)) // a constant input: cannot fail
	}
	return p
})

// CredentialTypeName is the type of the bandwidth credentials issued at a rate of
// bytesPerUnym. Binding the rate into the type lets the chain pay a spent
// credential's deposit back exactly (value / rate) even after the rate changed.
func CredentialTypeName(bytesPerUnym uint64) string {
	return "nyx-bandwidth/" + strconv.FormatUint(bytesPerUnym, 10) + "-bytes-per-unym"
}

// TypeAttribute is the attribute of a credential type name.
func TypeAttribute(name string) [coconut.ScalarSize]byte {
	return coconut.HashToScalar([]byte(name)).Bytes()
}

// DecodeRequest decodes a bandwidth blind-sign request strictly and returns it
// with its two public attributes (value, type). It does not verify the proof.
func DecodeRequest(bz []byte) (*coconut.BlindSignRequest, uint64, [coconut.ScalarSize]byte, error) {
	var typ [coconut.ScalarSize]byte
	if len(bz) != RequestSize {
		return nil, 0, typ, errorsmod.Wrapf(ErrInvalidRequest, "blind sign request is %d bytes, want %d", len(bz), RequestSize)
	}
	if bz[0] != 2 || bz[1] != 2 {
		return nil, 0, typ, errorsmod.Wrapf(ErrInvalidRequest, "request for %d private and %d public attributes, want 2 and 2", bz[0], bz[1])
	}
	req := new(coconut.BlindSignRequest)
	if err := req.UnmarshalBinary(bz); err != nil {
		return nil, 0, typ, errorsmod.Wrapf(ErrInvalidRequest, "%v", err)
	}
	// The encoding ends with the public attributes in clear, value then type.
	pub := bz[len(bz)-2*coconut.ScalarSize:]
	v, err := coconut.ScalarFromBytes(pub[:coconut.ScalarSize])
	if err != nil {
		return nil, 0, typ, errorsmod.Wrapf(ErrInvalidRequest, "value attribute: %v", err)
	}
	value, ok := v.Uint64()
	if !ok {
		return nil, 0, typ, errorsmod.Wrap(ErrValueMismatch, "value attribute is above 2^64")
	}
	copy(typ[:], pub[coconut.ScalarSize:])
	return req, value, typ, nil
}

// DecodeTheta decodes a bandwidth show strictly.
func DecodeTheta(bz []byte) (*coconut.Theta, error) {
	if len(bz) != ThetaSize {
		return nil, errorsmod.Wrapf(ErrInvalidSpend, "theta is %d bytes, want %d", len(bz), ThetaSize)
	}
	th := new(coconut.Theta)
	if err := th.UnmarshalBinary(bz); err != nil {
		return nil, errorsmod.Wrapf(ErrInvalidSpend, "%v", err)
	}
	if _, _, ok := th.SpendTag(); !ok {
		return nil, errorsmod.Wrap(ErrInvalidSpend, "theta carries no spend tag")
	}
	return th, nil
}

// DecodeVerificationKey decodes a bandwidth verification key strictly; withG1
// requires its G1 half (a partial key, which clients unblind with).
func DecodeVerificationKey(bz []byte, withG1 bool) (*coconut.VerificationKey, error) {
	if len(bz) != KeySize && (withG1 || len(bz) != KeySizeG2) {
		return nil, errorsmod.Wrapf(ErrInvalidKey, "verification key is %d bytes", len(bz))
	}
	vk := new(coconut.VerificationKey)
	if err := vk.UnmarshalBinary(bz); err != nil {
		return nil, errorsmod.Wrapf(ErrInvalidKey, "%v", err)
	}
	if vk.Attributes() != coconut.BandwidthAttributes {
		return nil, errorsmod.Wrapf(ErrInvalidKey, "key for %d attributes", vk.Attributes())
	}
	return vk, nil
}

// SpendContext is the context a credential shown to a gateway is bound to when
// the gateway redeems it on chain: the chain, the operator paid for it, the
// gateway's identity and the gateway's nonce. Binding the operator means a show
// seen in the mempool cannot be redeemed by anyone else.
func SpendContext(chainID, operator string, gatewayIdentity, nonce []byte) []byte {
	out := make([]byte, 0, len(spendContextDomain)+4*2+len(chainID)+len(operator)+len(gatewayIdentity)+len(nonce))
	out = append(out, spendContextDomain...)
	for _, field := range [][]byte{[]byte(chainID), []byte(operator), gatewayIdentity, nonce} {
		out = binary.BigEndian.AppendUint16(out, uint16(len(field)))
		out = append(out, field...)
	}
	return out
}
