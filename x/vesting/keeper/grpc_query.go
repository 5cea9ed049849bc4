package keeper

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/nyx-privacy/nyx/x/vesting/types"
)

type querier struct {
	Keeper
}

var _ types.QueryServer = querier{}

// NewQuerier returns the module's Query service.
func NewQuerier(k Keeper) types.QueryServer { return querier{Keeper: k} }

// Params returns the params.
func (q querier) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.Keeper.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

// Account returns an owner's account and its balances at the current block time.
func (q querier) Account(ctx context.Context, req *types.QueryAccountRequest) (*types.QueryAccountResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	owner, err := q.parseAddress("owner", req.Owner)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	a, err := q.account(ctx, owner)
	if err != nil {
		return nil, status.Error(codes.NotFound, err.Error())
	}
	p, err := q.Keeper.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	return &types.QueryAccountResponse{Account: a, Balances: a.Balances(blockTime(ctx), p)}, nil
}

// Accounts lists the accounts by owner.
func (q querier) Accounts(ctx context.Context, req *types.QueryAccountsRequest) (*types.QueryAccountsResponse, error) {
	if req == nil {
		req = &types.QueryAccountsRequest{}
	}
	accounts, page, err := query.CollectionPaginate(ctx, q.Keeper.Accounts, req.Pagination,
		func(_ sdk.AccAddress, a types.VestingAccount) (types.VestingAccount, error) { return a, nil })
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryAccountsResponse{Accounts: accounts, Pagination: page}, nil
}
