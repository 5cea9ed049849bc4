package app

import (
	ibctransfertypes "github.com/cosmos/ibc-go/v11/modules/apps/transfer/types"
	ibcexported "github.com/cosmos/ibc-go/v11/modules/core/exported"

	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	authzkeeper "github.com/cosmos/cosmos-sdk/x/authz/keeper"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	consensusparamtypes "github.com/cosmos/cosmos-sdk/x/consensus/types"
	distrtypes "github.com/cosmos/cosmos-sdk/x/distribution/types"
	evidencetypes "github.com/cosmos/cosmos-sdk/x/evidence/types"
	"github.com/cosmos/cosmos-sdk/x/feegrant"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"
	minttypes "github.com/cosmos/cosmos-sdk/x/mint/types"
	slashingtypes "github.com/cosmos/cosmos-sdk/x/slashing/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"
	upgradetypes "github.com/cosmos/cosmos-sdk/x/upgrade/types"

	wasmtypes "github.com/CosmWasm/wasmd/x/wasm/types"

	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
	vestingtypes "github.com/nyx-privacy/nyx/x/vesting/types"
)

// storeKeyNames lists every persistent store of the app. A new module adds
// its key here; removing one needs a store upgrade (see upgrades.go).
var storeKeyNames = []string{
	authtypes.StoreKey,
	banktypes.StoreKey,
	stakingtypes.StoreKey,
	minttypes.StoreKey,
	distrtypes.StoreKey,
	slashingtypes.StoreKey,
	govtypes.StoreKey,
	consensusparamtypes.StoreKey,
	upgradetypes.StoreKey,
	feegrant.StoreKey,
	evidencetypes.StoreKey,
	authzkeeper.StoreKey,
	ibcexported.StoreKey,
	ibctransfertypes.StoreKey,
	wasmtypes.StoreKey,
	mixnettypes.StoreKey,
	coconuttypes.StoreKey,
	vestingtypes.StoreKey,
}

func newStoreKeys() map[string]*storetypes.KVStoreKey {
	return storetypes.NewKVStoreKeys(storeKeyNames...)
}
