package keeper_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

const (
	scenarioNodes      = 30
	scenarioDelegators = 40
	scenarioEpochs     = 12
	scenarioPool       = 10_000_000_000_000
)

// scenario bonds nodes (every third one ten times heavier), delegates, and runs
// epochs with delegation churn and withdrawals, checking the invariants at every
// step. It returns the fixture, the nodes and delegators, the topology of each
// epoch and how often each node was active.
type scenarioResult struct {
	f          *fixture
	nodes      []testNode
	delegators []sdk.AccAddress
	topologies []*types.QueryTopologyResponse
	active     map[uint64]int
	initial    map[string]math.Int
}

func runScenario(t *testing.T) scenarioResult {
	f := newFixture(t, scenarioPool)
	r := scenarioResult{f: f, active: map[uint64]int{}, initial: map[string]math.Int{}}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range scenarioNodes {
		pledge := int64(100_000_000)
		if i%3 == 0 {
			pledge *= 10
		}
		r.nodes = append(r.nodes, f.bond(i, pledge))
		r.initial[string(r.nodes[i].owner)] = math.NewInt(pledge)
	}
	for i := range scenarioDelegators {
		d := f.account(fmt.Sprintf("delegator-%d", i), 1_000_000_000)
		r.delegators = append(r.delegators, d)
		r.initial[string(d)] = math.NewInt(1_000_000_000)
		n := r.nodes[rng.IntN(len(r.nodes))]
		_, err := f.msg.Delegate(f.ctx, &types.MsgDelegate{Delegator: f.addr(d), NodeId: n.id, Amount: coin(int64(1 + rng.IntN(200_000_000)))})
		require.NoError(t, err)
	}
	params, err := f.k.Params.Get(f.ctx)
	require.NoError(t, err)
	for epoch := range scenarioEpochs {
		ir, err := f.k.IntervalRewarding.Get(f.ctx)
		require.NoError(t, err)
		iv, err := ir.Interval()
		require.NoError(t, err)
		poolBefore, _ := f.k.RewardPool.Get(f.ctx)
		f.nextEpoch()
		poolAfter, _ := f.k.RewardPool.Get(f.ctx)
		// Rewards never exceed the epoch budget (dust returned to the pool only helps).
		spent := math.LegacyNewDecFromInt(poolBefore.Sub(poolAfter))
		require.True(t, spent.LTE(iv.EpochBudget()), "epoch %d spent %s, budget %s", epoch, spent, iv.EpochBudget())
		if epoch >= 1 {
			require.True(t, poolAfter.LT(poolBefore), "epoch %d paid no reward", epoch)
		}

		topo, err := f.q.Topology(f.ctx, &types.QueryTopologyRequest{})
		require.NoError(t, err)
		r.topologies = append(r.topologies, topo)
		counts := map[types.Role]int{}
		seen := map[uint64]bool{}
		for _, n := range topo.Nodes {
			require.False(t, seen[n.NodeId], "node %d holds two roles", n.NodeId)
			seen[n.NodeId] = true
			counts[n.Role]++
			if n.Role != types.RoleStandby {
				r.active[n.NodeId]++
			}
		}
		rs := params.RewardedSet
		require.Equal(t, int(rs.EntryGateways), counts[types.RoleEntryGateway])
		require.Equal(t, int(rs.ExitGateways), counts[types.RoleExitGateway])
		require.Equal(t, int(rs.Standby), counts[types.RoleStandby])
		for _, l := range []types.Role{types.RoleMixLayer1, types.RoleMixLayer2, types.RoleMixLayer3} {
			require.Equal(t, int(rs.Mixnodes)/3, counts[l], "layer %s", l)
		}

		// Churn: some delegators top up, some leave part, some withdraw rewards.
		for i, d := range r.delegators {
			ds := f.addr(d)
			switch (i + epoch) % 4 {
			case 0:
				n := r.nodes[rng.IntN(len(r.nodes))]
				_, err := f.msg.Delegate(f.ctx, &types.MsgDelegate{Delegator: ds, NodeId: n.id, Amount: coin(int64(1 + rng.IntN(10_000_000)))})
				require.NoError(t, err)
			case 1:
				resp, err := f.q.DelegatorDelegations(f.ctx, &types.QueryDelegatorDelegationsRequest{Delegator: ds})
				require.NoError(t, err)
				if len(resp.Delegations) > 0 {
					del := resp.Delegations[0]
					amt := del.Amount.Amount.QuoRaw(2).AddRaw(1)
					_, err := f.msg.Undelegate(f.ctx, &types.MsgUndelegate{Delegator: ds, NodeId: del.NodeId, Amount: sdk.NewCoin(types.Denom, amt)})
					require.NoError(t, err)
				}
			case 2:
				resp, err := f.q.DelegatorDelegations(f.ctx, &types.QueryDelegatorDelegationsRequest{Delegator: ds})
				require.NoError(t, err)
				for _, del := range resp.Delegations {
					_, err := f.msg.WithdrawDelegatorReward(f.ctx, &types.MsgWithdrawDelegatorReward{Delegator: ds, NodeId: del.NodeId})
					if err != nil {
						require.ErrorIs(t, err, types.ErrNoReward)
					}
				}
			}
		}
		if epoch%5 == 4 {
			for _, n := range r.nodes[:5] {
				_, err := f.msg.WithdrawOperatorReward(f.ctx, &types.MsgWithdrawOperatorReward{Owner: f.addr(n.owner)})
				if err != nil {
					require.ErrorIs(t, err, types.ErrNoReward)
				}
			}
		}
		f.checkInvariants()
	}
	return r
}

func TestEpochsDeterministicWeightedLayeredAndConserving(t *testing.T) {
	a := runScenario(t)
	b := runScenario(t)
	require.Equal(t, a.topologies, b.topologies, "the same chain history must draw the same roles")

	// Heavier nodes (ten times the pledge) are active more often.
	heavy, light := 0, 0
	for i, n := range a.nodes {
		if i%3 == 0 {
			heavy += a.active[n.id]
		} else {
			light += a.active[n.id]
		}
	}
	heavyPerNode := float64(heavy) / float64(scenarioNodes/3)
	lightPerNode := float64(light) / float64(scenarioNodes-scenarioNodes/3)
	require.Greater(t, heavyPerNode, 1.5*lightPerNode, "heavy %v vs light %v active epochs per node", heavyPerNode, lightPerNode)

	// Everyone leaves: every coin comes back and nothing is created or lost.
	f := a.f
	for _, d := range a.delegators {
		resp, err := f.q.DelegatorDelegations(f.ctx, &types.QueryDelegatorDelegationsRequest{Delegator: f.addr(d)})
		require.NoError(t, err)
		for _, del := range resp.Delegations {
			// What the scenario's last epoch already queued cannot be undelegated twice.
			amount := del.Amount.Amount
			if pending, err := f.k.PendingUndelegations.Get(f.ctx, pair(del.NodeId, d)); err == nil {
				_, err := f.msg.Undelegate(f.ctx, &types.MsgUndelegate{Delegator: f.addr(d), NodeId: del.NodeId, Amount: del.Amount})
				require.ErrorIs(t, err, types.ErrInsufficientDelegation)
				amount = amount.Sub(pending)
			}
			if amount.IsPositive() {
				_, err := f.msg.Undelegate(f.ctx, &types.MsgUndelegate{Delegator: f.addr(d), NodeId: del.NodeId, Amount: sdk.NewCoin(types.Denom, amount)})
				require.NoError(t, err)
			}
		}
	}
	for i, n := range a.nodes {
		if i%2 == 0 { // half the nodes leave with their delegations still on them
			_, err := f.msg.UnbondNode(f.ctx, &types.MsgUnbondNode{Owner: f.addr(n.owner)})
			require.NoError(t, err)
		}
	}
	f.nextEpoch()
	for i, n := range a.nodes {
		if i%2 == 1 {
			_, err := f.msg.UnbondNode(f.ctx, &types.MsgUnbondNode{Owner: f.addr(n.owner)})
			require.NoError(t, err)
		}
	}
	f.nextEpoch()
	pool, _ := f.k.RewardPool.Get(f.ctx)
	require.Equal(t, pool, f.balance(f.k.ModuleAddress()), "after everyone left the module holds exactly the pool")
	gained := math.ZeroInt()
	for addr, initial := range a.initial {
		bal := f.balance(sdk.AccAddress(addr))
		require.True(t, bal.GTE(initial), "%s got back less than it put in", sdk.AccAddress(addr))
		gained = gained.Add(bal.Sub(initial))
	}
	require.Equal(t, math.NewInt(scenarioPool).Sub(pool), gained, "rewards paid equal what left the pool")
	require.True(t, gained.IsPositive())
	it, err := f.k.Nodes.Iterate(f.ctx, nil)
	require.NoError(t, err)
	require.False(t, it.Valid(), "no node is left")
	it.Close()
}

func TestEpochWaitsForBlockTime(t *testing.T) {
	f := newFixture(t, 0)
	e, _ := f.k.Epoch.Get(f.ctx)
	require.Equal(t, genesisTime, e.Start)
	f.ctx = f.ctx.WithBlockTime(genesisTime.Add(59 * 60e9))
	require.NoError(t, f.k.EndBlocker(f.ctx))
	e2, _ := f.k.Epoch.Get(f.ctx)
	require.Equal(t, e.EpochId, e2.EpochId)
	f.nextEpoch()
}

// TestEpochRewardByHand checks one epoch's reward against a hand computation of
// the formula: R = B × perf × σ' × (ω + α·λ'/k) / (1 + α).
func TestEpochRewardByHand(t *testing.T) {
	f := newFixture(t, 1_000_000_000_000)
	n := f.bond(1, 100_000_000)
	f.nextEpoch() // draws the node (the only one: an entry gateway)
	node, _ := f.k.Nodes.Get(f.ctx, n.id)
	require.True(t, node.OperatorReward.IsZero(), "nothing is paid for the epoch before the node had a role")
	f.nextEpoch()
	// B = 10^12 × 0.02 / 4 epochs = 5×10^9. The interval was fixed at genesis when no
	// unym was outside the pool: zero saturation point, so σ' = λ' = 1. Sizes: 5
	// active + 1 standby, k = 6, f = 10: ω_a = 10 × trunc(1/51) = 0.196078431372549010.
	// α·λ'/k = 0.3/6 = 0.05. R = 5×10^9 × 0.246078431372549010 / 1.3
	// = 946,455,505.27... → 946,455,505, all of it the operator's (no delegators,
	// cost 40,000,000/4 below R).
	node, _ = f.k.Nodes.Get(f.ctx, n.id)
	require.Equal(t, math.NewInt(946_455_505), node.OperatorReward)
	pool, _ := f.k.RewardPool.Get(f.ctx)
	require.Equal(t, math.NewInt(1_000_000_000_000-946_455_505), pool)
}

// TestPerformanceMedian checks a node's epoch performance is the median of the
// monitors' reports (the mean of the middle two for an even count), and that a
// rewarded node nobody reported on gets 0 while monitors exist.
func TestPerformanceMedian(t *testing.T) {
	var monitors []sdk.AccAddress
	f := newFixture(t, 1_000_000_000_000, func(f *fixture, gs *types.GenesisState) {
		for i := range 4 {
			m := f.account(fmt.Sprintf("monitor-%d", i), 0)
			monitors = append(monitors, m)
			gs.Params.NetworkMonitors = append(gs.Params.NetworkMonitors, f.addr(m))
		}
	})
	a := f.bond(1, 100_000_000)
	b := f.bond(2, 100_000_000)
	c := f.bond(3, 100_000_000)
	f.nextEpoch() // all three get roles
	report := func(m sdk.AccAddress, id uint64, p string) {
		_, err := f.msg.SubmitPerformance(f.ctx, &types.MsgSubmitPerformance{Monitor: f.addr(m), EpochId: 1,
			Reports: []types.NodePerformance{{NodeId: id, Performance: math.LegacyMustNewDecFromStr(p)}}})
		require.NoError(t, err)
	}
	report(monitors[0], a.id, "0.2")
	report(monitors[1], a.id, "0.9")
	report(monitors[2], a.id, "0.5")
	report(monitors[0], b.id, "0.4")
	report(monitors[1], b.id, "0.8")
	report(monitors[1], b.id, "0.6") // replaces the monitor's earlier report
	report(monitors[2], b.id, "1")
	report(monitors[3], b.id, "0.9")
	f.nextEpoch()
	perf := func(id uint64) string {
		n, err := f.k.Nodes.Get(f.ctx, id)
		require.NoError(t, err)
		return n.Performance.String()
	}
	require.Equal(t, "0.500000000000000000", perf(a.id))
	require.Equal(t, "0.750000000000000000", perf(b.id)) // 0.4 0.6 0.9 1 -> (0.6+0.9)/2
	require.Equal(t, "0.000000000000000000", perf(c.id))
	nc, _ := f.k.Nodes.Get(f.ctx, c.id)
	require.True(t, nc.OperatorReward.IsZero(), "an unmeasured node earns nothing")
	na, _ := f.k.Nodes.Get(f.ctx, a.id)
	require.True(t, na.OperatorReward.IsPositive())
}
