package cmd

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/coconut"
	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
)

// maxSecretsFile bounds what assemble reads from a secrets file (hex of a
// few hundred bytes).
const maxSecretsFile = 4096

// coconutCmd is the client side of x/coconut issuance: a blind request to
// pay for with `tx coconut request-credential`, and the credential assembled
// from the partial signatures the validators add in consensus.
func coconutCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "coconut",
		Short: "Client side of x/coconut credentials (prepare a request, assemble the issued credential, show it for a spend)",
		RunE:  client.ValidateCmd,
	}
	cmd.AddCommand(prepareRequestCmd(), assembleCmd(), showCmd())
	return cmd
}

func prepareRequestCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "prepare-request <deposit> <secrets-file>",
		Short: "Make a blind sign request for a bandwidth credential and keep its secrets",
		Long: `Makes a blind sign request for the credential <deposit> (in unym) buys at the
chain's current params, writes its secret openings to <secrets-file> (0600; keep
it until the credential is assembled) and prints the arguments of
'nyxd tx coconut request-credential'.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			clientCtx, err := client.GetClientQueryContext(cmd)
			if err != nil {
				return err
			}
			deposit, err := sdk.ParseCoinNormalized(args[0])
			if err != nil {
				return err
			}
			params, err := coconuttypes.NewQueryClient(clientCtx).Params(cmd.Context(), &coconuttypes.QueryParamsRequest{})
			if err != nil {
				return fmt.Errorf("query params: %w", err)
			}
			if deposit.Denom != coconuttypes.Denom || !deposit.Amount.IsUint64() {
				return fmt.Errorf("deposit %s: must be an amount of %s", deposit, coconuttypes.Denom)
			}
			rate := params.Params.BytesPerUnym
			value := deposit.Amount.Uint64() * rate
			if value/rate != deposit.Amount.Uint64() {
				return fmt.Errorf("deposit %s: value overflows", deposit)
			}
			typ := coconuttypes.CredentialTypeName(rate)
			binding, err := coconut.RandomScalar(rand.Reader)
			if err != nil {
				return err
			}
			v, err := coconut.NewBandwidthVoucher(rand.Reader, binding, value, typ)
			if err != nil {
				return err
			}
			req, sec, err := coconut.PrepareBlindSign(rand.Reader, coconuttypes.CredentialParams(), v.Private(), v.Public())
			if err != nil {
				return err
			}
			reqBz, _ := req.MarshalBinary()
			secBz, _ := sec.MarshalBinary()
			f, err := os.OpenFile(args[1], os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return fmt.Errorf("secrets file: %w", err)
			}
			if _, err := f.WriteString(hex.EncodeToString(secBz) + "\n"); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %d %s %s\n", hex.EncodeToString(reqBz), value, typ, deposit)
			return nil
		},
	}
	flags.AddQueryFlagsToCmd(cmd)
	return cmd
}

func assembleCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "assemble <request-id> <secrets-file>",
		Short: "Unblind, aggregate and verify an issued credential from the chain's partial signatures",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			clientCtx, err := client.GetClientQueryContext(cmd)
			if err != nil {
				return err
			}
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("request id: %w", err)
			}
			sec, err := readSecrets(args[1])
			if err != nil {
				return err
			}
			r, ks, err := requestAndKey(cmd, clientCtx, id)
			if err != nil {
				return err
			}
			cred, _, err := coconuttypes.AssembleCredential(ks, r.PartialSignatures, sec)
			if err != nil {
				return fmt.Errorf("request %d (%s, %d partial signatures): %w", id, r.Request.Status, len(r.PartialSignatures), err)
			}
			bz, _ := cred.MarshalBinary()
			fmt.Fprintf(cmd.OutOrStdout(), "credential %d verifies under key %d (%d partial signatures, threshold %d): %s\n",
				id, ks.KeyId, len(r.PartialSignatures), ks.Threshold, hex.EncodeToString(bz))
			return nil
		},
	}
	flags.AddQueryFlagsToCmd(cmd)
	return cmd
}

// requestAndKey reads a credential request, with its partial signatures, and
// the key set it was made under: what assemble and show both start from.
func requestAndKey(cmd *cobra.Command, clientCtx client.Context, id uint64) (*coconuttypes.QueryRequestResponse, *coconuttypes.KeySet, error) {
	q := coconuttypes.NewQueryClient(clientCtx)
	r, err := q.Request(cmd.Context(), &coconuttypes.QueryRequestRequest{RequestId: id})
	if err != nil {
		return nil, nil, err
	}
	key, err := q.VerificationKey(cmd.Context(), &coconuttypes.QueryVerificationKeyRequest{KeyId: r.Request.KeyId})
	if err != nil {
		return nil, nil, err
	}
	return r, &key.KeySet, nil
}

// readSecrets reads the secrets file prepare-request wrote.
func readSecrets(path string) (*coconut.BlindSignSecrets, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxSecretsFile+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxSecretsFile {
		return nil, fmt.Errorf("secrets file %s is larger than %d bytes", path, maxSecretsFile)
	}
	secBz, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("secrets file: %w", err)
	}
	sec := new(coconut.BlindSignSecrets)
	if err := sec.UnmarshalBinary(secBz); err != nil {
		return nil, fmt.Errorf("secrets file: %w", err)
	}
	return sec, nil
}
