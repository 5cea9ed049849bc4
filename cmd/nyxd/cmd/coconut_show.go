package cmd

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/coconut"
	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
)

const (
	flagOperator = "operator"
	flagGateway  = "gateway"
	flagNonce    = "nonce"
)

// showCmd shows an issued credential for an on-chain spend. The credential
// is assembled again from the partial signatures on chain (they stay there
// for request_retention_blocks), so nothing but the secrets file is kept on
// disk; each run draws a fresh randomisation, so two shows of one credential
// are unlinkable except by their spend tag, which is the same.
func showCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show <request-id> <secrets-file> --operator <address> --gateway <hex> [--nonce <hex>]",
		Short: "Show an issued credential to a gateway: print the entry of 'nyxd tx coconut spend-credentials'",
		Long: `Assembles the credential of <request-id> from the chain's partial signatures and
the secrets kept by prepare-request, and proves it bound to the spend context
(the node's chain id, the gateway operator's address, the gateway's 32-byte
identity and the nonce, both hex). Prints the spend entry as JSON, the argument of
'nyxd tx coconut spend-credentials' signed by the operator, then the hex spend
tag (query it with 'nyxd q coconut spend-tag').`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			clientCtx, err := client.GetClientQueryContext(cmd)
			if err != nil {
				return err
			}
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("request id: %w", err)
			}
			operator, gateway, nonce, err := showFlags(cmd)
			if err != nil {
				return err
			}
			sec, err := readSecrets(args[1])
			if err != nil {
				return err
			}
			// The context must name the chain the spend goes to: ask the node
			// rather than trust a client.toml that may name another.
			node, err := clientCtx.GetNode()
			if err != nil {
				return err
			}
			st, err := node.Status(cmd.Context())
			if err != nil {
				return fmt.Errorf("node status: %w", err)
			}
			r, ks, err := requestAndKey(cmd, clientCtx, id)
			if err != nil {
				return err
			}
			entry, tag, err := spendEntry(rand.Reader, st.NodeInfo.Network, operator, ks, r.PartialSignatures, sec, gateway, nonce)
			if err != nil {
				return fmt.Errorf("request %d (%s, %d partial signatures): %w", id, r.Request.Status, len(r.PartialSignatures), err)
			}
			js, err := entryJSON(entry)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", js, hex.EncodeToString(tag[:]))
			return nil
		},
	}
	cmd.Flags().String(flagOperator, "", "bech32 address of the gateway operator who redeems the credential (signs the spend)")
	cmd.Flags().String(flagGateway, "", "the gateway's ed25519 identity key, 32 bytes in hex")
	cmd.Flags().String(flagNonce, "", "the gateway's nonce, at most 64 bytes in hex")
	flags.AddQueryFlagsToCmd(cmd)
	return cmd
}

// showFlags reads and checks the spend context's flags, so that a bad one is
// refused here rather than by the chain after a fee was paid.
func showFlags(cmd *cobra.Command) (string, []byte, []byte, error) {
	operator, _ := cmd.Flags().GetString(flagOperator)
	if _, err := sdk.AccAddressFromBech32(operator); err != nil {
		return "", nil, nil, fmt.Errorf("--%s %q: %w", flagOperator, operator, err)
	}
	gwHex, _ := cmd.Flags().GetString(flagGateway)
	gateway, err := hex.DecodeString(gwHex)
	if err != nil || len(gateway) != coconuttypes.GatewayIdentitySize {
		return "", nil, nil, fmt.Errorf("--%s: want %d bytes in hex, got %q", flagGateway, coconuttypes.GatewayIdentitySize, gwHex)
	}
	nonceHex, _ := cmd.Flags().GetString(flagNonce)
	nonce, err := hex.DecodeString(nonceHex)
	if err != nil || len(nonce) > coconuttypes.MaxNonceSize {
		return "", nil, nil, fmt.Errorf("--%s: want at most %d bytes in hex, got %q", flagNonce, coconuttypes.MaxNonceSize, nonceHex)
	}
	return operator, gateway, nonce, nil
}

// spendEntry assembles the credential from the partial signatures and proves
// it under the master key, bound to the spend context of chainID, operator,
// gateway and nonce. It returns the entry and its spend tag.
func spendEntry(rng io.Reader, chainID, operator string, ks *coconuttypes.KeySet, partials []coconuttypes.PartialSignature,
	sec *coconut.BlindSignSecrets, gateway, nonce []byte) (coconuttypes.SpendEntry, coconut.SpendTag, error) {
	cred, attrs, err := coconuttypes.AssembleCredential(ks, partials, sec)
	if err != nil {
		return coconuttypes.SpendEntry{}, coconut.SpendTag{}, err
	}
	master, err := coconuttypes.DecodeVerificationKey(ks.MasterKey, false)
	if err != nil {
		return coconuttypes.SpendEntry{}, coconut.SpendTag{}, err
	}
	th, err := coconut.Prove(rng, coconuttypes.CredentialParams(), master, cred, attrs, coconut.BandwidthShowSpec,
		coconuttypes.SpendContext(chainID, operator, gateway, nonce))
	if err != nil {
		return coconuttypes.SpendEntry{}, coconut.SpendTag{}, err
	}
	bz, err := th.MarshalBinary()
	if err != nil {
		return coconuttypes.SpendEntry{}, coconut.SpendTag{}, err
	}
	tag, _, _ := th.SpendTag()
	return coconuttypes.SpendEntry{Theta: bz, GatewayIdentity: gateway, Nonce: nonce}, tag, nil
}

// entryJSON is an entry as the spend-credentials command reads it (the
// proto JSON of SpendEntry: bytes in base64), on one line without spaces.
func entryJSON(e coconuttypes.SpendEntry) (string, error) {
	bz, err := json.Marshal(map[string]string{
		"theta":            base64.StdEncoding.EncodeToString(e.Theta),
		"gateway_identity": base64.StdEncoding.EncodeToString(e.GatewayIdentity),
		"nonce":            base64.StdEncoding.EncodeToString(e.Nonce),
	})
	return string(bz), err
}
