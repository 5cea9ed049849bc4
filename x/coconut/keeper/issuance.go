package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// PendingToSign returns the oldest pending requests, at most
// max_requests_signed_per_block of them: the work of one block's issuance, which
// the validators sign in their vote extensions (SignPending).
func (k Keeper) PendingToSign(ctx context.Context) ([]types.CredentialRequest, error) {
	p, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	var out []types.CredentialRequest
	err = k.PendingRequests.Walk(ctx, nil, func(id uint64) (bool, error) {
		r, err := k.Requests.Get(ctx, id)
		if err != nil {
			return true, err
		}
		out = append(out, r)
		return len(out) >= int(p.MaxRequestsSignedPerBlock), nil
	})
	return out, err
}

// RecordPartialSignature stores an issuer's blinded signature on a request: the
// signer must hold a share of the key the request is for, and sign it once. When
// the request has threshold partial signatures it is issued and leaves the
// pending set. RecordCommitExtensions calls it for every partial signature a
// block's injected commit carries, checked in ProcessProposal.
func (k Keeper) RecordPartialSignature(ctx context.Context, requestID uint64, signer uint32, blinded []byte) error {
	r, err := k.Requests.Get(ctx, requestID)
	if errors.Is(err, collections.ErrNotFound) {
		return errorsmod.Wrapf(types.ErrRequestNotFound, "request %d", requestID)
	} else if err != nil {
		return err
	}
	ks, err := k.KeySets.Get(ctx, r.KeyId)
	if err != nil {
		return err
	}
	signers := false
	for _, pk := range ks.PartialKeys {
		signers = signers || pk.SignerIndex == signer
	}
	if !signers {
		return errorsmod.Wrapf(types.ErrInvalidPartial, "signer %d holds no share of key %d", signer, r.KeyId)
	}
	if len(blinded) != coconut.SignatureSize {
		return errorsmod.Wrapf(types.ErrInvalidPartial, "blinded signature is %d bytes, want %d", len(blinded), coconut.SignatureSize)
	}
	if err := new(coconut.BlindedSignature).UnmarshalBinary(blinded); err != nil {
		return errorsmod.Wrapf(types.ErrInvalidPartial, "%v", err)
	}
	key := collections.Join(requestID, signer)
	if ok, err := k.PartialSignatures.Has(ctx, key); err != nil {
		return err
	} else if ok {
		return errorsmod.Wrapf(types.ErrDuplicatePartial, "request %d, signer %d", requestID, signer)
	}
	if err := k.PartialSignatures.Set(ctx, key, blinded); err != nil {
		return err
	}
	if r.Status != types.REQUEST_STATUS_PENDING {
		return nil
	}
	n := 0
	if err := k.PartialSignatures.Walk(ctx, collections.NewPrefixedPairRange[uint64, uint32](requestID), func(collections.Pair[uint64, uint32], []byte) (bool, error) {
		n++
		return false, nil
	}); err != nil {
		return err
	}
	if n < int(ks.Threshold) {
		return nil
	}
	r.Status = types.REQUEST_STATUS_ISSUED
	if err := k.Requests.Set(ctx, requestID, r); err != nil {
		return err
	}
	delta := types.NewCredentialStats(r.KeyId)
	delta.Issued = 1
	if err := k.count(ctx, r.KeyId, delta); err != nil {
		return err
	}
	return k.PendingRequests.Remove(ctx, requestID)
}
