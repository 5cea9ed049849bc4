package types_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

func TestParamsValidate(t *testing.T) {
	require.NoError(t, types.DefaultParams().Validate())
	require.Equal(t, uint32(24), types.DefaultParams().SphinxKeyRotationEpochs)
	noSchedule := types.DefaultParams()
	noSchedule.SphinxKeyRotationEpochs = 0
	require.NoError(t, noSchedule.Validate())
	cases := map[string]func(*types.Params){
		"zero minimum pledge":    func(p *types.Params) { p.MinimumPledge = sdk.NewInt64Coin(types.Denom, 0) },
		"wrong pledge denom":     func(p *types.Params) { p.MinimumPledge = sdk.NewInt64Coin("unyx", 1) },
		"short epoch":            func(p *types.Params) { p.EpochDuration = time.Millisecond },
		"no epochs per interval": func(p *types.Params) { p.EpochsPerInterval = 0 },
		"empty active set":       func(p *types.Params) { p.RewardedSet = types.RewardedSetSizes{Standby: 3} },
		"huge set":               func(p *types.Params) { p.RewardedSet.Mixnodes = 1 << 30 },
		"emission above one":     func(p *types.Params) { p.RewardParams.IntervalPoolEmission = math.LegacyNewDec(2) },
		"work factor below one":  func(p *types.Params) { p.RewardParams.ActiveSetWorkFactor = math.LegacyNewDecWithPrec(5, 1) },
		"nil scale factor":       func(p *types.Params) { p.RewardParams.StakingSupplyScaleFactor = math.LegacyDec{} },
		"duplicate monitor":      func(p *types.Params) { p.NetworkMonitors = []string{"n1a", "n1a"} },
		"min performance > 1":    func(p *types.Params) { p.MinimumPerformance = math.LegacyNewDec(2) },
		"key rotation too rare":  func(p *types.Params) { p.SphinxKeyRotationEpochs = types.MaxSphinxKeyRotationEpochs + 1 },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			p := types.DefaultParams()
			mutate(&p)
			require.ErrorIs(t, p.Validate(), types.ErrInvalidParams)
		})
	}
}

func TestMsgValidateBasic(t *testing.T) {
	good := coinOf(5)
	for name, tc := range map[string]struct {
		msg interface{ ValidateBasic() error }
		err error
	}{
		"delegate zero":           {&types.MsgDelegate{Delegator: "n1d", Amount: coinOf(0)}, types.ErrInvalidAmount},
		"delegate wrong denom":    {&types.MsgDelegate{Delegator: "n1d", Amount: sdk.NewInt64Coin("unyx", 5)}, types.ErrInvalidAmount},
		"delegate no delegator":   {&types.MsgDelegate{Amount: good}, types.ErrInvalidAddress},
		"undelegate zero":         {&types.MsgUndelegate{Delegator: "n1d", Amount: coinOf(0)}, types.ErrInvalidAmount},
		"pledge more zero":        {&types.MsgPledgeMore{Owner: "n1o", Amount: coinOf(0)}, types.ErrInvalidAmount},
		"fund zero":               {&types.MsgFundRewardPool{Sender: "n1s", Amount: coinOf(0)}, types.ErrInvalidAmount},
		"config nothing":          {&types.MsgUpdateNodeConfig{Owner: "n1o"}, types.ErrInvalidHost},
		"config short sphinx key": {&types.MsgUpdateNodeConfig{Owner: "n1o", NextSphinxKey: []byte{1}}, types.ErrInvalidKey},
		"no reports":              {&types.MsgSubmitPerformance{Monitor: "n1m"}, types.ErrInvalidPerformance},
		"report twice": {&types.MsgSubmitPerformance{Monitor: "n1m", Reports: []types.NodePerformance{
			{NodeId: 1, Performance: math.LegacyOneDec()}, {NodeId: 1, Performance: math.LegacyOneDec()}}}, types.ErrInvalidPerformance},
		"cost margin negative": {&types.MsgUpdateCostParams{Owner: "n1o", ProfitMargin: math.LegacyNewDec(-1)}, types.ErrInvalidCostParams},
		"cost update empty":    {&types.MsgUpdateCostParams{Owner: "n1o"}, types.ErrInvalidCostParams},
	} {
		t.Run(name, func(t *testing.T) { require.ErrorIs(t, tc.msg.ValidateBasic(), tc.err) })
	}
	require.NoError(t, (&types.MsgDelegate{Delegator: "n1d", NodeId: 1, Amount: good}).ValidateBasic())
}

func coinOf(n int64) sdk.Coin { return sdk.NewInt64Coin(types.Denom, n) }
