package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/vesting/types"
)

// CheckFunds reports whether the module account holds exactly the sum over the
// accounts of original - withdrawn - pledged - delegated, and whether x/mixnet
// holds exactly each account's pledged and delegated coins as paid from vesting.
func (k Keeper) CheckFunds(ctx context.Context) error {
	held := math.ZeroInt()
	pledged, delegated, err := k.mixnetKeeper.VestingHeld(ctx)
	if err != nil {
		return err
	}
	err = k.accountsWalk(ctx, func(a types.VestingAccount) error {
		if err := a.Validate(^uint32(0)); err != nil {
			return fmt.Errorf("account of %s: %w", a.Owner, err)
		}
		held = held.Add(a.Free())
		owner, err := k.parseAddress("owner", a.Owner)
		if err != nil {
			return err
		}
		for _, c := range []struct {
			what      string
			own, mix  math.Int
			mixByAddr map[string]math.Int
		}{{"pledged", a.Pledged, pledged[string(owner)], pledged}, {"delegated", a.Delegated, delegated[string(owner)], delegated}} {
			mix := c.mix
			if mix.IsNil() {
				mix = math.ZeroInt()
			}
			if !mix.Equal(c.own) {
				return fmt.Errorf("account of %s records %v%s %s but x/mixnet holds %v%s of it", a.Owner, c.own, types.Denom, c.what, mix, types.Denom)
			}
			delete(c.mixByAddr, string(owner))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for addr, v := range pledged {
		return fmt.Errorf("x/mixnet holds a %v%s pledge paid from vesting for %s, who has no vesting account", v, types.Denom, sdk.AccAddress(addr))
	}
	for addr, v := range delegated {
		return fmt.Errorf("x/mixnet holds %v%s of delegations paid from vesting for %s, who has no vesting account", v, types.Denom, sdk.AccAddress(addr))
	}
	balance := k.bankKeeper.GetBalance(ctx, k.moduleAddr, types.Denom).Amount
	if !balance.Equal(held) {
		return fmt.Errorf("module account holds %v%s but the accounts' free coins add up to %v%s", balance, types.Denom, held, types.Denom)
	}
	return nil
}

// RegisterInvariants registers the module's invariant.
func RegisterInvariants(ir sdk.InvariantRegistry, k Keeper) {
	ir.RegisterRoute(types.ModuleName, "module-account-funds", FundsInvariant(k))
}

// FundsInvariant: the module account holds every account's free coins, and
// x/mixnet the pledged and delegated ones.
func FundsInvariant(k Keeper) sdk.Invariant {
	return func(ctx sdk.Context) (string, bool) {
		if err := k.CheckFunds(ctx); err != nil {
			return sdk.FormatInvariant(types.ModuleName, "module-account-funds", err.Error()), true
		}
		return sdk.FormatInvariant(types.ModuleName, "module-account-funds", "ok"), false
	}
}
