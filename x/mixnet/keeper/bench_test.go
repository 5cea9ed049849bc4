package keeper_test

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/stretchr/testify/require"

	"cosmossdk.io/collections"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

// benchState writes nodes and delegations straight into the store (bonding them
// through messages would only slow the setup down) and draws the first roles.
func benchState(b *testing.B, nodes, delegations int, sizes types.RewardedSetSizes) *fixture {
	f := newFixture(b, 1_000_000_000_000_000, func(_ *fixture, gs *types.GenesisState) {
		gs.Params.RewardedSet = sizes
		gs.Params.EpochsPerInterval = 1_000_000
	})
	perNode := make([]math.Int, nodes+1)
	for i := range perNode {
		perNode[i] = math.ZeroInt()
	}
	for j := range delegations {
		id := uint64(j%nodes) + 1
		h := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("delegator"), uint64(j)))
		amt := math.NewInt(int64(1_000_000 + j))
		perNode[id] = perNode[id].Add(amt)
		require.NoError(b, f.k.Delegations.Set(f.ctx, collections.Join(id, sdk.AccAddress(h[:20])), types.Delegation{
			NodeId: id, Delegator: f.addr(h[:20]), Amount: sdk.NewCoin(types.Denom, amt), UnitReward: math.LegacyZeroDec(),
		}))
	}
	for i := 1; i <= nodes; i++ {
		owner := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("owner"), uint64(i)))
		n := types.Node{
			NodeId: uint64(i), Owner: f.addr(owner[:20]),
			Pledge:      sdk.NewInt64Coin(types.Denom, int64(100_000_000+i*1_000)),
			IdentityKey: sphinxKey(i, 9), SphinxKey: sphinxKey(i, 0),
			Host: fmt.Sprintf("node%d.example.net", i), MixPort: 1789, ClientsPort: 9000, HttpPort: 8000,
			CostParams: types.DefaultCostParams(), Performance: math.LegacyNewDecWithPrec(int64(80+i%21), 2),
			Delegations: perNode[i], UnitReward: math.LegacyZeroDec(), OperatorReward: math.ZeroInt(), DelegatorPool: math.ZeroInt(),
		}
		require.NoError(b, f.k.Nodes.Set(f.ctx, n.NodeId, n))
	}
	require.NoError(b, f.k.NextNodeID.Set(f.ctx, uint64(nodes+1)))
	f.advance(b)
	f.cms.Commit()
	return f
}

func (f *fixture) advance(b *testing.B) {
	f.height++
	h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(f.height)))
	f.ctx = f.ctx.WithBlockHeader(cmtproto.Header{ChainID: testChainID, Height: f.height, Time: f.ctx.BlockTime().Add(f.ctxEpoch()),
		LastBlockId: cmtproto.BlockID{Hash: h[:]}, AppHash: h[:]})
	if err := f.k.AdvanceEpoch(f.ctx); err != nil {
		b.Fatal(err)
	}
}

func (f *fixture) ctxEpoch() time.Duration {
	p, err := f.k.Params.Get(f.ctx)
	if err != nil {
		panic(err)
	}
	return p.EpochDuration
}

// mainnetSizes is Nym mainnet's rewarded set (50 entry, 70 exit, 120 mix nodes)
// with a standby set of 120.
var mainnetSizes = types.RewardedSetSizes{EntryGateways: 50, ExitGateways: 70, Mixnodes: 120, Standby: 120}

// BenchmarkEpochTransition measures one epoch boundary: rewarding the rewarded set,
// rotating keys and drawing the roles over every bonded node.
func BenchmarkEpochTransition(b *testing.B) {
	for _, c := range []struct{ nodes, delegations int }{{1_000, 0}, {1_000, 100_000}, {10_000, 0}, {10_000, 100_000}} {
		b.Run(fmt.Sprintf("nodes=%d/delegations=%d", c.nodes, c.delegations), func(b *testing.B) {
			f := benchState(b, c.nodes, c.delegations, mainnetSizes)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				f.advance(b)
				// A chain commits every block; an uncommitted store slows every later
				// iterator down, which is no part of the epoch's cost.
				b.StopTimer()
				f.cms.Commit()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkTopology measures the Topology query with 1,000 nodes holding a role
// and reports the response's encoded size.
func BenchmarkTopology(b *testing.B) {
	f := benchState(b, 1_000, 0, types.RewardedSetSizes{EntryGateways: 200, ExitGateways: 200, Mixnodes: 600})
	resp, err := f.q.Topology(f.ctx, &types.QueryTopologyRequest{})
	require.NoError(b, err)
	require.Len(b, resp.Nodes, 1_000)
	size := resp.Size()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := f.q.Topology(f.ctx, &types.QueryTopologyRequest{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(size), "bytes/response")
}

// queueDelegations writes n queued delegations to the 1,000 nodes of benchState
// straight into the queue, with the module holding their deposits as Delegate
// messages would leave it, and returns the id of the last one.
func (f *fixture) queueDelegations(b *testing.B, n int) uint64 {
	next, err := f.k.NextEventID.Peek(f.ctx)
	require.NoError(b, err)
	if next == 0 {
		next = 1
	}
	for j := range n {
		id := next + uint64(j)
		h := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("queued"), id))
		require.NoError(b, f.k.EpochEvents.Set(f.ctx, id, benchDelegateEvent(f, id, h[:20])))
	}
	require.NoError(b, f.k.NextEventID.Set(f.ctx, next+uint64(n)))
	coins := sdk.NewCoins(sdk.NewInt64Coin(types.Denom, int64(n)*1_000_000))
	require.NoError(b, f.bank.MintCoins(f.ctx, minterName, coins))
	require.NoError(b, f.bank.SendCoinsFromModuleToModule(f.ctx, minterName, types.ModuleName, coins))
	return next + uint64(n) - 1
}

func benchDelegateEvent(f *fixture, id uint64, delegator sdk.AccAddress) types.EpochEvent {
	return types.EpochEvent{Id: id, Kind: &types.EpochEvent_Delegate{Delegate: &types.DelegateEvent{
		NodeId: id%1_000 + 1, Delegator: f.addr(delegator), Amount: sdk.NewInt64Coin(types.Denom, 1_000_000),
	}}}
}

// BenchmarkEpochEventsBacklog measures the blocks of an epoch boundary with 100,000
// queued delegations over 1,000 nodes, under the default budget of 2,000 events a
// block: "boundary" is the block that ends the epoch (rewards, the budget's worth of
// events, the role draw), "carry-over" a later block that applies the next
// budget's worth. The queue is topped up outside the timer so every block sees a
// 100,000-event backlog. ns/event is the carry-over block's time per event; compare
// it with BenchmarkFloorEpochEventSet.
func BenchmarkEpochEventsBacklog(b *testing.B) {
	const backlog = 100_000
	budget := int(types.DefaultMaxEpochEventsPerBlock)
	setup := func(b *testing.B) *fixture {
		f := benchState(b, 1_000, 0, mainnetSizes)
		f.queueDelegations(b, backlog)
		f.cms.Commit()
		return f
	}
	b.Run("boundary", func(b *testing.B) {
		f := setup(b)
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			f.advance(b)
			b.StopTimer()
			f.queueDelegations(b, budget)
			f.cms.Commit()
			b.StartTimer()
		}
	})
	b.Run("carry-over", func(b *testing.B) {
		f := setup(b)
		f.advance(b) // the boundary: every queued event is now due
		f.cms.Commit()
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			f.ctx = f.ctx.WithBlockHeight(f.ctx.BlockHeight() + 1)
			if err := f.k.EndBlocker(f.ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			last := f.queueDelegations(b, budget)
			e, err := f.k.Epoch.Get(f.ctx)
			require.NoError(b, err)
			e.DueEventId = last
			require.NoError(b, f.k.Epoch.Set(f.ctx, e))
			f.cms.Commit()
			b.StartTimer()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(budget), "ns/event")
	})
}

// BenchmarkFloorEpochEventSet is the floor of BenchmarkEpochEventsBacklog's
// per-event cost: a collections Map Set of a queued delegation record, the least
// any applied event writes. One op is a block's worth (the default budget) of
// Sets under fresh ids, committed outside the timer as a block would be.
func BenchmarkFloorEpochEventSet(b *testing.B) {
	f := benchState(b, 1_000, 0, mainnetSizes)
	h := sha256.Sum256([]byte("floor"))
	budget := int(types.DefaultMaxEpochEventsPerBlock)
	ev := benchDelegateEvent(f, 1, h[:20])
	id := uint64(0)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for range budget {
			id++
			if err := f.k.EpochEvents.Set(f.ctx, id, ev); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		f.cms.Commit()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(budget), "ns/event")
}
