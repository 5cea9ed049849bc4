package types

import errorsmod "cosmossdk.io/errors"

// The module's errors, each with its own code.
var (
	ErrInvalidAddress    = errorsmod.Register(ModuleName, 2, "invalid address")
	ErrInvalidAmount     = errorsmod.Register(ModuleName, 3, "invalid amount")
	ErrInvalidSchedule   = errorsmod.Register(ModuleName, 4, "invalid vesting schedule")
	ErrAccountExists     = errorsmod.Register(ModuleName, 5, "owner already has a vesting account")
	ErrAccountNotFound   = errorsmod.Register(ModuleName, 6, "no vesting account")
	ErrUnauthorized      = errorsmod.Register(ModuleName, 7, "sender is neither the owner nor the staking delegate")
	ErrInsufficientFunds = errorsmod.Register(ModuleName, 8, "not enough free coins in the vesting account")
	ErrNotVested         = errorsmod.Register(ModuleName, 9, "coins not vested or in use")
	ErrPledgeCap         = errorsmod.Register(ModuleName, 10, "pledge cap exceeded")
	ErrInUse             = errorsmod.Register(ModuleName, 11, "account has coins pledged or delegated")
	ErrInvalidParams     = errorsmod.Register(ModuleName, 12, "invalid params")
	ErrInvalidAuthority  = errorsmod.Register(ModuleName, 13, "invalid authority")
	ErrInvalidGenesis    = errorsmod.Register(ModuleName, 14, "invalid genesis state")
	ErrAccounting        = errorsmod.Register(ModuleName, 15, "vesting accounting")
)
