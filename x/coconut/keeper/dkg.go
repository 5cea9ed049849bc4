package keeper

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// DKGState is the DKG's part of the keeper's state. Only the latest round and
// its messages are kept: validators derive their shares from its dealings
// after it completes, and a new round replaces them.
type DKGState struct {
	// Params are the DKG params.
	Params collections.Item[types.DKGParams]
	// Round is the latest round, in progress or ended.
	Round collections.Item[types.DKGRound]
	// StartRequested is set by MsgStartDKG until a round starts.
	StartRequested collections.Item[bool]
	// Dealings are the latest round's dealings (coconut's encoding) by
	// (round id, participant position).
	Dealings collections.Map[collections.Pair[uint64, uint32], []byte]
	// KeyShares are the verified verification key shares, keyed the same way.
	KeyShares collections.Map[collections.Pair[uint64, uint32], []byte]
	// Commitments are the summed commitments of the qualified dealings
	// (coconut's encoding), set when the complaint phase ends: each key share
	// and the master key are checked against them instead of every dealing.
	Commitments collections.Item[[]byte]
}

func newDKGState(sb *collections.SchemaBuilder, cdc codec.BinaryCodec) DKGState {
	pair := collections.PairKeyCodec(collections.Uint64Key, collections.Uint32Key)
	return DKGState{
		Params:         collections.NewItem(sb, types.DKGParamsKey, "dkg_params", codec.CollValue[types.DKGParams](cdc)),
		Round:          collections.NewItem(sb, types.DKGRoundKey, "dkg_round", codec.CollValue[types.DKGRound](cdc)),
		StartRequested: collections.NewItem(sb, types.DKGStartRequestedKey, "dkg_start_requested", collections.BoolValue),
		Dealings:       collections.NewMap(sb, types.DKGDealingsKey, "dkg_dealings", pair, collections.BytesValue),
		KeyShares:      collections.NewMap(sb, types.DKGKeySharesKey, "dkg_key_shares", pair, collections.BytesValue),
		Commitments:    collections.NewItem(sb, types.DKGCommitmentsKey, "dkg_commitments", collections.BytesValue),
	}
}

// DKGParams returns the DKG params.
func (k Keeper) DKGParams(ctx context.Context) (types.DKGParams, error) {
	return k.DKG.Params.Get(ctx)
}

// CurrentDKGRound returns the latest round; found is false before the first.
func (k Keeper) CurrentDKGRound(ctx context.Context) (r types.DKGRound, found bool, err error) {
	r, err = k.DKG.Round.Get(ctx)
	if errors.Is(err, collections.ErrNotFound) {
		return r, false, nil
	}
	return r, err == nil, err
}

// RoundDealings returns the stored dealings of round id by participant position:
// what a validator needs for DKGMessageFor and DKGSecretKey.
func (k Keeper) RoundDealings(ctx context.Context, id uint64) (map[uint32][]byte, error) {
	out := map[uint32][]byte{}
	err := k.DKG.Dealings.Walk(ctx, collections.NewPrefixedPairRange[uint64, uint32](id), func(key collections.Pair[uint64, uint32], bz []byte) (bool, error) {
		out[key.K2()] = bz
		return false, nil
	})
	return out, err
}

// ProcessDKGMessage applies a DKG message bz sent by the validator with
// consensus address from (the vote-extension path has checked that it signed
// it). The message must be well formed, for the current round and phase, from
// a participant that has not sent this kind yet, and pass its kind's checks:
// a dealing is for this round's DKG and from the sender's index; each complaint
// is publicly verified and excludes its dealer; a key share must be the one the
// qualified dealings imply. Any failure returns an error and changes nothing.
func (k Keeper) ProcessDKGMessage(ctx context.Context, from []byte, bz []byte) error {
	m, err := types.DecodeDKGMessage(bz)
	if err != nil {
		return err
	}
	r, found, err := k.CurrentDKGRound(ctx)
	if err != nil {
		return err
	}
	if !found || r.RoundId != m.RoundID || !r.InProgress() {
		return errorsmod.Wrapf(types.ErrDKGPhase, "%s for round %d: no such round in progress", m.Kind, m.RoundID)
	}
	if m.Kind.Phase() != r.Phase {
		return errorsmod.Wrapf(types.ErrDKGPhase, "%s in round %d's %s", m.Kind, r.RoundId, r.Phase)
	}
	pos := r.Position(from)
	if pos < 0 {
		return errorsmod.Wrapf(types.ErrDKGParticipant, "%X in round %d", from, r.RoundId)
	}
	me := &r.Participants[pos]
	if m.Kind != types.DKGRegistration && me.Index == 0 {
		return errorsmod.Wrapf(types.ErrDKGParticipant, "%X did not register in round %d", from, r.RoundId)
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	switch m.Kind {
	case types.DKGRegistration:
		if len(me.PublicKey) != 0 {
			return errorsmod.Wrapf(types.ErrDKGDuplicate, "registration of %X", from)
		}
		for i := range r.Participants {
			if string(r.Participants[i].PublicKey) == string(m.Body) {
				return errorsmod.Wrapf(types.ErrInvalidDKGMessage, "DKG key of %X is already registered by another participant", from)
			}
		}
		me.PublicKey = append([]byte(nil), m.Body...)
	case types.DKGDealing:
		if me.Dealt {
			return errorsmod.Wrapf(types.ErrDKGDuplicate, "dealing of %X", from)
		}
		if want := types.DKGDealingSize(len(r.Participants), r.Registered()); len(bz) != want {
			return errorsmod.Wrapf(types.ErrInvalidDKGMessage, "dealing of %d bytes, want %d", len(bz), want)
		}
		g, err := r.DKG(sdkCtx.ChainID())
		if err != nil {
			return err
		}
		if err := g.Verify(m.Dealing); err != nil {
			return errorsmod.Wrapf(types.ErrInvalidDKGMessage, "%v", err)
		}
		if m.Dealing.Dealer() != int(me.Index) {
			return errorsmod.Wrapf(types.ErrInvalidDKGMessage, "dealing as dealer %d from participant %d", m.Dealing.Dealer(), me.Index)
		}
		if err := k.DKG.Dealings.Set(ctx, collections.Join(r.RoundId, uint32(pos)), m.Body); err != nil {
			return err
		}
		me.Dealt = true
	case types.DKGComplaints:
		if me.Complained {
			return errorsmod.Wrapf(types.ErrDKGDuplicate, "complaints of %X", from)
		}
		excluded, err := k.verifyComplaints(ctx, &r, m, me)
		if err != nil {
			return err
		}
		me.Complained = true
		for _, p := range excluded {
			r.Participants[p].Excluded = true
			if err := sdkCtx.EventManager().EmitTypedEvent(&types.EventDKGDealerExcluded{
				RoundId: r.RoundId, Dealer: r.Participants[p].ConsensusAddress, Complainer: from,
			}); err != nil {
				return err
			}
		}
	case types.DKGKeyShare:
		if me.KeyShared {
			return errorsmod.Wrapf(types.ErrDKGDuplicate, "key share of %X", from)
		}
		if err := k.verifyKeyShare(ctx, &r, m, me); err != nil {
			return err
		}
		if err := k.DKG.KeyShares.Set(ctx, collections.Join(r.RoundId, uint32(pos)), m.Body); err != nil {
			return err
		}
		me.KeyShared = true
	}
	return k.DKG.Round.Set(ctx, r)
}

// verifyComplaints checks every complaint of m and returns the positions of
// the dealers they exclude. The cheap checks of all complaints come before any
// proof is verified; a complaint against a dealer already excluded is not
// verified again.
func (k Keeper) verifyComplaints(ctx context.Context, r *types.DKGRound, m *types.DKGMessage, me *types.DKGParticipant) ([]int, error) {
	g, err := r.DKG(sdk.UnwrapSDKContext(ctx).ChainID())
	if err != nil {
		return nil, err
	}
	byIndex := make(map[int]int, len(r.Participants))
	for i := range r.Participants {
		if idx := int(r.Participants[i].Index); idx != 0 {
			byIndex[idx] = i
		}
	}
	dealers := make([]int, len(m.Complaints))
	for i, c := range m.Complaints {
		if c.Complainer() != int(me.Index) {
			return nil, errorsmod.Wrapf(types.ErrInvalidDKGMessage, "complaint as participant %d from participant %d", c.Complainer(), me.Index)
		}
		dealer, ok := byIndex[c.Dealer()]
		if !ok || !r.Participants[dealer].Dealt {
			return nil, errorsmod.Wrapf(types.ErrInvalidDKGMessage, "complaint against dealer %d, who has no dealing", c.Dealer())
		}
		dealers[i] = dealer
	}
	var out []int
	for i, c := range m.Complaints {
		dealer := dealers[i]
		if r.Participants[dealer].Excluded {
			continue
		}
		bz, err := k.DKG.Dealings.Get(ctx, collections.Join(r.RoundId, uint32(dealer)))
		if err != nil {
			return nil, err
		}
		d, err := decodeDealing(bz)
		if err != nil {
			return nil, err
		}
		if err := g.VerifyComplaint(d, c); err != nil {
			return nil, errorsmod.Wrapf(types.ErrInvalidDKGMessage, "complaint against dealer %d: %v", c.Dealer(), err)
		}
		out = append(out, dealer)
	}
	return out, nil
}

// verifyKeyShare checks that m's key share is the one the qualified dealings
// give the sender's index. Its G1 half is checked with randomness derived from
// the message, so every validator reaches the same answer.
func (k Keeper) verifyKeyShare(ctx context.Context, r *types.DKGRound, m *types.DKGMessage, me *types.DKGParticipant) error {
	g, err := r.DKG(sdk.UnwrapSDKContext(ctx).ChainID())
	if err != nil {
		return err
	}
	c, err := k.commitments(ctx)
	if err != nil {
		return err
	}
	seed := sha256.Sum256(m.Body)
	if err := g.VerifyKeyShareAgainst(rand.NewChaCha8(seed), c, int(me.Index), m.KeyShare); err != nil {
		return errorsmod.Wrapf(types.ErrInvalidDKGMessage, "key share of participant %d: %v", me.Index, err)
	}
	return nil
}

func (k Keeper) commitments(ctx context.Context) (*coconut.Commitments, error) {
	bz, err := k.DKG.Commitments.Get(ctx)
	if err != nil {
		return nil, fmt.Errorf("summed commitments: %w", err)
	}
	c := new(coconut.Commitments)
	if err := c.UnmarshalBinary(bz); err != nil {
		return nil, fmt.Errorf("stored summed commitments: %w", err)
	}
	return c, nil
}

// sumCommitments stores the summed commitments of r's qualified dealings.
func (k Keeper) sumCommitments(ctx context.Context, r *types.DKGRound) error {
	g, err := r.DKG(sdk.UnwrapSDKContext(ctx).ChainID())
	if err != nil {
		return err
	}
	dealings, err := k.RoundDealings(ctx, r.RoundId)
	if err != nil {
		return err
	}
	ds, err := types.QualifiedDealings(r, dealings)
	if err != nil {
		return err
	}
	c, err := g.SumCommitments(ds)
	if err != nil {
		return err
	}
	bz, err := c.MarshalBinary()
	if err != nil {
		return err
	}
	return k.DKG.Commitments.Set(ctx, bz)
}
