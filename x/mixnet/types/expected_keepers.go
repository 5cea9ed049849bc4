package types

import (
	"context"

	"cosmossdk.io/core/address"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
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
	GetSupply(ctx context.Context, denom string) sdk.Coin
	SendCoinsFromAccountToModule(ctx context.Context, senderAddr sdk.AccAddress, recipientModule string, amt sdk.Coins) error
	SendCoinsFromModuleToAccount(ctx context.Context, senderModule string, recipientAddr sdk.AccAddress, amt sdk.Coins) error
	SendCoinsFromModuleToModule(ctx context.Context, senderModule, recipientModule string, amt sdk.Coins) error
}

// BeaconSource is the part of x/coconut the role draw uses: an epoch's beacon
// randomness, the threshold signature of the validators on the epoch number,
// if it was recorded before the epoch began.
type BeaconSource interface {
	EpochBeacon(ctx context.Context, epoch uint64) ([]byte, bool, error)
}

// VestingFunder is x/vesting as x/mixnet sees it. Its module account pays for
// the pledges and delegations owners make from their vesting accounts; x/mixnet
// records that part of each pledge and delegation (Node.vesting_pledge,
// Delegation.vesting_amount) and sends it back to that module account, never to
// the owner, telling the funder which owner's coins came back.
type VestingFunder interface {
	// LockedReturned is called after amount of owner's vesting coins came back to
	// the funder's module account from a pledge (pledge true) or a delegation.
	LockedReturned(ctx context.Context, owner sdk.AccAddress, pledge bool, amount math.Int) error
}
