package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the module's name, its store key and its module account's name.
	ModuleName = "coconut"
	// StoreKey is the module's KV store key.
	StoreKey = ModuleName
	// Denom is the token of deposits and of the gateways' payouts.
	Denom = "unym"
)

// Store prefixes, one per collection of the keeper's schema.
var (
	ParamsKey            = collections.NewPrefix(0)
	CurrentKeyIDKey      = collections.NewPrefix(1)
	KeySetsKey           = collections.NewPrefix(2)
	CredentialTypesKey   = collections.NewPrefix(3)
	NextRequestIDKey     = collections.NewPrefix(4)
	RequestsKey          = collections.NewPrefix(5)
	PendingRequestsKey   = collections.NewPrefix(6)
	RequestExpiryKey     = collections.NewPrefix(7)
	PartialSignaturesKey = collections.NewPrefix(8)
	SpentKey             = collections.NewPrefix(9)
)
