package app

import (
	"fmt"
	"path/filepath"

	ibccallbacks "github.com/cosmos/ibc-go/v11/modules/apps/callbacks"
	"github.com/cosmos/ibc-go/v11/modules/apps/transfer"
	ibctransferkeeper "github.com/cosmos/ibc-go/v11/modules/apps/transfer/keeper"
	ibctransfertypes "github.com/cosmos/ibc-go/v11/modules/apps/transfer/types"
	transferv2 "github.com/cosmos/ibc-go/v11/modules/apps/transfer/v2"
	porttypes "github.com/cosmos/ibc-go/v11/modules/core/05-port/types"
	ibcapi "github.com/cosmos/ibc-go/v11/modules/core/api"
	ibcexported "github.com/cosmos/ibc-go/v11/modules/core/exported"
	ibckeeper "github.com/cosmos/ibc-go/v11/modules/core/keeper"
	ibctm "github.com/cosmos/ibc-go/v11/modules/light-clients/07-tendermint"
	"github.com/spf13/cast"

	corestore "cosmossdk.io/core/store"

	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/runtime"
	"github.com/cosmos/cosmos-sdk/server"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authcodec "github.com/cosmos/cosmos-sdk/x/auth/codec"
	authkeeper "github.com/cosmos/cosmos-sdk/x/auth/keeper"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	authzkeeper "github.com/cosmos/cosmos-sdk/x/authz/keeper"
	bankkeeper "github.com/cosmos/cosmos-sdk/x/bank/keeper"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	consensusparamkeeper "github.com/cosmos/cosmos-sdk/x/consensus/keeper"
	consensusparamtypes "github.com/cosmos/cosmos-sdk/x/consensus/types"
	distrkeeper "github.com/cosmos/cosmos-sdk/x/distribution/keeper"
	distrtypes "github.com/cosmos/cosmos-sdk/x/distribution/types"
	evidencekeeper "github.com/cosmos/cosmos-sdk/x/evidence/keeper"
	evidencetypes "github.com/cosmos/cosmos-sdk/x/evidence/types"
	"github.com/cosmos/cosmos-sdk/x/feegrant"
	feegrantkeeper "github.com/cosmos/cosmos-sdk/x/feegrant/keeper"
	govkeeper "github.com/cosmos/cosmos-sdk/x/gov/keeper"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"
	govv1beta1 "github.com/cosmos/cosmos-sdk/x/gov/types/v1beta1"
	mintkeeper "github.com/cosmos/cosmos-sdk/x/mint/keeper"
	minttypes "github.com/cosmos/cosmos-sdk/x/mint/types"
	slashingkeeper "github.com/cosmos/cosmos-sdk/x/slashing/keeper"
	slashingtypes "github.com/cosmos/cosmos-sdk/x/slashing/types"
	stakingkeeper "github.com/cosmos/cosmos-sdk/x/staking/keeper"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"
	upgradekeeper "github.com/cosmos/cosmos-sdk/x/upgrade/keeper"
	upgradetypes "github.com/cosmos/cosmos-sdk/x/upgrade/types"

	"github.com/CosmWasm/wasmd/x/wasm"
	wasmkeeper "github.com/CosmWasm/wasmd/x/wasm/keeper"
	wasmtypes "github.com/CosmWasm/wasmd/x/wasm/types"

	coconutkeeper "github.com/nyx-privacy/nyx/x/coconut/keeper"
	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
	mixnetkeeper "github.com/nyx-privacy/nyx/x/mixnet/keeper"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
	vestingkeeper "github.com/nyx-privacy/nyx/x/vesting/keeper"
	vestingtypes "github.com/nyx-privacy/nyx/x/vesting/types"
)

// Keepers holds every keeper of the app.
type Keepers struct {
	AccountKeeper         authkeeper.AccountKeeper
	BankKeeper            bankkeeper.BaseKeeper
	StakingKeeper         *stakingkeeper.Keeper
	SlashingKeeper        slashingkeeper.Keeper
	MintKeeper            mintkeeper.Keeper
	DistrKeeper           distrkeeper.Keeper
	GovKeeper             govkeeper.Keeper
	UpgradeKeeper         *upgradekeeper.Keeper
	EvidenceKeeper        evidencekeeper.Keeper
	ConsensusParamsKeeper consensusparamkeeper.Keeper
	FeeGrantKeeper        feegrantkeeper.Keeper
	AuthzKeeper           authzkeeper.Keeper

	// IBCKeeper is a pointer so the router can be set on it after the
	// application stacks are built.
	IBCKeeper      *ibckeeper.Keeper
	TransferKeeper *ibctransferkeeper.Keeper
	WasmKeeper     wasmkeeper.Keeper

	MixnetKeeper  mixnetkeeper.Keeper
	CoconutKeeper coconutkeeper.Keeper
	VestingKeeper vestingkeeper.Keeper

	tmLightClientModule ibctm.LightClientModule
}

// govAuthority is the address of the gov module account: the authority of
// every module's MsgUpdateParams.
func govAuthority() string {
	return authtypes.NewModuleAddress(govtypes.ModuleName).String()
}

// newKeepers builds every keeper in dependency order and wires the IBC
// application stacks. It reads the wasm node config and the upgrade skip
// heights from appOpts.
func (app *NyxApp) newKeepers(appOpts servertypes.AppOptions, wasmOpts []wasmkeeper.Option) wasmtypes.NodeConfig {
	cdc := app.appCodec
	keys := app.keys
	store := func(name string) corestore.KVStoreService { return runtime.NewKVStoreService(keys[name]) }
	authority := govAuthority()
	accCodec := authcodec.NewBech32Codec(sdk.GetConfig().GetBech32AccountAddrPrefix())

	app.ConsensusParamsKeeper = consensusparamkeeper.NewKeeper(
		cdc, store(consensusparamtypes.StoreKey), authority, runtime.EventService{},
	)
	app.SetParamStore(app.ConsensusParamsKeeper.ParamsStore)

	app.AccountKeeper = authkeeper.NewAccountKeeper(
		cdc, store(authtypes.StoreKey), authtypes.ProtoBaseAccount, maccPerms,
		accCodec, sdk.GetConfig().GetBech32AccountAddrPrefix(), authority,
	)
	app.BankKeeper = bankkeeper.NewBaseKeeper(
		cdc, store(banktypes.StoreKey), app.AccountKeeper, BlockedAddresses(), authority, app.Logger(),
	)
	app.StakingKeeper = stakingkeeper.NewKeeper(
		cdc, store(stakingtypes.StoreKey), app.AccountKeeper, app.BankKeeper, authority,
		authcodec.NewBech32Codec(sdk.GetConfig().GetBech32ValidatorAddrPrefix()),
		authcodec.NewBech32Codec(sdk.GetConfig().GetBech32ConsensusAddrPrefix()),
	)
	app.MintKeeper = mintkeeper.NewKeeper(
		cdc, store(minttypes.StoreKey), app.StakingKeeper, app.AccountKeeper, app.BankKeeper,
		authtypes.FeeCollectorName, authority,
	)
	app.DistrKeeper = distrkeeper.NewKeeper(
		cdc, store(distrtypes.StoreKey), app.AccountKeeper, app.BankKeeper, app.StakingKeeper,
		authtypes.FeeCollectorName, authority,
	)
	app.SlashingKeeper = slashingkeeper.NewKeeper(
		cdc, app.legacyAmino, store(slashingtypes.StoreKey), app.StakingKeeper, authority,
	)
	app.FeeGrantKeeper = feegrantkeeper.NewKeeper(cdc, store(feegrant.StoreKey), app.AccountKeeper)

	// The staking keeper is a pointer: the hooks set here are the ones every
	// module holding it sees.
	app.StakingKeeper.SetHooks(stakingtypes.NewMultiStakingHooks(
		app.DistrKeeper.Hooks(),
		app.SlashingKeeper.Hooks(),
	))

	app.AuthzKeeper = authzkeeper.NewKeeper(
		store(authzkeeper.StoreKey), cdc, app.MsgServiceRouter(), app.AccountKeeper,
	)

	skipUpgradeHeights := map[int64]bool{}
	for _, h := range cast.ToIntSlice(appOpts.Get(server.FlagUnsafeSkipUpgrades)) {
		skipUpgradeHeights[int64(h)] = true
	}
	homePath := cast.ToString(appOpts.Get(flags.FlagHome))
	app.UpgradeKeeper = upgradekeeper.NewKeeper(
		skipUpgradeHeights, store(upgradetypes.StoreKey), cdc, homePath, app.BaseApp, authority,
	)

	app.IBCKeeper = ibckeeper.NewKeeper(cdc, store(ibcexported.StoreKey), app.UpgradeKeeper, authority)

	// Legacy v1beta1 text proposals only; everything else goes through
	// gov v1 proposals that carry Msgs.
	govRouter := govv1beta1.NewRouter()
	govRouter.AddRoute(govtypes.RouterKey, govv1beta1.ProposalHandler)
	govKeeper := govkeeper.NewKeeper(
		cdc, store(govtypes.StoreKey), app.AccountKeeper, app.BankKeeper, app.DistrKeeper,
		app.MsgServiceRouter(), govtypes.DefaultConfig(), authority,
		govkeeper.NewDefaultCalculateVoteResultsAndVotingPower(app.StakingKeeper),
	)
	govKeeper.SetLegacyRouter(govRouter)
	app.GovKeeper = *govKeeper.SetHooks(govtypes.NewMultiGovHooks())

	app.EvidenceKeeper = *evidencekeeper.NewKeeper(
		cdc, store(evidencetypes.StoreKey), app.StakingKeeper, app.SlashingKeeper,
		app.AccountKeeper.AddressCodec(), runtime.ProvideCometInfoService(),
	)

	app.TransferKeeper = ibctransferkeeper.NewKeeper(
		cdc, app.AccountKeeper.AddressCodec(), store(ibctransfertypes.StoreKey),
		app.IBCKeeper.ChannelKeeper, app.MsgServiceRouter(), app.AccountKeeper, app.BankKeeper, authority,
	)

	nodeConfig, err := wasm.ReadNodeConfig(appOpts)
	if err != nil {
		panic(fmt.Sprintf("read wasm node config: %s", err))
	}
	app.WasmKeeper = wasmkeeper.NewKeeper(
		cdc, store(wasmtypes.StoreKey), app.AccountKeeper, app.BankKeeper, app.StakingKeeper,
		distrkeeper.NewQuerier(app.DistrKeeper),
		app.IBCKeeper.ChannelKeeper, app.IBCKeeper.ChannelKeeper, app.IBCKeeper.ChannelKeeperV2,
		app.TransferKeeper, app.MsgServiceRouter(), app.GRPCQueryRouter(),
		filepath.Join(homePath, "wasm"), nodeConfig, wasmtypes.VMConfig{},
		wasmkeeper.BuiltInCapabilities(), authority, wasmOpts...,
	)

	app.wireIBC()

	app.MixnetKeeper = mixnetkeeper.NewKeeper(
		cdc, store(mixnettypes.StoreKey), app.AccountKeeper, app.BankKeeper, authority,
	)
	app.CoconutKeeper = coconutkeeper.NewKeeper(
		cdc, store(coconuttypes.StoreKey), app.AccountKeeper, app.BankKeeper, authority,
	)
	// The epoch beacon: x/coconut signs x/mixnet's next epoch, x/mixnet seeds
	// its role draw with the result.
	app.CoconutKeeper.SetEpochSource(app.MixnetKeeper)
	app.MixnetKeeper.SetBeaconSource(app.CoconutKeeper)
	app.CoconutKeeper.SetValidatorSource(app.StakingKeeper)
	// Vesting accounts: x/vesting pledges and delegates through x/mixnet's keeper
	// methods with its module account paying; x/mixnet sends those coins back to
	// that account and tells x/vesting whose they are.
	app.VestingKeeper = vestingkeeper.NewKeeper(
		cdc, store(vestingtypes.StoreKey), app.AccountKeeper, app.BankKeeper, app.MixnetKeeper, authority,
	)
	app.MixnetKeeper.SetVestingFunder(vestingtypes.ModuleName, app.VestingKeeper)
	return nodeConfig
}

// wireIBC builds the IBC application stacks (transfer with contract
// callbacks, and the wasm handler for contracts that own ports), sets the
// routers and registers the tendermint light client.
func (app *NyxApp) wireIBC() {
	wasmIBCHandler := wasm.NewIBCHandler(app.WasmKeeper, app.IBCKeeper.ChannelKeeper, app.TransferKeeper, app.IBCKeeper.ChannelKeeper)

	transferStack := porttypes.NewIBCStackBuilder(app.IBCKeeper.ChannelKeeper).
		Base(transfer.NewIBCModule(app.TransferKeeper)).
		Next(ibccallbacks.NewIBCMiddleware(wasmIBCHandler, wasm.DefaultMaxIBCCallbackGas)).
		Build()
	app.TransferKeeper.WithICS4Wrapper(transferStack.(porttypes.ICS4Wrapper))

	app.IBCKeeper.SetRouter(porttypes.NewRouter().
		AddRoute(ibctransfertypes.ModuleName, transferStack).
		AddRoute(wasmtypes.ModuleName, wasmIBCHandler))

	app.IBCKeeper.SetRouterV2(ibcapi.NewRouter().
		AddRoute(ibctransfertypes.PortID, transferv2.NewIBCModule(app.TransferKeeper)).
		AddPrefixRoute(wasmkeeper.PortIDPrefixV2, wasmkeeper.NewIBC2Handler(app.WasmKeeper)))

	app.tmLightClientModule = ibctm.NewLightClientModule(app.appCodec, app.IBCKeeper.ClientKeeper.GetStoreProvider())
	app.IBCKeeper.ClientKeeper.AddRoute(ibctm.ModuleName, &app.tmLightClientModule)
}
