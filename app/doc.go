// Package app wires the Nyx chain: the Cosmos SDK modules, CosmWasm, IBC and
// the native mixnet modules, by hand, one job per file:
//
//	config.go    bech32 prefixes, denoms, chain-wide constants
//	keys.go      store keys
//	keepers.go   keeper construction and the IBC router
//	modules.go   module manager, module account permissions, orderings
//	ante.go      the ante handler
//	encoding.go  codecs and the tx config
//	genesis.go   default genesis (bond denom unyx)
//	export.go    genesis export
//	upgrades.go  upgrade handlers
//	app.go       NyxApp itself and its ABCI and server hooks
//
// # The SDK's x/auth/vesting module is not included
//
// The SDK's x/auth/vesting module is registered under the name "vesting". Nyx
// has its own x/vesting (vesting accounts whose locked unym can be pledged and
// delegated in x/mixnet), also named "vesting", and the module manager keys
// modules by name in a map: adding both would make one silently replace the
// other. Nyx therefore leaves the SDK's vesting module (and its Msgs that create
// vesting accounts) out of the module manager. The SDK's vesting account types
// are still registered with the interface registry, so that genesis files made
// with `nyxd genesis add-genesis-account --vesting-amount` decode and behave
// as the SDK defines (locked coins cannot be spent); creating new vesting
// accounts after genesis is the job of Nyx's own x/vesting.
package app
