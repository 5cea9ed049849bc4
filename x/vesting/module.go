// Package vesting is the chain module of vesting accounts whose still-locked unym
// can be pledged and delegated in x/mixnet but never spent before it vests: a
// funder locks coins for an owner on a schedule of periods, the owner withdraws
// what has vested and is not in use, and the owner (or a staking delegate) puts
// the account's coins to work through x/mixnet's keeper methods, the coins coming
// back to the account and the rewards going to the owner. See README.md; keeper/
// holds the state machine, types/ the messages and the schedule arithmetic.
//
// It is not the SDK's x/auth/vesting (also named "vesting"), which the app
// leaves out: see app/doc.go.
package vesting

import (
	"context"
	"encoding/json"
	"fmt"

	gwruntime "github.com/grpc-ecosystem/grpc-gateway/runtime"

	"cosmossdk.io/core/appmodule"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/codec"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/module"

	"github.com/nyx-privacy/nyx/x/vesting/keeper"
	"github.com/nyx-privacy/nyx/x/vesting/types"
)

// ConsensusVersion is the module's state version, bumped with each migration.
const ConsensusVersion = 1

var (
	_ module.HasGenesis     = AppModule{}
	_ module.HasServices    = AppModule{}
	_ module.AppModuleBasic = AppModule{}
	_ appmodule.AppModule   = AppModule{}
)

// AppModule is the vesting module for the module manager.
type AppModule struct {
	keeper keeper.Keeper
}

// NewAppModule returns the module around its keeper.
func NewAppModule(k keeper.Keeper) AppModule { return AppModule{keeper: k} }

// IsAppModule marks the type as an app module.
func (AppModule) IsAppModule() {}

// IsOnePerModuleType marks the type as one per module.
func (AppModule) IsOnePerModuleType() {}

// Name returns "vesting".
func (AppModule) Name() string { return types.ModuleName }

// RegisterLegacyAminoCodec registers the messages' amino names.
func (AppModule) RegisterLegacyAminoCodec(cdc *codec.LegacyAmino) {
	types.RegisterLegacyAminoCodec(cdc)
}

// RegisterInterfaces registers the messages with the interface registry.
func (AppModule) RegisterInterfaces(ir codectypes.InterfaceRegistry) { types.RegisterInterfaces(ir) }

// RegisterGRPCGatewayRoutes serves the queries over REST.
func (AppModule) RegisterGRPCGatewayRoutes(clientCtx client.Context, mux *gwruntime.ServeMux) {
	if err := types.RegisterQueryHandlerClient(context.Background(), mux, types.NewQueryClient(clientCtx)); err != nil {
		panic(err)
	}
}

// RegisterServices registers the Msg and Query services.
func (am AppModule) RegisterServices(cfg module.Configurator) {
	types.RegisterMsgServer(cfg.MsgServer(), keeper.NewMsgServerImpl(am.keeper))
	types.RegisterQueryServer(cfg.QueryServer(), keeper.NewQuerier(am.keeper))
}

// RegisterInvariants registers the funds invariant.
func (am AppModule) RegisterInvariants(ir sdk.InvariantRegistry) {
	keeper.RegisterInvariants(ir, am.keeper)
}

// DefaultGenesis returns the default genesis state.
func (AppModule) DefaultGenesis(cdc codec.JSONCodec) json.RawMessage {
	return cdc.MustMarshalJSON(types.DefaultGenesisState())
}

// ValidateGenesis checks a genesis state.
func (AppModule) ValidateGenesis(cdc codec.JSONCodec, _ client.TxEncodingConfig, bz json.RawMessage) error {
	var gs types.GenesisState
	if err := cdc.UnmarshalJSON(bz, &gs); err != nil {
		return fmt.Errorf("unmarshal %s genesis state: %w", types.ModuleName, err)
	}
	return gs.Validate()
}

// InitGenesis loads the genesis state.
func (am AppModule) InitGenesis(ctx sdk.Context, cdc codec.JSONCodec, bz json.RawMessage) {
	var gs types.GenesisState
	cdc.MustUnmarshalJSON(bz, &gs)
	if err := am.keeper.InitGenesis(ctx, &gs); err != nil {
		panic(fmt.Errorf("init %s genesis: %w", types.ModuleName, err))
	}
}

// ExportGenesis writes out the state.
func (am AppModule) ExportGenesis(ctx sdk.Context, cdc codec.JSONCodec) json.RawMessage {
	gs, err := am.keeper.ExportGenesis(ctx)
	if err != nil {
		panic(fmt.Errorf("export %s genesis: %w", types.ModuleName, err))
	}
	return cdc.MustMarshalJSON(gs)
}

// ConsensusVersion returns the module's state version.
func (AppModule) ConsensusVersion() uint64 { return ConsensusVersion }
