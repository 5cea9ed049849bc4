package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// A round exported in its complaint phase (with a dealer already excluded)
// imports into a fresh chain unchanged and completes there.
func TestDKGGenesisRoundInProgress(t *testing.T) {
	f := newFixture(t)
	net := newDKGNet(f, 4)
	net.alter = corruptDealingTo1(1)
	net.start()
	net.phase()
	r := net.phase()
	require.Equal(t, types.DKG_PHASE_COMPLAINT, r.Phase)
	require.NoError(t, f.k.ProcessDKGMessage(f.ctx, net.vs[0].addr, net.message(0)))
	require.True(t, net.round().Participants[1].Excluded)

	gs, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.NoError(t, gs.Validate())
	require.NotNil(t, gs.Dkg.Round)
	require.Len(t, gs.Dkg.Dealings, 4)

	f2 := newFixture(t, func(_ *fixture, g *types.GenesisState) { *g = *gs })
	f2.ctx = f2.ctx.WithBlockHeight(f.ctx.BlockHeight())
	gs2, err := f2.k.ExportGenesis(f2.ctx)
	require.NoError(t, err)
	require.Equal(t, gs, gs2)

	// Once more in the key share phase, after one key share: the summed
	// commitments the shares are checked against are rebuilt at import.
	net.f = f2
	require.Equal(t, types.DKG_PHASE_KEY_SHARE, net.phase().Phase)
	require.NoError(t, f2.k.ProcessDKGMessage(f2.ctx, net.vs[0].addr, net.message(0)))
	gs, err = f2.k.ExportGenesis(f2.ctx)
	require.NoError(t, err)
	require.Len(t, gs.Dkg.KeyShares, 1)
	f3 := newFixture(t, func(_ *fixture, g *types.GenesisState) { *g = *gs })
	f3.ctx = f3.ctx.WithBlockHeight(f2.ctx.BlockHeight())
	net.f = f3
	r = net.run()
	require.Equal(t, types.DKG_PHASE_COMPLETED, r.Phase)
	require.Equal(t, []int{0, 2, 3}, r.Qualified())
	net.requireIssuesUnder(r.RoundId)
}

// Governance starts a round through MsgStartDKG (with new params); the
// authority is checked and a round in progress refuses another.
func TestDKGStartByGovernance(t *testing.T) {
	f := newFixture(t)
	net := newDKGNet(f, 4)
	p := types.DKGParams{BlocksPerPhase: 5, SetChangePercent: 0} // no automatic start
	require.NoError(t, f.k.DKG.Params.Set(f.ctx, types.DKGParams{BlocksPerPhase: 3}))
	require.NoError(t, f.k.DKGEndBlocker(f.ctx, net.validators()))
	_, found, err := f.k.CurrentDKGRound(f.ctx)
	require.NoError(t, err)
	require.False(t, found, "automatic start is off")

	before := f.snapshot()
	_, err = f.msg.StartDKG(f.ctx, &types.MsgStartDKG{Authority: f.addr(f.account("someone", 0)), Params: &p})
	require.ErrorIs(t, err, types.ErrInvalidAuthority)
	_, err = f.msg.StartDKG(f.ctx, &types.MsgStartDKG{Authority: f.authority, Params: &types.DKGParams{}})
	require.ErrorIs(t, err, types.ErrInvalidDKGParams)
	f.requireUnchanged(before)

	_, err = f.msg.StartDKG(f.ctx, &types.MsgStartDKG{Authority: f.authority, Params: &p})
	require.NoError(t, err)
	require.NoError(t, f.k.DKGEndBlocker(f.ctx, nil))
	_, found, err = f.k.CurrentDKGRound(f.ctx)
	require.NoError(t, err)
	require.False(t, found, "a round waits for an EndBlock that knows the validators")
	require.NoError(t, f.k.DKGEndBlocker(f.ctx, net.validators()))
	r := net.round()
	require.Equal(t, []int64{6, 11, 16, 21}, r.PhaseEnds)
	resp, err := f.q.DKGRound(f.ctx, &types.QueryDKGRoundRequest{})
	require.NoError(t, err)
	require.Equal(t, p, resp.Params)
	require.Equal(t, &r, resp.Round)

	_, err = f.msg.StartDKG(f.ctx, &types.MsgStartDKG{Authority: f.authority})
	require.ErrorIs(t, err, types.ErrDKGRoundActive)
	_, err = f.k.StartDKGRound(f.ctx, net.validators())
	require.ErrorIs(t, err, types.ErrDKGRoundActive)
	f.ctx = f.ctx.WithBlockHeight(r.StartHeight)
	require.Equal(t, types.DKG_PHASE_COMPLETED, net.run().Phase)
}

// With automatic start on, a round starts when more than set_change_percent
// of the power changed since the latest round, and not below it.
func TestDKGStartsOnValidatorSetChange(t *testing.T) {
	f := newFixture(t)
	net := newDKGNet(f, 4)
	require.NoError(t, f.k.DKGEndBlocker(f.ctx, net.validators()))
	r := net.round()
	f.ctx = f.ctx.WithBlockHeight(r.StartHeight)
	require.Equal(t, types.DKG_PHASE_COMPLETED, net.run().Phase)

	// One of four leaving is 25%, below 30%: no new round.
	require.NoError(t, f.k.DKGEndBlocker(f.ctx, net.validators()[:3]))
	require.Equal(t, r.RoundId, net.round().RoundId)
	// Two leaving is 50%: a new round among the remaining two.
	require.NoError(t, f.k.DKGEndBlocker(f.ctx, net.validators()[:2]))
	r2 := net.round()
	require.Equal(t, r.RoundId+1, r2.RoundId)
	require.Len(t, r2.Participants, 2)
	require.Equal(t, uint32(2), r2.Threshold)
}
