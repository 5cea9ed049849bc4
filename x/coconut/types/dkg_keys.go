package types

import "cosmossdk.io/collections"

// Store prefixes of the DKG's collections.
var (
	DKGParamsKey         = collections.NewPrefix(20)
	DKGRoundKey          = collections.NewPrefix(21)
	DKGStartRequestedKey = collections.NewPrefix(22)
	DKGDealingsKey       = collections.NewPrefix(23)
	DKGKeySharesKey      = collections.NewPrefix(24)
	DKGCommitmentsKey    = collections.NewPrefix(25)
)
