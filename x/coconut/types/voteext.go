package types

import (
	"bytes"

	abci "github.com/cometbft/cometbft/abci/types"

	errorsmod "cosmossdk.io/errors"

	"github.com/nyx-privacy/nyx/coconut"
)

// Vote-extension layout and bounds. An extension is an IssuanceVoteExtension in
// protobuf; the proposer of the next block injects every extension of the
// previous height, as CometBFT's ExtendedCommitInfo behind InjectedCommitPrefix,
// as the block's first transaction.
const (
	// VoteExtensionVersion is the only IssuanceVoteExtension.version accepted.
	VoteExtensionVersion = 1
	// MaxPartialsPerExtension is the most partial signatures one extension may
	// carry: the upper bound of max_requests_signed_per_block (the param
	// itself bounds it further when the extension is checked against state).
	MaxPartialsPerExtension = maxRequestsSignedPerBlock
	// partialEncodedMax bounds one ExtensionPartial inside the extension: its
	// field tag and length (2), request id (1 + 10), signature (2 + 96).
	partialEncodedMax = 2 + 11 + 2 + coconut.SignatureSize
	// MaxInjectedVotes bounds the votes of an injected commit.
	MaxInjectedVotes = 1_000
	// beaconEncodedMax bounds the BeaconPartial: its field tag and length (2),
	// epoch (1 + 10), signature (2 + 48).
	beaconEncodedMax = 2 + 11 + 2 + coconut.BeaconSignatureSize
)

var (
	// MaxVoteExtensionSize bounds an encoded extension: version, key id and
	// signer index (at most 2 + 11 + 6 bytes), MaxPartialsPerExtension
	// partials, a beacon partial and a DKG message (its tag and length at
	// most 4 bytes). A longer one is refused before it is parsed.
	MaxVoteExtensionSize = 19 + MaxPartialsPerExtension*partialEncodedMax + beaconEncodedMax + 4 + MaxDKGMessageSize
	// MaxInjectedCommitSize bounds the injected transaction: the prefix and
	// the extended commit of up to MaxInjectedVotes validators, each with an
	// extension, its signature and its validator (address, power) at most
	// 256 bytes beside the extension.
	MaxInjectedCommitSize = len(InjectedCommitPrefix) + 16 + MaxInjectedVotes*(MaxVoteExtensionSize+256)
)

// InjectedCommitPrefix starts the transaction a proposer injects. Its first
// byte (0) can begin no protobuf message, so the SDK's tx decoder could never
// take it for a transaction; the app's tx runner and proposal handlers strip
// it before anything else sees the block's transactions.
const InjectedCommitPrefix = "\x00nyx-coconut-ve-v1\x00"

// EncodeVoteExtension encodes ext (which must already respect the bounds).
func EncodeVoteExtension(ext *IssuanceVoteExtension) ([]byte, error) {
	return ext.Marshal()
}

// DecodeVoteExtension decodes an extension from a validator strictly: bounded
// size, version 1, at most maxPartials partials in strictly increasing request
// id order, each signature a well-formed BlindedSignature, a beacon partial,
// if any, well-formed, and a DKG message, if any, that DecodeDKGMessage
// accepts. An extension may carry any of the three; partials and a beacon
// partial need the key id and signer index, a DKG message alone has neither.
// One with none is sent empty (a validator with no share or nothing to sign)
// and decodes to nil, nil.
func DecodeVoteExtension(bz []byte, maxPartials int) (*IssuanceVoteExtension, []*coconut.BlindedSignature, error) {
	if len(bz) == 0 {
		return nil, nil, nil
	}
	if len(bz) > MaxVoteExtensionSize {
		return nil, nil, errorsmod.Wrapf(ErrInvalidVoteExtension, "%d bytes, at most %d", len(bz), MaxVoteExtensionSize)
	}
	var ext IssuanceVoteExtension
	if err := ext.Unmarshal(bz); err != nil {
		return nil, nil, errorsmod.Wrapf(ErrInvalidVoteExtension, "%v", err)
	}
	if ext.Version != VoteExtensionVersion {
		return nil, nil, errorsmod.Wrapf(ErrInvalidVoteExtension, "version %d, want %d", ext.Version, VoteExtensionVersion)
	}
	if len(ext.DkgMessage) > 0 {
		if _, err := DecodeDKGMessage(ext.DkgMessage); err != nil {
			return nil, nil, errorsmod.Wrapf(ErrInvalidVoteExtension, "DKG message: %v", err)
		}
	}
	if len(ext.Partials) == 0 && ext.Beacon == nil && len(ext.DkgMessage) > 0 {
		// A DKG message alone: a validator without a key share takes part in
		// the DKG that gives it one.
		if ext.KeyId != 0 || ext.SignerIndex != 0 {
			return nil, nil, errorsmod.Wrap(ErrInvalidVoteExtension, "key id and signer index without partial signatures")
		}
		return canonical(&ext, bz, nil)
	}
	if ext.KeyId == 0 || ext.SignerIndex == 0 {
		return nil, nil, errorsmod.Wrap(ErrInvalidVoteExtension, "key id and signer index must be set")
	}
	if (len(ext.Partials) == 0 && ext.Beacon == nil) || len(ext.Partials) > maxPartials || len(ext.Partials) > MaxPartialsPerExtension {
		return nil, nil, errorsmod.Wrapf(ErrInvalidVoteExtension, "%d partial signatures, want 1..%d (or 0 with a beacon partial)", len(ext.Partials), min(maxPartials, MaxPartialsPerExtension))
	}
	if ext.Beacon != nil {
		if _, err := ext.Beacon.Decode(); err != nil {
			return nil, nil, err
		}
	}
	sigs := make([]*coconut.BlindedSignature, len(ext.Partials))
	var last uint64
	for i, p := range ext.Partials {
		if p.RequestId <= last {
			return nil, nil, errorsmod.Wrapf(ErrInvalidVoteExtension, "request ids not strictly increasing at %d", p.RequestId)
		}
		last = p.RequestId
		if len(p.BlindedSignature) != coconut.SignatureSize {
			return nil, nil, errorsmod.Wrapf(ErrInvalidVoteExtension, "request %d: signature of %d bytes", p.RequestId, len(p.BlindedSignature))
		}
		sigs[i] = new(coconut.BlindedSignature)
		if err := sigs[i].UnmarshalBinary(p.BlindedSignature); err != nil {
			return nil, nil, errorsmod.Wrapf(ErrInvalidVoteExtension, "request %d: %v", p.RequestId, err)
		}
	}
	return canonical(&ext, bz, sigs)
}

// canonical returns ext if bz is its canonical encoding: a non-canonical one
// (fields repeated, unknown fields) would let the same extension travel in
// many byte forms; only the canonical one passes.
func canonical(ext *IssuanceVoteExtension, bz []byte, sigs []*coconut.BlindedSignature) (*IssuanceVoteExtension, []*coconut.BlindedSignature, error) {
	if re, err := ext.Marshal(); err != nil || !bytes.Equal(re, bz) {
		return nil, nil, errorsmod.Wrap(ErrInvalidVoteExtension, "not in canonical encoding")
	}
	return ext, sigs, nil
}

// Decode checks the beacon partial's shape (an epoch, a well-formed
// signature) and returns its signature.
func (b *BeaconPartial) Decode() (*coconut.BeaconSignature, error) {
	if b.Epoch == 0 {
		return nil, errorsmod.Wrap(ErrInvalidVoteExtension, "beacon partial for epoch 0")
	}
	if len(b.Signature) != coconut.BeaconSignatureSize {
		return nil, errorsmod.Wrapf(ErrInvalidVoteExtension, "beacon partial of %d bytes", len(b.Signature))
	}
	var sig coconut.BeaconSignature
	if err := sig.UnmarshalBinary(b.Signature); err != nil {
		return nil, errorsmod.Wrapf(ErrInvalidVoteExtension, "beacon partial: %v", err)
	}
	return &sig, nil
}

// EncodeInjectedCommit encodes the transaction a proposer injects.
func EncodeInjectedCommit(c *abci.ExtendedCommitInfo) ([]byte, error) {
	bz, err := c.Marshal()
	if err != nil {
		return nil, err
	}
	return append(append(make([]byte, 0, len(InjectedCommitPrefix)+len(bz)), InjectedCommitPrefix...), bz...), nil
}

// IsInjectedCommit reports whether a block's transaction is an injected commit.
func IsInjectedCommit(tx []byte) bool { return bytes.HasPrefix(tx, []byte(InjectedCommitPrefix)) }

// DecodeInjectedCommit decodes an injected transaction with its bounds.
func DecodeInjectedCommit(tx []byte) (*abci.ExtendedCommitInfo, error) {
	if !IsInjectedCommit(tx) {
		return nil, errorsmod.Wrap(ErrInvalidVoteExtension, "not an injected commit")
	}
	if len(tx) > MaxInjectedCommitSize {
		return nil, errorsmod.Wrapf(ErrInvalidVoteExtension, "injected commit of %d bytes, at most %d", len(tx), MaxInjectedCommitSize)
	}
	var c abci.ExtendedCommitInfo
	if err := c.Unmarshal(tx[len(InjectedCommitPrefix):]); err != nil {
		return nil, errorsmod.Wrapf(ErrInvalidVoteExtension, "injected commit: %v", err)
	}
	if len(c.Votes) > MaxInjectedVotes {
		return nil, errorsmod.Wrapf(ErrInvalidVoteExtension, "injected commit of %d votes", len(c.Votes))
	}
	return &c, nil
}

// SignerOf returns the signer index the key set gives the validator with this
// consensus address.
func (ks *KeySet) SignerOf(consAddr []byte) (uint32, bool) {
	for _, pk := range ks.PartialKeys {
		if len(pk.ConsensusAddress) > 0 && bytes.Equal(pk.ConsensusAddress, consAddr) {
			return pk.SignerIndex, true
		}
	}
	return 0, false
}

// PartialKeyOf returns the partial key of a signer index.
func (ks *KeySet) PartialKeyOf(signer uint32) (*PartialKey, bool) {
	for i := range ks.PartialKeys {
		if ks.PartialKeys[i].SignerIndex == signer {
			return &ks.PartialKeys[i], true
		}
	}
	return nil, false
}

// DKGMessageOf returns the DKG message of an extension already checked by
// DecodeVoteExtension (one in a block's injected commit), without decoding
// its partial signatures again; nil if it has none or does not parse. The
// message itself is decoded strictly where it is used.
func DKGMessageOf(bz []byte) []byte {
	if len(bz) == 0 || len(bz) > MaxVoteExtensionSize {
		return nil
	}
	var ext IssuanceVoteExtension
	if err := ext.Unmarshal(bz); err != nil {
		return nil
	}
	return ext.DkgMessage
}
