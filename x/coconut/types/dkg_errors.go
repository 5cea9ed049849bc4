package types

import errorsmod "cosmossdk.io/errors"

// The DKG's errors.
var (
	ErrInvalidDKGMessage = errorsmod.Register(ModuleName, 30, "invalid DKG message")
	ErrDKGPhase          = errorsmod.Register(ModuleName, 31, "DKG message out of its phase or round")
	ErrDKGParticipant    = errorsmod.Register(ModuleName, 32, "not a participant of the DKG round")
	ErrDKGDuplicate      = errorsmod.Register(ModuleName, 33, "DKG message already received from this participant")
	ErrDKGRoundActive    = errorsmod.Register(ModuleName, 34, "a DKG round is in progress")
	ErrInvalidDKGParams  = errorsmod.Register(ModuleName, 35, "invalid DKG params")
)
