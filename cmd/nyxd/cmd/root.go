// Package cmd builds nyxd's command tree.
package cmd

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/config"
	"github.com/cosmos/cosmos-sdk/server"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	"github.com/cosmos/cosmos-sdk/version"
	"github.com/cosmos/cosmos-sdk/x/auth/tx"
	txmodule "github.com/cosmos/cosmos-sdk/x/auth/tx/config"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	wasmtypes "github.com/CosmWasm/wasmd/x/wasm/types"

	"github.com/nyx-privacy/nyx/app"
)

// NewRootCmd returns nyxd's root command: the node (init, start, genesis,
// testnet, export) and the client (keys, tx and query through AutoCLI).
func NewRootCmd() *cobra.Command {
	if version.AppName == "" || version.AppName == "<appd>" {
		version.AppName = "nyxd"
	}
	if version.Name == "" {
		version.Name = app.Name
	}
	app.SetAddressPrefixes()
	cfg := sdk.GetConfig()
	cfg.SetAddressVerifier(wasmtypes.VerifyAddressLen())
	cfg.Seal()

	// A never-started app gives the codecs and module basics the client needs.
	tempApp := app.Template()

	initClientCtx := client.Context{}.
		WithCodec(tempApp.AppCodec()).
		WithInterfaceRegistry(tempApp.InterfaceRegistry()).
		WithTxConfig(tempApp.TxConfig()).
		WithLegacyAmino(tempApp.LegacyAmino()).
		WithInput(os.Stdin).
		WithAccountRetriever(authtypes.AccountRetriever{}).
		WithHomeDir(app.DefaultNodeHome).
		WithViper("NYXD")

	rootCmd := &cobra.Command{
		Use:           version.AppName,
		Short:         "Nyx chain daemon: the mixnet's directory, economy and credentials",
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			cmd.SetOut(cmd.OutOrStdout())
			cmd.SetErr(cmd.ErrOrStderr())

			clientCtx := initClientCtx.WithCmdContext(cmd.Context())
			clientCtx, err := client.ReadPersistentCommandFlags(clientCtx, cmd.Flags())
			if err != nil {
				return err
			}
			// A fresh viper: the client config is looked up in the config
			// paths a viper has accumulated, so a shared one would read
			// the default home's client.toml instead of --home's.
			clientCtx, err = config.ReadFromClientConfig(clientCtx.WithViper("NYXD"))
			if err != nil {
				return err
			}
			// SIGN_MODE_TEXTUAL needs the chain's coin metadata, so only an
			// online client enables it.
			if !clientCtx.Offline {
				txConfig, err := tx.NewTxConfigWithOptions(clientCtx.Codec, tx.ConfigOptions{
					EnabledSignModes:           append(tx.DefaultSignModes, signing.SignMode_SIGN_MODE_TEXTUAL),
					TextualCoinMetadataQueryFn: txmodule.NewGRPCCoinMetadataQueryFn(clientCtx),
				})
				if err != nil {
					return err
				}
				clientCtx = clientCtx.WithTxConfig(txConfig)
			}
			if err := client.SetCmdClientContextHandler(clientCtx, cmd); err != nil {
				return err
			}
			appTemplate, appConfig := initAppConfig()
			return server.InterceptConfigsPreRunHandler(cmd, appTemplate, appConfig, initCometConfig())
		},
	}

	initRootCmd(rootCmd, tempApp)

	autoCliOpts := tempApp.AutoCliOpts()
	autoCliCtx, _ := config.ReadFromClientConfig(initClientCtx.WithViper("NYXD"))
	autoCliOpts.ClientCtx = autoCliCtx
	if err := autoCliOpts.EnhanceRootCommand(rootCmd); err != nil {
		panic(err)
	}
	return rootCmd
}
