// Command nym-network-requester is the service at the exit of the mixnet
// that opens TCP connections for SOCKS5 clients, as its exit policy allows
// (sidecar/requester). It runs its own mixnet client, whose address is the
// requester's address; clients find it in the chain's service directory,
// where it announces itself.
//
//	nym-network-requester init --grpc-addr NYXD:9090 [--gateway IDENTITY] [--policy FILE] [--announce] [--description TEXT]
//	nym-network-requester run
//	nym-network-requester address [--output json]
//	nym-network-requester chain-address [--output json]
//	nym-network-requester announce [--description TEXT] [--output json]
//	nym-network-requester withdraw [SERVICE_ID] [--output json]
//	nym-network-requester default-policy
//
// The home is --home, else $NYM_NETWORK_REQUESTER_HOME, else
// ~/.nym-network-requester. The chain account (chain-address) pays for the
// bandwidth credentials and for the directory's deposit (the service_deposit
// param of x/mixnet), which withdraw returns.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sidecar/exitpolicy"
	"github.com/nyx-privacy/nyx/sidecar/home"
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

var cli = home.CLI{EnvPrefix: "NYM_NETWORK_REQUESTER", Name: "nym-network-requester"}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "nym-network-requester",
		Short:         "Opens TCP connections for SOCKS5 clients of the mixnet, as its exit policy allows",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cli.Root(root)
	root.AddCommand(initCmd(), runCmd(), addressCmd(), chainAddressCmd(), announceCmd(), withdrawCmd(), defaultPolicyCmd())
	return root
}

func initCmd() *cobra.Command {
	def := client.DefaultFileConfig()
	var grpcAddr, gw, policyFile, description, output string
	var announce bool
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create the client's keys, register with a gateway, write config.toml, requester.toml and exit-policy.txt",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := cli.Home(cmd)
			if err != nil {
				return err
			}
			var policy string
			if policyFile != "" {
				p, err := requester.LoadPolicy(policyFile)
				if err != nil {
					return err
				}
				policy = p.String()
			}
			directory := requester.DefaultFileConfig().Directory
			directory.Announce, directory.Description = announce, description
			if err := mixnettypes.ValidateServiceDescription(description); err != nil {
				return fmt.Errorf("--description: %w", err)
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
			if err := requester.InitHome(dir, policy, directory); err != nil {
				return err
			}
			pp := filepath.Join(dir, requester.PolicyFile)
			return home.Print(cmd.OutOrStdout(), output,
				map[string]any{"home": dir, "exit_policy": pp, "address": addr.String(), "announce": announce},
				fmt.Sprintf("initialised %s\nexit policy: %s\naddress: %s\n", dir, pp, addr))
		},
	}
	home.GRPCFlag(cmd.Flags(), &grpcAddr, def.Chain.GRPC, "nyxd gRPC address (host:port)")
	cmd.Flags().StringVar(&gw, "gateway", "", "identity (base58) of the gateway to register with; default: a random gateway of the topology")
	cmd.Flags().StringVar(&policyFile, "policy", "", "exit policy file to start from (Tor ExitPolicy syntax); default: the built-in default policy")
	cmd.Flags().BoolVar(&announce, "announce", false, "announce the requester in the chain's service directory at each start unless it is listed ([directory] announce)")
	cmd.Flags().StringVar(&description, "description", "", "short text for the directory entry (at most 256 bytes)")
	home.OutputFlag(cmd.Flags(), &output)
	return cmd
}

func runCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Connect to the gateway and serve SOCKS5 clients' streams",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := cli.Home(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			w := cmd.OutOrStdout()
			return requester.RunHome(ctx, dir, requester.Hooks{
				Ready:     func(a client.Address) { fmt.Fprintf(w, "network requester address: %s\n", a) },
				Announced: func(id uint64) { fmt.Fprintf(w, "service id: %d\n", id) },
			})
		},
	}
}

func addressCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "address",
		Short: "Print the requester's address",
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

func chainAddressCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "chain-address",
		Short: "Print the chain account that pays for credentials and the directory's deposit (made if missing)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := cli.Home(cmd)
			if err != nil {
				return err
			}
			if _, err := client.LoadConfig(dir); err != nil {
				return err
			}
			key, err := client.LoadChainKey(dir, true)
			if err != nil {
				return err
			}
			addr, err := chaintx.Address(key, "")
			if err != nil {
				return err
			}
			return home.Print(cmd.OutOrStdout(), output, map[string]string{"address": addr}, addr+"\n")
		},
	}
	home.OutputFlag(cmd.Flags(), &output)
	return cmd
}

// account is what announce and withdraw work with: the home, its configs,
// a connection to its chain and a signer of its chain account.
type account struct {
	h      *client.Home
	fc     requester.FileConfig
	conn   *grpc.ClientConn
	signer *chaintx.Signer
}

func openAccount(ctx context.Context, dir string) (*account, error) {
	h, err := client.LoadHome(dir)
	if err != nil {
		return nil, err
	}
	fc, err := requester.LoadFileConfig(dir)
	if err != nil {
		return nil, err
	}
	if _, err := client.LoadChainKey(dir, false); err != nil {
		return nil, fmt.Errorf("%w (nym-network-requester chain-address makes one; fund it)", err)
	}
	conn, err := topology.Dial(h.Config.Chain.GRPC)
	if err != nil {
		return nil, fmt.Errorf("connect to nyxd at %s: %w", h.Config.Chain.GRPC, err)
	}
	s, _, err := client.ChainSigner(ctx, dir, conn, fc.Directory.GasPrice, false)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &account{h: h, fc: fc, conn: conn, signer: s}, nil
}

func announceCmd() *cobra.Command {
	var description, output string
	cmd := &cobra.Command{
		Use:   "announce",
		Short: "List the requester in the chain's service directory, paying the deposit from the chain account; prints its service id",
		Long: "Announce the requester's address in x/mixnet's service directory as a network-requester, so that SOCKS5 " +
			"clients started without --provider can pick it. The chain account (chain-address) pays the directory's " +
			"deposit (the service_deposit param, 100 NYM by default), returned by withdraw, and the fee. An address " +
			"listed already is not announced again: its service id is printed.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := cli.Home(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
			defer cancel()
			a, err := openAccount(ctx, dir)
			if err != nil {
				return err
			}
			defer a.conn.Close()
			if !cmd.Flags().Changed("description") {
				description = a.fc.Directory.Description
			}
			id, existing, err := requester.Announce(ctx, a.conn, a.signer, a.h.Keys, a.h.Address(), description)
			if err != nil {
				return err
			}
			text := fmt.Sprintf("announced as service %d", id)
			if existing {
				text = fmt.Sprintf("listed already as service %d", id)
			}
			return home.Print(cmd.OutOrStdout(), output, map[string]any{"service_id": strconv.FormatUint(id, 10), "existing": existing,
				"address": a.h.Address().String(), "announcer": a.signer.Address()}, text+"\n")
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "short text for the entry (default: requester.toml's [directory] description)")
	home.OutputFlag(cmd.Flags(), &output)
	return cmd
}

func withdrawCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "withdraw [service-id]",
		Short: "Remove the requester from the chain's service directory; the deposit returns to the chain account",
		Long:  "Withdraw a service the chain account announced: the given id, or by default the entry of this requester's address.",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, err := cli.Home(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
			defer cancel()
			a, err := openAccount(ctx, dir)
			if err != nil {
				return err
			}
			defer a.conn.Close()
			var id uint64
			if len(args) == 1 {
				if id, err = strconv.ParseUint(args[0], 10, 64); err != nil || id == 0 {
					return fmt.Errorf("service id %q is not a positive number", args[0])
				}
			} else {
				svc, ok, err := requester.FindAnnounced(ctx, mixnettypes.NewQueryClient(a.conn), a.h.Address())
				if err != nil {
					return err
				}
				if !ok {
					return fmt.Errorf("%s is not in the service directory", a.h.Address())
				}
				id = svc.ServiceId
			}
			if err := requester.Withdraw(ctx, a.signer, id); err != nil {
				return err
			}
			return home.Print(cmd.OutOrStdout(), output, map[string]string{"service_id": strconv.FormatUint(id, 10)},
				fmt.Sprintf("withdrew service %d\n", id))
		},
	}
	home.OutputFlag(cmd.Flags(), &output)
	return cmd
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
