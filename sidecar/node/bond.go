package node

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"strings"

	sdk "github.com/cosmos/cosmos-sdk/types"

	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// BondingInfo is what a node's owner needs to bond it: its public keys, its
// addresses, and the identity key's signature over the bond for one owner
// and signing nonce on one chain.
type BondingInfo struct {
	ChainID     string `json:"chain_id"`
	Owner       string `json:"owner"`
	Nonce       uint64 `json:"nonce"`
	IdentityKey string `json:"identity_key"` // hex
	SphinxKey   string `json:"sphinx_key"`   // hex
	Host        string `json:"host"`
	MixPort     uint16 `json:"mix_port"`
	ClientsPort uint16 `json:"clients_port"`
	HTTPPort    uint16 `json:"http_port"`
	Signature   string `json:"signature"` // hex
}

// NewBondingInfo signs the bond of keys with cfg's host and ports for owner
// (a bech32 address) and the owner's current signing nonce (Query/SigningNonce).
func NewBondingInfo(keys Keys, cfg Config, owner string, nonce uint64) (BondingInfo, error) {
	if owner == "" {
		return BondingInfo{}, fmt.Errorf("no owner address")
	}
	p := BondPayload(keys, cfg, owner, nonce)
	return BondingInfo{
		ChainID: cfg.Chain.ChainID, Owner: owner, Nonce: nonce,
		IdentityKey: hex.EncodeToString(p.IdentityKey), SphinxKey: hex.EncodeToString(p.SphinxKey),
		Host: cfg.Node.Host, MixPort: cfg.Node.MixPort, ClientsPort: cfg.Node.ClientsPort, HTTPPort: cfg.Node.HTTPPort,
		Signature: hex.EncodeToString(mixnettypes.SignBond(keys.Identity, p)),
	}, nil
}

// BondPayload is the payload the node's identity key signs to be bonded.
func BondPayload(keys Keys, cfg Config, owner string, nonce uint64) mixnettypes.BondPayload {
	return mixnettypes.BondPayload{
		ChainID: cfg.Chain.ChainID, Owner: owner,
		IdentityKey: keys.Identity.Public().(ed25519.PublicKey), SphinxKey: keys.Sphinx.PublicKey().Bytes(),
		Host: cfg.Node.Host, MixPort: uint32(cfg.Node.MixPort), ClientsPort: uint32(cfg.Node.ClientsPort),
		HTTPPort: uint32(cfg.Node.HTTPPort), Nonce: nonce,
	}
}

// BondMsg is the MsgBondNode that bonds the node for owner with pledge (and
// the default cost params), signed for nonce.
func BondMsg(keys Keys, cfg Config, owner string, nonce uint64, pledge string) (*mixnettypes.MsgBondNode, error) {
	coin, err := parseCoin(pledge)
	if err != nil {
		return nil, err
	}
	p := BondPayload(keys, cfg, owner, nonce)
	return &mixnettypes.MsgBondNode{
		Owner: owner, Pledge: coin, IdentityKey: p.IdentityKey, SphinxKey: p.SphinxKey, Host: p.Host,
		MixPort: p.MixPort, ClientsPort: p.ClientsPort, HttpPort: p.HTTPPort,
		Signature: mixnettypes.SignBond(keys.Identity, p),
	}, nil
}

// Command is the nyxd command that bonds the node with pledge (e.g.
// "100000000unym"), to be run by the owner's key. It pays the minimum gas
// price nyxd's default app.toml asks (0.025 in unym or unyx).
func (b BondingInfo) Command(pledge, from string) string {
	return strings.Join([]string{"nyxd tx mixnet bond-node", pledge, b.IdentityKey, b.SphinxKey, b.Host,
		fmt.Sprint(b.MixPort), fmt.Sprint(b.ClientsPort), fmt.Sprint(b.HTTPPort), b.Signature,
		"--from", from, "--chain-id", b.ChainID, "--gas", "auto", "--gas-adjustment", "1.5", "--gas-prices", "0.025unym"}, " ")
}

// Text is the human form of the bonding info.
func (b BondingInfo) Text() string {
	var s strings.Builder
	fmt.Fprintf(&s, "identity key:  %s\n", b.IdentityKey)
	fmt.Fprintf(&s, "sphinx key:    %s\n", b.SphinxKey)
	fmt.Fprintf(&s, "host:          %s\n", b.Host)
	fmt.Fprintf(&s, "mix port:      %d\n", b.MixPort)
	fmt.Fprintf(&s, "clients port:  %d\n", b.ClientsPort)
	fmt.Fprintf(&s, "http port:     %d\n", b.HTTPPort)
	fmt.Fprintf(&s, "chain id:      %s\n", b.ChainID)
	fmt.Fprintf(&s, "owner:         %s\n", b.Owner)
	fmt.Fprintf(&s, "nonce:         %d\n", b.Nonce)
	fmt.Fprintf(&s, "signature:     %s\n", b.Signature)
	return s.String()
}

func parseCoin(s string) (sdk.Coin, error) {
	c, err := sdk.ParseCoinNormalized(s)
	if err != nil {
		return sdk.Coin{}, fmt.Errorf("pledge %q: %w", s, err)
	}
	return c, nil
}
