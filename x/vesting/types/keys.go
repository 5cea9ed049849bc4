// Package types holds the vesting module's messages, state types, params, errors
// and the schedule arithmetic (schedule.go), which is pure and tested on its own.
package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the module's name, its store key and its module account's name.
	// The SDK's x/auth/vesting is also named "vesting"; the app leaves it out
	// (app/doc.go), so the name is ours.
	ModuleName = "vesting"
	// StoreKey is the module's KV store key.
	StoreKey = ModuleName
	// Denom is the token vesting accounts hold: x/mixnet's unym.
	Denom = "unym"
)

// Store prefixes, one per collection of the keeper's schema.
var (
	ParamsKey   = collections.NewPrefix(0)
	AccountsKey = collections.NewPrefix(1)
)
