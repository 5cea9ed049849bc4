package main

import (
	"encoding/hex"
	"errors"

	"github.com/spf13/cobra"

	"github.com/nyx-privacy/nyx/sidecar/home"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// signServiceCmd prints the identity signature the chain's service
// directory asks of an announcement of this client's address (nyxd tx mixnet
// announce-service <kind> <address> <signature>), so an app served over a
// nym-client can be listed from any account its operator chooses.
func signServiceCmd() *cobra.Command {
	var kind, announcer, chainID, description, output string
	cmd := &cobra.Command{
		Use:   "sign-service",
		Short: "Sign an announcement of this client's address in the chain's service directory",
		Long: "Print, in hex, the signature of this client's identity key that `nyxd tx mixnet announce-service` needs\n" +
			"to list the client's address: it binds the chain id, the announcing account, the kind and the description,\n" +
			"so nobody else can list the address, or list it under other terms.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if chainID == "" || announcer == "" {
				return errors.New("--chain-id and --announcer are required")
			}
			if err := mixnettypes.ValidateServiceKind(kind); err != nil {
				return err
			}
			if err := mixnettypes.ValidateServiceDescription(description); err != nil {
				return err
			}
			h, err := loadHome(cmd)
			if err != nil {
				return err
			}
			m := &mixnettypes.MsgAnnounceService{Announcer: announcer, Kind: kind, NymAddress: h.Address().String(), Description: description}
			m.SignService(chainID, h.Keys.Identity)
			if err := m.ValidateBasic(); err != nil {
				return err
			}
			sig := hex.EncodeToString(m.IdentitySignature)
			return home.Print(cmd.OutOrStdout(), output, map[string]string{"signature": sig, "nym_address": m.NymAddress,
				"announcer": announcer, "kind": kind, "chain_id": chainID}, sig+"\n")
		},
	}
	cmd.Flags().StringVar(&kind, "kind", mixnettypes.ServiceKindNetworkRequester, "the service's kind (a-z, 0-9 and '-')")
	cmd.Flags().StringVar(&announcer, "announcer", "", "the account that sends the announcement (bech32)")
	cmd.Flags().StringVar(&chainID, "chain-id", "", "the chain the announcement is for")
	cmd.Flags().StringVar(&description, "description", "", "the entry's description, exactly as it will be announced")
	home.OutputFlag(cmd.Flags(), &output)
	return cmd
}
