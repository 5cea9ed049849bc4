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
		&MsgCreateVestingAccount{},
		&MsgWithdrawVested{},
		&MsgBondNodeFromVesting{},
		&MsgPledgeMoreFromVesting{},
		&MsgDelegateFromVesting{},
		&MsgUndelegateFromVesting{},
		&MsgTransferOwnership{},
		&MsgSetStakingDelegate{},
		&MsgUpdateParams{},
	)
	msgservice.RegisterMsgServiceDesc(ir, &_Msg_serviceDesc)
}

// RegisterLegacyAminoCodec registers the messages' amino names (the same as the
// amino.name options in tx.proto) for amino JSON signing.
func RegisterLegacyAminoCodec(cdc *codec.LegacyAmino) {
	legacy.RegisterAminoMsg(cdc, &MsgCreateVestingAccount{}, "nyx/vesting/MsgCreateVestingAccount")
	legacy.RegisterAminoMsg(cdc, &MsgWithdrawVested{}, "nyx/vesting/MsgWithdrawVested")
	legacy.RegisterAminoMsg(cdc, &MsgBondNodeFromVesting{}, "nyx/vesting/MsgBondNodeFromVesting")
	legacy.RegisterAminoMsg(cdc, &MsgPledgeMoreFromVesting{}, "nyx/vesting/MsgPledgeMoreFromVesting")
	legacy.RegisterAminoMsg(cdc, &MsgDelegateFromVesting{}, "nyx/vesting/MsgDelegateFromVesting")
	legacy.RegisterAminoMsg(cdc, &MsgUndelegateFromVesting{}, "nyx/vesting/MsgUndelegateFromVesting")
	legacy.RegisterAminoMsg(cdc, &MsgTransferOwnership{}, "nyx/vesting/MsgTransferOwnership")
	legacy.RegisterAminoMsg(cdc, &MsgSetStakingDelegate{}, "nyx/vesting/MsgSetStakingDelegate")
	legacy.RegisterAminoMsg(cdc, &MsgUpdateParams{}, "nyx/vesting/MsgUpdateParams")
	cdc.RegisterConcrete(&Params{}, "nyx/x/vesting/Params", nil)
}
