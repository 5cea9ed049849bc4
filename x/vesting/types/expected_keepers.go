package types

import (
	"context"

	"cosmossdk.io/core/address"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// AccountKeeper is the part of x/auth the module uses.
type AccountKeeper interface {
	AddressCodec() address.Codec
	GetModuleAddress(moduleName string) sdk.AccAddress
	GetModuleAccount(ctx context.Context, moduleName string) sdk.ModuleAccountI
}

// BankKeeper is the part of x/bank the module uses.
type BankKeeper interface {
	GetBalance(ctx context.Context, addr sdk.AccAddress, denom string) sdk.Coin
	SendCoinsFromAccountToModule(ctx context.Context, senderAddr sdk.AccAddress, recipientModule string, amt sdk.Coins) error
	SendCoinsFromModuleToAccount(ctx context.Context, senderModule string, recipientAddr sdk.AccAddress, amt sdk.Coins) error
}

// MixnetKeeper is the part of x/mixnet the module uses: the keeper methods its
// Msg handlers call too, with the vesting module account as the payer.
type MixnetKeeper interface {
	Bond(ctx context.Context, payer sdk.AccAddress, msg *mixnettypes.MsgBondNode) (uint64, error)
	PledgeMore(ctx context.Context, payer, owner sdk.AccAddress, amount sdk.Coin) error
	Delegate(ctx context.Context, payer, delegator sdk.AccAddress, nodeID uint64, amount sdk.Coin) error
	Undelegate(ctx context.Context, delegator sdk.AccAddress, nodeID uint64, amount sdk.Coin, vestingOnly bool) error
	// VestingHeld is what x/mixnet holds paid from vesting, by owner address bytes.
	VestingHeld(ctx context.Context) (pledged, delegated map[string]math.Int, err error)
}
