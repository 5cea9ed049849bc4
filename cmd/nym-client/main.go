// Command nym-client is a Nyx mixnet client: it registers with a gateway,
// keeps a connection to it, and serves a local websocket API on 127.0.0.1
// through which apps send and receive messages (sidecar/client/README.md).
//
//	nym-client init --home DIR --grpc-addr NYXD:9090 [--gateway IDENTITY] [--listen 127.0.0.1:1977] [-o json]
//	nym-client run --home DIR
//	nym-client address --home DIR [-o json]
//	nym-client send --home DIR --to ADDRESS MESSAGE
//	nym-client receive --home DIR [--count N]
//	nym-client credential address|buy --amount COINS|list|import-mnemonic FILE --home DIR (address and list take -o json)
//
// The home is --home, else $NYM_CLIENT_HOME, else ~/.nym-client. Every flag
// may also come from the environment: --grpc-addr from
// $NYM_CLIENT_GRPC_ADDR, and so on; --grpc is a deprecated alias of
// --grpc-addr.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sidecar/home"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

var cli = home.CLI{EnvPrefix: "NYM_CLIENT", Name: "nym-client"}

// loadHome loads the client's home.
func loadHome(cmd *cobra.Command) (*client.Home, error) {
	dir, err := cli.Home(cmd)
	if err != nil {
		return nil, err
	}
	return client.LoadHome(dir)
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "nym-client",
		Short:         "A Nyx mixnet client with a local websocket API for apps",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cli.Root(root)
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
	var grpcAddr, gw, listen, output string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create keys, pick a gateway (or use --gateway), register with it, and write config.toml",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := cli.Home(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			t, err := readTopology(ctx, grpcAddr)
			if err != nil {
				return err
			}
			cfg := client.DefaultFileConfig()
			cfg.Chain.GRPC = grpcAddr
			cfg.Client.Listen = listen
			addr, err := client.Init(ctx, dir, cfg, t, gw)
			if err != nil {
				return err
			}
			return home.Print(cmd.OutOrStdout(), output, map[string]string{"home": dir, "address": addr.String()},
				fmt.Sprintf("initialised %s\naddress: %s\n", dir, addr))
		},
	}
	home.GRPCFlag(cmd.Flags(), &grpcAddr, def.Chain.GRPC, "nyxd gRPC address (host:port)")
	cmd.Flags().StringVar(&gw, "gateway", "", "identity (base58) of the gateway to register with; default: a random gateway of the topology")
	cmd.Flags().StringVar(&listen, "listen", def.Client.Listen, "address of the local websocket API (loopback only)")
	home.OutputFlag(cmd.Flags(), &output)
	return cmd
}

func runCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Connect to the gateway and serve the local websocket API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := loadHome(cmd)
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
	var output string
	cmd := &cobra.Command{
		Use:   "address",
		Short: "Print the client's address",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := loadHome(cmd)
			if err != nil {
				return err
			}
			return home.Print(cmd.OutOrStdout(), output, map[string]string{"address": h.Address().String()}, h.Address().String()+"\n")
		},
	}
	home.OutputFlag(cmd.Flags(), &output)
	return cmd
}
