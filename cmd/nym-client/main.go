// Command nym-client is a Nyx mixnet client: it registers with a gateway,
// keeps a connection to it, and serves a local websocket API on 127.0.0.1
// through which apps send and receive messages (sidecar/client/README.md).
//
//	nym-client init --home DIR --grpc NYXD:9090 [--gateway IDENTITY] [--listen 127.0.0.1:1977]
//	nym-client run --home DIR
//	nym-client address --home DIR
//	nym-client send --home DIR --to ADDRESS MESSAGE
//	nym-client receive --home DIR [--count N]
//	nym-client credential address|buy --amount COINS|list|import-mnemonic FILE --home DIR
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func defaultHome() string {
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".nym-client")
	}
	return ".nym-client"
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "nym-client",
		Short:         "A Nyx mixnet client with a local websocket API for apps",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("home", defaultHome(), "the client's home directory (config and keys)")
	root.AddCommand(initCmd(), runCmd(), addressCmd(), sendCmd(), receiveCmd(), credentialCmd(), signServiceCmd())
	return root
}

// readTopology queries the chain once.
func readTopology(ctx context.Context, grpcAddr string) (*topology.Topology, error) {
	conn, err := topology.Dial(grpcAddr)
	if err != nil {
		return nil, fmt.Errorf("connect to nyxd at %s: %w", grpcAddr, err)
	}
	defer conn.Close()
	t, err := topology.NewReader(mixnettypes.NewQueryClient(conn), topology.ReaderConfig{}).Refresh(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the topology from %s: %w", grpcAddr, err)
	}
	return t, nil
}

func initCmd() *cobra.Command {
	def := client.DefaultFileConfig()
	var grpcAddr, gw, listen string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create keys, pick a gateway (or use --gateway), register with it, and write config.toml",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, _ := cmd.Flags().GetString("home")
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			t, err := readTopology(ctx, grpcAddr)
			if err != nil {
				return err
			}
			cfg := client.DefaultFileConfig()
			cfg.Chain.GRPC = grpcAddr
			cfg.Client.Listen = listen
			addr, err := client.Init(ctx, home, cfg, t, gw)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "initialised %s\naddress: %s\n", home, addr)
			return nil
		},
	}
	cmd.Flags().StringVar(&grpcAddr, "grpc", def.Chain.GRPC, "nyxd gRPC address (host:port)")
	cmd.Flags().StringVar(&gw, "gateway", "", "identity (base58) of the gateway to register with; default: a random gateway of the topology")
	cmd.Flags().StringVar(&listen, "listen", def.Client.Listen, "address of the local websocket API (loopback only)")
	return cmd
}

func runCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Connect to the gateway and serve the local websocket API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, _ := cmd.Flags().GetString("home")
			h, err := client.LoadHome(home)
			if err != nil {
				return err
			}
			log := h.Config.NewLogger()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			conn, err := topology.Dial(h.Config.Chain.GRPC)
			if err != nil {
				return fmt.Errorf("connect to nyxd at %s: %w", h.Config.Chain.GRPC, err)
			}
			defer conn.Close()
			r := topology.NewReader(mixnettypes.NewQueryClient(conn), topology.ReaderConfig{
				Refresh: time.Duration(h.Config.Chain.Refresh), Logger: log})
			go r.Run(ctx)
			l, err := net.Listen("tcp", h.Config.Client.Listen)
			if err != nil {
				return fmt.Errorf("local API: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "address: %s\napi: ws://%s/\n", h.Address(), l.Addr())
			return client.Serve(ctx, h, l, r.Current, log)
		},
	}
}

func addressCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "address",
		Short: "Print the client's address",
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
