package app

import (
	"errors"

	ibcante "github.com/cosmos/ibc-go/v11/modules/core/ante"
	ibckeeper "github.com/cosmos/ibc-go/v11/modules/core/keeper"

	corestoretypes "cosmossdk.io/core/store"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/x/auth/ante"

	wasmkeeper "github.com/CosmWasm/wasmd/x/wasm/keeper"
	wasmtypes "github.com/CosmWasm/wasmd/x/wasm/types"
)

// AnteOptions are the SDK's ante options plus what IBC and wasm need.
type AnteOptions struct {
	ante.HandlerOptions

	IBCKeeper             *ibckeeper.Keeper
	WasmConfig            *wasmtypes.NodeConfig
	WasmKeeper            *wasmkeeper.Keeper
	TXCounterStoreService corestoretypes.KVStoreService
}

// NewAnteHandler returns the chain's ante handler: the SDK's standard chain
// with wasm's simulation gas limit and tx counter, and IBC's redundant-relay
// filter.
func NewAnteHandler(o AnteOptions) (sdk.AnteHandler, error) {
	switch {
	case o.AccountKeeper == nil:
		return nil, errors.New("ante: account keeper is required")
	case o.BankKeeper == nil:
		return nil, errors.New("ante: bank keeper is required")
	case o.SignModeHandler == nil:
		return nil, errors.New("ante: sign mode handler is required")
	case o.IBCKeeper == nil:
		return nil, errors.New("ante: IBC keeper is required")
	case o.WasmConfig == nil || o.WasmKeeper == nil:
		return nil, errors.New("ante: wasm config and keeper are required")
	case o.TXCounterStoreService == nil:
		return nil, errors.New("ante: wasm tx counter store is required")
	}
	return sdk.ChainAnteDecorators(
		ante.NewSetUpContextDecorator(), // must come first
		wasmkeeper.NewLimitSimulationGasDecorator(o.WasmConfig.SimulationGasLimit),
		wasmkeeper.NewCountTXDecorator(o.TXCounterStoreService),
		wasmkeeper.NewGasRegisterDecorator(o.WasmKeeper.GetGasRegister()),
		wasmkeeper.NewTxContractsDecorator(),
		ante.NewExtensionOptionsDecorator(o.ExtensionOptionChecker),
		ante.NewValidateBasicDecorator(),
		ante.NewTxTimeoutHeightDecorator(),
		ante.NewValidateMemoDecorator(o.AccountKeeper),
		ante.NewConsumeGasForTxSizeDecorator(o.AccountKeeper),
		ante.NewDeductFeeDecorator(o.AccountKeeper, o.BankKeeper, o.FeegrantKeeper, o.TxFeeChecker),
		ante.NewSetPubKeyDecorator(o.AccountKeeper), // before every signature check
		ante.NewValidateSigCountDecorator(o.AccountKeeper),
		ante.NewSigGasConsumeDecorator(o.AccountKeeper, o.SigGasConsumer),
		ante.NewSigVerificationDecorator(o.AccountKeeper, o.SignModeHandler),
		ante.NewIncrementSequenceDecorator(o.AccountKeeper),
		ibcante.NewRedundantRelayDecorator(o.IBCKeeper),
	), nil
}
