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
// delegated in x/mixnet; its own store and module account, not the SDK's
// account types), also named "vesting", and the module manager keys modules by
// name in a map: adding both would make one silently replace the other. Nyx
// therefore leaves the SDK's vesting module (and its Msgs that create vesting
// accounts) out of the module manager; only Nyx's x/vesting is in it, under the
// name, store key and module account "vesting". The SDK's vesting account types
// are still registered with the interface registry (their proto package,
// cosmos.vesting.v1beta1, and amino names do not clash with nyx.vesting.v1), so
// that genesis files made with `nyxd genesis add-genesis-account
// --vesting-amount` decode and behave as the SDK defines (locked coins cannot be
// spent, nor pledged in x/mixnet); vesting accounts whose locked coins can work
// in the mixnet are created with x/vesting's MsgCreateVestingAccount, or in its
// genesis.
//
// x/vesting and x/mixnet need each other: x/vesting calls x/mixnet's keeper
// methods (Bond, PledgeMore, Delegate, Undelegate) with its module account
// paying, and x/mixnet, given x/vesting by SetVestingFunder, sends those coins
// back to that account and tells x/vesting whose they are (keepers.go).
package app
