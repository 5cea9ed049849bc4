package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

func TestGenesisExportImportRoundTrip(t *testing.T) {
	f := newFixture(t, 1_000_000_000_000, withMonitor)
	a := f.bond(1, 100_000_000)
	b := f.bond(2, 200_000_000)
	d := f.account("gina", 500_000_000)
	_, err := f.msg.Delegate(f.ctx, &types.MsgDelegate{Delegator: f.addr(d), NodeId: a.id, Amount: coin(100_000_000)})
	require.NoError(t, err)
	f.nextEpoch()
	f.nextEpoch()
	// Leave something in every queue.
	_, err = f.msg.Delegate(f.ctx, &types.MsgDelegate{Delegator: f.addr(d), NodeId: b.id, Amount: coin(5_000)})
	require.NoError(t, err)
	_, err = f.msg.UpdateCostParams(f.ctx, &types.MsgUpdateCostParams{Owner: f.addr(b.owner), ProfitMargin: math.LegacyNewDecWithPrec(3, 1)})
	require.NoError(t, err)
	_, err = f.msg.Undelegate(f.ctx, &types.MsgUndelegate{Delegator: f.addr(d), NodeId: a.id, Amount: coin(40_000_000)})
	require.NoError(t, err)
	_, err = f.msg.SubmitPerformance(f.ctx, &types.MsgSubmitPerformance{Monitor: f.addr(f.monitor), EpochId: 2,
		Reports: []types.NodePerformance{{NodeId: a.id, Performance: math.LegacyMustNewDecFromStr("0.5")}}})
	require.NoError(t, err)

	exported, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.NoError(t, exported.Validate())
	require.NotEmpty(t, exported.Nodes)
	require.NotEmpty(t, exported.Delegations)
	require.NotEmpty(t, exported.EpochEvents)
	require.NotEmpty(t, exported.IntervalEvents)
	require.NotEmpty(t, exported.RoleAssignments)
	require.NotEmpty(t, exported.PerformanceReports)
	require.NotEmpty(t, exported.SigningNonces)

	// A fresh chain whose module account holds the same coins imports it.
	g := newFixture(t, f.balance(f.k.ModuleAddress()).Int64(), func(_ *fixture, gs *types.GenesisState) { *gs = *exported })
	reexported, err := g.k.ExportGenesis(g.ctx)
	require.NoError(t, err)
	require.Equal(t, exported, reexported)
	g.checkInvariants()
	// The indexes derived from the queues are rebuilt: the queued undelegation still
	// counts, and a new cost-param change still replaces the queued one.
	pending, err := g.k.PendingUndelegations.Get(g.ctx, pair(a.id, d))
	require.NoError(t, err)
	require.Equal(t, math.NewInt(40_000_000), pending)
	_, err = g.msg.Undelegate(g.ctx, &types.MsgUndelegate{Delegator: g.addr(d), NodeId: a.id, Amount: coin(60_000_001)})
	require.ErrorIs(t, err, types.ErrInsufficientDelegation)
	queued, err := g.k.IntervalEventByNode.Get(g.ctx, b.id)
	require.NoError(t, err)
	require.Equal(t, exported.IntervalEvents[0].Id, queued)

	// Both chains go on identically from the same block.
	g.height = f.height
	f.nextEpoch()
	g.nextEpoch()
	e1, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	e2, err := g.k.ExportGenesis(g.ctx)
	require.NoError(t, err)
	require.Equal(t, e1, e2)
}

func TestInitGenesisRejectsUnfundedState(t *testing.T) {
	f := newFixture(t, 0)
	f.bond(1, 5_000)
	exported, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	g := newFixture(t, 0)
	err = g.k.InitGenesis(g.ctx, exported)
	require.ErrorIs(t, err, types.ErrInvalidGenesis, "the module account does not hold the pledge")
}

func TestGenesisValidate(t *testing.T) {
	f := newFixture(t, 0)
	f.bond(1, 5_000)
	f.bond(2, 5_000)
	good, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.NoError(t, good.Validate())
	require.NoError(t, types.DefaultGenesisState().Validate())

	cases := map[string]func(gs *types.GenesisState){
		"duplicate node id":    func(gs *types.GenesisState) { gs.Nodes[1].NodeId = gs.Nodes[0].NodeId },
		"node id past next":    func(gs *types.GenesisState) { gs.NextNodeId = 2 },
		"duplicate identity":   func(gs *types.GenesisState) { gs.Nodes[1].IdentityKey = gs.Nodes[0].IdentityKey },
		"duplicate owner":      func(gs *types.GenesisState) { gs.Nodes[1].Owner = gs.Nodes[0].Owner },
		"duplicate host port":  func(gs *types.GenesisState) { gs.Nodes[1].Host = gs.Nodes[0].Host },
		"bad pledge":           func(gs *types.GenesisState) { gs.Nodes[0].Pledge = coin(0) },
		"delegations mismatch": func(gs *types.GenesisState) { gs.Nodes[0].Delegations = math.NewInt(5) },
		"negative pool":        func(gs *types.GenesisState) { gs.RewardPool = math.NewInt(-1) },
		"bad params":           func(gs *types.GenesisState) { gs.Params.EpochsPerInterval = 0 },
		"role for unknown node": func(gs *types.GenesisState) {
			gs.RoleAssignments = []types.RoleAssignment{{Role: types.RoleStandby, NodeIds: []uint64{9}}}
		},
		"delegation to no node": func(gs *types.GenesisState) {
			gs.Delegations = []types.Delegation{{NodeId: 9, Delegator: "x", Amount: coin(1), UnitReward: math.LegacyZeroDec()}}
		},
		"event without kind":       func(gs *types.GenesisState) { gs.NextEventId = 5; gs.EpochEvents = []types.EpochEvent{{Id: 1}} },
		"performance out of range": func(gs *types.GenesisState) { gs.Nodes[0].Performance = math.LegacyNewDec(2) },
		"due event past next":      func(gs *types.GenesisState) { gs.Epoch.DueEventId = gs.NextEventId },
		"host spellings collide": func(gs *types.GenesisState) {
			gs.Nodes[0].Host, gs.Nodes[1].Host = "10.0.0.1", "::ffff:10.0.0.1"
		},
		"weak sphinx key": func(gs *types.GenesisState) {
			gs.Nodes[0].SphinxKey = append([]byte{1}, make([]byte, 31)...)
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			gs, err := f.k.ExportGenesis(f.ctx)
			require.NoError(t, err)
			mutate(gs)
			require.Error(t, gs.Validate())
		})
	}
}
