// Command nym-node runs a Nyx mix node or gateway: the chain assigns its role
// each epoch.
//
//	nym-node init --home DIR --host HOST --grpc-addr NYXD:9090 --chain-id ID [-o json]
//	nym-node bonding-info --home DIR --owner n1... [--grpc-addr NYXD:9090 | --nonce N] [-o json]
//	nym-node run --home DIR
//	nym-node rotate-sphinx-key --home DIR [-o json]
//	nym-node chain-address --home DIR [-o json]
//
// The home is --home, else $NYM_NODE_HOME, else ~/.nym-node. Every flag may
// also come from the environment: --grpc-addr from $NYM_NODE_GRPC_ADDR,
// --chain-id from $NYM_NODE_CHAIN_ID, and so on. --grpc is a deprecated
// alias of --grpc-addr, and bonding-info's --json of --output json.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/home"
	"github.com/nyx-privacy/nyx/sidecar/node"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

var cli = home.CLI{EnvPrefix: "NYM_NODE", Name: "nym-node"}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "nym-node",
		Short:         "A Nyx mix node or gateway; the chain assigns its role each epoch",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cli.Root(root)
	root.AddCommand(initCmd(), bondingInfoCmd(), runCmd(), rotateSphinxKeyCmd(), chainAddressCmd())
	return root
}

func initCmd() *cobra.Command {
	def := node.DefaultConfig()
	var (
		host                    string
		mixPort, clients, httpP uint16
		listenHost, httpListen  string
		grpc, chainID, output   string
		noGateway               bool
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a new home directory: identity and sphinx keys (owner-only) and a documented config.toml",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := cli.Home(cmd)
			if err != nil {
				return err
			}
			cfg := node.DefaultConfig()
			cfg.Node.Host, cfg.Node.MixPort, cfg.Node.ClientsPort, cfg.Node.HTTPPort = host, mixPort, clients, httpP
			cfg.Node.MixListen = net.JoinHostPort(listenHost, strconv.Itoa(int(mixPort)))
			cfg.Node.ClientsListen = net.JoinHostPort(listenHost, strconv.Itoa(int(clients)))
			cfg.Node.HTTPListen = net.JoinHostPort(httpListen, strconv.Itoa(int(httpP)))
			cfg.Chain.GRPC, cfg.Chain.ChainID = grpc, chainID
			cfg.Gateway.Enabled = !noGateway
			if err := node.Init(dir, cfg); err != nil {
				return err
			}
			keys, err := node.LoadKeys(dir)
			if err != nil {
				return err
			}
			id := keys.IdentityPublic()
			account, err := chaintx.Address(keys.Account, "")
			if err != nil {
				return err
			}
			out := initOutput{Home: dir, IdentityKey: hex.EncodeToString(id[:]),
				SphinxKey: hex.EncodeToString(keys.Sphinx.PublicKey().Bytes()), ChainAccount: account}
			return home.Print(cmd.OutOrStdout(), output, out, fmt.Sprintf("initialised %s\nidentity key:  %s\nsphinx key:    %s\nchain account: %s (fund it: the node pays its sphinx key announcements from it)\nnext: nym-node bonding-info --home %s --owner <your n1... address> --grpc-addr %s\n",
				dir, out.IdentityKey, out.SphinxKey, account, dir, grpc))
		},
	}
	f := cmd.Flags()
	f.StringVar(&host, "host", def.Node.Host, "host (IP or DNS name) others reach this node at; bonded on chain")
	f.Uint16Var(&mixPort, "mix-port", def.Node.MixPort, "mix (packet) port")
	f.Uint16Var(&clients, "clients-port", def.Node.ClientsPort, "clients (websocket) port")
	f.Uint16Var(&httpP, "http-port", def.Node.HTTPPort, "HTTP (metrics, health) port")
	f.StringVar(&listenHost, "listen-host", "0.0.0.0", "interface address to listen on for the mix and clients ports")
	f.StringVar(&httpListen, "http-listen-host", "127.0.0.1", "interface address to listen on for the HTTP port (metrics, health: for the operator, loopback by default)")
	home.GRPCFlag(f, &grpc, def.Chain.GRPC, "nyxd gRPC address")
	f.StringVar(&chainID, "chain-id", def.Chain.ChainID, "chain id")
	f.BoolVar(&noGateway, "no-gateway", false, "do not serve clients (the node then drops final-hop packets)")
	home.OutputFlag(f, &output)
	return cmd
}

// initOutput is what init prints with --output json.
type initOutput struct {
	Home         string `json:"home"`
	IdentityKey  string `json:"identity_key"`
	SphinxKey    string `json:"sphinx_key"`
	ChainAccount string `json:"chain_account"`
}

func bondingInfoCmd() *cobra.Command {
	var (
		owner, grpc, chainID, pledge, output string
		nonce                                int64
		asJSON                               bool
	)
	cmd := &cobra.Command{
		Use:   "bonding-info",
		Short: "Print what the owner needs to bond this node: keys, host, ports and the identity key's signature",
		Long: "Print the node's public keys, host and ports and its identity key's signature over the bond for an owner.\n" +
			"The signature covers the owner's signing nonce: with --grpc-addr it is read from the chain (Query/SigningNonce),\n" +
			"otherwise give it with --nonce.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := cli.Home(cmd)
			if err != nil {
				return err
			}
			cfg, err := node.LoadConfig(dir)
			if err != nil {
				return err
			}
			keys, err := node.LoadKeys(dir)
			if err != nil {
				return err
			}
			if chainID != "" {
				cfg.Chain.ChainID = chainID
			}
			if owner == "" {
				return errors.New("--owner is required")
			}
			n, err := resolveNonce(cmd.Context(), grpc, owner, nonce)
			if err != nil {
				return err
			}
			info, err := node.NewBondingInfo(keys, cfg, owner, n)
			if err != nil {
				return err
			}
			if asJSON {
				output = "json"
			}
			return home.Print(cmd.OutOrStdout(), output, info,
				fmt.Sprintf("%s\nbond it (as the owner):\n  %s\n", info.Text(), info.Command(pledge, "<owner key name>")))
		},
	}
	f := cmd.Flags()
	f.StringVar(&owner, "owner", "", "the owner's bech32 address (the account that will sign MsgBondNode)")
	home.GRPCFlag(f, &grpc, "", "nyxd gRPC address to read the owner's signing nonce from")
	f.Int64Var(&nonce, "nonce", -1, "the owner's signing nonce, when --grpc-addr is not given")
	f.StringVar(&chainID, "chain-id", "", "chain id (default: the config's)")
	f.StringVar(&pledge, "pledge", "100000000unym", "pledge to show in the bond command")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	_ = f.MarkDeprecated("json", "use --output json")
	home.OutputFlag(f, &output)
	return cmd
}

func resolveNonce(ctx context.Context, grpc, owner string, nonce int64) (uint64, error) {
	if grpc == "" {
		if nonce < 0 {
			return 0, errors.New("give --grpc-addr to read the owner's signing nonce from the chain, or --nonce")
		}
		return uint64(nonce), nil
	}
	conn, err := topology.Dial(grpc)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := mixnettypes.NewQueryClient(conn).SigningNonce(ctx, &mixnettypes.QuerySigningNonceRequest{Address: owner})
	if err != nil {
		return 0, fmt.Errorf("query signing nonce of %s at %s: %w", owner, grpc, err)
	}
	if nonce >= 0 && uint64(nonce) != resp.Nonce {
		return 0, fmt.Errorf("--nonce %d differs from the chain's %d", nonce, resp.Nonce)
	}
	return resp.Nonce, nil
}

func runCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the node: follow the chain's topology and serve the mix and gateway roles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := cli.Home(cmd)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return node.Run(ctx, dir, node.Options{})
		},
	}
}

func chainAddressCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "chain-address",
		Short: "Print the address of the node's chain account, which pays for its sphinx key announcements",
		Long: "Print the address of the account whose key is " + node.ChainAccountKeyFile + ". A node rotates\n" +
			"its sphinx key on the chain's schedule (x/mixnet param sphinx_key_rotation_epochs) by announcing\n" +
			"the next key itself, paying the fee from this account: fund it with some unym.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := cli.Home(cmd)
			if err != nil {
				return err
			}
			keys, err := node.LoadKeys(dir)
			if err != nil {
				return err
			}
			if keys.Account == nil {
				return fmt.Errorf("no %s in %s: a home made before chain accounts; nym-node run makes one", node.ChainAccountKeyFile, dir)
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

func rotateSphinxKeyCmd() *cobra.Command {
	var chainID, output string
	cmd := &cobra.Command{
		Use:   "rotate-sphinx-key",
		Short: "Make the node's next sphinx key and print the transaction that announces it",
		Long: "Write a new sphinx key to " + node.NextSphinxKeyFile + " (owner-only) and print the\n" +
			"nyxd transaction with which the owner announces it (for an emergency: on the chain's schedule,\n" +
			"a running node makes and announces its next key itself). The chain switches to the new key at\n" +
			"the next epoch; a running node takes the key up when the chain announces it, switches with\n" +
			"the chain, moves it over " + node.SphinxKeyFile + " and keeps the old key in memory for one\n" +
			"more epoch for packets made before the switch. Nothing needs restarting.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := cli.Home(cmd)
			if err != nil {
				return err
			}
			if chainID == "" {
				cfg, err := node.LoadConfig(dir)
				if err != nil {
					return err
				}
				chainID = cfg.Chain.ChainID
			}
			k, err := node.GenerateNextSphinxKey(dir)
			if err != nil {
				return err
			}
			pub := hex.EncodeToString(k.PublicKey().Bytes())
			file := filepath.Join(dir, node.NextSphinxKeyFile)
			return home.Print(cmd.OutOrStdout(), output, map[string]string{"next_sphinx_key": pub, "file": file},
				fmt.Sprintf("next sphinx key: %s\nwritten to:      %s\nannounce it (as the owner):\n  nyxd tx mixnet update-node-config --next-sphinx-key %s --from <owner key name> --chain-id %s --gas auto --gas-adjustment 1.5 --gas-prices 0.025unym\n",
					pub, file, pub, chainID))
		},
	}
	cmd.Flags().StringVar(&chainID, "chain-id", "", "chain id (default: the config's)")
	home.OutputFlag(cmd.Flags(), &output)
	return cmd
}
