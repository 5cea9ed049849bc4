package types_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// validGenesis is the fuzz world's genesis: one key, one pending request.
func validGenesis(t *testing.T) *types.GenesisState {
	w := getWorld(t)
	gs := types.DefaultGenesisState()
	ks := w.keySet
	ks.PartialKeys = append([]types.PartialKey(nil), ks.PartialKeys...) // the cases edit them
	gs.KeySets = []types.KeySet{ks}
	gs.NextRequestId = 2
	gs.CredentialTypes = append(gs.CredentialTypes, types.CredentialType{Name: types.CredentialTypeName(1), BytesPerUnym: 1})
	gs.Requests = []types.CredentialRequest{{
		Id: 1, Sender: "n1sender", BlindSignRequest: w.request, Value: 5_000, CredentialType: types.CredentialTypeName(1),
		Deposit: sdk.NewInt64Coin(types.Denom, 5_000), KeyId: 1, Height: 1, Status: types.REQUEST_STATUS_PENDING,
	}}
	gs.PartialSignatures = []types.PartialSignature{{RequestId: 1, SignerIndex: 1, BlindedSignature: w.theta[8 : 8+96]}}
	gs.Spent = []types.SpentCredential{{Tag: w.theta[8+96+96 : 8+96+96+48], KeyId: 1, GatewayOperator: "n1op", Paid: sdk.NewInt64Coin(types.Denom, 1)}}
	st := types.NewCredentialStats(1)
	st.Requested, st.Issued, st.Spent, st.Deposited, st.Paid = 3, 2, 1, math.NewInt(15_000), math.NewInt(5_000)
	gs.Stats = []types.CredentialStats{st}
	return gs
}

func TestGenesisValidate(t *testing.T) {
	require.NoError(t, types.DefaultGenesisState().Validate())
	require.NoError(t, validGenesis(t).Validate())
	for _, tc := range []struct {
		name string
		edit func(gs *types.GenesisState)
	}{
		{"next request id 0", func(gs *types.GenesisState) { gs.NextRequestId = 0; gs.Requests = nil; gs.PartialSignatures = nil }},
		{"duplicate key id", func(gs *types.GenesisState) {
			k := gs.KeySets[0]
			k.RetiredHeight = 1
			gs.KeySets = append(gs.KeySets, k)
		}},
		{"two current keys", func(gs *types.GenesisState) {
			k := gs.KeySets[0]
			k.KeyId = 2
			gs.KeySets = append(gs.KeySets, k)
		}},
		{"current key not the newest", func(gs *types.GenesisState) {
			k := gs.KeySets[0]
			k.KeyId, k.RetiredHeight = 2, 1
			gs.KeySets = append(gs.KeySets, k)
		}},
		{"master key not the partial keys'", func(gs *types.GenesisState) {
			k := &gs.KeySets[0]
			mk := append([]byte(nil), k.MasterKey...)
			// Replace α with β_0: still a valid point, no longer the key.
			copy(mk[2:2+96], mk[2+96:2+192])
			k.MasterKey = mk
		}},
		{"truncated master key", func(gs *types.GenesisState) { gs.KeySets[0].MasterKey = gs.KeySets[0].MasterKey[:10] }},
		{"partial key without its G1 half", func(gs *types.GenesisState) {
			gs.KeySets[0].PartialKeys[0].VerificationKey = gs.KeySets[0].MasterKey
		}},
		{"threshold above the partial keys", func(gs *types.GenesisState) { gs.KeySets[0].Threshold = 2 }},
		{"signer index 0", func(gs *types.GenesisState) { gs.KeySets[0].PartialKeys[0].SignerIndex = 0 }},
		{"type name not its rate's", func(gs *types.GenesisState) { gs.CredentialTypes[0].BytesPerUnym++ }},
		{"request id not below next", func(gs *types.GenesisState) { gs.NextRequestId = 1 }},
		{"request under an unknown key", func(gs *types.GenesisState) { gs.Requests[0].KeyId = 7 }},
		{"request value not its attribute", func(gs *types.GenesisState) { gs.Requests[0].Value++ }},
		{"truncated request", func(gs *types.GenesisState) { gs.Requests[0].BlindSignRequest = gs.Requests[0].BlindSignRequest[1:] }},
		{"request status unset", func(gs *types.GenesisState) { gs.Requests[0].Status = types.REQUEST_STATUS_UNSPECIFIED }},
		{"partial signature of an unknown request", func(gs *types.GenesisState) { gs.PartialSignatures[0].RequestId = 9 }},
		{"partial signature of an unknown signer", func(gs *types.GenesisState) { gs.PartialSignatures[0].SignerIndex = 2 }},
		{"partial signature twice", func(gs *types.GenesisState) {
			gs.PartialSignatures = append(gs.PartialSignatures, gs.PartialSignatures[0])
		}},
		{"spend tag twice", func(gs *types.GenesisState) { gs.Spent = append(gs.Spent, gs.Spent[0]) }},
		{"short spend tag", func(gs *types.GenesisState) { gs.Spent[0].Tag = gs.Spent[0].Tag[1:] }},
		{"stats of an unknown key", func(gs *types.GenesisState) { gs.Stats[0].KeyId = 2 }},
		{"stats of key 0", func(gs *types.GenesisState) { gs.Stats[0].KeyId = 0 }},
		{"stats twice for a key", func(gs *types.GenesisState) { gs.Stats = append(gs.Stats, gs.Stats[0]) }},
		{"stats with negative deposits", func(gs *types.GenesisState) { gs.Stats[0].Deposited = math.NewInt(-1) }},
		{"stats without payouts", func(gs *types.GenesisState) { gs.Stats[0].Paid = math.Int{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gs := validGenesis(t)
			tc.edit(gs)
			require.ErrorIs(t, gs.Validate(), types.ErrInvalidGenesis)
		})
	}
}

func TestGenesisValidateParams(t *testing.T) {
	gs := validGenesis(t)
	gs.Params.BytesPerUnym = 0
	require.ErrorIs(t, gs.Validate(), types.ErrInvalidParams)
}

func TestParamsValidate(t *testing.T) {
	require.NoError(t, types.DefaultParams().Validate())
	for _, tc := range []struct {
		name string
		edit func(p *types.Params)
	}{
		{"zero rate", func(p *types.Params) { p.BytesPerUnym = 0 }},
		{"min deposit in unyx", func(p *types.Params) { p.MinDeposit.Denom = "unyx" }},
		{"max below min", func(p *types.Params) { p.MaxDeposit = p.MinDeposit.SubAmount(p.MinDeposit.Amount.QuoRaw(2)) }},
		{"value overflows", func(p *types.Params) { p.BytesPerUnym = 1 << 62 }},
		{"zero retention", func(p *types.Params) { p.RequestRetentionBlocks = 0 }},
		{"no requests signed", func(p *types.Params) { p.MaxRequestsSignedPerBlock = 0 }},
		{"too many spends", func(p *types.Params) { p.MaxSpendsPerTx = 1_001 }},
		{"huge grace", func(p *types.Params) { p.KeyGraceBlocks = 1 << 63 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := types.DefaultParams()
			tc.edit(&p)
			require.ErrorIs(t, p.Validate(), types.ErrInvalidParams)
		})
	}
}
