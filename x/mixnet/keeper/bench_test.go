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
