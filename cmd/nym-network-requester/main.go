// Command nym-network-requester is the service at the exit of the mixnet
// that opens TCP connections for SOCKS5 clients, as its exit policy allows
// (sidecar/requester). It runs its own mixnet client, whose address is the
// requester's address: clients are configured with it.
//
//	nym-network-requester init --home DIR --grpc NYXD:9090 [--gateway IDENTITY] [--policy FILE]
//	nym-network-requester run --home DIR
//	nym-network-requester address --home DIR
//	nym-network-requester default-policy
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sidecar/exitpolicy"
	"github.com/nyx-privacy/nyx/sidecar/requester"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "nym-network-requester",
		Short:         "Opens TCP connections for SOCKS5 clients of the mixnet, as its exit policy allows",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	home := ".nym-network-requester"
	if h, err := os.UserHomeDir(); err == nil {
		home = filepath.Join(h, home)
	}
	root.PersistentFlags().String("home", home, "the requester's home directory (config, keys, exit policy)")
	root.AddCommand(initCmd(), runCmd(), addressCmd(), defaultPolicyCmd())
	return root
}

func initCmd() *cobra.Command {
	def := client.DefaultFileConfig()
	var grpcAddr, gw, policyFile string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the client's keys, register with a gateway, write config.toml, requester.toml and exit-policy.txt",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, _ := cmd.Flags().GetString("home")
			var policy string
			if policyFile != "" {
				p, err := requester.LoadPolicy(policyFile)
				if err != nil {
					return err
				}
				policy = p.String()
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			conn, err := topology.Dial(grpcAddr)
			if err != nil {
				return fmt.Errorf("connect to nyxd at %s: %w", grpcAddr, err)
			}
			defer conn.Close()
			t, err := topology.NewReader(mixnettypes.NewQueryClient(conn), topology.ReaderConfig{}).Refresh(ctx)
			if err != nil {
				return fmt.Errorf("read the topology from %s: %w", grpcAddr, err)
			}
			cfg := client.DefaultFileConfig()
			cfg.Chain.GRPC = grpcAddr
			addr, err := client.Init(ctx, home, cfg, t, gw)
			if err != nil {
				return err
			}
			if err := requester.InitHome(home, policy); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "initialised %s\nexit policy: %s\naddress: %s\n", home,
				filepath.Join(home, requester.PolicyFile), addr)
			return nil
		},
	}
	cmd.Flags().StringVar(&grpcAddr, "grpc", def.Chain.GRPC, "nyxd gRPC address (host:port)")
	cmd.Flags().StringVar(&gw, "gateway", "", "identity (base58) of the gateway to register with; default: a random gateway of the topology")
	cmd.Flags().StringVar(&policyFile, "policy", "", "exit policy file to start from (Tor ExitPolicy syntax); default: the built-in default policy")
	return cmd
}

func runCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Connect to the gateway and serve SOCKS5 clients' streams",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, _ := cmd.Flags().GetString("home")
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return requester.RunHome(ctx, home, func(a client.Address) {
				fmt.Fprintf(cmd.OutOrStdout(), "network requester address: %s\n", a)
			})
		},
	}
}

func addressCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "address",
		Short: "Print the requester's address",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, _ := cmd.Flags().GetString("home")
			h, err := client.LoadHome(home)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), h.Address())
			return nil
		},
	}
}

func defaultPolicyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "default-policy",
		Short: "Print the default exit policy (a start for your own: init --policy FILE)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprint(cmd.OutOrStdout(), exitpolicy.DefaultText)
			return nil
		},
	}
}
