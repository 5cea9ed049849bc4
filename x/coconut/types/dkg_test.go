package types_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nyx-privacy/nyx/x/coconut/types"
)

func dkgValidators(n int, power int64) []types.DKGValidator {
	out := make([]types.DKGValidator, n)
	for i := range out {
		addr := make([]byte, types.ConsensusAddressSize)
		binary.BigEndian.PutUint32(addr[16:], uint32(n-i)) // reverse order
		out[i] = types.DKGValidator{ConsensusAddress: addr, VotingPower: power}
	}
	return out
}

func TestNewDKGRound(t *testing.T) {
	p := types.DKGParams{BlocksPerPhase: 10}
	vs := dkgValidators(5, 3)
	vs[2].VotingPower = 0
	r, err := types.NewDKGRound(4, vs, 100, p)
	require.NoError(t, err)
	require.Len(t, r.Participants, 4, "no power, no part")
	require.Equal(t, uint32(3), r.Threshold)
	require.Equal(t, []int64{109, 119, 129, 139}, r.PhaseEnds)
	for i := 1; i < len(r.Participants); i++ {
		require.Equal(t, -1, bytes.Compare(r.Participants[i-1].ConsensusAddress, r.Participants[i].ConsensusAddress), "address order")
	}

	// Above the bound, the most powerful are taken.
	many := dkgValidators(types.MaxDKGParticipants+5, 1)
	for i := range 5 {
		many[i].VotingPower = 0
	}
	many[10].VotingPower = 2
	r, err = types.NewDKGRound(1, many, 1, p)
	require.NoError(t, err)
	require.Len(t, r.Participants, types.MaxDKGParticipants)
	require.GreaterOrEqual(t, r.Position(many[10].ConsensusAddress), 0)
	require.Equal(t, uint32(134), r.Threshold)

	for name, vs := range map[string][]types.DKGValidator{
		"none":             nil,
		"no power":         dkgValidators(2, 0),
		"short address":    {{ConsensusAddress: []byte{1}, VotingPower: 1}},
		"repeated address": append(dkgValidators(1, 1), dkgValidators(1, 1)...),
	} {
		_, err := types.NewDKGRound(1, vs, 1, p)
		require.Error(t, err, name)
	}
}

func TestDKGSetChanged(t *testing.T) {
	vs := dkgValidators(10, 10)
	r, err := types.NewDKGRound(1, vs, 1, types.DefaultDKGParams())
	require.NoError(t, err)
	require.False(t, r.SetChanged(vs, 30))
	require.False(t, r.SetChanged(vs[:7], 30), "30% left: not above 30%")
	require.True(t, r.SetChanged(vs[:6], 30))
	joined := append(append([]types.DKGValidator(nil), vs[:8]...), dkgValidators(12, 10)[:2]...)
	require.True(t, r.SetChanged(joined, 30), "two left and two joined: 40%")
	require.True(t, r.SetChanged(vs[:9], 0), "any change above 0%")
	require.True(t, (&types.DKGRound{}).SetChanged(vs, 30), "no round yet")
	huge := dkgValidators(2, 1<<60)
	r, err = types.NewDKGRound(1, huge, 1, types.DefaultDKGParams())
	require.NoError(t, err)
	require.True(t, r.SetChanged(huge[:1], 30), "no overflow at large powers")
	require.False(t, r.SetChanged(huge, 30))
}

func TestDKGParamsValidate(t *testing.T) {
	require.NoError(t, types.DefaultDKGParams().Validate())
	require.Error(t, types.DKGParams{}.Validate())
	require.Error(t, types.DKGParams{BlocksPerPhase: types.MaxDKGBlocksPerPhase + 1}.Validate())
	require.Error(t, types.DKGParams{BlocksPerPhase: 1, SetChangePercent: 101}.Validate())
}

// Every inconsistency of a DKG genesis is refused.
func TestDKGGenesisValidate(t *testing.T) {
	w := getDKGWorld(t)
	good := func() types.DKGGenesis {
		r := w.round
		r.Participants = append([]types.DKGParticipant(nil), w.round.Participants...)
		r.PhaseEnds = append([]int64(nil), w.round.PhaseEnds...)
		g := types.DKGGenesis{Params: types.DefaultDKGParams(), Round: &r}
		for pos := range uint32(4) {
			g.Dealings = append(g.Dealings, types.DKGMessageRecord{RoundId: 7, Position: pos, Data: w.dealings[pos]})
		}
		return g
	}
	g := good()
	require.NoError(t, g.Validate())
	require.NoError(t, types.DefaultDKGGenesis().Validate())
	for name, change := range map[string]func(*types.DKGGenesis){
		"bad params":                func(g *types.DKGGenesis) { g.Params.BlocksPerPhase = 0 },
		"messages without a round":  func(g *types.DKGGenesis) { g.Round = nil },
		"round id 0":                func(g *types.DKGGenesis) { g.Round.RoundId = 0 },
		"wrong threshold":           func(g *types.DKGGenesis) { g.Round.Threshold = 2 },
		"unknown phase":             func(g *types.DKGGenesis) { g.Round.Phase = 9 },
		"phase ends not increasing": func(g *types.DKGGenesis) { g.Round.PhaseEnds[2] = g.Round.PhaseEnds[1] },
		"three phase ends":          func(g *types.DKGGenesis) { g.Round.PhaseEnds = g.Round.PhaseEnds[:3] },
		"participants out of order": func(g *types.DKGGenesis) { p := g.Round.Participants; p[0], p[1] = p[1], p[0] },
		"short address":             func(g *types.DKGGenesis) { g.Round.Participants[0].ConsensusAddress = []byte{0} },
		"no power":                  func(g *types.DKGGenesis) { g.Round.Participants[0].VotingPower = 0 },
		"bad DKG key":               func(g *types.DKGGenesis) { g.Round.Participants[0].PublicKey = []byte{1} },
		"index out of order":        func(g *types.DKGGenesis) { g.Round.Participants[0].Index = 2 },
		"dealt without a dealing":   func(g *types.DKGGenesis) { g.Dealings = g.Dealings[1:] },
		"dealing without the flag":  func(g *types.DKGGenesis) { g.Round.Participants[0].Dealt = false },
		"dealing of another round":  func(g *types.DKGGenesis) { g.Dealings[0].RoundId = 8 },
		"dealing of no participant": func(g *types.DKGGenesis) { g.Dealings[0].Position = 4 },
		"dealing twice":             func(g *types.DKGGenesis) { g.Dealings[1].Position = 0 },
		"dealing truncated":         func(g *types.DKGGenesis) { g.Dealings[0].Data = g.Dealings[0].Data[1:] },
		"key share without the flag": func(g *types.DKGGenesis) {
			g.KeyShares = []types.DKGMessageRecord{{RoundId: 7, Data: w.keyShare[types.DKGHeaderSize:]}}
		},
		"excluded without a dealing": func(g *types.DKGGenesis) {
			g.Round.Participants[0].Dealt, g.Round.Participants[0].Excluded = false, true
			g.Dealings = g.Dealings[1:]
		},
		"unregistered with an index": func(g *types.DKGGenesis) { g.Round.Participants[3].PublicKey = nil },
	} {
		g := good()
		change(&g)
		require.Error(t, g.Validate(), name)
	}
	// A key share with its flag is fine.
	g = good()
	g.Round.Participants[0].KeyShared = true
	g.KeyShares = []types.DKGMessageRecord{{RoundId: 7, Data: w.keyShare[types.DKGHeaderSize:]}}
	require.NoError(t, g.Validate())
}
