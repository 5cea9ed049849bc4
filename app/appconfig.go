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

// DefaultAppConfig returns app.toml's defaults for a Nyx node.
func DefaultAppConfig() AppConfig {
	srv := serverconfig.DefaultConfig()
	// An empty minimum gas price makes a node refuse to start; zero lets a
	// fresh node run, and each validator sets its own price in app.toml.
	srv.MinGasPrices = "0" + BondDenom
	return AppConfig{Config: *srv, Wasm: wasmtypes.DefaultNodeConfig()}
}

// AppConfigTemplate is the template app.toml is written from, with every
// default and its comment.
func AppConfigTemplate() string {
	return serverconfig.DefaultConfigTemplate + wasmtypes.DefaultConfigTemplate()
}
