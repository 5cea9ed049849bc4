package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
	"github.com/nyx-privacy/nyx/x/vesting/types"
)

// Locked coins at work. The owner or the staking delegate puts an account's free
// coins into x/mixnet through x/mixnet's keeper methods, with this module's
// account paying; the pledge or delegation belongs to the owner, who earns its
// rewards. x/mixnet sends the coins back here (LockedReturned), never to the
// owner. Each method checks everything before anything is written.

var _ mixnettypes.VestingFunder = Keeper{}

// checkFree refuses amount beyond the account's free coins.
func checkFree(a types.VestingAccount, amount math.Int, what string) error {
	if free := a.Free(); amount.GT(free) {
		return errorsmod.Wrapf(types.ErrInsufficientFunds, "%s %v%s: the account has %v%s free (original %v, withdrawn %v, pledged %v, delegated %v)",
			what, amount, types.Denom, free, types.Denom, a.Original, a.Withdrawn, a.Pledged, a.Delegated)
	}
	return nil
}

// checkPledge refuses a pledge of amount more beyond the free coins or the cap.
func (k Keeper) checkPledge(ctx context.Context, a types.VestingAccount, amount math.Int) error {
	if err := checkFree(a, amount, "pledging"); err != nil {
		return err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if c := params.PledgeCap(a.Original); a.Pledged.Add(amount).GT(c) {
		return errorsmod.Wrapf(types.ErrPledgeCap, "pledging %v%s more to the %v%s pledged would pass the cap of %v%s", amount, types.Denom, a.Pledged, types.Denom, c, types.Denom)
	}
	return nil
}

// BondFromVesting bonds a node for bond.Owner paid from the owner's account;
// sender is the owner or the staking delegate.
func (k Keeper) BondFromVesting(ctx context.Context, sender sdk.AccAddress, bond *mixnettypes.MsgBondNode) (uint64, error) {
	owner, a, err := k.authorize(ctx, sender, bond.Owner)
	if err != nil {
		return 0, err
	}
	if bond.Pledge.Denom != types.Denom {
		return 0, errorsmod.Wrapf(types.ErrInvalidAmount, "pledge %v must be in %s", bond.Pledge, types.Denom)
	}
	if err := k.checkPledge(ctx, a, bond.Pledge.Amount); err != nil {
		return 0, err
	}
	id, err := k.mixnetKeeper.Bond(ctx, k.moduleAddr, bond)
	if err != nil {
		return 0, err
	}
	a.Pledged = a.Pledged.Add(bond.Pledge.Amount)
	return id, k.Accounts.Set(ctx, owner, a)
}

// PledgeMoreFromVesting raises the owner's node's pledge from the account.
func (k Keeper) PledgeMoreFromVesting(ctx context.Context, sender sdk.AccAddress, ownerStr string, amount sdk.Coin) error {
	owner, a, err := k.authorize(ctx, sender, ownerStr)
	if err != nil {
		return err
	}
	if err := k.checkPledge(ctx, a, amount.Amount); err != nil {
		return err
	}
	if err := k.mixnetKeeper.PledgeMore(ctx, k.moduleAddr, owner, amount); err != nil {
		return err
	}
	a.Pledged = a.Pledged.Add(amount.Amount)
	return k.Accounts.Set(ctx, owner, a)
}

// DelegateFromVesting delegates amount of the account's free coins to a node for
// the owner.
func (k Keeper) DelegateFromVesting(ctx context.Context, sender sdk.AccAddress, ownerStr string, nodeID uint64, amount sdk.Coin) error {
	owner, a, err := k.authorize(ctx, sender, ownerStr)
	if err != nil {
		return err
	}
	if err := checkFree(a, amount.Amount, "delegating"); err != nil {
		return err
	}
	if err := k.mixnetKeeper.Delegate(ctx, k.moduleAddr, owner, nodeID, amount); err != nil {
		return err
	}
	a.Delegated = a.Delegated.Add(amount.Amount)
	return k.Accounts.Set(ctx, owner, a)
}

// UndelegateFromVesting queues the return of amount of the owner's delegation to
// a node, from the part the account paid; x/mixnet sends it back here at the
// epoch boundary (LockedReturned) and pays the reward to the owner.
func (k Keeper) UndelegateFromVesting(ctx context.Context, sender sdk.AccAddress, ownerStr string, nodeID uint64, amount sdk.Coin) error {
	owner, _, err := k.authorize(ctx, sender, ownerStr)
	if err != nil {
		return err
	}
	return k.mixnetKeeper.Undelegate(ctx, owner, nodeID, amount, true)
}

// LockedReturned is x/mixnet telling that amount of owner's pledge (pledge true)
// or delegations came back to the module account: the account's coins in use
// shrink by it. A return the account does not expect is an accounting error and
// fails the transaction or block.
func (k Keeper) LockedReturned(ctx context.Context, owner sdk.AccAddress, pledge bool, amount math.Int) error {
	a, err := k.account(ctx, owner)
	if err != nil {
		return errorsmod.Wrapf(types.ErrAccounting, "x/mixnet returned %v%s: %v", amount, types.Denom, err)
	}
	field := &a.Delegated
	if pledge {
		field = &a.Pledged
	}
	if amount.IsNegative() || amount.GT(*field) {
		return errorsmod.Wrapf(types.ErrAccounting, "x/mixnet returned %v%s to %s, which has %v%s there (pledge %t)", amount, types.Denom, a.Owner, *field, types.Denom, pledge)
	}
	*field = field.Sub(amount)
	if err := k.Accounts.Set(ctx, owner, a); err != nil {
		return err
	}
	return emit(ctx, &types.EventLockedReturned{Owner: a.Owner, Pledge: pledge, Amount: coin(amount)})
}
