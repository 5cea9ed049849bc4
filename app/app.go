package app

import (
	"encoding/json"
	"fmt"
	"sort"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	dbm "github.com/cosmos/cosmos-db"

	autocliv1 "cosmossdk.io/api/cosmos/autocli/v1"
	reflectionv1 "cosmossdk.io/api/cosmos/reflection/v1"
	"cosmossdk.io/client/v2/autocli"
	"cosmossdk.io/core/appmodule"
	"cosmossdk.io/log/v2"

	"github.com/cosmos/cosmos-sdk/baseapp"
	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/grpc/cmtservice"
	nodeservice "github.com/cosmos/cosmos-sdk/client/grpc/node"
	"github.com/cosmos/cosmos-sdk/codec"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	"github.com/cosmos/cosmos-sdk/runtime"
	runtimeservices "github.com/cosmos/cosmos-sdk/runtime/services"
	"github.com/cosmos/cosmos-sdk/server"
	"github.com/cosmos/cosmos-sdk/server/api"
	"github.com/cosmos/cosmos-sdk/server/config"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/module"
	"github.com/cosmos/cosmos-sdk/version"
	"github.com/cosmos/cosmos-sdk/x/auth/ante"
	authcodec "github.com/cosmos/cosmos-sdk/x/auth/codec"
	"github.com/cosmos/cosmos-sdk/x/auth/posthandler"
	authtx "github.com/cosmos/cosmos-sdk/x/auth/tx"

	wasmkeeper "github.com/CosmWasm/wasmd/x/wasm/keeper"
	wasmtypes "github.com/CosmWasm/wasmd/x/wasm/types"
)

var _ servertypes.Application = (*NyxApp)(nil)

// NyxApp is the Nyx chain's ABCI application.
type NyxApp struct {
	*baseapp.BaseApp
	Keepers

	legacyAmino       *codec.LegacyAmino
	appCodec          codec.Codec
	txConfig          client.TxConfig
	interfaceRegistry codectypes.InterfaceRegistry

	keys map[string]*storetypes.KVStoreKey

	ModuleManager      *module.Manager
	voteExtensions     voteExtensions
	BasicModuleManager module.BasicManager
	configurator       module.Configurator
}

// New returns a Nyx app over db. With loadLatest it loads the latest
// committed state (what a node does); without it the caller loads a height.
func New(
	logger log.Logger,
	db dbm.DB,
	loadLatest bool,
	appOpts servertypes.AppOptions,
	wasmOpts []wasmkeeper.Option,
	baseAppOptions ...func(*baseapp.BaseApp),
) *NyxApp {
	enc := MakeEncodingConfig()

	bApp := baseapp.NewBaseApp(Name, logger, db, enc.TxConfig.TxDecoder(), baseAppOptions...)
	bApp.SetVersion(version.Version)
	bApp.SetInterfaceRegistry(enc.InterfaceRegistry)
	bApp.SetTxEncoder(enc.TxConfig.TxEncoder())

	keys := newStoreKeys()
	if err := bApp.RegisterStreamingServices(appOpts, keys); err != nil {
		panic(fmt.Errorf("register streaming services: %w", err))
	}

	app := &NyxApp{
		BaseApp:           bApp,
		legacyAmino:       enc.Amino,
		appCodec:          enc.Codec,
		txConfig:          enc.TxConfig,
		interfaceRegistry: enc.InterfaceRegistry,
		keys:              keys,
	}

	wasmConfig := app.newKeepers(appOpts, wasmOpts)

	app.ModuleManager = app.newModuleManager(enc.TxConfig)
	app.BasicModuleManager = newBasicManager(app.ModuleManager)
	app.BasicModuleManager.RegisterLegacyAminoCodec(enc.Amino)
	app.BasicModuleManager.RegisterInterfaces(enc.InterfaceRegistry)
	setOrderings(app.ModuleManager)

	app.configurator = module.NewConfigurator(app.appCodec, app.MsgServiceRouter(), app.GRPCQueryRouter())
	if err := app.ModuleManager.RegisterServices(app.configurator); err != nil {
		panic(fmt.Errorf("register module services: %w", err))
	}
	app.registerUpgradeHandlers()

	autocliv1.RegisterQueryServer(app.GRPCQueryRouter(), runtimeservices.NewAutoCLIQueryService(app.ModuleManager.Modules))
	reflectionSvc, err := runtimeservices.NewReflectionService()
	if err != nil {
		panic(err)
	}
	reflectionv1.RegisterReflectionServiceServer(app.GRPCQueryRouter(), reflectionSvc)

	app.MountKVStores(keys)

	app.SetInitChainer(app.InitChainer)
	app.SetPreBlocker(app.PreBlocker)
	app.SetBeginBlocker(app.BeginBlocker)
	app.SetEndBlocker(app.EndBlocker)
	app.setAnteHandler(wasmConfig)
	postHandler, err := posthandler.NewPostHandler(posthandler.HandlerOptions{})
	if err != nil {
		panic(err)
	}
	app.SetPostHandler(postHandler)
	app.setVoteExtensionHandlers(appOpts)

	// State sync snapshots must carry the wasm code, which lives outside
	// the IAVL store.
	if manager := app.SnapshotManager(); manager != nil {
		if err := manager.RegisterExtensions(wasmkeeper.NewWasmSnapshotter(app.CommitMultiStore(), &app.WasmKeeper)); err != nil {
			panic(fmt.Errorf("register wasm snapshot extension: %w", err))
		}
	}

	if loadLatest {
		if err := app.LoadLatestVersion(); err != nil {
			panic(fmt.Errorf("load latest version: %w", err))
		}
		// Pinned contract code lives in the VM's memory cache, not in state.
		ctx := app.NewContextLegacy(true, cmtproto.Header{})
		if err := app.WasmKeeper.InitializePinnedCodes(ctx); err != nil {
			panic(fmt.Errorf("initialize pinned wasm codes: %w", err))
		}
	}
	return app
}

func (app *NyxApp) setAnteHandler(wasmConfig wasmtypes.NodeConfig) {
	h, err := NewAnteHandler(AnteOptions{
		HandlerOptions: ante.HandlerOptions{
			AccountKeeper:   app.AccountKeeper,
			BankKeeper:      app.BankKeeper,
			SignModeHandler: app.txConfig.SignModeHandler(),
			FeegrantKeeper:  app.FeeGrantKeeper,
			SigGasConsumer:  ante.DefaultSigVerificationGasConsumer,
		},
		IBCKeeper:             app.IBCKeeper,
		WasmConfig:            &wasmConfig,
		WasmKeeper:            &app.WasmKeeper,
		TXCounterStoreService: runtime.NewKVStoreService(app.keys[wasmtypes.StoreKey]),
	})
	if err != nil {
		panic(err)
	}
	app.SetAnteHandler(h)
}

// Name returns the application's name.
func (app *NyxApp) Name() string { return app.BaseApp.Name() }

// PreBlocker runs the modules' pre-blockers (upgrade, auth).
func (app *NyxApp) PreBlocker(ctx sdk.Context, req *abci.RequestFinalizeBlock) (*sdk.ResponsePreBlock, error) {
	res, err := app.ModuleManager.PreBlock(ctx)
	if err != nil {
		return res, err
	}
	return res, app.voteExtensions.PreBlocker(ctx, req)
}

// BeginBlocker runs the modules' begin blockers.
func (app *NyxApp) BeginBlocker(ctx sdk.Context) (sdk.BeginBlock, error) {
	return app.ModuleManager.BeginBlock(ctx)
}

// EndBlocker runs the modules' end blockers.
func (app *NyxApp) EndBlocker(ctx sdk.Context) (sdk.EndBlock, error) {
	return app.ModuleManager.EndBlock(ctx)
}

// InitChainer initialises every module from the genesis app state.
func (app *NyxApp) InitChainer(ctx sdk.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	var state GenesisState
	if err := json.Unmarshal(req.AppStateBytes, &state); err != nil {
		return nil, fmt.Errorf("decode genesis app state: %w", err)
	}
	if err := app.UpgradeKeeper.SetModuleVersionMap(ctx, app.ModuleManager.GetVersionMap()); err != nil {
		return nil, err
	}
	return app.ModuleManager.InitGenesis(ctx, app.appCodec, state)
}

// LoadHeight loads the state at a given height.
func (app *NyxApp) LoadHeight(height int64) error { return app.LoadVersion(height) }

// LegacyAmino returns the amino codec (legacy JSON signing only).
func (app *NyxApp) LegacyAmino() *codec.LegacyAmino { return app.legacyAmino }

// AppCodec returns the app's protobuf codec.
func (app *NyxApp) AppCodec() codec.Codec { return app.appCodec }

// InterfaceRegistry returns the app's interface registry.
func (app *NyxApp) InterfaceRegistry() codectypes.InterfaceRegistry { return app.interfaceRegistry }

// TxConfig returns the app's tx config.
func (app *NyxApp) TxConfig() client.TxConfig { return app.txConfig }

// EncodingConfig returns the app's codecs, with every module's types.
func (app *NyxApp) EncodingConfig() EncodingConfig {
	return EncodingConfig{InterfaceRegistry: app.interfaceRegistry, Codec: app.appCodec, TxConfig: app.txConfig, Amino: app.legacyAmino}
}

// Configurator returns the module configurator (used by upgrade handlers).
func (app *NyxApp) Configurator() module.Configurator { return app.configurator }

// DefaultGenesis returns the default genesis of every module.
func (app *NyxApp) DefaultGenesis() map[string]json.RawMessage {
	return app.BasicModuleManager.DefaultGenesis(app.appCodec)
}

// GetKey returns the store key of a module (tests and upgrades).
func (app *NyxApp) GetKey(name string) *storetypes.KVStoreKey { return app.keys[name] }

// GetStoreKeys returns every store key, sorted by name.
func (app *NyxApp) GetStoreKeys() []storetypes.StoreKey {
	out := make([]storetypes.StoreKey, 0, len(app.keys))
	for _, k := range app.keys {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// AutoCliOpts returns the options AutoCLI needs to build the tx and query
// commands of every module.
func (app *NyxApp) AutoCliOpts() autocli.AppOptions {
	modules := make(map[string]appmodule.AppModule)
	for _, m := range app.ModuleManager.Modules {
		named, ok := m.(module.HasName)
		if !ok {
			continue
		}
		if am, ok := named.(appmodule.AppModule); ok {
			modules[named.Name()] = am
		}
	}
	return autocli.AppOptions{
		Modules:               modules,
		ModuleOptions:         runtimeservices.ExtractAutoCLIOptions(app.ModuleManager.Modules),
		AddressCodec:          authcodec.NewBech32Codec(sdk.GetConfig().GetBech32AccountAddrPrefix()),
		ValidatorAddressCodec: authcodec.NewBech32Codec(sdk.GetConfig().GetBech32ValidatorAddrPrefix()),
		ConsensusAddressCodec: authcodec.NewBech32Codec(sdk.GetConfig().GetBech32ConsensusAddrPrefix()),
	}
}

// RegisterAPIRoutes registers the REST (grpc-gateway) routes of every module.
func (app *NyxApp) RegisterAPIRoutes(apiSvr *api.Server, apiConfig config.APIConfig) {
	clientCtx := apiSvr.ClientCtx
	authtx.RegisterGRPCGatewayRoutes(clientCtx, apiSvr.GRPCGatewayRouter)
	cmtservice.RegisterGRPCGatewayRoutes(clientCtx, apiSvr.GRPCGatewayRouter)
	nodeservice.RegisterGRPCGatewayRoutes(clientCtx, apiSvr.GRPCGatewayRouter)
	app.BasicModuleManager.RegisterGRPCGatewayRoutes(clientCtx, apiSvr.GRPCGatewayRouter)
	if err := server.RegisterSwaggerAPI(apiSvr.ClientCtx, apiSvr.Router, apiConfig.Swagger); err != nil {
		panic(err)
	}
}

// RegisterTxService registers the tx gRPC service (simulate, broadcast, get).
func (app *NyxApp) RegisterTxService(clientCtx client.Context) {
	authtx.RegisterTxService(app.GRPCQueryRouter(), clientCtx, app.Simulate, app.interfaceRegistry)
}

// RegisterTendermintService registers the CometBFT gRPC service.
func (app *NyxApp) RegisterTendermintService(clientCtx client.Context) {
	cmtApp := server.NewCometABCIWrapper(app)
	cmtservice.RegisterTendermintService(clientCtx, app.GRPCQueryRouter(), app.interfaceRegistry, cmtApp.Query)
}

// RegisterNodeService registers the node gRPC service (config, status).
func (app *NyxApp) RegisterNodeService(clientCtx client.Context, cfg config.Config) {
	nodeservice.RegisterNodeService(clientCtx, app.GRPCQueryRouter(), cfg, func() int64 {
		return app.CommitMultiStore().EarliestVersion()
	})
}
