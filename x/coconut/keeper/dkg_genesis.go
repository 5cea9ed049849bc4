package keeper

import (
	"context"

	"cosmossdk.io/collections"

	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// initDKGGenesis writes the DKG's genesis, already validated.
func (k Keeper) initDKGGenesis(ctx context.Context, g types.DKGGenesis) error {
	if err := k.DKG.Params.Set(ctx, g.Params); err != nil {
		return err
	}
	if err := k.DKG.StartRequested.Set(ctx, g.StartRequested); err != nil {
		return err
	}
	if g.Round != nil {
		if err := k.DKG.Round.Set(ctx, *g.Round); err != nil {
			return err
		}
	}
	for _, m := range g.Dealings {
		if err := k.DKG.Dealings.Set(ctx, collections.Join(m.RoundId, m.Position), m.Data); err != nil {
			return err
		}
	}
	for _, m := range g.KeyShares {
		if err := k.DKG.KeyShares.Set(ctx, collections.Join(m.RoundId, m.Position), m.Data); err != nil {
			return err
		}
	}
	// The summed commitments are derived state: rebuilt, not exported.
	if r := g.Round; r != nil && r.Phase >= types.DKG_PHASE_KEY_SHARE && r.Phase != types.DKG_PHASE_FAILED {
		return k.sumCommitments(ctx, r)
	}
	return nil
}

// exportDKGGenesis reads the DKG's state.
func (k Keeper) exportDKGGenesis(ctx context.Context) (types.DKGGenesis, error) {
	var g types.DKGGenesis
	var err error
	if g.Params, err = k.DKG.Params.Get(ctx); err != nil {
		return g, err
	}
	if g.StartRequested, err = k.DKG.StartRequested.Get(ctx); err != nil {
		return g, err
	}
	r, found, err := k.CurrentDKGRound(ctx)
	if err != nil {
		return g, err
	}
	if found {
		g.Round = &r
	}
	walk := func(m collections.Map[collections.Pair[uint64, uint32], []byte], out *[]types.DKGMessageRecord) error {
		return m.Walk(ctx, nil, func(key collections.Pair[uint64, uint32], bz []byte) (bool, error) {
			*out = append(*out, types.DKGMessageRecord{RoundId: key.K1(), Position: key.K2(), Data: bz})
			return false, nil
		})
	}
	if err := walk(k.DKG.Dealings, &g.Dealings); err != nil {
		return g, err
	}
	return g, walk(k.DKG.KeyShares, &g.KeyShares)
}
