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
		&MsgRequestCredential{},
		&MsgSpendCredentials{},
		&MsgUpdateParams{},
		&MsgStartDKG{},
	)
	msgservice.RegisterMsgServiceDesc(ir, &_Msg_serviceDesc)
}

// RegisterLegacyAminoCodec registers the messages' amino names (the same as the
// amino.name options in tx.proto) for amino JSON signing.
func RegisterLegacyAminoCodec(cdc *codec.LegacyAmino) {
	legacy.RegisterAminoMsg(cdc, &MsgRequestCredential{}, "nyx/coconut/MsgRequestCredential")
	legacy.RegisterAminoMsg(cdc, &MsgSpendCredentials{}, "nyx/coconut/MsgSpendCredentials")
	legacy.RegisterAminoMsg(cdc, &MsgUpdateParams{}, "nyx/coconut/MsgUpdateParams")
	legacy.RegisterAminoMsg(cdc, &MsgStartDKG{}, "nyx/coconut/MsgStartDKG")
	cdc.RegisterConcrete(&Params{}, "nyx/x/coconut/Params", nil)
}
