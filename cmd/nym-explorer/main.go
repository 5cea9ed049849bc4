// Command nym-explorer serves a read-only web view of a Nyx network, read from
// nyxd's gRPC: the epoch, the topology, every node, an address's delegations
// and the credential counts (see package sidecar/explorer), with /metrics
// (Prometheus) and /health on a second listener.
//
//	nym-explorer init --home DIR --grpc-addr NYXD:9090 --listen 127.0.0.1:8080 --http-listen 127.0.0.1:8081
//	nym-explorer run --home DIR
//
// The home is --home, else $NYM_EXPLORER_HOME, else ~/.nym-explorer; every
// flag may also come from $NYM_EXPLORER_<FLAG>. It
// holds config/config.toml only: the explorer keeps no keys and no data.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/nyx-privacy/nyx/sidecar/explorer"
	"github.com/nyx-privacy/nyx/sidecar/home"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

var cli = home.CLI{EnvPrefix: "NYM_EXPLORER", Name: "nym-explorer"}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "nym-explorer",
		Short:         "A read-only web view of a Nyx network, read from nyxd's gRPC",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cli.Root(root)
	root.AddCommand(initCmd(), runCmd())
	return root
}

func initCmd() *cobra.Command {
	def := explorer.DefaultDaemonConfig()
	cfg := def
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a new home: a documented config.toml",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := cli.Home(cmd)
			if err != nil {
				return err
			}
			if err := explorer.InitHome(dir, cfg); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "explorer home written to %s\n", dir)
			return nil
		},
	}
	home.GRPCFlag(cmd.Flags(), &cfg.Chain.GRPC, def.Chain.GRPC, "nyxd's gRPC endpoint")
	cmd.Flags().StringVar(&cfg.Explorer.Listen, "listen", def.Explorer.Listen, "where the pages are served")
	cmd.Flags().StringVar(&cfg.HTTP.Listen, "http-listen", def.HTTP.Listen, "where /metrics and /health are served")
	return cmd
}

func runCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Serve the pages until interrupted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := cli.Home(cmd)
			if err != nil {
				return err
			}
			cfg, err := explorer.LoadDaemonConfig(dir)
			if err != nil {
				return err
			}
			log, err := cfg.Log.Logger(os.Stderr)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return explorer.RunDaemon(ctx, cfg, log, nil)
		},
	}
}
