package keeper

import (
	"context"
	"encoding/binary"

	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// The DKG's messages travel in the same vote extensions as the partial
// signatures (IssuanceVoteExtension.dkg_message):
//
//   - ExtendVote (H, state after H-1): the validator's message for the round
//     and phase in progress (VoteExtensions.dkgMessage).
//   - VerifyVoteExtension (same state): CheckDKGMessage, the whole of
//     ProcessDKGMessage on a discarded branch of the state.
//   - ProcessProposal (H+1, state after H): the message's structure only
//     (DecodeVoteExtension). Its round or phase may have moved on at the end
//     of H, so a state check here could refuse every proposal of H+1 for an
//     honest message: the chain would halt.
//   - PreBlocker (H+1): RecordCommitDKG; a message the DKG refuses is dropped
//     with EventDKGMessageRefused.

// CheckDKGMessage reports whether ProcessDKGMessage would accept bz from the
// validator with consensus address from, without changing the state.
func (k Keeper) CheckDKGMessage(ctx context.Context, from, bz []byte) error {
	branch, _ := sdk.UnwrapSDKContext(ctx).CacheContext()
	if err := k.ProcessDKGMessage(branch, from, bz); err != nil {
		return errorsmod.Wrapf(types.ErrInvalidVoteExtension, "DKG message: %v", err)
	}
	return nil
}

// RecordCommitDKG feeds the DKG messages of an injected commit to
// ProcessDKGMessage, each signed by its vote's validator. A message the DKG
// refuses changes nothing and is reported with EventDKGMessageRefused: a
// committed block never halts the chain.
func (k Keeper) RecordCommitDKG(ctx context.Context, votes []CommitVote) (recorded int, err error) {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	for _, v := range votes {
		msg := types.DKGMessageOf(v.Extension)
		if len(msg) == 0 {
			continue
		}
		branch, write := sdkCtx.CacheContext()
		perr := k.ProcessDKGMessage(branch, v.ConsAddress, msg)
		if perr == nil {
			write()
			recorded++
			continue
		}
		ev := &types.EventDKGMessageRefused{Validator: v.ConsAddress, Kind: uint32(msg[0]), Reason: perr.Error()}
		if len(msg) >= types.DKGHeaderSize {
			ev.RoundId = binary.BigEndian.Uint64(msg[1:types.DKGHeaderSize])
		}
		k.Logger(ctx).Info("dropping a DKG message of a committed block", "validator", v.ConsAddress, "err", perr)
		if err := sdkCtx.EventManager().EmitTypedEvent(ev); err != nil {
			return recorded, err
		}
	}
	return recorded, nil
}
