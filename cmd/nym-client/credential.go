package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sidecar/clientcred"
	"github.com/nyx-privacy/nyx/sidecar/home"
	"github.com/nyx-privacy/nyx/sidecar/topology"
)

// credentialCmd buys and lists the bandwidth credentials that gateways
// enforcing them take (sidecar/client/README.md, "Bandwidth credentials").
func credentialCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "credential",
		Short: "Buy and list bandwidth credentials (paid on chain, spent at the gateway)",
	}
	cmd.AddCommand(credentialBuyCmd(), credentialListCmd(), credentialAddressCmd(), credentialImportCmd())
	return cmd
}

func credentialBuyCmd() *cobra.Command {
	var amount string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "buy --amount <coins>",
		Short: "Pay a deposit from the home's chain key for a credential; store it once the validators signed it",
		Long: `Makes a blind request for a credential worth what --amount buys at the chain's
rate, pays for it with MsgRequestCredential signed by keys/chain_account.key,
waits for the validators' partial signatures, unblinds, aggregates and
verifies them against the chain's master key, and stores the credential in
credentials/ (0600, fsynced before this command returns). A request cut short
is kept as pending and finished by running buy again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := loadHome(cmd)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			conn, err := topology.Dial(h.Config.Chain.GRPC)
			if err != nil {
				return fmt.Errorf("connect to nyxd at %s: %w", h.Config.Chain.GRPC, err)
			}
			defer conn.Close()
			w, err := clientcred.Open(h.Dir, h.Keys.Identity)
			if err != nil {
				return err
			}
			// Finish what an earlier run paid for first.
			recs, _, err := w.List()
			if err != nil {
				return err
			}
			for _, r := range recs {
				if r.State == clientcred.StatePending && r.RequestID != 0 {
					if r, err = w.Resume(ctx, conn, r); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "finished credential %s: %d bytes (request %d)\n", r.Name(), r.Value, r.RequestID)
				}
			}
			signer, chainID, err := client.ChainSigner(ctx, h.Dir, conn, h.Config.Credentials.GasPrice, false)
			if err != nil {
				return err
			}
			r, err := w.Buy(ctx, conn, signer, chainID, amount)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "bought credential %s: %d bytes for %s (request %d, key %d)\n", r.Name(), r.Value, r.Deposit, r.RequestID, r.KeyID)
			return nil
		},
	}
	cmd.Flags().StringVar(&amount, "amount", "1000000unym", "the deposit, in unym (the chain's min_deposit to max_deposit)")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "give up waiting for the chain after this long")
	return cmd
}

// credentialEntry is a credential as list -o json shows it: what it is
// worth and where it stands, none of its secrets.
type credentialEntry struct {
	Name      string `json:"name"`
	State     string `json:"state"`
	Bytes     uint64 `json:"bytes"`
	Deposit   string `json:"deposit"`
	RequestID uint64 `json:"request_id"`
	ChainID   string `json:"chain_id"`
}

func credentialListCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the credentials held (ready to show, or pending issuance)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := loadHome(cmd)
			if err != nil {
				return err
			}
			w, err := clientcred.Open(h.Dir, h.Keys.Identity)
			if err != nil {
				return err
			}
			recs, bad, err := w.List()
			if err != nil {
				return err
			}
			entries := make([]credentialEntry, 0, len(recs))
			var text bytes.Buffer
			tw := tabwriter.NewWriter(&text, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSTATE\tBYTES\tDEPOSIT\tREQUEST\tCHAIN")
			var total uint64
			for _, r := range recs {
				entries = append(entries, credentialEntry{Name: r.Name(), State: r.State, Bytes: r.Value, Deposit: r.Deposit, RequestID: r.RequestID, ChainID: r.ChainID})
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\n", r.Name(), r.State, r.Value, r.Deposit, r.RequestID, r.ChainID)
				if r.State == clientcred.StateReady {
					total += r.Value
				}
			}
			tw.Flush()
			fmt.Fprintf(&text, "%d credentials, %d bytes ready to show\n", len(recs), total)
			for _, b := range bad {
				fmt.Fprintln(cmd.ErrOrStderr(), "unreadable:", b)
			}
			return home.Print(cmd.OutOrStdout(), output, map[string]any{"credentials": entries, "ready_bytes": total, "unreadable": bad}, text.String())
		},
	}
	home.OutputFlag(cmd.Flags(), &output)
	return cmd
}

func credentialAddressCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "address",
		Short: "Print the address of the home's chain key (made if missing): fund it to buy credentials",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := loadHome(cmd)
			if err != nil {
				return err
			}
			key, err := client.LoadChainKey(h.Dir, true)
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

func credentialImportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "import-mnemonic <file>",
		Short: "Use the account of a BIP-39 mnemonic (read from <file>, '-' for stdin) as the home's chain key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			h, err := loadHome(cmd)
			if err != nil {
				return err
			}
			var in io.Reader = cmd.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			b, err := io.ReadAll(io.LimitReader(in, 4096))
			if err != nil {
				return err
			}
			key, err := client.ImportMnemonic(h.Dir, strings.TrimSpace(string(b)))
			if err != nil {
				return err
			}
			addr, _ := chaintx.Address(key, "")
			fmt.Fprintln(cmd.OutOrStdout(), addr)
			return nil
		},
	}
}
