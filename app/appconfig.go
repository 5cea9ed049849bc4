package app

import (
	serverconfig "github.com/cosmos/cosmos-sdk/server/config"

	wasmtypes "github.com/CosmWasm/wasmd/x/wasm/types"
)

// AppConfig is app.toml: the SDK's server config plus wasm's node config.
type AppConfig struct {
	serverconfig.Config `mapstructure:",squash"`

	Wasm wasmtypes.NodeConfig `mapstructure:"wasm"`
}

// MinGasPriceAmount is the default minimum gas price, per unit of gas, in either
// token.
const MinGasPriceAmount = "0.025"

// DefaultMinGasPrices is app.toml's default minimum-gas-prices: a transaction
// enters a node's mempool only if its fee pays this price for its gas in at least
// one of the two tokens (the SDK's check takes a fee that covers any one denom
// listed). A zero price would let anyone fill every mempool and block for free.
const DefaultMinGasPrices = MinGasPriceAmount + MixDenom + "," + MinGasPriceAmount + BondDenom

// DefaultAppConfig returns app.toml's defaults for a Nyx node.
func DefaultAppConfig() AppConfig {
	srv := serverconfig.DefaultConfig()
	// Each validator may change its own price in app.toml.
	srv.MinGasPrices = DefaultMinGasPrices
	return AppConfig{Config: *srv, Wasm: wasmtypes.DefaultNodeConfig()}
}

// AppConfigTemplate is the template app.toml is written from, with every
// default and its comment.
func AppConfigTemplate() string {
	return serverconfig.DefaultConfigTemplate + wasmtypes.DefaultConfigTemplate()
}
