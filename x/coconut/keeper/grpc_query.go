package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

type querier struct{ k Keeper }

var _ types.QueryServer = querier{}

// NewQuerier returns the module's Query service.
func NewQuerier(k Keeper) types.QueryServer { return querier{k: k} }

func (q querier) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

func (q querier) VerificationKey(ctx context.Context, req *types.QueryVerificationKeyRequest) (*types.QueryVerificationKeyResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	id := req.KeyId
	if id == 0 {
		cur, err := q.k.CurrentKeyID.Get(ctx)
		if err != nil {
			return nil, err
		}
		if cur == 0 {
			return nil, status.Error(codes.NotFound, "no issuing key has formed yet")
		}
		id = cur
	}
	ks, err := q.k.KeySets.Get(ctx, id)
	if errors.Is(err, collections.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "no key %d", id)
	} else if err != nil {
		return nil, err
	}
	p, err := q.k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	height := sdk.UnwrapSDKContext(ctx).BlockHeight()
	return &types.QueryVerificationKeyResponse{KeySet: ks, Verifies: verifies(ks, height, p.KeyGraceBlocks)}, nil
}

func (q querier) Request(ctx context.Context, req *types.QueryRequestRequest) (*types.QueryRequestResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	r, err := q.k.Requests.Get(ctx, req.RequestId)
	if errors.Is(err, collections.ErrNotFound) {
		return nil, status.Errorf(codes.NotFound, "no request %d (unknown, or pruned after its retention)", req.RequestId)
	} else if err != nil {
		return nil, err
	}
	var partials []types.PartialSignature
	rng := collections.NewPrefixedPairRange[uint64, uint32](req.RequestId)
	err = q.k.PartialSignatures.Walk(ctx, rng, func(key collections.Pair[uint64, uint32], sig []byte) (bool, error) {
		partials = append(partials, types.PartialSignature{RequestId: key.K1(), SignerIndex: key.K2(), BlindedSignature: sig})
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	return &types.QueryRequestResponse{Request: r, PartialSignatures: partials}, nil
}

func (q querier) SpendTag(ctx context.Context, req *types.QuerySpendTagRequest) (*types.QuerySpendTagResponse, error) {
	if req == nil || len(req.Tag) != coconut.G1Size {
		return nil, status.Errorf(codes.InvalidArgument, "a spend tag is %d bytes", coconut.G1Size)
	}
	rec, err := q.k.Spent.Get(ctx, req.Tag)
	if errors.Is(err, collections.ErrNotFound) {
		return &types.QuerySpendTagResponse{}, nil
	} else if err != nil {
		return nil, err
	}
	return &types.QuerySpendTagResponse{Spent: true, Record: &rec}, nil
}
