package types

import errorsmod "cosmossdk.io/errors"

// The module's errors, registered once with their codes.
var (
	ErrInvalidAddress         = errorsmod.Register(ModuleName, 2, "invalid address")
	ErrInvalidKey             = errorsmod.Register(ModuleName, 3, "invalid key")
	ErrInvalidSignature       = errorsmod.Register(ModuleName, 4, "invalid signature")
	ErrDuplicateIdentity      = errorsmod.Register(ModuleName, 5, "identity key already bonded")
	ErrDuplicateHostPort      = errorsmod.Register(ModuleName, 6, "host and port already in use")
	ErrOwnerHasNode           = errorsmod.Register(ModuleName, 7, "owner already has a bonded node")
	ErrNodeNotFound           = errorsmod.Register(ModuleName, 8, "node not found")
	ErrNodeUnbonding          = errorsmod.Register(ModuleName, 9, "node is unbonding")
	ErrPledgeBelowMinimum     = errorsmod.Register(ModuleName, 10, "pledge below the minimum")
	ErrInvalidAmount          = errorsmod.Register(ModuleName, 11, "invalid amount")
	ErrDelegationNotFound     = errorsmod.Register(ModuleName, 12, "delegation not found")
	ErrInsufficientDelegation = errorsmod.Register(ModuleName, 13, "undelegation exceeds the delegation")
	ErrNotMonitor             = errorsmod.Register(ModuleName, 14, "sender is not a network monitor")
	ErrInvalidPerformance     = errorsmod.Register(ModuleName, 15, "invalid performance report")
	ErrWrongEpoch             = errorsmod.Register(ModuleName, 16, "report is not for the current epoch")
	ErrInvalidAuthority       = errorsmod.Register(ModuleName, 17, "invalid authority")
	ErrInvalidParams          = errorsmod.Register(ModuleName, 18, "invalid params")
	ErrInvalidCostParams      = errorsmod.Register(ModuleName, 19, "invalid cost params")
	ErrInvalidHost            = errorsmod.Register(ModuleName, 20, "invalid host or port")
	ErrInvalidGenesis         = errorsmod.Register(ModuleName, 21, "invalid genesis state")
	ErrNoReward               = errorsmod.Register(ModuleName, 22, "no reward to withdraw")
	ErrInvalidRole            = errorsmod.Register(ModuleName, 23, "invalid role")
	ErrRewarding              = errorsmod.Register(ModuleName, 24, "reward accounting")
	ErrKeyAlreadyAnnounced    = errorsmod.Register(ModuleName, 25, "sphinx key already announced")
	ErrStaleAnnouncement      = errorsmod.Register(ModuleName, 26, "announcement is not for the current or the previous epoch")
	ErrInvalidPayer           = errorsmod.Register(ModuleName, 27, "coins may come only from the owner or the vesting module account")
)
