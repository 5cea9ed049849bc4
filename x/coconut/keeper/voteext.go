package keeper

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"sync"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// SignPending builds the vote extension of the validator holding key: its
// blinded signature on each request PendingToSign returns that is under the
// key's id and not yet signed by it on chain. It returns nil when there is
// nothing to sign.
func (k Keeper) SignPending(ctx context.Context, key *types.IssuerKey) (*types.IssuanceVoteExtension, error) {
	pending, err := k.PendingToSign(ctx)
	if err != nil {
		return nil, err
	}
	p := types.CredentialParams()
	ext := &types.IssuanceVoteExtension{Version: types.VoteExtensionVersion, KeyId: key.KeyID, SignerIndex: key.SignerIndex}
	for _, r := range pending {
		if r.KeyId != key.KeyID {
			continue
		}
		if ok, err := k.PartialSignatures.Has(ctx, collections.Join(r.Id, key.SignerIndex)); err != nil {
			return nil, err
		} else if ok {
			continue
		}
		req, _, _, err := types.DecodeRequest(r.BlindSignRequest)
		if err != nil {
			return nil, err // stored requests were decoded at DeliverTx: state is corrupt
		}
		bs, err := coconut.BlindSign(p, key.Secret(), req)
		if err != nil {
			return nil, errorsmod.Wrapf(err, "sign request %d", r.Id)
		}
		b, _ := bs.MarshalBinary()
		ext.Partials = append(ext.Partials, types.ExtensionPartial{RequestId: r.Id, BlindedSignature: b})
	}
	if ext.Beacon, err = k.SignBeacon(ctx, key); err != nil {
		return nil, err
	}
	if len(ext.Partials) == 0 && ext.Beacon == nil {
		return nil, nil
	}
	return ext, nil
}

// VerifiedPartials remembers which partial signatures passed their pairing
// check, so that ProcessProposal at H+1 does not redo the checks
// VerifyVoteExtension did at H for the same extensions: the check is a pure
// function of (partial key, request, signature), so the memory never changes
// an outcome. It keeps the entries of the current and the previous height
// only, at most maxVerifiedPartials of them.
type VerifiedPartials struct {
	mu        sync.Mutex
	height    int64
	cur, prev map[[32]byte]struct{}
}

// maxVerifiedPartials bounds the memory: two heights of 100 validators' full
// extensions at the default param, 32 bytes each.
const maxVerifiedPartials = 20_000

// NewVerifiedPartials returns an empty memory.
func NewVerifiedPartials() *VerifiedPartials { return &VerifiedPartials{} }

func partialID(vk, req, sig []byte) [32]byte {
	h := sha256.New()
	for _, b := range [][]byte{vk, req, sig} {
		h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(b))))
		h.Write(b)
	}
	var id [32]byte
	h.Sum(id[:0])
	return id
}

func (v *VerifiedPartials) at(height int64) {
	if height != v.height {
		if height == v.height+1 {
			v.prev = v.cur
		} else {
			v.prev = nil
		}
		v.cur, v.height = map[[32]byte]struct{}{}, height
	}
}

func (v *VerifiedPartials) has(height int64, id [32]byte) bool {
	if v == nil {
		return false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.at(height)
	_, a := v.cur[id]
	_, b := v.prev[id]
	return a || b
}

func (v *VerifiedPartials) add(height int64, id [32]byte) {
	if v == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.at(height)
	if len(v.cur) < maxVerifiedPartials {
		v.cur[id] = struct{}{}
	}
}

// extensionCheck caches what checking several extensions of one block needs
// more than once: decoded requests and partial keys.
type extensionCheck struct {
	k        Keeper
	memory   *VerifiedPartials
	height   int64
	maxParts int
	requests map[uint64]*types.CredentialRequest
	decoded  map[uint64]*coconut.BlindSignRequest
	keys     map[uint64]*types.KeySet
}

func (k Keeper) newExtensionCheck(ctx context.Context, memory *VerifiedPartials) (*extensionCheck, error) {
	p, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	return &extensionCheck{k: k, memory: memory, height: sdk.UnwrapSDKContext(ctx).BlockHeight(), maxParts: int(p.MaxRequestsSignedPerBlock),
		requests: map[uint64]*types.CredentialRequest{}, decoded: map[uint64]*coconut.BlindSignRequest{},
		keys: map[uint64]*types.KeySet{}}, nil
}

// errSkip marks a partial signature on a request the state no longer holds.
var errSkip = errors.New("request no longer on chain")

// check decodes a validator's extension and checks it against the state: the
// key exists and maps the validator's consensus address to the extension's
// signer index, every request is under that key and, when verify is set,
// every partial signature verifies against the signer's partial key. With
// strict, a partial on a request the state does not hold is refused; without,
// it is dropped (a request pruned between the extension and its block). It
// returns the partials to record.
func (c *extensionCheck) check(ctx context.Context, consAddr, bz []byte, strict, verify bool) (*types.IssuanceVoteExtension, error) {
	ext, sigs, err := types.DecodeVoteExtension(bz, c.maxParts)
	if err != nil || ext == nil || (len(ext.Partials) == 0 && ext.Beacon == nil) {
		return ext, err // a DKG message alone, checked by the DKG's path
	}
	ks, err := c.keySet(ctx, ext.KeyId)
	if err != nil {
		return nil, err
	}
	if idx, ok := ks.SignerOf(consAddr); !ok || idx != ext.SignerIndex {
		return nil, errorsmod.Wrapf(types.ErrInvalidVoteExtension, "validator %X is not signer %d of key %d", consAddr, ext.SignerIndex, ext.KeyId)
	}
	pk, _ := ks.PartialKeyOf(ext.SignerIndex)
	var vk *coconut.VerificationKey
	keep := ext.Partials[:0:0]
	for i, part := range ext.Partials {
		r, req, err := c.request(ctx, part.RequestId)
		if errors.Is(err, errSkip) && !strict {
			continue
		} else if err != nil {
			return nil, err
		}
		if r.KeyId != ext.KeyId {
			return nil, errorsmod.Wrapf(types.ErrInvalidVoteExtension, "request %d is under key %d, not %d", r.Id, r.KeyId, ext.KeyId)
		}
		if verify {
			id := partialID(pk.VerificationKey, r.BlindSignRequest, part.BlindedSignature)
			if !c.memory.has(c.height, id) {
				if vk == nil {
					if vk, err = types.DecodeVerificationKey(pk.VerificationKey, false); err != nil {
						return nil, err
					}
				}
				if err := coconut.VerifyBlindedSignature(types.CredentialParams(), vk, req, sigs[i]); err != nil {
					return nil, errorsmod.Wrapf(types.ErrInvalidVoteExtension, "request %d, signer %d: %v", r.Id, ext.SignerIndex, err)
				}
				c.memory.add(c.height, id)
			}
		}
		keep = append(keep, part)
	}
	ext.Partials = keep
	if ext.Beacon != nil {
		if ok, err := c.checkBeacon(ctx, ext, pk, strict, verify); err != nil {
			return nil, err
		} else if !ok {
			ext.Beacon = nil
		}
	}
	return ext, nil
}

func (c *extensionCheck) keySet(ctx context.Context, id uint64) (*types.KeySet, error) {
	if ks, ok := c.keys[id]; ok {
		return ks, nil
	}
	ks, err := c.k.KeySets.Get(ctx, id)
	if errors.Is(err, collections.ErrNotFound) {
		return nil, errorsmod.Wrapf(types.ErrInvalidVoteExtension, "unknown key %d", id)
	} else if err != nil {
		return nil, err
	}
	c.keys[id] = &ks
	return &ks, nil
}

func (c *extensionCheck) request(ctx context.Context, id uint64) (*types.CredentialRequest, *coconut.BlindSignRequest, error) {
	if r, ok := c.requests[id]; ok {
		return r, c.decoded[id], nil
	}
	r, err := c.k.Requests.Get(ctx, id)
	if errors.Is(err, collections.ErrNotFound) {
		return nil, nil, errorsmod.Wrapf(errSkip, "request %d", id)
	} else if err != nil {
		return nil, nil, err
	}
	req, _, _, err := types.DecodeRequest(r.BlindSignRequest)
	if err != nil {
		return nil, nil, err
	}
	c.requests[id], c.decoded[id] = &r, req
	return &r, req, nil
}

// VerifyVoteExtension checks one validator's extension at the state it was
// made on: bounded, well-formed, from the signer the key set gives its
// consensus address, on requests under that key, every partial signature
// verifying, and a DKG message the DKG would accept (CheckDKGMessage). An
// empty extension is valid. memory (may be nil) skips pairing
// checks already passed and remembers new ones.
func (k Keeper) VerifyVoteExtension(ctx context.Context, consAddr, bz []byte, memory *VerifiedPartials) error {
	c, err := k.newExtensionCheck(ctx, memory)
	if err != nil {
		return err
	}
	ext, err := c.check(ctx, consAddr, bz, true, true)
	if err != nil || ext == nil || len(ext.DkgMessage) == 0 {
		return err
	}
	return k.CheckDKGMessage(ctx, consAddr, ext.DkgMessage)
}

// CommitVote is one vote of an injected commit, as far as issuance cares.
type CommitVote struct {
	ConsAddress []byte
	Extension   []byte
}

// CheckCommitExtensions checks every extension of an injected commit against
// the current state, partial signatures included: ProcessProposal refuses a
// block that fails it. memory is as for VerifyVoteExtension.
func (k Keeper) CheckCommitExtensions(ctx context.Context, votes []CommitVote, memory *VerifiedPartials) error {
	c, err := k.newExtensionCheck(ctx, memory)
	if err != nil {
		return err
	}
	for _, v := range votes {
		if _, err := c.check(ctx, v.ConsAddress, v.Extension, false, true); err != nil {
			return err
		}
	}
	return nil
}

// RecordCommitExtensions records the partial signatures of an injected commit
// (PreBlocker). The block was accepted by ProcessProposal of more than two
// thirds of the voting power, which verified every partial signature against
// this same state, so the pairings are not computed again; the structure is,
// and an extension that fails it is skipped (never an error: a committed block
// must not halt the chain). A partial already recorded (validators sign a
// pending request until it is issued) is not recorded twice.
func (k Keeper) RecordCommitExtensions(ctx context.Context, votes []CommitVote) (recorded int, err error) {
	c, err := k.newExtensionCheck(ctx, nil)
	if err != nil {
		return 0, err
	}
	for _, v := range votes {
		ext, err := c.check(ctx, v.ConsAddress, v.Extension, false, false)
		if err != nil {
			k.Logger(ctx).Error("skipping a vote extension of a committed block", "validator", v.ConsAddress, "err", err)
			continue
		}
		if ext == nil {
			continue
		}
		for _, part := range ext.Partials {
			err := k.RecordPartialSignature(ctx, part.RequestId, ext.SignerIndex, part.BlindedSignature)
			switch {
			case err == nil:
				recorded++
			case errors.Is(err, types.ErrDuplicatePartial):
			case errors.Is(err, types.ErrInvalidPartial), errors.Is(err, types.ErrRequestNotFound):
				k.Logger(ctx).Error("skipping a partial signature of a committed block", "request", part.RequestId, "signer", ext.SignerIndex, "err", err)
			default:
				return recorded, err
			}
		}
		if ext.Beacon != nil {
			if err := k.recordBeaconShare(ctx, ext.KeyId, ext.SignerIndex, ext.Beacon); err != nil {
				return recorded, err
			}
		}
	}
	return recorded, k.formBeacon(ctx)
}
