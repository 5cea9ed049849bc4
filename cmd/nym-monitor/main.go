// Command nym-monitor runs a Nyx network monitor: it measures every node
// of the epoch with test packets indistinguishable from clients' and
// reports each node's performance to x/mixnet.
//
//	nym-monitor init --home DIR --grpc NYXD:9090 --chain-id ID
//	nym-monitor chain-address --home DIR [--output json]
//	nym-monitor run --home DIR
//
// The home is --home, else $NYM_MONITOR_HOME, else ~/.nym-monitor. The
// chain account (chain-address) must be funded and listed in x/mixnet's
// network_monitors param.
package main

import (
	"encoding/json"
	"fmt"
	"io"
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

const envPrefix = "NYM_MONITOR"

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "nym-monitor",
		Short:         "A Nyx network monitor: measures the nodes and reports their performance to the chain",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("home", "", "the monitor's home directory (default $"+envPrefix+"_HOME or ~/.nym-monitor)")
	root.AddCommand(initCmd(), addressCmd(), runCmd())
	return root
}

func homeDir(cmd *cobra.Command) (string, error) {
	flag, _ := cmd.Flags().GetString("home")
	return home.Dir(flag, envPrefix, "nym-monitor")
}

func initCmd() *cobra.Command {
	def := monitor.DefaultConfig()
	var grpc, chainID, httpListen string
	var rate float64
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a new home: identity and chain account keys (owner-only) and a documented config.toml",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := homeDir(cmd)
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
			fmt.Fprintf(cmd.OutOrStdout(), "monitor home written to %s\nchain account: %s (fund it, and have it added to x/mixnet's network_monitors)\n", dir, addr)
			return nil
		},
	}
	cmd.Flags().StringVar(&grpc, "grpc", def.Chain.GRPC, "nyxd's gRPC endpoint")
	cmd.Flags().StringVar(&chainID, "chain-id", "", "the chain id reports are signed for")
	cmd.Flags().StringVar(&httpListen, "http-listen", def.HTTP.Listen, "where /metrics and /health are served")
	cmd.Flags().Float64Var(&rate, "rate", def.Monitor.Rate, "mean test packets per second")
	return cmd
}

func addressCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "chain-address",
		Short: "Print the monitor's chain account address",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := homeDir(cmd)
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
			return printOut(cmd.OutOrStdout(), output, map[string]string{"address": addr}, addr)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

func printOut(w io.Writer, output string, v any, text string) error {
	switch output {
	case "json":
		return json.NewEncoder(w).Encode(v)
	case "text":
		_, err := fmt.Fprintln(w, text)
		return err
	}
	return fmt.Errorf("--output %q is not text or json", output)
}

func runCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Measure the network and report each epoch until interrupted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := homeDir(cmd)
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
