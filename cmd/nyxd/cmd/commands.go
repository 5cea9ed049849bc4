package cmd

import (
	"errors"

	cmtcfg "github.com/cometbft/cometbft/config"
	dbm "github.com/cosmos/cosmos-db"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cast"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"cosmossdk.io/log/v2"
	confixcmd "cosmossdk.io/tools/confix/cmd"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/debug"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/client/keys"
	"github.com/cosmos/cosmos-sdk/client/pruning"
	"github.com/cosmos/cosmos-sdk/client/rpc"
	"github.com/cosmos/cosmos-sdk/client/snapshot"
	"github.com/cosmos/cosmos-sdk/server"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	authcmd "github.com/cosmos/cosmos-sdk/x/auth/client/cli"
	genutilcli "github.com/cosmos/cosmos-sdk/x/genutil/client/cli"

	"github.com/CosmWasm/wasmd/x/wasm"
	wasmcli "github.com/CosmWasm/wasmd/x/wasm/client/cli"
	wasmkeeper "github.com/CosmWasm/wasmd/x/wasm/keeper"

	"github.com/nyx-privacy/nyx/app"
)

// initCometConfig returns CometBFT's defaults; operators tune config.toml.
func initCometConfig() *cmtcfg.Config {
	return cmtcfg.DefaultConfig()
}

func initAppConfig() (string, any) {
	return app.AppConfigTemplate(), app.DefaultAppConfig()
}

func initRootCmd(rootCmd *cobra.Command, tempApp *app.NyxApp) {
	basics := tempApp.BasicModuleManager
	txConfig := tempApp.TxConfig()

	rootCmd.AddCommand(
		initCmd(basics, app.DefaultNodeHome),
		NewTestnetCmd(),
		debug.Cmd(),
		confixcmd.ConfigCommand(),
		pruning.Cmd(newApp, app.DefaultNodeHome),
		snapshot.Cmd(newApp),
	)
	server.AddCommands(rootCmd, app.DefaultNodeHome, newApp, exportApp, wasm.AddModuleInitFlags)
	wasmcli.ExtendUnsafeResetAllCmd(rootCmd)

	rootCmd.AddCommand(
		server.StatusCommand(),
		genutilcli.Commands(txConfig, basics, app.DefaultNodeHome),
		queryCommand(),
		txCommand(),
		keys.Commands(),
		coconutCmd(),
	)
}

func queryCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:                        "query",
		Aliases:                    []string{"q"},
		Short:                      "Query the chain",
		SuggestionsMinimumDistance: 2,
		RunE:                       client.ValidateCmd,
	}
	cmd.AddCommand(
		rpc.QueryEventForTxCmd(),
		rpc.WaitTxCmd(),
		server.QueryBlockCmd(),
		server.QueryBlocksCmd(),
		server.QueryBlockResultsCmd(),
		authcmd.QueryTxsByEventsCmd(),
		authcmd.QueryTxCmd(),
	)
	return cmd
}

func txCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:                        "tx",
		Short:                      "Create, sign and broadcast transactions",
		SuggestionsMinimumDistance: 2,
		RunE:                       client.ValidateCmd,
	}
	cmd.AddCommand(
		authcmd.GetSignCommand(),
		authcmd.GetSignBatchCommand(),
		authcmd.GetMultiSignCommand(),
		authcmd.GetMultiSignBatchCmd(),
		authcmd.GetValidateSignaturesCommand(),
		authcmd.GetBroadcastCommand(),
		authcmd.GetEncodeCommand(),
		authcmd.GetDecodeCommand(),
		authcmd.GetSimulateCmd(),
	)
	return cmd
}

func newApp(logger log.Logger, db dbm.DB, appOpts servertypes.AppOptions) servertypes.Application {
	var wasmOpts []wasmkeeper.Option
	if cast.ToBool(appOpts.Get("telemetry.enabled")) {
		wasmOpts = append(wasmOpts, wasmkeeper.WithVMCacheMetrics(prometheus.DefaultRegisterer))
	}
	return app.New(logger, db, true, appOpts, wasmOpts, server.DefaultBaseappOptions(appOpts)...)
}

func exportApp(
	logger log.Logger, db dbm.DB, height int64, forZeroHeight bool,
	jailAllowedAddrs []string, appOpts servertypes.AppOptions, modulesToExport []string,
) (servertypes.ExportedApp, error) {
	home, ok := appOpts.Get(flags.FlagHome).(string)
	if !ok || home == "" {
		return servertypes.ExportedApp{}, errors.New("export: the application home is not set")
	}
	v, ok := appOpts.(*viper.Viper)
	if !ok {
		return servertypes.ExportedApp{}, errors.New("export: app options are not a viper")
	}
	// Invariants are checked on every block of the exported state.
	v.Set(server.FlagInvCheckPeriod, 1)

	nyx := app.New(logger, db, height == -1, v, nil)
	if height != -1 {
		if err := nyx.LoadHeight(height); err != nil {
			return servertypes.ExportedApp{}, err
		}
	}
	return nyx.ExportAppStateAndValidators(forZeroHeight, jailAllowedAddrs, modulesToExport)
}
