package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/vesting/types"
)

// CreateAccount moves amount from funder into a new account for owner vesting on
// the schedule (start, periods). An owner has at most one account: a second is
// refused, not merged, so one schedule always tells what an owner may withdraw.
func (k Keeper) CreateAccount(ctx context.Context, funder, owner sdk.AccAddress, amount sdk.Coin, start int64, periods []types.Period, stakingDelegate string) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if amount.Denom != types.Denom || !amount.Amount.IsPositive() {
		return errorsmod.Wrapf(types.ErrInvalidAmount, "amount %v must be a positive amount of %s", amount, types.Denom)
	}
	if err := types.ValidateSchedule(start, periods, amount.Amount, params.MaxPeriods); err != nil {
		return err
	}
	if stakingDelegate != "" {
		d, err := k.parseAddress("staking delegate", stakingDelegate)
		if err != nil {
			return err
		}
		if d.Equals(owner) {
			return errorsmod.Wrap(types.ErrInvalidAddress, "the staking delegate is the owner")
		}
		if stakingDelegate, err = k.addressCodec.BytesToString(d); err != nil {
			return err
		}
	}
	if has, err := k.Accounts.Has(ctx, owner); err != nil {
		return err
	} else if has {
		return errorsmod.Wrapf(types.ErrAccountExists, "%s", owner)
	}
	ownerStr, err := k.addressCodec.BytesToString(owner)
	if err != nil {
		return err
	}
	funderStr, err := k.addressCodec.BytesToString(funder)
	if err != nil {
		return err
	}
	if err := k.bankKeeper.SendCoinsFromAccountToModule(ctx, funder, types.ModuleName, sdk.NewCoins(amount)); err != nil {
		return err
	}
	a := types.VestingAccount{
		Owner: ownerStr, Funder: funderStr, StakingDelegate: stakingDelegate, StartTime: start, Periods: periods,
		Original: amount.Amount, Withdrawn: math.ZeroInt(), Pledged: math.ZeroInt(), Delegated: math.ZeroInt(),
	}
	if err := k.Accounts.Set(ctx, owner, a); err != nil {
		return err
	}
	return emit(ctx, &types.EventAccountCreated{Owner: ownerStr, Funder: funderStr, Amount: amount, Periods: uint32(len(periods))})
}

// WithdrawVested pays amount of owner's vested, free coins to the owner.
func (k Keeper) WithdrawVested(ctx context.Context, owner sdk.AccAddress, amount sdk.Coin) error {
	if amount.Denom != types.Denom || !amount.Amount.IsPositive() {
		return errorsmod.Wrapf(types.ErrInvalidAmount, "amount %v must be a positive amount of %s", amount, types.Denom)
	}
	a, err := k.account(ctx, owner)
	if err != nil {
		return err
	}
	now := blockTime(ctx)
	if s := a.Spendable(now); amount.Amount.GT(s) {
		return errorsmod.Wrapf(types.ErrNotVested, "withdrawing %v: %v%s spendable (vested %v, withdrawn %v, free %v)",
			amount, s, types.Denom, a.Vested(now), a.Withdrawn, a.Free())
	}
	a.Withdrawn = a.Withdrawn.Add(amount.Amount)
	if err := k.Accounts.Set(ctx, owner, a); err != nil {
		return err
	}
	if err := k.bankKeeper.SendCoinsFromModuleToAccount(ctx, types.ModuleName, owner, sdk.NewCoins(amount)); err != nil {
		return err
	}
	return emit(ctx, &types.EventVestedWithdrawn{Owner: a.Owner, Amount: amount})
}

// TransferOwnership gives owner's account to newOwner, who must have none. An
// account with coins pledged or delegated is refused: x/mixnet keeps those under
// the owner's address, and they would come back to an account the owner no
// longer has. The staking delegate is cleared: the new owner chooses their own.
func (k Keeper) TransferOwnership(ctx context.Context, owner, newOwner sdk.AccAddress) error {
	a, err := k.account(ctx, owner)
	if err != nil {
		return err
	}
	if owner.Equals(newOwner) {
		return errorsmod.Wrap(types.ErrInvalidAddress, "the new owner is the owner")
	}
	if !a.InUse().IsZero() {
		return errorsmod.Wrapf(types.ErrInUse, "%v%s pledged and %v%s delegated; unbond and undelegate first", a.Pledged, types.Denom, a.Delegated, types.Denom)
	}
	if has, err := k.Accounts.Has(ctx, newOwner); err != nil {
		return err
	} else if has {
		return errorsmod.Wrapf(types.ErrAccountExists, "%s", newOwner)
	}
	newStr, err := k.addressCodec.BytesToString(newOwner)
	if err != nil {
		return err
	}
	old := a.Owner
	a.Owner, a.StakingDelegate = newStr, ""
	if err := k.Accounts.Remove(ctx, owner); err != nil {
		return err
	}
	if err := k.Accounts.Set(ctx, newOwner, a); err != nil {
		return err
	}
	return emit(ctx, &types.EventOwnershipTransferred{OldOwner: old, NewOwner: newStr})
}

// SetStakingDelegate sets owner's staking delegate, or clears it when empty.
func (k Keeper) SetStakingDelegate(ctx context.Context, owner sdk.AccAddress, delegate string) error {
	a, err := k.account(ctx, owner)
	if err != nil {
		return err
	}
	if delegate != "" {
		d, err := k.parseAddress("staking delegate", delegate)
		if err != nil {
			return err
		}
		if d.Equals(owner) {
			return errorsmod.Wrap(types.ErrInvalidAddress, "the staking delegate is the owner")
		}
		// Stored in its canonical spelling, the one authorize compares.
		if delegate, err = k.addressCodec.BytesToString(d); err != nil {
			return err
		}
	}
	a.StakingDelegate = delegate
	if err := k.Accounts.Set(ctx, owner, a); err != nil {
		return err
	}
	return emit(ctx, &types.EventStakingDelegateSet{Owner: a.Owner, StakingDelegate: delegate})
}

// authorize returns the account of ownerStr if sender is its owner or its
// staking delegate.
func (k Keeper) authorize(ctx context.Context, sender sdk.AccAddress, ownerStr string) (sdk.AccAddress, types.VestingAccount, error) {
	owner, err := k.parseAddress("owner", ownerStr)
	if err != nil {
		return nil, types.VestingAccount{}, err
	}
	a, err := k.account(ctx, owner)
	if err != nil {
		return nil, types.VestingAccount{}, err
	}
	if sender.Equals(owner) {
		return owner, a, nil
	}
	if a.StakingDelegate != "" {
		if d, err := k.addressCodec.StringToBytes(a.StakingDelegate); err == nil && sender.Equals(sdk.AccAddress(d)) {
			return owner, a, nil
		}
	}
	return nil, types.VestingAccount{}, errorsmod.Wrapf(types.ErrUnauthorized, "%s for the account of %s", sender, ownerStr)
}

// accountsWalk visits every account (invariant, genesis).
func (k Keeper) accountsWalk(ctx context.Context, fn func(types.VestingAccount) error) error {
	return k.Accounts.Walk(ctx, nil, func(_ sdk.AccAddress, a types.VestingAccount) (bool, error) {
		return false, fn(a)
	})
}
