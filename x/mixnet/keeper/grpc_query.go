package keeper

import (
	"context"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

type querier struct {
	Keeper
}

var _ types.QueryServer = querier{}

// NewQuerier returns the module's Query service.
func NewQuerier(k Keeper) types.QueryServer { return querier{Keeper: k} }

func notFound(err error, format string, args ...any) error {
	if errorsmod.IsOf(err, collections.ErrNotFound) {
		return status.Errorf(codes.NotFound, format, args...)
	}
	return err
}

// Params returns the params.
func (q querier) Params(ctx context.Context, _ *types.QueryParamsRequest) (*types.QueryParamsResponse, error) {
	p, err := q.Keeper.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	return &types.QueryParamsResponse{Params: p}, nil
}

func (q querier) nodeResponse(ctx context.Context, id uint64) (*types.QueryNodeResponse, error) {
	n, err := q.Keeper.Nodes.Get(ctx, id)
	if err != nil {
		return nil, notFound(err, "node %d not found", id)
	}
	role, err := q.NodeRoles.Get(ctx, id)
	if err != nil && !errorsmod.IsOf(err, collections.ErrNotFound) {
		return nil, err
	}
	return &types.QueryNodeResponse{Node: n, Role: types.Role(role)}, nil
}

// Node returns a node by id.
func (q querier) Node(ctx context.Context, req *types.QueryNodeRequest) (*types.QueryNodeResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	return q.nodeResponse(ctx, req.NodeId)
}

// NodeByIdentity returns a node by identity key.
func (q querier) NodeByIdentity(ctx context.Context, req *types.QueryNodeByIdentityRequest) (*types.QueryNodeResponse, error) {
	if req == nil || len(req.IdentityKey) != types.IdentityKeySize {
		return nil, status.Errorf(codes.InvalidArgument, "identity key must be %d bytes", types.IdentityKeySize)
	}
	id, err := q.Keeper.NodeByIdentity.Get(ctx, req.IdentityKey)
	if err != nil {
		return nil, notFound(err, "no node with this identity key")
	}
	return q.nodeResponse(ctx, id)
}

// NodeByOwner returns an owner's node.
func (q querier) NodeByOwner(ctx context.Context, req *types.QueryNodeByOwnerRequest) (*types.QueryNodeResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	owner, err := q.parseAddress("owner", req.Owner)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	id, err := q.Keeper.NodeByOwner.Get(ctx, owner)
	if err != nil {
		return nil, notFound(err, "no node bonded by %s", req.Owner)
	}
	return q.nodeResponse(ctx, id)
}

// Nodes lists nodes, all or those holding one role (in the draw's order).
func (q querier) Nodes(ctx context.Context, req *types.QueryNodesRequest) (*types.QueryNodesResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	if req.Role == types.RoleUnspecified {
		nodes, page, err := query.CollectionPaginate(ctx, q.Keeper.Nodes, req.Pagination,
			func(_ uint64, n types.Node) (types.Node, error) { return n, nil })
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		return &types.QueryNodesResponse{Nodes: nodes, Pagination: page}, nil
	}
	if !types.IsValidRole(req.Role) {
		return nil, status.Errorf(codes.InvalidArgument, "invalid role %d", req.Role)
	}
	ra, err := q.RoleAssignments.Get(ctx, int32(req.Role))
	if err != nil && !errorsmod.IsOf(err, collections.ErrNotFound) {
		return nil, err
	}
	// A role holds at most a set size of nodes: paginate the id list by offset.
	ids := ra.NodeIds
	var offset, limit uint64 = 0, query.DefaultLimit
	countTotal := false
	if p := req.Pagination; p != nil {
		if len(p.Key) != 0 {
			return nil, status.Error(codes.InvalidArgument, "role listings paginate by offset, not key")
		}
		offset, countTotal = p.Offset, p.CountTotal
		if p.Limit != 0 {
			limit = p.Limit
		}
	}
	out := []types.Node{}
	for i := offset; i < uint64(len(ids)) && uint64(len(out)) < limit; i++ {
		n, err := q.Keeper.Nodes.Get(ctx, ids[i])
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	page := &query.PageResponse{}
	if countTotal {
		page.Total = uint64(len(ids))
	}
	return &types.QueryNodesResponse{Nodes: out, Pagination: page}, nil
}

// Delegation returns one delegation.
func (q querier) Delegation(ctx context.Context, req *types.QueryDelegationRequest) (*types.QueryDelegationResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	delegator, err := q.parseAddress("delegator", req.Delegator)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	d, err := q.Delegations.Get(ctx, collections.Join(req.NodeId, delegator))
	if err != nil {
		return nil, notFound(err, "%s has no delegation to node %d", req.Delegator, req.NodeId)
	}
	return &types.QueryDelegationResponse{Delegation: d}, nil
}

// NodeDelegations lists the delegations to a node.
func (q querier) NodeDelegations(ctx context.Context, req *types.QueryNodeDelegationsRequest) (*types.QueryDelegationsResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	ds, page, err := query.CollectionPaginate(ctx, q.Delegations, req.Pagination,
		func(_ collections.Pair[uint64, sdk.AccAddress], d types.Delegation) (types.Delegation, error) {
			return d, nil
		},
		query.WithCollectionPaginationPairPrefix[uint64, sdk.AccAddress](req.NodeId))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryDelegationsResponse{Delegations: ds, Pagination: page}, nil
}

// DelegatorDelegations lists a delegator's delegations.
func (q querier) DelegatorDelegations(ctx context.Context, req *types.QueryDelegatorDelegationsRequest) (*types.QueryDelegationsResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	delegator, err := q.parseAddress("delegator", req.Delegator)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	ds, page, err := query.CollectionPaginate(ctx, q.DelegatorIndex, req.Pagination,
		func(key collections.Pair[sdk.AccAddress, uint64], _ collections.NoValue) (types.Delegation, error) {
			return q.Delegations.Get(ctx, collections.Join(key.K2(), key.K1()))
		},
		query.WithCollectionPaginationPairPrefix[sdk.AccAddress, uint64](delegator))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryDelegationsResponse{Delegations: ds, Pagination: page}, nil
}

// PendingOperatorReward returns what WithdrawOperatorReward would pay now.
func (q querier) PendingOperatorReward(ctx context.Context, req *types.QueryPendingOperatorRewardRequest) (*types.QueryPendingRewardResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	n, err := q.Keeper.Nodes.Get(ctx, req.NodeId)
	if err != nil {
		return nil, notFound(err, "node %d not found", req.NodeId)
	}
	r, err := n.Rewarding().OperatorPendingReward()
	if err != nil {
		return nil, err
	}
	return &types.QueryPendingRewardResponse{Amount: sdk.NewCoin(types.Denom, r)}, nil
}

// PendingDelegatorReward returns what WithdrawDelegatorReward would pay now.
func (q querier) PendingDelegatorReward(ctx context.Context, req *types.QueryPendingDelegatorRewardRequest) (*types.QueryPendingRewardResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	delegator, err := q.parseAddress("delegator", req.Delegator)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	d, err := q.Delegations.Get(ctx, collections.Join(req.NodeId, delegator))
	if err != nil {
		return nil, notFound(err, "%s has no delegation to node %d", req.Delegator, req.NodeId)
	}
	n, err := q.Keeper.Nodes.Get(ctx, req.NodeId)
	if err != nil {
		return nil, err
	}
	r, err := n.Rewarding().PendingReward(d.Rewarding())
	if err != nil {
		return nil, err
	}
	return &types.QueryPendingRewardResponse{Amount: sdk.NewCoin(types.Denom, r)}, nil
}

// StakeSaturation returns a node's stake over this interval's saturation point.
func (q querier) StakeSaturation(ctx context.Context, req *types.QueryStakeSaturationRequest) (*types.QueryStakeSaturationResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	n, err := q.Keeper.Nodes.Get(ctx, req.NodeId)
	if err != nil {
		return nil, notFound(err, "node %d not found", req.NodeId)
	}
	ir, err := q.IntervalRewarding.Get(ctx)
	if err != nil {
		return nil, err
	}
	iv, err := ir.Interval()
	if err != nil {
		return nil, err
	}
	s := iv.Saturation(n.Stake())
	capped := s
	if capped.GT(math.LegacyOneDec()) {
		capped = math.LegacyOneDec()
	}
	return &types.QueryStakeSaturationResponse{Saturation: capped, UncappedSaturation: s}, nil
}

func (q querier) epochStatus(ctx context.Context) (*types.QueryEpochStatusResponse, error) {
	e, err := q.Epoch.Get(ctx)
	if err != nil {
		return nil, err
	}
	p, err := q.Keeper.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	ir, err := q.IntervalRewarding.Get(ctx)
	if err != nil {
		return nil, err
	}
	return &types.QueryEpochStatusResponse{
		EpochId: e.EpochId, IntervalId: e.IntervalId, EpochInInterval: e.EpochInInterval,
		EpochsPerInterval: ir.EpochsPerInterval, Start: e.Start, End: e.Start.Add(p.EpochDuration),
		SeedFromBeacon: e.SeedFromBeacon,
	}, nil
}

// EpochStatus returns the current epoch.
func (q querier) EpochStatus(ctx context.Context, _ *types.QueryEpochStatusRequest) (*types.QueryEpochStatusResponse, error) {
	return q.epochStatus(ctx)
}

// RoleAssignment returns a role's nodes.
func (q querier) RoleAssignment(ctx context.Context, req *types.QueryRoleAssignmentRequest) (*types.QueryRoleAssignmentResponse, error) {
	if req == nil || !types.IsValidRole(req.Role) {
		return nil, status.Error(codes.InvalidArgument, "a valid role is required")
	}
	ra, err := q.RoleAssignments.Get(ctx, int32(req.Role))
	if errorsmod.IsOf(err, collections.ErrNotFound) {
		e, err := q.Epoch.Get(ctx)
		if err != nil {
			return nil, err
		}
		return &types.QueryRoleAssignmentResponse{Assignment: types.RoleAssignment{Role: req.Role, EpochId: e.EpochId}}, nil
	} else if err != nil {
		return nil, err
	}
	return &types.QueryRoleAssignmentResponse{Assignment: ra}, nil
}

// Topology returns the epoch and every node with a role, in role order.
func (q querier) Topology(ctx context.Context, _ *types.QueryTopologyRequest) (*types.QueryTopologyResponse, error) {
	es, err := q.epochStatus(ctx)
	if err != nil {
		return nil, err
	}
	resp := &types.QueryTopologyResponse{Epoch: *es}
	for _, role := range types.AllRoles {
		ra, err := q.RoleAssignments.Get(ctx, int32(role))
		if errorsmod.IsOf(err, collections.ErrNotFound) {
			continue
		} else if err != nil {
			return nil, err
		}
		for _, id := range ra.NodeIds {
			n, err := q.Keeper.Nodes.Get(ctx, id)
			if err != nil {
				return nil, err
			}
			resp.Nodes = append(resp.Nodes, types.TopologyNode{
				NodeId: id, Role: role, IdentityKey: n.IdentityKey, SphinxKey: n.SphinxKey, NextSphinxKey: n.NextSphinxKey,
				Host: n.Host, MixPort: n.MixPort, ClientsPort: n.ClientsPort, HttpPort: n.HttpPort, Performance: n.Performance,
			})
		}
	}
	return resp, nil
}

// RewardPool returns the pool and this interval's reward constants.
func (q querier) RewardPool(ctx context.Context, _ *types.QueryRewardPoolRequest) (*types.QueryRewardPoolResponse, error) {
	pool, err := q.Keeper.RewardPool.Get(ctx)
	if err != nil {
		return nil, err
	}
	ir, err := q.IntervalRewarding.Get(ctx)
	if err != nil {
		return nil, err
	}
	iv, err := ir.Interval()
	if err != nil {
		return nil, err
	}
	return &types.QueryRewardPoolResponse{RewardPool: pool, IntervalRewarding: ir, EpochBudget: iv.EpochBudget(), StakeSaturationPoint: iv.SaturationPoint()}, nil
}

// SigningNonce returns the nonce an owner's next bond signature must cover.
func (q querier) SigningNonce(ctx context.Context, req *types.QuerySigningNonceRequest) (*types.QuerySigningNonceResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	addr, err := q.parseAddress("address", req.Address)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	n, err := q.Keeper.SigningNonces.Get(ctx, addr)
	if err != nil && !errorsmod.IsOf(err, collections.ErrNotFound) {
		return nil, err
	}
	return &types.QuerySigningNonceResponse{Nonce: n}, nil
}

// Service returns one entry of the service directory.
func (q querier) Service(ctx context.Context, req *types.QueryServiceRequest) (*types.QueryServiceResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	s, err := q.Keeper.Services.Get(ctx, req.ServiceId)
	if err != nil {
		return nil, notFound(err, "service %d not found", req.ServiceId)
	}
	return &types.QueryServiceResponse{Service: s}, nil
}

// ServiceByAddress returns the directory's entry for a client address.
func (q querier) ServiceByAddress(ctx context.Context, req *types.QueryServiceByAddressRequest) (*types.QueryServiceResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	if len(req.NymAddress) > types.MaxNymAddressLength {
		return nil, status.Errorf(codes.InvalidArgument, "address is longer than %d characters", types.MaxNymAddressLength)
	}
	id, err := q.Keeper.ServiceByAddress.Get(ctx, req.NymAddress)
	if err != nil {
		return nil, notFound(err, "no service at %s", req.NymAddress)
	}
	s, err := q.Keeper.Services.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return &types.QueryServiceResponse{Service: s}, nil
}

// Services lists the service directory by id, all of it or one kind.
func (q querier) Services(ctx context.Context, req *types.QueryServicesRequest) (*types.QueryServicesResponse, error) {
	if req == nil {
		return nil, status.Error(codes.InvalidArgument, "empty request")
	}
	if req.Kind == "" {
		ss, page, err := query.CollectionPaginate(ctx, q.Keeper.Services, req.Pagination,
			func(_ uint64, s types.Service) (types.Service, error) { return s, nil })
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		return &types.QueryServicesResponse{Services: ss, Pagination: page}, nil
	}
	if err := types.ValidateServiceKind(req.Kind); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	ss, page, err := query.CollectionPaginate(ctx, q.ServicesByKind, req.Pagination,
		func(key collections.Pair[string, uint64], _ collections.NoValue) (types.Service, error) {
			return q.Keeper.Services.Get(ctx, key.K2())
		},
		query.WithCollectionPaginationPairPrefix[string, uint64](req.Kind))
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	return &types.QueryServicesResponse{Services: ss, Pagination: page}, nil
}
