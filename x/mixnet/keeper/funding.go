package keeper

import (
	"context"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

// vestingRef lets the app hand the keeper x/vesting after both are built (x/vesting
// calls the keeper methods, x/mixnet tells it when its coins come back); the
// pointer is shared by every copy of the Keeper.
type vestingRef struct {
	module string
	addr   sdk.AccAddress
	funder types.VestingFunder
}

// SetVestingFunder wires x/vesting in: module is the name of its module account,
// whose coins pay for vesting-funded pledges and delegations. Without it every
// pledge and delegation is paid by its owner.
func (k Keeper) SetVestingFunder(module string, f types.VestingFunder) {
	k.vesting.module, k.vesting.addr, k.vesting.funder = module, k.authKeeper.GetModuleAddress(module), f
}

// collectFrom takes a deposit for owner's pledge or delegation from payer: the
// owner's own coins, or the vesting module account's (then it reports true). Any
// other payer is refused, so nobody pledges or delegates in another's name.
func (k Keeper) collectFrom(ctx context.Context, payer, owner sdk.AccAddress, c sdk.Coin) (bool, error) {
	if c.Denom != types.Denom || !c.Amount.IsPositive() {
		return false, errorsmod.Wrapf(types.ErrInvalidAmount, "amount %s must be positive %s", c, types.Denom)
	}
	if payer.Equals(owner) {
		return false, k.collect(ctx, owner, c)
	}
	if k.vesting.funder == nil || !payer.Equals(k.vesting.addr) {
		return false, errorsmod.Wrapf(types.ErrInvalidPayer, "payer %s for %s", payer, owner)
	}
	return true, k.bankKeeper.SendCoinsFromModuleToModule(ctx, k.vesting.module, types.ModuleName, sdk.NewCoins(c))
}

// giveBack returns amount of owner's pledge (pledge true) or delegation, of which
// vesting came from the vesting module account: that part goes back there and
// x/vesting is told; the rest goes to the owner.
func (k Keeper) giveBack(ctx context.Context, owner sdk.AccAddress, pledge bool, amount, vesting math.Int) error {
	if vesting.IsPositive() {
		if k.vesting.funder == nil {
			return errorsmod.Wrapf(types.ErrInvalidPayer, "%s%s of %s came from the vesting module, which is not wired", vesting, types.Denom, owner)
		}
		if err := k.bankKeeper.SendCoinsFromModuleToModule(ctx, types.ModuleName, k.vesting.module, sdk.NewCoins(sdk.NewCoin(types.Denom, vesting))); err != nil {
			return err
		}
		if err := k.vesting.funder.LockedReturned(ctx, owner, pledge, vesting); err != nil {
			return err
		}
	}
	return k.pay(ctx, owner, amount.Sub(vesting))
}

// VestingHeld returns the coins paid from vesting that the module holds, by owner
// (the address bytes as a string): pledges (with queued raises) and delegations
// (with queued deposits). x/vesting's invariant checks its accounts against it.
func (k Keeper) VestingHeld(ctx context.Context) (pledged, delegated map[string]math.Int, err error) {
	pledged, delegated = map[string]math.Int{}, map[string]math.Int{}
	add := func(m map[string]math.Int, owner string, v math.Int) error {
		if !v.IsPositive() {
			return nil
		}
		addr, err := k.parseAddress("owner", owner)
		if err != nil {
			return err
		}
		if s, ok := m[string(addr)]; ok {
			v = v.Add(s)
		}
		m[string(addr)] = v
		return nil
	}
	if err := k.Nodes.Walk(ctx, nil, func(_ uint64, n types.Node) (bool, error) {
		return false, add(pledged, n.Owner, n.VestingPart())
	}); err != nil {
		return nil, nil, err
	}
	if err := k.Delegations.Walk(ctx, nil, func(_ collections.Pair[uint64, sdk.AccAddress], d types.Delegation) (bool, error) {
		return false, add(delegated, d.Delegator, d.VestingPart())
	}); err != nil {
		return nil, nil, err
	}
	err = k.EpochEvents.Walk(ctx, nil, func(_ uint64, e types.EpochEvent) (bool, error) {
		switch ev := e.Kind.(type) {
		case *types.EpochEvent_Delegate:
			return false, add(delegated, ev.Delegate.Delegator, vestingShare(ev.Delegate.FromVesting, ev.Delegate.Amount.Amount))
		case *types.EpochEvent_PledgeMore:
			return false, add(pledged, ev.PledgeMore.Owner, vestingShare(ev.PledgeMore.FromVesting, ev.PledgeMore.Amount.Amount))
		}
		return false, nil
	})
	return pledged, delegated, err
}
