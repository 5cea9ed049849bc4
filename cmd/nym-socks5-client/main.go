// Command nym-socks5-client is a SOCKS5 (and SOCKS4a) proxy on 127.0.0.1
// whose connections go through the mixnet to a network requester, which
// resolves host names and connects (sidecar/socks5). It runs its own
// mixnet client.
//
//	nym-socks5-client init --grpc-addr NYXD:9090 [--provider REQUESTER_ADDRESS] [--gateway IDENTITY] [--listen 127.0.0.1:1080] [--output json]
//	nym-socks5-client run
//	nym-socks5-client address [--output json]
//	nym-socks5-client providers [--output json]
//
// Without --provider, run picks a network requester at each start from the
// chain's service directory, at random among those whose gateway is in the
// current topology, and logs which; providers lists them. The home is
// --home, else $NYM_SOCKS5_CLIENT_HOME, else ~/.nym-socks5-client.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sidecar/home"
	"github.com/nyx-privacy/nyx/sidecar/requester"
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

var cli = home.CLI{EnvPrefix: "NYM_SOCKS5_CLIENT", Name: "nym-socks5-client"}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "nym-socks5-client",
		Short:         "A SOCKS5 proxy on 127.0.0.1 whose connections go through the mixnet",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cli.Root(root)
	root.AddCommand(initCmd(), runCmd(), addressCmd(), providersCmd())
	return root
}

func initCmd() *cobra.Command {
	def := client.DefaultFileConfig()
	var grpcAddr, gw, listen, provider, output string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the client's keys, register with a gateway, write config.toml and socks5.toml",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := cli.Home(cmd)
			if err != nil {
				return err
			}
			if provider != "" {
				if _, err := client.ParseAddress(provider); err != nil {
					return fmt.Errorf("--provider: %w", err)
				}
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
			addr, err := client.Init(ctx, dir, cfg, t, gw)
			if err != nil {
				return err
			}
			if err := socks5.InitHome(dir, listen, provider); err != nil {
				return err
			}
			shown := provider
			if shown == "" {
				shown = "picked from the chain's service directory at each start"
			}
			return home.Print(cmd.OutOrStdout(), output,
				map[string]string{"home": dir, "address": addr.String(), "listen": listen, "provider": provider},
				fmt.Sprintf("initialised %s\naddress: %s\nSOCKS5 proxy: %s\nprovider: %s\n", dir, addr, listen, shown))
		},
	}
	home.GRPCFlag(cmd.Flags(), &grpcAddr, def.Chain.GRPC, "nyxd gRPC address (host:port)")
	cmd.Flags().StringVar(&gw, "gateway", "", "identity (base58) of the gateway to register with; default: a random gateway of the topology")
	cmd.Flags().StringVar(&listen, "listen", socks5.DefaultListen, "address of the SOCKS5 proxy (loopback only)")
	cmd.Flags().StringVar(&provider, "provider", "", "address of the network requester; default: one picked at each start from the chain's service directory")
	home.OutputFlag(cmd.Flags(), &output)
	return cmd
}

func runCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Connect to the gateway and serve the SOCKS5 proxy",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := cli.Home(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return socks5.RunHome(ctx, dir, func(addr string) {
				fmt.Fprintf(cmd.OutOrStdout(), "SOCKS5 proxy: %s\n", addr)
			})
		},
	}
}

func addressCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "address",
		Short: "Print the client's own mixnet address",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := cli.Home(cmd)
			if err != nil {
				return err
			}
			h, err := client.LoadHome(dir)
			if err != nil {
				return err
			}
			a := h.Address().String()
			return home.Print(cmd.OutOrStdout(), output, map[string]string{"address": a}, a+"\n")
		},
	}
	home.OutputFlag(cmd.Flags(), &output)
	return cmd
}

// providerJSON is a directory entry as providers prints it.
type providerJSON struct {
	ServiceID   string `json:"service_id"`
	Address     string `json:"address"`
	Description string `json:"description"`
	Announcer   string `json:"announcer"`
	// Usable: its gateway is in the current topology (run picks among these).
	Usable bool `json:"usable"`
}

func providersCmd() *cobra.Command {
	var output, grpcAddr string
	cmd := &cobra.Command{
		Use:   "providers",
		Short: "List the network requesters of the chain's service directory, marking those whose gateway is in the topology",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if grpcAddr == "" {
				dir, err := cli.Home(cmd)
				if err != nil {
					return err
				}
				cfg, err := client.LoadConfig(dir)
				if err != nil {
					return fmt.Errorf("%w (or give --grpc-addr)", err)
				}
				grpcAddr = cfg.Chain.GRPC
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			conn, err := topology.Dial(grpcAddr)
			if err != nil {
				return fmt.Errorf("connect to nyxd at %s: %w", grpcAddr, err)
			}
			defer conn.Close()
			q := mixnettypes.NewQueryClient(conn)
			t, err := topology.NewReader(q, topology.ReaderConfig{}).Refresh(ctx)
			if err != nil {
				return fmt.Errorf("read the topology from %s: %w", grpcAddr, err)
			}
			var list []providerJSON
			err = requester.WalkServices(ctx, q, requester.Kind, func(s mixnettypes.Service) bool {
				p := providerJSON{ServiceID: strconv.FormatUint(s.ServiceId, 10), Address: s.NymAddress, Description: s.Description, Announcer: s.Announcer}
				if a, err := client.ParseAddress(s.NymAddress); err == nil {
					_, p.Usable = t.ByIdentity(a.Gateway)
				}
				list = append(list, p)
				return true
			})
			if err != nil {
				return err
			}
			var b strings.Builder
			for _, p := range list {
				mark := "usable"
				if !p.Usable {
					mark = "gateway not in the topology"
				}
				fmt.Fprintf(&b, "%s\t%s\t%s\t%q\n", p.ServiceID, p.Address, mark, p.Description)
			}
			if len(list) == 0 {
				b.WriteString("no network requester in the service directory\n")
			}
			return home.Print(cmd.OutOrStdout(), output, map[string]any{"providers": list}, b.String())
		},
	}
	cmd.Flags().StringVar(&grpcAddr, "grpc-addr", "", "nyxd gRPC address (default: the home's config)")
	home.OutputFlag(cmd.Flags(), &output)
	return cmd
}
