package cmd

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/cometbft/cometbft/privval"
	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/server"
	"github.com/cosmos/cosmos-sdk/types/module"
	genutilcli "github.com/cosmos/cosmos-sdk/x/genutil/client/cli"
	genutiltypes "github.com/cosmos/cosmos-sdk/x/genutil/types"

	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
)

// initCmd is the SDK's init followed by the node's x/coconut set-up for a
// one-validator chain: a trusted dealer (this command) makes an issuing key
// with t = n = 1, writes the share to config/coconut_key.json (0600) beside
// priv_validator_key.json with a fresh DKG key in config/coconut_dkg_key.json
// (0600), puts the key set with this node's consensus address in genesis and
// turns vote extensions on from the initial height. A chain of several
// validators gets its first key from `testnet init-files`, or replaces the
// genesis key set accordingly; the on-chain DKG makes the next ones.
func initCmd(basics module.BasicManager, defaultHome string) *cobra.Command {
	cmd := genutilcli.InitCmd(basics, defaultHome)
	sdkRun := cmd.RunE
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := sdkRun(cmd, args); err != nil {
			return err
		}
		clientCtx := client.GetClientContextFromCmd(cmd)
		cfg := server.GetServerContextFromCmd(cmd).Config
		cfg.SetRoot(clientCtx.HomeDir)
		pv := privval.LoadFilePV(cfg.PrivValidatorKeyFile(), cfg.PrivValidatorStateFile())
		pub, err := pv.GetPubKey()
		if err != nil {
			return err
		}
		ks, files, err := coconuttypes.DealKeySet(rand.Reader, 1, [][]byte{pub.Address()})
		if err != nil {
			return fmt.Errorf("deal the coconut issuing key: %w", err)
		}
		path := coconuttypes.IssuerKeyPath(clientCtx.HomeDir)
		dkgPath := coconuttypes.DKGKeyPath(clientCtx.HomeDir)
		if overwrite, _ := cmd.Flags().GetBool(genutilcli.FlagOverwrite); overwrite {
			for _, p := range []string{path, dkgPath} {
				if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
		}
		if err := files[0].Save(path); err != nil {
			return err
		}
		dkgKey, err := coconuttypes.GenerateDKGKey(rand.Reader, pub.Address())
		if err != nil {
			return err
		}
		if err := dkgKey.Save(dkgPath); err != nil {
			return err
		}
		return setGenesisIssuingKey(clientCtx.Codec, cfg.GenesisFile(), ks)
	}
	return cmd
}

func setGenesisIssuingKey(cdc codec.Codec, genFile string, ks coconuttypes.KeySet) error {
	g, err := genutiltypes.AppGenesisFromFile(genFile)
	if err != nil {
		return err
	}
	state, err := genutiltypes.GenesisStateFromAppGenesis(g)
	if err != nil {
		return err
	}
	var cg coconuttypes.GenesisState
	if err := cdc.UnmarshalJSON(state[coconuttypes.ModuleName], &cg); err != nil {
		return err
	}
	cg.KeySets = []coconuttypes.KeySet{ks}
	if state[coconuttypes.ModuleName], err = cdc.MarshalJSON(&cg); err != nil {
		return err
	}
	if g.AppState, err = json.MarshalIndent(state, "", "  "); err != nil {
		return err
	}
	g.Consensus.Params.ABCI.VoteExtensionsEnableHeight = max(g.InitialHeight, 1)
	return g.SaveAs(genFile)
}
