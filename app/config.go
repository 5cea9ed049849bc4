package app

import (
	"os"
	"path/filepath"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

const (
	// Name is the application's name, reported over ABCI.
	Name = "nyx"

	// Bech32Prefix is the human-readable part of account addresses: n1...
	Bech32Prefix = "n"

	// BondDenom is the staking token of the validators.
	BondDenom = "unyx"
	// MixDenom is the utility token: bonding mix nodes and gateways,
	// delegating to them, rewards and credential deposits.
	MixDenom = "unym"

	// CoinType is the BIP-44 coin type of Nyx keys (the Cosmos Hub's, so
	// existing wallets derive the same addresses).
	CoinType = 118
)

var (
	// Bech32PrefixAccPub is the prefix of account public keys.
	Bech32PrefixAccPub = Bech32Prefix + sdk.PrefixPublic
	// Bech32PrefixValAddr is the prefix of validator operator addresses: nvaloper1...
	Bech32PrefixValAddr = Bech32Prefix + sdk.PrefixValidator + sdk.PrefixOperator
	// Bech32PrefixValPub is the prefix of validator operator public keys.
	Bech32PrefixValPub = Bech32PrefixValAddr + sdk.PrefixPublic
	// Bech32PrefixConsAddr is the prefix of consensus node addresses: nvalcons1...
	Bech32PrefixConsAddr = Bech32Prefix + sdk.PrefixValidator + sdk.PrefixConsensus
	// Bech32PrefixConsPub is the prefix of consensus node public keys.
	Bech32PrefixConsPub = Bech32PrefixConsAddr + sdk.PrefixPublic
)

// DefaultNodeHome is nyxd's home directory unless --home says otherwise.
var DefaultNodeHome = func() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ".nyxd"
	}
	return filepath.Join(home, ".nyxd")
}()

func init() {
	// Every default genesis the SDK's modules produce (staking, mint, gov,
	// crisis) takes its denom from here, so `nyxd init` writes unyx.
	sdk.DefaultBondDenom = BondDenom
	SetAddressPrefixes()
}

// SetAddressPrefixes sets Nyx's bech32 prefixes and coin type in the SDK's
// global config. It is idempotent and seals nothing, so tests and binaries
// may call it freely; the binary seals the config itself once it starts.
func SetAddressPrefixes() {
	cfg := sdk.GetConfig()
	if cfg.GetBech32AccountAddrPrefix() == Bech32Prefix {
		return
	}
	cfg.SetBech32PrefixForAccount(Bech32Prefix, Bech32PrefixAccPub)
	cfg.SetBech32PrefixForValidator(Bech32PrefixValAddr, Bech32PrefixValPub)
	cfg.SetBech32PrefixForConsensusNode(Bech32PrefixConsAddr, Bech32PrefixConsPub)
	cfg.SetCoinType(CoinType)
}
