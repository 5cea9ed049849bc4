package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// count adds delta to key id's counts and to the totals: two store writes,
// whatever the chain's age, so the counts cost nothing to read and no one
// has to scan transactions for them. Issuance happens in PreBlocker, where
// no transaction carries it, so these are its only record once a request is
// pruned.
func (k Keeper) count(ctx context.Context, keyID uint64, delta types.CredentialStats) error {
	s, err := k.Stats.Get(ctx, keyID)
	if errors.Is(err, collections.ErrNotFound) {
		s = types.NewCredentialStats(keyID)
	} else if err != nil {
		return err
	}
	s.Add(delta)
	if err := k.Stats.Set(ctx, keyID, s); err != nil {
		return err
	}
	total, err := k.totals(ctx)
	if err != nil {
		return err
	}
	total.Add(delta)
	return k.StatsTotal.Set(ctx, total)
}

// totals returns the sums over every key (zero before the first count).
func (k Keeper) totals(ctx context.Context) (types.CredentialStats, error) {
	t, err := k.StatsTotal.Get(ctx)
	if errors.Is(err, collections.ErrNotFound) {
		return types.NewCredentialStats(0), nil
	}
	return t, err
}

// initStatsGenesis stores the per-key counts and their sums.
func (k Keeper) initStatsGenesis(ctx context.Context, stats []types.CredentialStats) error {
	total := types.NewCredentialStats(0)
	for _, s := range stats {
		if err := k.Stats.Set(ctx, s.KeyId, s); err != nil {
			return err
		}
		total.Add(s)
	}
	return k.StatsTotal.Set(ctx, total)
}

func (k Keeper) exportStatsGenesis(ctx context.Context) ([]types.CredentialStats, error) {
	var out []types.CredentialStats
	err := k.Stats.Walk(ctx, nil, func(_ uint64, s types.CredentialStats) (bool, error) {
		out = append(out, s)
		return false, nil
	})
	return out, err
}

func (q querier) Stats(ctx context.Context, req *types.QueryStatsRequest) (*types.QueryStatsResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	total, err := q.k.totals(ctx)
	if err != nil {
		return nil, err
	}
	resp := &types.QueryStatsResponse{Total: total}
	if req.KeyId != 0 {
		if ok, err := q.k.KeySets.Has(ctx, req.KeyId); err != nil {
			return nil, err
		} else if !ok {
			return nil, status.Errorf(codes.NotFound, "no key %d", req.KeyId)
		}
		s, err := q.k.Stats.Get(ctx, req.KeyId)
		if errors.Is(err, collections.ErrNotFound) {
			s = types.NewCredentialStats(req.KeyId)
		} else if err != nil {
			return nil, err
		}
		resp.Keys = []types.CredentialStats{s}
		return resp, nil
	}
	keys, page, err := query.CollectionPaginate(ctx, q.k.Stats, req.Pagination,
		func(_ uint64, s types.CredentialStats) (types.CredentialStats, error) { return s, nil })
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	resp.Keys, resp.Pagination = keys, page
	return resp, nil
}
