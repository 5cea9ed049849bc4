package keeper

import (
	"context"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// EndBlocker moves the DKG on (with the validator set of the last commit)
// and prunes the requests whose retention ended, with their partial
// signatures. A block prunes what the blocks retention ago added, so its work
// is bounded by theirs.
func (k Keeper) EndBlocker(ctx context.Context) error {
	if err := k.DKGEndBlocker(ctx, DKGValidatorsFromCometInfo(ctx)); err != nil {
		return err
	}
	height := sdk.UnwrapSDKContext(ctx).BlockHeight()
	rng := collections.NewPrefixUntilPairRange[int64, uint64](height)
	var due []collections.Pair[int64, uint64]
	if err := k.RequestExpiry.Walk(ctx, rng, func(key collections.Pair[int64, uint64]) (bool, error) {
		due = append(due, key)
		return false, nil
	}); err != nil {
		return err
	}
	for _, key := range due {
		if err := k.removeRequest(ctx, key.K2()); err != nil {
			return err
		}
		if err := k.RequestExpiry.Remove(ctx, key); err != nil {
			return err
		}
	}
	return k.pruneBeaconShares(ctx)
}

func (k Keeper) removeRequest(ctx context.Context, id uint64) error {
	if err := k.Requests.Remove(ctx, id); err != nil {
		return err
	}
	if err := k.PendingRequests.Remove(ctx, id); err != nil {
		return err
	}
	return k.PartialSignatures.Clear(ctx, collections.NewPrefixedPairRange[uint64, uint32](id))
}
