package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// DKGValidatorsFromCometInfo returns the validator set of the last commit (every
// validator with its power, whether it voted or not): what DKGEndBlocker
// needs, without a staking keeper.
func DKGValidatorsFromCometInfo(ctx context.Context) []types.DKGValidator {
	info := sdk.UnwrapSDKContext(ctx).CometInfo()
	if info == nil || info.GetLastCommit() == nil || info.GetLastCommit().Votes() == nil {
		return nil
	}
	votes := info.GetLastCommit().Votes()
	out := make([]types.DKGValidator, 0, votes.Len())
	for i := range votes.Len() {
		v := votes.Get(i).Validator()
		out = append(out, types.DKGValidator{ConsensusAddress: v.Address(), VotingPower: v.Power()})
	}
	return out
}

// DKGEndBlocker moves the DKG on at the end of a block: a round in progress
// leaves a phase at its last height (and completes or fails after the last);
// with no round in progress, a new one starts with validators (the current
// set; nil when unknown) if governance asked for one or the set changed by
// more than the set_change_percent param since the latest round.
func (k Keeper) DKGEndBlocker(ctx context.Context, validators []types.DKGValidator) error {
	height := sdk.UnwrapSDKContext(ctx).BlockHeight()
	r, found, err := k.CurrentDKGRound(ctx)
	if err != nil {
		return err
	}
	if found && r.InProgress() {
		if height < r.PhaseEnd() {
			return nil
		}
		return k.endPhase(ctx, r)
	}
	if len(validators) == 0 {
		return nil
	}
	p, err := k.DKG.Params.Get(ctx)
	if err != nil {
		return err
	}
	requested, err := k.DKG.StartRequested.Get(ctx)
	if err != nil {
		return err
	}
	auto := p.SetChangePercent > 0 && (!found || r.Phase == types.DKG_PHASE_FAILED || r.SetChanged(validators, p.SetChangePercent))
	if !requested && !auto {
		return nil
	}
	_, err = k.StartDKGRound(ctx, validators)
	return err
}

// StartDKGRound starts a round with participants (the validators with power,
// at most MaxDKGParticipants) in its registration phase. Its id is the key id
// it will activate: above the current key's and every earlier round's. The
// previous round's messages are dropped.
func (k Keeper) StartDKGRound(ctx context.Context, participants []types.DKGValidator) (types.DKGRound, error) {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	prev, found, err := k.CurrentDKGRound(ctx)
	if err != nil {
		return types.DKGRound{}, err
	}
	if found && prev.InProgress() {
		return types.DKGRound{}, fmt.Errorf("%w: round %d", types.ErrDKGRoundActive, prev.RoundId)
	}
	cur, err := k.CurrentKeyID.Get(ctx)
	if err != nil {
		return types.DKGRound{}, err
	}
	p, err := k.DKG.Params.Get(ctx)
	if err != nil {
		return types.DKGRound{}, err
	}
	r, err := types.NewDKGRound(max(cur, prev.RoundId)+1, participants, sdkCtx.BlockHeight()+1, p)
	if err != nil {
		return types.DKGRound{}, fmt.Errorf("start DKG round: %w", err)
	}
	if found {
		if err := k.clearRoundMessages(ctx, prev.RoundId); err != nil {
			return types.DKGRound{}, err
		}
	}
	if err := k.DKG.Round.Set(ctx, r); err != nil {
		return types.DKGRound{}, err
	}
	if err := k.DKG.StartRequested.Set(ctx, false); err != nil {
		return types.DKGRound{}, err
	}
	k.Logger(ctx).Info("DKG round started", "round", r.RoundId, "participants", len(r.Participants), "threshold", r.Threshold)
	if err := sdkCtx.EventManager().EmitTypedEvent(&types.EventDKGRoundStarted{
		RoundId: r.RoundId, Participants: uint32(len(r.Participants)), Threshold: r.Threshold,
	}); err != nil {
		return types.DKGRound{}, err
	}
	return r, k.emitPhase(ctx, r)
}

func (k Keeper) clearRoundMessages(ctx context.Context, id uint64) error {
	if err := k.DKG.Dealings.Clear(ctx, collections.NewPrefixedPairRange[uint64, uint32](id)); err != nil {
		return err
	}
	if err := k.DKG.Commitments.Remove(ctx); err != nil {
		return err
	}
	return k.DKG.KeyShares.Clear(ctx, collections.NewPrefixedPairRange[uint64, uint32](id))
}

func (k Keeper) emitPhase(ctx context.Context, r types.DKGRound) error {
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventDKGPhase{RoundId: r.RoundId, Phase: r.Phase, EndHeight: r.PhaseEnd()})
}

// endPhase closes r's current phase: after registration the registered
// participants get their indices; after dealing and complaints the round needs
// threshold qualified dealers; after the key shares it completes.
func (k Keeper) endPhase(ctx context.Context, r types.DKGRound) error {
	t := int(r.Threshold)
	switch r.Phase {
	case types.DKG_PHASE_REGISTRATION:
		next := uint32(1)
		for i := range r.Participants {
			if len(r.Participants[i].PublicKey) != 0 {
				r.Participants[i].Index = next
				next++
			}
		}
		if r.Registered() < t {
			return k.failRound(ctx, r, fmt.Sprintf("%d of %d participants registered, threshold %d", r.Registered(), len(r.Participants), t))
		}
	case types.DKG_PHASE_DEALING, types.DKG_PHASE_COMPLAINT:
		if q := len(r.Qualified()); q < t {
			return k.failRound(ctx, r, fmt.Sprintf("%d qualified dealers after %s, threshold %d", q, r.Phase, t))
		}
		if r.Phase == types.DKG_PHASE_COMPLAINT {
			if err := k.sumCommitments(ctx, &r); err != nil {
				return k.failRound(ctx, r, err.Error())
			}
		}
	case types.DKG_PHASE_KEY_SHARE:
		return k.finaliseRound(ctx, r)
	}
	r.Phase++
	if err := k.DKG.Round.Set(ctx, r); err != nil {
		return err
	}
	return k.emitPhase(ctx, r)
}

func (k Keeper) failRound(ctx context.Context, r types.DKGRound, reason string) error {
	r.Phase = types.DKG_PHASE_FAILED
	if err := k.DKG.Round.Set(ctx, r); err != nil {
		return err
	}
	k.Logger(ctx).Error("DKG round failed", "round", r.RoundId, "reason", reason)
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventDKGRoundEnded{
		RoundId: r.RoundId, Phase: r.Phase, Qualified: uint32(len(r.Qualified())), Reason: reason,
	})
}

// operatorOf returns the operator address of the validator with the consensus
// address, or "" when x/staking is not wired in or no longer knows it (it may
// have left the set since the round began: its share still counts).
func (k Keeper) operatorOf(ctx context.Context, consAddr []byte) string {
	if k.validators == nil || k.validators.src == nil {
		return ""
	}
	v, err := k.validators.src.ValidatorByConsAddr(ctx, consAddr)
	if err != nil || v == nil {
		return ""
	}
	return v.GetOperator()
}

// finaliseRound derives the master key from the qualified dealings and
// activates it with the verified key shares as its partial keys. A round
// whose key cannot be formed (fewer than threshold key shares) fails.
func (k Keeper) finaliseRound(ctx context.Context, r types.DKGRound) error {
	t := int(r.Threshold)
	ks := types.KeySet{KeyId: r.RoundId, Threshold: r.Threshold}
	if err := k.DKG.KeyShares.Walk(ctx, collections.NewPrefixedPairRange[uint64, uint32](r.RoundId), func(key collections.Pair[uint64, uint32], bz []byte) (bool, error) {
		me := &r.Participants[key.K2()]
		// The consensus address lets the vote-extension path know which
		// validator signs as this index.
		ks.PartialKeys = append(ks.PartialKeys, types.PartialKey{
			SignerIndex: me.Index, VerificationKey: bz, ConsensusAddress: me.ConsensusAddress,
			Validator: k.operatorOf(ctx, me.ConsensusAddress),
		})
		return false, nil
	}); err != nil {
		return err
	}
	if len(ks.PartialKeys) < t {
		return k.failRound(ctx, r, fmt.Sprintf("%d key shares, threshold %d", len(ks.PartialKeys), t))
	}
	master, err := k.masterKey(ctx)
	if err != nil {
		return k.failRound(ctx, r, err.Error())
	}
	ks.MasterKey = master
	// ActivateKey validates the whole set (the shares interpolate to the master).
	if err := k.ActivateKey(ctx, ks); err != nil {
		return k.failRound(ctx, r, fmt.Sprintf("activate key: %v", err))
	}
	r.Phase = types.DKG_PHASE_COMPLETED
	if err := k.DKG.Round.Set(ctx, r); err != nil {
		return err
	}
	k.Logger(ctx).Info("DKG round completed", "round", r.RoundId, "qualified", len(r.Qualified()), "partial_keys", len(ks.PartialKeys))
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventDKGRoundEnded{
		RoundId: r.RoundId, Phase: r.Phase, Qualified: uint32(len(r.Qualified())),
	})
}

func (k Keeper) masterKey(ctx context.Context) ([]byte, error) {
	c, err := k.commitments(ctx)
	if err != nil {
		return nil, err
	}
	return c.MasterVerificationKey().MarshalBinary()
}

func decodeDealing(bz []byte) (*coconut.Dealing, error) {
	d := new(coconut.Dealing)
	if err := d.UnmarshalBinary(bz); err != nil {
		return nil, fmt.Errorf("stored dealing: %w", err)
	}
	return d, nil
}
