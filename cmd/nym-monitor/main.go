// Command nym-monitor runs a Nyx network monitor: it measures every node
// of the epoch with test packets indistinguishable from clients' and
// reports each node's performance to x/mixnet.
//
//	nym-monitor init --home DIR --grpc-addr NYXD:9090 --chain-id ID [-o json]
//	nym-monitor chain-address --home DIR [-o json]
//	nym-monitor run --home DIR
//
// The home is --home, else $NYM_MONITOR_HOME, else ~/.nym-monitor. Every
// flag may also come from the environment: --grpc-addr from
// $NYM_MONITOR_GRPC_ADDR, and so on; --grpc is a deprecated alias of
// --grpc-addr. The chain account (chain-address) must be funded and listed
// in x/mixnet's network_monitors param.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/home"
	"github.com/nyx-privacy/nyx/sidecar/monitor"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

var cli = home.CLI{EnvPrefix: "NYM_MONITOR", Name: "nym-monitor"}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "nym-monitor",
		Short:         "A Nyx network monitor: measures the nodes and reports their performance to the chain",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cli.Root(root)
	root.AddCommand(initCmd(), addressCmd(), runCmd())
	return root
}

func initCmd() *cobra.Command {
	def := monitor.DefaultConfig()
	var grpc, chainID, httpListen, output string
	var rate float64
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a new home: identity and chain account keys (owner-only) and a documented config.toml",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := cli.Home(cmd)
			if err != nil {
				return err
			}
			cfg := monitor.DefaultConfig()
			cfg.Chain.GRPC, cfg.Chain.ChainID, cfg.HTTP.Listen = grpc, chainID, httpListen
			cfg.Monitor.Rate = rate
			keys, err := monitor.Init(dir, cfg)
			if err != nil {
				return err
			}
			addr, err := chaintx.Address(keys.Account, "")
			if err != nil {
				return err
			}
			return home.Print(cmd.OutOrStdout(), output, map[string]string{"home": dir, "chain_account": addr},
				fmt.Sprintf("monitor home written to %s\nchain account: %s (fund it, and have it added to x/mixnet's network_monitors)\n", dir, addr))
		},
	}
	home.GRPCFlag(cmd.Flags(), &grpc, def.Chain.GRPC, "nyxd's gRPC endpoint")
	cmd.Flags().StringVar(&chainID, "chain-id", "", "the chain id reports are signed for")
	cmd.Flags().StringVar(&httpListen, "http-listen", def.HTTP.Listen, "where /metrics and /health are served")
	cmd.Flags().Float64Var(&rate, "rate", def.Monitor.Rate, "mean test packets per second")
	home.OutputFlag(cmd.Flags(), &output)
	return cmd
}

func addressCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "chain-address",
		Short: "Print the monitor's chain account address",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := cli.Home(cmd)
			if err != nil {
				return err
			}
			keys, err := monitor.LoadKeys(dir)
			if err != nil {
				return err
			}
			addr, err := chaintx.Address(keys.Account, "")
			if err != nil {
				return err
			}
			return home.Print(cmd.OutOrStdout(), output, map[string]string{"address": addr}, addr+"\n")
		},
	}
	home.OutputFlag(cmd.Flags(), &output)
	return cmd
}

func runCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Measure the network and report each epoch until interrupted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := cli.Home(cmd)
			if err != nil {
				return err
			}
			cfg, err := monitor.LoadConfig(dir)
			if err != nil {
				return err
			}
			keys, err := monitor.LoadKeys(dir)
			if err != nil {
				return err
			}
			log, err := cfg.Log.Logger(os.Stderr)
			if err != nil {
				return err
			}
			d, err := monitor.Start(dir, cfg, keys, log, nil)
			if err != nil {
				return err
			}
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
			<-sig
			log.Info("stopping")
			d.Close()
			return nil
		},
	}
}
