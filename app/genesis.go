package app

import (
	"encoding/json"
	"os"
	"sync"

	dbm "github.com/cosmos/cosmos-db"

	"cosmossdk.io/log/v2"

	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
)

// GenesisState is the app state of a genesis file: each module's genesis as
// raw JSON, keyed by module name.
type GenesisState map[string]json.RawMessage

// NewDefaultGenesisState returns the default genesis of every module of
// the app, with unyx as the bond denom.
func NewDefaultGenesisState() GenesisState {
	return Template().DefaultGenesis()
}

var (
	templateOnce sync.Once
	templateApp  *NyxApp
)

// Template returns an app over an in-memory database, never started, built
// once per process: its codecs know every module's types and its module
// basics give default genesis and CLI commands. Clients and genesis tools
// use it; it holds no state.
func Template() *NyxApp {
	templateOnce.Do(func() {
		home, err := os.MkdirTemp("", "nyx-template")
		if err != nil {
			panic(err)
		}
		defer os.RemoveAll(home)
		templateApp = New(log.NewNopLogger(), dbm.NewMemDB(), false, simtestutil.NewAppOptionsWithFlagHome(home), nil)
	})
	return templateApp
}
