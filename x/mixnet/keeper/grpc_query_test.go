package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

func TestQueries(t *testing.T) {
	f := newFixture(t, 1_000_000_000_000)
	var nodes []testNode
	for i := range 7 {
		nodes = append(nodes, f.bond(i, 100_000_000))
	}
	d := f.account("hank", 1_000_000_000)
	ds := f.addr(d)
	for _, n := range nodes[:3] {
		_, err := f.msg.Delegate(f.ctx, &types.MsgDelegate{Delegator: ds, NodeId: n.id, Amount: coin(10_000_000)})
		require.NoError(t, err)
	}
	f.nextEpoch()
	f.nextEpoch()

	p, err := f.q.Params(f.ctx, &types.QueryParamsRequest{})
	require.NoError(t, err)
	require.Equal(t, uint32(4), p.Params.EpochsPerInterval)

	n0 := nodes[0]
	byID, err := f.q.Node(f.ctx, &types.QueryNodeRequest{NodeId: n0.id})
	require.NoError(t, err)
	require.Equal(t, f.addr(n0.owner), byID.Node.Owner)
	_, err = f.q.Node(f.ctx, &types.QueryNodeRequest{NodeId: 999})
	require.Equal(t, codes.NotFound, status.Code(err))
	byKey, err := f.q.NodeByIdentity(f.ctx, &types.QueryNodeByIdentityRequest{IdentityKey: byID.Node.IdentityKey})
	require.NoError(t, err)
	require.Equal(t, byID, byKey)
	_, err = f.q.NodeByIdentity(f.ctx, &types.QueryNodeByIdentityRequest{IdentityKey: []byte{1}})
	require.Equal(t, codes.InvalidArgument, status.Code(err))
	byOwner, err := f.q.NodeByOwner(f.ctx, &types.QueryNodeByOwnerRequest{Owner: f.addr(n0.owner)})
	require.NoError(t, err)
	require.Equal(t, byID, byOwner)
	_, err = f.q.NodeByOwner(f.ctx, &types.QueryNodeByOwnerRequest{Owner: "not-an-address"})
	require.Equal(t, codes.InvalidArgument, status.Code(err))

	all, err := f.q.Nodes(f.ctx, &types.QueryNodesRequest{Pagination: &query.PageRequest{Limit: 5, CountTotal: true}})
	require.NoError(t, err)
	require.Len(t, all.Nodes, 5)
	require.Equal(t, uint64(7), all.Pagination.Total)
	rest, err := f.q.Nodes(f.ctx, &types.QueryNodesRequest{Pagination: &query.PageRequest{Key: all.Pagination.NextKey}})
	require.NoError(t, err)
	require.Len(t, rest.Nodes, 2)

	// Roles: 1 entry, 1 exit, 3 mix nodes (one per layer), 1 standby of 7 nodes.
	withRole := 0
	for _, role := range types.AllRoles {
		ra, err := f.q.RoleAssignment(f.ctx, &types.QueryRoleAssignmentRequest{Role: role})
		require.NoError(t, err)
		require.Len(t, ra.Assignment.NodeIds, 1, "role %s", role)
		byRole, err := f.q.Nodes(f.ctx, &types.QueryNodesRequest{Role: role})
		require.NoError(t, err)
		require.Len(t, byRole.Nodes, 1)
		require.Equal(t, ra.Assignment.NodeIds[0], byRole.Nodes[0].NodeId)
		got, err := f.q.Node(f.ctx, &types.QueryNodeRequest{NodeId: ra.Assignment.NodeIds[0]})
		require.NoError(t, err)
		require.Equal(t, role, got.Role)
		withRole++
	}
	_, err = f.q.RoleAssignment(f.ctx, &types.QueryRoleAssignmentRequest{Role: types.RoleUnspecified})
	require.Equal(t, codes.InvalidArgument, status.Code(err))

	topo, err := f.q.Topology(f.ctx, &types.QueryTopologyRequest{})
	require.NoError(t, err)
	require.Len(t, topo.Nodes, withRole)
	require.Equal(t, uint64(2), topo.Epoch.EpochId)
	require.Equal(t, topo.Epoch.Start.Add(p.Params.EpochDuration), topo.Epoch.End)
	for _, tn := range topo.Nodes {
		require.Len(t, tn.IdentityKey, 32)
		require.Len(t, tn.SphinxKey, 32)
		require.NotEmpty(t, tn.Host)
	}

	es, err := f.q.EpochStatus(f.ctx, &types.QueryEpochStatusRequest{})
	require.NoError(t, err)
	require.Equal(t, topo.Epoch, *es)

	del, err := f.q.Delegation(f.ctx, &types.QueryDelegationRequest{NodeId: n0.id, Delegator: ds})
	require.NoError(t, err)
	require.Equal(t, coin(10_000_000), del.Delegation.Amount)
	_, err = f.q.Delegation(f.ctx, &types.QueryDelegationRequest{NodeId: nodes[5].id, Delegator: ds})
	require.Equal(t, codes.NotFound, status.Code(err))
	nd, err := f.q.NodeDelegations(f.ctx, &types.QueryNodeDelegationsRequest{NodeId: n0.id})
	require.NoError(t, err)
	require.Len(t, nd.Delegations, 1)
	dd, err := f.q.DelegatorDelegations(f.ctx, &types.QueryDelegatorDelegationsRequest{Delegator: ds, Pagination: &query.PageRequest{Limit: 2}})
	require.NoError(t, err)
	require.Len(t, dd.Delegations, 2)
	require.NotEmpty(t, dd.Pagination.NextKey)

	for _, n := range nodes[:3] {
		node, _ := f.k.Nodes.Get(f.ctx, n.id)
		op, err := f.q.PendingOperatorReward(f.ctx, &types.QueryPendingOperatorRewardRequest{NodeId: n.id})
		require.NoError(t, err)
		require.Equal(t, node.OperatorReward, op.Amount.Amount)
		dr, err := f.q.PendingDelegatorReward(f.ctx, &types.QueryPendingDelegatorRewardRequest{NodeId: n.id, Delegator: ds})
		require.NoError(t, err)
		require.True(t, dr.Amount.Amount.LTE(node.DelegatorPool))
	}

	pool, err := f.q.RewardPool(f.ctx, &types.QueryRewardPoolRequest{})
	require.NoError(t, err)
	require.True(t, pool.RewardPool.LT(math.NewInt(1_000_000_000_000)))
	require.True(t, pool.EpochBudget.IsPositive())
	sat, err := f.q.StakeSaturation(f.ctx, &types.QueryStakeSaturationRequest{NodeId: n0.id})
	require.NoError(t, err)
	// The fixture's interval began before any stake existed (zero saturation point:
	// every staked node counts as saturated); run to the next interval for a real one.
	require.True(t, pool.StakeSaturationPoint.IsZero())
	require.True(t, sat.UncappedSaturation.Equal(math.LegacyOneDec()))
	f.nextEpoch()
	f.nextEpoch()
	pool, err = f.q.RewardPool(f.ctx, &types.QueryRewardPoolRequest{})
	require.NoError(t, err)
	require.True(t, pool.StakeSaturationPoint.IsPositive())
	sat, err = f.q.StakeSaturation(f.ctx, &types.QueryStakeSaturationRequest{NodeId: n0.id})
	require.NoError(t, err)
	want := math.LegacyNewDec(110_000_000).Quo(pool.StakeSaturationPoint)
	require.True(t, sat.UncappedSaturation.Sub(want).Abs().LT(math.LegacyNewDecWithPrec(1, 12)), "saturation %s, want %s", sat.UncappedSaturation, want)
	require.True(t, sat.Saturation.LTE(math.LegacyOneDec()))

	nonce, err := f.q.SigningNonce(f.ctx, &types.QuerySigningNonceRequest{Address: f.addr(n0.owner)})
	require.NoError(t, err)
	require.Equal(t, uint64(1), nonce.Nonce)
	nonce, err = f.q.SigningNonce(f.ctx, &types.QuerySigningNonceRequest{Address: ds})
	require.NoError(t, err)
	require.Equal(t, uint64(0), nonce.Nonce)
}
