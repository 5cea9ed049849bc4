// Command nym-socks5-client is a SOCKS5 (and SOCKS4a) proxy on 127.0.0.1
// whose connections go through the mixnet to a network requester, which
// resolves host names and connects (sidecar/socks5). It runs its own
// mixnet client.
//
//	nym-socks5-client init --home DIR --grpc NYXD:9090 --provider REQUESTER_ADDRESS [--gateway IDENTITY] [--listen 127.0.0.1:1080]
//	nym-socks5-client run --home DIR
//	nym-socks5-client address --home DIR
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sidecar/socks5"
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
		Use:           "nym-socks5-client",
		Short:         "A SOCKS5 proxy on 127.0.0.1 whose connections go through the mixnet",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	home := ".nym-socks5-client"
	if h, err := os.UserHomeDir(); err == nil {
		home = filepath.Join(h, home)
	}
	root.PersistentFlags().String("home", home, "the SOCKS5 client's home directory (config and keys)")
	root.AddCommand(initCmd(), runCmd(), addressCmd())
	return root
}

func initCmd() *cobra.Command {
	def := client.DefaultFileConfig()
	var grpcAddr, gw, listen, provider string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the client's keys, register with a gateway, write config.toml and socks5.toml",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, _ := cmd.Flags().GetString("home")
			if provider == "" {
				return errors.New("--provider is required: the network requester's address")
			}
			if _, err := client.ParseAddress(provider); err != nil {
				return fmt.Errorf("--provider: %w", err)
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
			if err := socks5.InitHome(home, listen, provider); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "initialised %s\naddress: %s\nSOCKS5 proxy: %s\n", home, addr, listen)
			return nil
		},
	}
	cmd.Flags().StringVar(&grpcAddr, "grpc", def.Chain.GRPC, "nyxd gRPC address (host:port)")
	cmd.Flags().StringVar(&gw, "gateway", "", "identity (base58) of the gateway to register with; default: a random gateway of the topology")
	cmd.Flags().StringVar(&listen, "listen", socks5.DefaultListen, "address of the SOCKS5 proxy (loopback only)")
	cmd.Flags().StringVar(&provider, "provider", "", "address of the network requester (nym-network-requester address)")
	return cmd
}

func runCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Connect to the gateway and serve the SOCKS5 proxy",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, _ := cmd.Flags().GetString("home")
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return socks5.RunHome(ctx, home, func(addr string) {
				fmt.Fprintf(cmd.OutOrStdout(), "SOCKS5 proxy: %s\n", addr)
			})
		},
	}
}

func addressCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "address",
		Short: "Print the client's own mixnet address",
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
