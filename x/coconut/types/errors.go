package types

import errorsmod "cosmossdk.io/errors"

// The module's errors, registered once with their codes.
var (
	ErrInvalidAddress    = errorsmod.Register(ModuleName, 2, "invalid address")
	ErrInvalidAuthority  = errorsmod.Register(ModuleName, 3, "invalid authority")
	ErrInvalidParams     = errorsmod.Register(ModuleName, 4, "invalid params")
	ErrInvalidGenesis    = errorsmod.Register(ModuleName, 5, "invalid genesis state")
	ErrInvalidDeposit    = errorsmod.Register(ModuleName, 6, "invalid deposit")
	ErrInvalidRequest    = errorsmod.Register(ModuleName, 7, "invalid credential request")
	ErrValueMismatch     = errorsmod.Register(ModuleName, 8, "public attributes do not match the deposit")
	ErrNoKey             = errorsmod.Register(ModuleName, 9, "no verification key")
	ErrInvalidKey        = errorsmod.Register(ModuleName, 10, "invalid verification key")
	ErrInvalidSpend      = errorsmod.Register(ModuleName, 11, "invalid credential spend")
	ErrCredentialInvalid = errorsmod.Register(ModuleName, 12, "credential does not verify")
	ErrAlreadySpent      = errorsmod.Register(ModuleName, 13, "credential already spent")
	ErrUnknownType       = errorsmod.Register(ModuleName, 14, "unknown credential type")
	ErrRequestNotFound   = errorsmod.Register(ModuleName, 15, "request not found")
	ErrTooManySpends     = errorsmod.Register(ModuleName, 16, "too many spends in one message")
	ErrInvalidPartial    = errorsmod.Register(ModuleName, 17, "invalid partial signature")
	ErrDuplicatePartial  = errorsmod.Register(ModuleName, 18, "partial signature already recorded")
)

// ErrInvalidVoteExtension is a malformed, oversized or wrong vote extension or
// injected commit.
var ErrInvalidVoteExtension = errorsmod.Register(ModuleName, 19, "invalid vote extension")
