package cmd

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/app"

	"github.com/nyx-privacy/nyx/internal/devnet"
)

// NewTestnetCmd returns `nyxd testnet`, which writes multi-node networks.
func NewTestnetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "testnet",
		Short: "Write the files of a local multi-validator network",
	}
	cmd.AddCommand(initFilesCmd())
	return cmd
}

func initFilesCmd() *cobra.Command {
	var (
		validators    int
		outputDir     string
		chainID       string
		basePort      int
		accounts      string
		timeoutCommit time.Duration
		mixnetEpoch   time.Duration
		rewardPool    string
		monitors      []string
		vestingGrant  string
	)
	cmd := &cobra.Command{
		Use:   "init-files",
		Short: "Write N validator homes on 127.0.0.1 with one genesis",
		Long: `Write the home directory of every validator of a local network: node and
validator keys, an operator key "validator" in each home's test keyring, named
funded accounts in node0's keyring, one genesis holding every validator's gentx,
and config.toml, app.toml and client.toml wired to each other on 127.0.0.1.

Node i listens on consecutive ports from --starting-port + 10*i: P2P, RPC,
gRPC, REST. Start each node with: nyxd start --home <output-dir>/node<i>`,
		Example: "nyxd testnet init-files --v 4 --output-dir ./.testnets --accounts alice,bob",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var names []string
			for _, n := range strings.Split(accounts, ",") {
				if n = strings.TrimSpace(n); n != "" {
					names = append(names, n)
				}
			}
			pool := sdkmath.ZeroInt()
			if rewardPool != "" {
				c, err := sdk.ParseCoinNormalized(rewardPool)
				if err != nil || c.Denom != app.MixDenom {
					return fmt.Errorf("--reward-pool %q: want an amount of %s", rewardPool, app.MixDenom)
				}
				pool = c.Amount
			}
			var grant *devnet.VestingGrant
			if vestingGrant != "" {
				name, amount, ok := strings.Cut(vestingGrant, "=")
				c, err := sdk.ParseCoinNormalized(amount)
				if !ok || err != nil || c.Denom != app.MixDenom || !c.IsPositive() {
					return fmt.Errorf("--vesting %q: want <account>=<amount of %s>, e.g. dave=80000000000%s", vestingGrant, app.MixDenom, app.MixDenom)
				}
				grant = &devnet.VestingGrant{Account: name, Amount: c.Amount}
			}
			net, err := devnet.Write(devnet.Config{
				Vesting:         grant,
				MixnetEpoch:     mixnetEpoch,
				NetworkMonitors: monitors,
				RewardPool:      pool,
				Dir:             outputDir,
				ChainID:         chainID,
				Validators:      validators,
				Ports:           func(i int) devnet.Ports { return devnet.PortsAt(basePort, i) },
				Accounts:        names,
				TimeoutCommit:   timeoutCommit,
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "wrote %d validator homes for chain %s in %s\n", len(net.Nodes), net.ChainID, outputDir)
			for _, n := range net.Nodes {
				fmt.Fprintf(out, "  %s  home %s  rpc 127.0.0.1:%d  grpc 127.0.0.1:%d  rest 127.0.0.1:%d\n",
					n.Moniker, n.Home, n.Ports.RPC, n.Ports.GRPC, n.Ports.API)
			}
			for _, a := range net.Accounts {
				fmt.Fprintf(out, "  account %s %s\n", a.Name, a.Address)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&validators, "v", 4, "number of validators")
	f.StringVarP(&outputDir, "output-dir", "o", "./.testnets", "directory to write the node homes into")
	f.StringVar(&chainID, "chain-id", "nyx-testnet", "chain id of the network")
	f.IntVar(&basePort, "starting-port", 26650, "first port of node0; node i uses starting-port+10*i .. +3")
	f.StringVar(&accounts, "accounts", "", "comma-separated names of funded accounts to create in node0's keyring")
	f.DurationVar(&timeoutCommit, "timeout-commit", time.Second, "CometBFT's pause after each block")
	f.DurationVar(&mixnetEpoch, "mixnet-epoch", 0, "x/mixnet epoch duration (default: the module's, one hour)")
	f.StringVar(&rewardPool, "reward-pool", "", "unym for x/mixnet's reward pool at genesis, e.g. 100000000000unym")
	f.StringSliceVar(&monitors, "network-monitors", nil, "accounts x/mixnet takes performance reports from (comma-separated n1... addresses)")
	f.StringVar(&vestingGrant, "vesting", "", "give one of --accounts an x/vesting account at genesis on Nym's schedule (8 periods of 3 months), e.g. dave=80000000000unym")
	return cmd
}
