package app

import (
	"maps"

	"github.com/cosmos/ibc-go/v11/modules/apps/transfer"
	ibctransfertypes "github.com/cosmos/ibc-go/v11/modules/apps/transfer/types"
	ibc "github.com/cosmos/ibc-go/v11/modules/core"
	ibcexported "github.com/cosmos/ibc-go/v11/modules/core/exported"
	ibctm "github.com/cosmos/ibc-go/v11/modules/light-clients/07-tendermint"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/types/module"
	"github.com/cosmos/cosmos-sdk/x/auth"
	authsims "github.com/cosmos/cosmos-sdk/x/auth/simulation"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	"github.com/cosmos/cosmos-sdk/x/authz"
	authzmodule "github.com/cosmos/cosmos-sdk/x/authz/module"
	"github.com/cosmos/cosmos-sdk/x/bank"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	"github.com/cosmos/cosmos-sdk/x/consensus"
	consensusparamtypes "github.com/cosmos/cosmos-sdk/x/consensus/types"
	distr "github.com/cosmos/cosmos-sdk/x/distribution"
	distrtypes "github.com/cosmos/cosmos-sdk/x/distribution/types"
	"github.com/cosmos/cosmos-sdk/x/evidence"
	evidencetypes "github.com/cosmos/cosmos-sdk/x/evidence/types"
	"github.com/cosmos/cosmos-sdk/x/feegrant"
	feegrantmodule "github.com/cosmos/cosmos-sdk/x/feegrant/module"
	"github.com/cosmos/cosmos-sdk/x/genutil"
	genutiltypes "github.com/cosmos/cosmos-sdk/x/genutil/types"
	"github.com/cosmos/cosmos-sdk/x/gov"
	govclient "github.com/cosmos/cosmos-sdk/x/gov/client"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"
	"github.com/cosmos/cosmos-sdk/x/mint"
	minttypes "github.com/cosmos/cosmos-sdk/x/mint/types"
	"github.com/cosmos/cosmos-sdk/x/slashing"
	slashingtypes "github.com/cosmos/cosmos-sdk/x/slashing/types"
	"github.com/cosmos/cosmos-sdk/x/staking"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"
	"github.com/cosmos/cosmos-sdk/x/upgrade"
	upgradetypes "github.com/cosmos/cosmos-sdk/x/upgrade/types"

	"github.com/CosmWasm/wasmd/x/wasm"
	wasmtypes "github.com/CosmWasm/wasmd/x/wasm/types"

	"github.com/nyx-privacy/nyx/x/coconut"
	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
	"github.com/nyx-privacy/nyx/x/mixnet"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
	"github.com/nyx-privacy/nyx/x/vesting"
	vestingtypes "github.com/nyx-privacy/nyx/x/vesting/types"
)

// maccPerms are the module accounts and what each may do with coins.
var maccPerms = map[string][]string{
	authtypes.FeeCollectorName:     nil,
	distrtypes.ModuleName:          nil,
	minttypes.ModuleName:           {authtypes.Minter},
	stakingtypes.BondedPoolName:    {authtypes.Burner, authtypes.Staking},
	stakingtypes.NotBondedPoolName: {authtypes.Burner, authtypes.Staking},
	govtypes.ModuleName:            {authtypes.Burner},
	ibctransfertypes.ModuleName:    {authtypes.Minter, authtypes.Burner},
	wasmtypes.ModuleName:           {authtypes.Burner},
	// x/mixnet holds pledges, delegations, unpaid rewards and the reward
	// pool; it neither mints nor burns.
	mixnettypes.ModuleName: nil,
	// x/coconut holds the credential deposits until a gateway redeems them; it
	// neither mints nor burns.
	coconuttypes.ModuleName: nil,
	// x/vesting holds the vesting accounts' coins that are neither withdrawn nor
	// pledged or delegated; it neither mints nor burns.
	vestingtypes.ModuleName: nil,
}

// ModuleAccountPermissions returns a copy of the module account permissions.
func ModuleAccountPermissions() map[string][]string {
	return maps.Clone(maccPerms)
}

// BlockedAddresses returns the addresses that may not receive coins by a
// plain bank send: every module account but gov's (deposits are sent to it).
func BlockedAddresses() map[string]bool {
	blocked := make(map[string]bool, len(maccPerms))
	for name := range maccPerms {
		blocked[authtypes.NewModuleAddress(name).String()] = true
	}
	delete(blocked, authtypes.NewModuleAddress(govtypes.ModuleName).String())
	return blocked
}

// newModuleManager builds the module manager with every module of the app.
func (app *NyxApp) newModuleManager(txConfig client.TxConfig) *module.Manager {
	cdc := app.appCodec
	return module.NewManager(
		genutil.NewAppModule(app.AccountKeeper, app.StakingKeeper, app, txConfig),
		auth.NewAppModule(cdc, app.AccountKeeper, authsims.RandomGenesisAccounts, nil),
		bank.NewAppModule(cdc, app.BankKeeper, app.AccountKeeper, nil),
		feegrantmodule.NewAppModule(cdc, app.AccountKeeper, app.BankKeeper, app.FeeGrantKeeper, app.interfaceRegistry),
		gov.NewAppModule(cdc, &app.GovKeeper, app.AccountKeeper, app.BankKeeper, nil),
		mint.NewAppModule(cdc, app.MintKeeper, app.AccountKeeper, nil, nil),
		slashing.NewAppModule(cdc, app.SlashingKeeper, app.AccountKeeper, app.BankKeeper, app.StakingKeeper, nil, app.interfaceRegistry),
		distr.NewAppModule(cdc, app.DistrKeeper, app.AccountKeeper, app.BankKeeper, app.StakingKeeper, nil),
		staking.NewAppModule(cdc, app.StakingKeeper, app.AccountKeeper, app.BankKeeper, nil),
		upgrade.NewAppModule(app.UpgradeKeeper, app.AccountKeeper.AddressCodec()),
		evidence.NewAppModule(app.EvidenceKeeper),
		authzmodule.NewAppModule(cdc, app.AuthzKeeper, app.AccountKeeper, app.BankKeeper, app.interfaceRegistry),
		consensus.NewAppModule(cdc, app.ConsensusParamsKeeper),
		wasm.NewAppModule(cdc, &app.WasmKeeper, app.StakingKeeper, app.AccountKeeper, app.BankKeeper, app.MsgServiceRouter(), nil),
		ibc.NewAppModule(app.IBCKeeper),
		transfer.NewAppModule(app.TransferKeeper),
		ibctm.NewAppModule(app.tmLightClientModule),
		mixnet.NewAppModule(app.MixnetKeeper),
		coconut.NewAppModule(app.CoconutKeeper),
		vesting.NewAppModule(app.VestingKeeper),
	)
}

// newBasicManager derives the basic manager (codecs, default genesis, CLI)
// from the module manager, overriding the modules whose basics take options.
func newBasicManager(mm *module.Manager) module.BasicManager {
	return module.NewBasicManagerFromManager(mm, map[string]module.AppModuleBasic{
		genutiltypes.ModuleName: genutil.NewAppModuleBasic(genutiltypes.DefaultMessageValidator),
		govtypes.ModuleName:     gov.NewAppModuleBasic([]govclient.ProposalHandler{}),
	})
}

// setOrderings sets the order in which modules run in each ABCI phase and
// at genesis.
func setOrderings(mm *module.Manager) {
	// upgrade first: a scheduled upgrade must halt the chain before any
	// other module runs at the upgrade height.
	mm.SetOrderPreBlockers(upgradetypes.ModuleName, authtypes.ModuleName)

	// mint before distribution, so the block's inflation is distributed in
	// the same block; slashing after distribution (the SDK's
	// CanWithdrawInvariant needs the fee pool settled first).
	mm.SetOrderBeginBlockers(
		minttypes.ModuleName,
		distrtypes.ModuleName,
		slashingtypes.ModuleName,
		evidencetypes.ModuleName,
		stakingtypes.ModuleName,
		genutiltypes.ModuleName,
		authz.ModuleName,
		ibctransfertypes.ModuleName,
		ibcexported.ModuleName,
		wasmtypes.ModuleName,
	)

	// bank first (SDK v0.54 release notes): later end blockers see settled
	// balances.
	mm.SetOrderEndBlockers(
		banktypes.ModuleName,
		govtypes.ModuleName,
		stakingtypes.ModuleName,
		genutiltypes.ModuleName,
		feegrant.ModuleName,
		ibctransfertypes.ModuleName,
		ibcexported.ModuleName,
		wasmtypes.ModuleName,
		// prunes the requests whose retention ended.
		coconuttypes.ModuleName,
		// epochs close after every other module has run in the block.
		mixnettypes.ModuleName,
	)

	// genutil after staking (gentxs need the pools) and after auth (it
	// reads auth params); wasm last, since contracts instantiated at genesis
	// may call any other module.
	genesisOrder := []string{
		authtypes.ModuleName,
		banktypes.ModuleName,
		distrtypes.ModuleName,
		stakingtypes.ModuleName,
		slashingtypes.ModuleName,
		govtypes.ModuleName,
		minttypes.ModuleName,
		genutiltypes.ModuleName,
		evidencetypes.ModuleName,
		authz.ModuleName,
		feegrant.ModuleName,
		upgradetypes.ModuleName,
		consensusparamtypes.ModuleName,
		// after bank: its genesis checks the module account's balance.
		mixnettypes.ModuleName,
		coconuttypes.ModuleName,
		// after bank (its genesis checks the module account's balance) and
		// x/mixnet (whose records hold the accounts' pledges and delegations).
		vestingtypes.ModuleName,
		ibctransfertypes.ModuleName,
		ibcexported.ModuleName,
		wasmtypes.ModuleName,
	}
	mm.SetOrderInitGenesis(genesisOrder...)

	// consensus params first on export, as the SDK's apps do.
	mm.SetOrderExportGenesis(append([]string{consensusparamtypes.ModuleName},
		removeName(genesisOrder, consensusparamtypes.ModuleName)...)...)
}

func removeName(names []string, name string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n != name {
			out = append(out, n)
		}
	}
	return out
}
