package keeper_test

import (
	"fmt"
	"testing"

	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/stretchr/testify/require"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

// TestLoneLyingMonitorMovesNothing: with three monitors, one that lies
// alone (calling a sound node dead and a half-dropping node perfect)
// moves neither node's recorded performance from what the two honest ones
// measured; and the node measured at 0.5 earns less than the sound one.
func TestLoneLyingMonitorMovesNothing(t *testing.T) {
	var monitors []sdk.AccAddress
	f := newFixture(t, 1_000_000_000_000, func(f *fixture, gs *types.GenesisState) {
		for i := range 3 {
			m := f.account(fmt.Sprintf("monitor-%d", i), 0)
			monitors = append(monitors, m)
			gs.Params.NetworkMonitors = append(gs.Params.NetworkMonitors, f.addr(m))
		}
	})
	sound := f.bond(1, 100_000_000)
	halfDrop := f.bond(2, 100_000_000)
	f.bond(3, 100_000_000)
	f.nextEpoch()
	e, err := f.k.Epoch.Get(f.ctx)
	require.NoError(t, err)
	report := func(m sdk.AccAddress, soundP, halfP string) {
		_, err := f.msg.SubmitPerformance(f.ctx, &types.MsgSubmitPerformance{Monitor: f.addr(m), EpochId: e.EpochId,
			Reports: []types.NodePerformance{
				{NodeId: sound.id, Performance: math.LegacyMustNewDecFromStr(soundP)},
				{NodeId: halfDrop.id, Performance: math.LegacyMustNewDecFromStr(halfP)},
			}})
		require.NoError(t, err)
	}
	report(monitors[0], "0.98", "0.51")
	report(monitors[1], "0.97", "0.49")
	report(monitors[2], "0", "1") // the liar
	f.nextEpoch()
	node := func(id uint64) types.Node {
		n, err := f.k.Nodes.Get(f.ctx, id)
		require.NoError(t, err)
		return n
	}
	require.Equal(t, "0.970000000000000000", node(sound.id).Performance.String())
	require.Equal(t, "0.510000000000000000", node(halfDrop.id).Performance.String())
	require.True(t, node(halfDrop.id).OperatorReward.LT(node(sound.id).OperatorReward),
		"half-dropping node earned %v, sound node %v", node(halfDrop.id).OperatorReward, node(sound.id).OperatorReward)
}
