package keeper_test

import (
	"crypto/ed25519"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

func TestBondNode(t *testing.T) {
	f := newFixture(t, 0)
	owner := f.account("alice", 10_000)
	m := f.bondMsg(1, owner, 5_000)
	resp, err := f.msg.BondNode(f.ctx, m)
	require.NoError(t, err)
	require.Equal(t, uint64(1), resp.NodeId)
	require.Equal(t, math.NewInt(5_000), f.balance(owner))
	require.Equal(t, math.NewInt(5_000), f.balance(f.k.ModuleAddress()))
	n, err := f.k.Nodes.Get(f.ctx, 1)
	require.NoError(t, err)
	require.Equal(t, m.Owner, n.Owner)
	require.Equal(t, m.IdentityKey, n.IdentityKey)
	require.True(t, n.Performance.Equal(math.LegacyOneDec()))
	nonce, err := f.k.SigningNonces.Get(f.ctx, owner)
	require.NoError(t, err)
	require.Equal(t, uint64(1), nonce)
	f.checkInvariants()
}

func TestBondNodeRejects(t *testing.T) {
	f := newFixture(t, 0)
	bonded := f.bond(1, 5_000)
	owner := f.account("bob", 100_000)

	tests := []struct {
		name   string
		mutate func(*types.MsgBondNode)
		err    error
	}{
		{"bad signature", func(m *types.MsgBondNode) { m.Signature[0] ^= 1 }, types.ErrInvalidSignature},
		{"signature by another key", func(m *types.MsgBondNode) {
			m.Signature = types.SignBond(nodeKey(99), m.BondPayload(testChainID, 0))
		}, types.ErrInvalidSignature},
		{"signature over a stale nonce", func(m *types.MsgBondNode) {
			m.Signature = types.SignBond(nodeKey(2), m.BondPayload(testChainID, 7))
		}, types.ErrInvalidSignature},
		{"signature for another chain", func(m *types.MsgBondNode) {
			m.Signature = types.SignBond(nodeKey(2), m.BondPayload("other-chain", 0))
		}, types.ErrInvalidSignature},
		{"short identity key", func(m *types.MsgBondNode) { m.IdentityKey = m.IdentityKey[:31] }, types.ErrInvalidKey},
		{"zero sphinx key", func(m *types.MsgBondNode) { m.SphinxKey = make([]byte, 32) }, types.ErrInvalidKey},
		{"duplicate identity", func(m *types.MsgBondNode) {
			key := nodeKey(1)
			m.IdentityKey = key.Public().(ed25519.PublicKey)
			m.Signature = types.SignBond(key, m.BondPayload(testChainID, 0))
		}, types.ErrDuplicateIdentity},
		{"duplicate host and port", func(m *types.MsgBondNode) {
			m.Host = "NODE1.example.net"
			m.Signature = types.SignBond(nodeKey(2), m.BondPayload(testChainID, 0))
		}, types.ErrDuplicateHostPort},
		{"pledge below minimum", func(m *types.MsgBondNode) { m.Pledge = coin(999) }, types.ErrPledgeBelowMinimum},
		{"wrong denom", func(m *types.MsgBondNode) { m.Pledge = sdk.NewInt64Coin("unyx", 5_000) }, types.ErrInvalidAmount},
		{"same ports", func(m *types.MsgBondNode) { m.HttpPort = m.MixPort }, types.ErrInvalidHost},
		{"bad host", func(m *types.MsgBondNode) { m.Host = "no spaces.example" }, types.ErrInvalidHost},
		{"profit margin above one", func(m *types.MsgBondNode) { m.ProfitMargin = math.LegacyNewDec(2) }, types.ErrInvalidCostParams},
		{"operating cost in another denom", func(m *types.MsgBondNode) { m.IntervalOperatingCost = sdk.NewInt64Coin("unyx", 1) }, types.ErrInvalidCostParams},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := f.bondMsg(2, owner, 5_000)
			tc.mutate(m)
			before := f.balance(owner)
			_, err := f.msg.BondNode(f.ctx, m)
			require.ErrorIs(t, err, tc.err)
			require.Equal(t, before, f.balance(owner), "nothing may change")
			_, err = f.k.NodeByOwner.Get(f.ctx, owner)
			require.Error(t, err)
		})
	}
	// One node per owner.
	_, err := f.msg.BondNode(f.ctx, f.bondMsg(3, bonded.owner, 5_000))
	require.ErrorIs(t, err, types.ErrOwnerHasNode)
	f.checkInvariants()
}

func TestBondSignatureCannotBeReplayedAfterUnbond(t *testing.T) {
	f := newFixture(t, 0)
	owner := f.account("carol", 20_000)
	m := f.bondMsg(1, owner, 5_000)
	_, err := f.msg.BondNode(f.ctx, m)
	require.NoError(t, err)
	_, err = f.msg.UnbondNode(f.ctx, &types.MsgUnbondNode{Owner: m.Owner})
	require.NoError(t, err)
	f.nextEpoch()
	require.Equal(t, math.NewInt(20_000), f.balance(owner), "unbonding returns the pledge")
	_, err = f.msg.BondNode(f.ctx, m)
	require.ErrorIs(t, err, types.ErrInvalidSignature)
	_, err = f.msg.BondNode(f.ctx, f.bondMsg(1, owner, 5_000))
	require.NoError(t, err, "a fresh signature over the new nonce bonds again")
}

func TestDelegateAndUndelegate(t *testing.T) {
	f := newFixture(t, 0)
	n := f.bond(1, 5_000)
	d := f.account("dave", 10_000)
	ds := f.addr(d)

	_, err := f.msg.Delegate(f.ctx, &types.MsgDelegate{Delegator: ds, NodeId: n.id, Amount: coin(4_000)})
	require.NoError(t, err)
	require.Equal(t, math.NewInt(6_000), f.balance(d))
	_, err = f.k.Delegations.Get(f.ctx, pair(n.id, d))
	require.Error(t, err, "a delegation applies at the epoch boundary")
	f.checkInvariants()
	f.nextEpoch()
	del, err := f.k.Delegations.Get(f.ctx, pair(n.id, d))
	require.NoError(t, err)
	require.Equal(t, coin(4_000), del.Amount)

	_, err = f.msg.Undelegate(f.ctx, &types.MsgUndelegate{Delegator: ds, NodeId: n.id, Amount: coin(4_001)})
	require.ErrorIs(t, err, types.ErrInsufficientDelegation)
	_, err = f.msg.Undelegate(f.ctx, &types.MsgUndelegate{Delegator: ds, NodeId: 77, Amount: coin(1)})
	require.ErrorIs(t, err, types.ErrDelegationNotFound)
	_, err = f.msg.Delegate(f.ctx, &types.MsgDelegate{Delegator: ds, NodeId: 77, Amount: coin(1)})
	require.ErrorIs(t, err, types.ErrNodeNotFound)
	_, err = f.msg.Delegate(f.ctx, &types.MsgDelegate{Delegator: ds, NodeId: n.id, Amount: coin(0)})
	require.ErrorIs(t, err, types.ErrInvalidAmount)

	_, err = f.msg.Undelegate(f.ctx, &types.MsgUndelegate{Delegator: ds, NodeId: n.id, Amount: coin(1_500)})
	require.NoError(t, err)
	f.nextEpoch()
	del, err = f.k.Delegations.Get(f.ctx, pair(n.id, d))
	require.NoError(t, err)
	require.Equal(t, coin(2_500), del.Amount)
	require.Equal(t, math.NewInt(7_500), f.balance(d))

	_, err = f.msg.Undelegate(f.ctx, &types.MsgUndelegate{Delegator: ds, NodeId: n.id, Amount: coin(2_500)})
	require.NoError(t, err)
	f.nextEpoch()
	_, err = f.k.Delegations.Get(f.ctx, pair(n.id, d))
	require.Error(t, err)
	has, err := f.k.DelegatorIndex.Has(f.ctx, pair2(d, n.id))
	require.NoError(t, err)
	require.False(t, has)
	require.Equal(t, math.NewInt(10_000), f.balance(d))
}

func TestDelegateToUnbondingNode(t *testing.T) {
	f := newFixture(t, 0)
	n := f.bond(1, 5_000)
	d := f.account("erin", 10_000)
	_, err := f.msg.Delegate(f.ctx, &types.MsgDelegate{Delegator: f.addr(d), NodeId: n.id, Amount: coin(1_000)})
	require.NoError(t, err)
	_, err = f.msg.UnbondNode(f.ctx, &types.MsgUnbondNode{Owner: f.addr(n.owner)})
	require.NoError(t, err)
	_, err = f.msg.Delegate(f.ctx, &types.MsgDelegate{Delegator: f.addr(d), NodeId: n.id, Amount: coin(1_000)})
	require.ErrorIs(t, err, types.ErrNodeUnbonding)
	_, err = f.msg.UnbondNode(f.ctx, &types.MsgUnbondNode{Owner: f.addr(n.owner)})
	require.ErrorIs(t, err, types.ErrNodeUnbonding)
	f.nextEpoch()
	require.Equal(t, math.NewInt(10_000), f.balance(d), "the queued delegation is refunded")
	require.Equal(t, math.NewInt(5_000), f.balance(n.owner))
	_, err = f.msg.Delegate(f.ctx, &types.MsgDelegate{Delegator: f.addr(d), NodeId: n.id, Amount: coin(1_000)})
	require.ErrorIs(t, err, types.ErrNodeNotFound, "delegating to an unbonded node")
	require.True(t, f.balance(f.k.ModuleAddress()).IsZero())
}

func TestPledgeChanges(t *testing.T) {
	f := newFixture(t, 0)
	n := f.bond(1, 5_000)
	f.mint(n.owner, 3_000)
	owner := f.addr(n.owner)
	_, err := f.msg.PledgeMore(f.ctx, &types.MsgPledgeMore{Owner: owner, Amount: coin(3_000)})
	require.NoError(t, err)
	f.checkInvariants()
	f.nextEpoch()
	node, _ := f.k.Nodes.Get(f.ctx, n.id)
	require.Equal(t, coin(8_000), node.Pledge)

	_, err = f.msg.DecreasePledge(f.ctx, &types.MsgDecreasePledge{Owner: owner, Amount: coin(7_001)})
	require.ErrorIs(t, err, types.ErrPledgeBelowMinimum)
	_, err = f.msg.DecreasePledge(f.ctx, &types.MsgDecreasePledge{Owner: owner, Amount: coin(7_000)})
	require.NoError(t, err)
	f.nextEpoch()
	node, _ = f.k.Nodes.Get(f.ctx, n.id)
	require.Equal(t, coin(1_000), node.Pledge)
	require.Equal(t, math.NewInt(7_000), f.balance(n.owner))

	stranger := f.account("stranger", 1_000)
	_, err = f.msg.PledgeMore(f.ctx, &types.MsgPledgeMore{Owner: f.addr(stranger), Amount: coin(1)})
	require.ErrorIs(t, err, types.ErrNodeNotFound)
}

func TestUpdateNodeConfigAndKeyRotation(t *testing.T) {
	f := newFixture(t, 0)
	n := f.bond(1, 5_000)
	f.bond(2, 5_000)
	owner := f.addr(n.owner)
	_, err := f.msg.UpdateNodeConfig(f.ctx, &types.MsgUpdateNodeConfig{Owner: owner, Host: "node2.example.net"})
	require.ErrorIs(t, err, types.ErrDuplicateHostPort)
	_, err = f.msg.UpdateNodeConfig(f.ctx, &types.MsgUpdateNodeConfig{Owner: owner})
	require.ErrorIs(t, err, types.ErrInvalidHost)
	next := sphinxKey(1, 1)
	_, err = f.msg.UpdateNodeConfig(f.ctx, &types.MsgUpdateNodeConfig{Owner: owner, Host: "10.0.0.1", MixPort: 1790, NextSphinxKey: next})
	require.NoError(t, err)
	node, _ := f.k.Nodes.Get(f.ctx, n.id)
	require.Equal(t, "10.0.0.1", node.Host)
	require.Equal(t, uint32(1790), node.MixPort)
	require.Equal(t, next, node.NextSphinxKey)
	// The old host:port is free again, the new one taken.
	_, err = f.k.NodeByHostPort.Get(f.ctx, "node1.example.net:1789")
	require.Error(t, err)
	id, err := f.k.NodeByHostPort.Get(f.ctx, "10.0.0.1:1790")
	require.NoError(t, err)
	require.Equal(t, n.id, id)
	f.nextEpoch()
	node, _ = f.k.Nodes.Get(f.ctx, n.id)
	require.Equal(t, next, node.SphinxKey)
	require.Empty(t, node.NextSphinxKey)
}

func TestUpdateCostParamsAppliesAtInterval(t *testing.T) {
	f := newFixture(t, 0)
	n := f.bond(1, 5_000)
	cp := types.CostParams{ProfitMargin: math.LegacyNewDecWithPrec(5, 1), IntervalOperatingCost: coin(10)}
	_, err := f.msg.UpdateCostParams(f.ctx, &types.MsgUpdateCostParams{Owner: f.addr(n.owner)})
	require.ErrorIs(t, err, types.ErrInvalidCostParams, "nothing to update")
	_, err = f.msg.UpdateCostParams(f.ctx, &types.MsgUpdateCostParams{Owner: f.addr(n.owner), ProfitMargin: math.LegacyNewDecWithPrec(11, 1)})
	require.ErrorIs(t, err, types.ErrInvalidCostParams)
	_, err = f.msg.UpdateCostParams(f.ctx, &types.MsgUpdateCostParams{Owner: f.addr(n.owner), ProfitMargin: math.LegacyNewDecWithPrec(9, 1)})
	require.NoError(t, err)
	// A later update of only the cost keeps the margin of the node's current params.
	_, err = f.msg.UpdateCostParams(f.ctx, &types.MsgUpdateCostParams{Owner: f.addr(n.owner), IntervalOperatingCost: coin(10)})
	require.NoError(t, err)
	cp.ProfitMargin = types.DefaultCostParams().ProfitMargin
	for i := 0; i < 3; i++ { // epochs 1..3 of a 4-epoch interval
		f.nextEpoch()
		node, _ := f.k.Nodes.Get(f.ctx, n.id)
		require.True(t, node.CostParams.ProfitMargin.Equal(types.DefaultCostParams().ProfitMargin), "epoch %d", i+1)
	}
	f.nextEpoch()
	node, _ := f.k.Nodes.Get(f.ctx, n.id)
	require.Equal(t, cp, node.CostParams)
	e, _ := f.k.Epoch.Get(f.ctx)
	require.Equal(t, uint64(1), e.IntervalId)
	require.Equal(t, uint32(0), e.EpochInInterval)
}

func TestSubmitPerformance(t *testing.T) {
	f := newFixture(t, 0, withMonitor)
	n := f.bond(1, 5_000)
	mon := f.addr(f.monitor)
	report := func(p string) []types.NodePerformance {
		return []types.NodePerformance{{NodeId: n.id, Performance: math.LegacyMustNewDecFromStr(p)}}
	}
	_, err := f.msg.SubmitPerformance(f.ctx, &types.MsgSubmitPerformance{Monitor: f.addr(n.owner), Reports: report("0.9")})
	require.ErrorIs(t, err, types.ErrNotMonitor)
	_, err = f.msg.SubmitPerformance(f.ctx, &types.MsgSubmitPerformance{Monitor: mon, Reports: report("1.1")})
	require.ErrorIs(t, err, types.ErrInvalidPerformance)
	_, err = f.msg.SubmitPerformance(f.ctx, &types.MsgSubmitPerformance{Monitor: mon, Reports: report("-0.1")})
	require.ErrorIs(t, err, types.ErrInvalidPerformance)
	_, err = f.msg.SubmitPerformance(f.ctx, &types.MsgSubmitPerformance{Monitor: mon, EpochId: 5, Reports: report("0.9")})
	require.ErrorIs(t, err, types.ErrWrongEpoch)
	_, err = f.msg.SubmitPerformance(f.ctx, &types.MsgSubmitPerformance{Monitor: mon, Reports: []types.NodePerformance{{NodeId: 42, Performance: math.LegacyOneDec()}}})
	require.ErrorIs(t, err, types.ErrNodeNotFound)
	_, err = f.msg.SubmitPerformance(f.ctx, &types.MsgSubmitPerformance{Monitor: mon, Reports: report("0.75")})
	require.NoError(t, err)
	f.nextEpoch()
	node, _ := f.k.Nodes.Get(f.ctx, n.id)
	require.Equal(t, "0.750000000000000000", node.Performance.String())
	has, err := f.k.PerformanceReports.Has(f.ctx, pair(n.id, f.monitor))
	require.NoError(t, err)
	require.False(t, has, "reports are cleared at the epoch boundary")
}

func TestUpdateParamsAndFundPool(t *testing.T) {
	f := newFixture(t, 0)
	p := types.DefaultParams()
	p.EpochsPerInterval = 10
	_, err := f.msg.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.addr(f.monitor), Params: p})
	require.ErrorIs(t, err, types.ErrInvalidAuthority)
	bad := p
	bad.EpochsPerInterval = 0
	_, err = f.msg.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.authority, Params: bad})
	require.ErrorIs(t, err, types.ErrInvalidParams)
	bad = p
	bad.NetworkMonitors = []string{"cosmos1notours"}
	_, err = f.msg.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.authority, Params: bad})
	require.ErrorIs(t, err, types.ErrInvalidParams)
	_, err = f.msg.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.authority, Params: p})
	require.NoError(t, err)
	got, _ := f.k.Params.Get(f.ctx)
	require.Equal(t, uint32(10), got.EpochsPerInterval)

	funder := f.account("funder", 50_000)
	_, err = f.msg.FundRewardPool(f.ctx, &types.MsgFundRewardPool{Sender: f.addr(funder), Amount: coin(30_000)})
	require.NoError(t, err)
	pool, _ := f.k.RewardPool.Get(f.ctx)
	require.Equal(t, math.NewInt(30_000), pool)
	_, err = f.msg.FundRewardPool(f.ctx, &types.MsgFundRewardPool{Sender: f.addr(funder), Amount: coin(30_000)})
	require.Error(t, err, "insufficient funds")
	f.checkInvariants()
}

func TestRewardsAndWithdrawals(t *testing.T) {
	f := newFixture(t, 1_000_000_000_000)
	n := f.bond(1, 100_000_000)
	d := f.account("frank", 50_000_000)
	_, err := f.msg.WithdrawOperatorReward(f.ctx, &types.MsgWithdrawOperatorReward{Owner: f.addr(n.owner)})
	require.ErrorIs(t, err, types.ErrNoReward)
	_, err = f.msg.Delegate(f.ctx, &types.MsgDelegate{Delegator: f.addr(d), NodeId: n.id, Amount: coin(50_000_000)})
	require.NoError(t, err)
	f.nextEpoch() // delegation applied, node drawn
	f.nextEpoch() // node rewarded for an epoch with its delegation
	node, _ := f.k.Nodes.Get(f.ctx, n.id)
	require.True(t, node.OperatorReward.IsPositive())
	require.True(t, node.DelegatorPool.IsPositive())

	resp, err := f.msg.WithdrawOperatorReward(f.ctx, &types.MsgWithdrawOperatorReward{Owner: f.addr(n.owner)})
	require.NoError(t, err)
	require.Equal(t, node.OperatorReward, resp.Amount.Amount)
	require.Equal(t, node.OperatorReward, f.balance(n.owner))

	pending, err := f.q.PendingDelegatorReward(f.ctx, &types.QueryPendingDelegatorRewardRequest{NodeId: n.id, Delegator: f.addr(d)})
	require.NoError(t, err)
	require.True(t, pending.Amount.IsPositive())
	dr, err := f.msg.WithdrawDelegatorReward(f.ctx, &types.MsgWithdrawDelegatorReward{Delegator: f.addr(d), NodeId: n.id})
	require.NoError(t, err)
	require.Equal(t, pending.Amount, dr.Amount)
	require.Equal(t, pending.Amount.Amount, f.balance(d))
	_, err = f.msg.WithdrawDelegatorReward(f.ctx, &types.MsgWithdrawDelegatorReward{Delegator: f.addr(d), NodeId: n.id})
	require.ErrorIs(t, err, types.ErrNoReward)
	f.checkInvariants()
}
