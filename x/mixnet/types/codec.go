package types

import (
	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/codec/legacy"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/msgservice"
)

// RegisterInterfaces registers the module's messages with the interface registry.
func RegisterInterfaces(ir codectypes.InterfaceRegistry) {
	ir.RegisterImplementations((*sdk.Msg)(nil),
		&MsgBondNode{},
		&MsgUnbondNode{},
		&MsgUpdateNodeConfig{},
		&MsgAnnounceSphinxKey{},
		&MsgUpdateCostParams{},
		&MsgPledgeMore{},
		&MsgDecreasePledge{},
		&MsgDelegate{},
		&MsgUndelegate{},
		&MsgWithdrawOperatorReward{},
		&MsgWithdrawDelegatorReward{},
		&MsgSubmitPerformance{},
		&MsgFundRewardPool{},
		&MsgAnnounceService{},
		&MsgWithdrawService{},
		&MsgUpdateParams{},
	)
	msgservice.RegisterMsgServiceDesc(ir, &_Msg_serviceDesc)
}

// RegisterLegacyAminoCodec registers the messages' amino names (the same as the
// amino.name options in tx.proto) for amino JSON signing.
func RegisterLegacyAminoCodec(cdc *codec.LegacyAmino) {
	legacy.RegisterAminoMsg(cdc, &MsgBondNode{}, "nyx/mixnet/MsgBondNode")
	legacy.RegisterAminoMsg(cdc, &MsgUnbondNode{}, "nyx/mixnet/MsgUnbondNode")
	legacy.RegisterAminoMsg(cdc, &MsgUpdateNodeConfig{}, "nyx/mixnet/MsgUpdateNodeConfig")
	legacy.RegisterAminoMsg(cdc, &MsgAnnounceSphinxKey{}, "nyx/mixnet/MsgAnnounceSphinxKey")
	legacy.RegisterAminoMsg(cdc, &MsgUpdateCostParams{}, "nyx/mixnet/MsgUpdateCostParams")
	legacy.RegisterAminoMsg(cdc, &MsgPledgeMore{}, "nyx/mixnet/MsgPledgeMore")
	legacy.RegisterAminoMsg(cdc, &MsgDecreasePledge{}, "nyx/mixnet/MsgDecreasePledge")
	legacy.RegisterAminoMsg(cdc, &MsgDelegate{}, "nyx/mixnet/MsgDelegate")
	legacy.RegisterAminoMsg(cdc, &MsgUndelegate{}, "nyx/mixnet/MsgUndelegate")
	legacy.RegisterAminoMsg(cdc, &MsgWithdrawOperatorReward{}, "nyx/mixnet/MsgWithdrawOperatorReward")
	legacy.RegisterAminoMsg(cdc, &MsgWithdrawDelegatorReward{}, "nyx/mixnet/MsgWithdrawDelegatorReward")
	legacy.RegisterAminoMsg(cdc, &MsgSubmitPerformance{}, "nyx/mixnet/MsgSubmitPerformance")
	legacy.RegisterAminoMsg(cdc, &MsgFundRewardPool{}, "nyx/mixnet/MsgFundRewardPool")
	legacy.RegisterAminoMsg(cdc, &MsgAnnounceService{}, "nyx/mixnet/MsgAnnounceService")
	legacy.RegisterAminoMsg(cdc, &MsgWithdrawService{}, "nyx/mixnet/MsgWithdrawService")
	legacy.RegisterAminoMsg(cdc, &MsgUpdateParams{}, "nyx/mixnet/MsgUpdateParams")
	cdc.RegisterConcrete(&Params{}, "nyx/x/mixnet/Params", nil)
}
