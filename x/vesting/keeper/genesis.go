package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	"github.com/nyx-privacy/nyx/x/vesting/types"
)

// InitGenesis loads the params and accounts. The module account (funded by x/bank's
// genesis, which is loaded first) must hold exactly the accounts' free coins.
func (k Keeper) InitGenesis(ctx context.Context, gs *types.GenesisState) error {
	if err := gs.Validate(); err != nil {
		return err
	}
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	held := math.ZeroInt()
	for _, a := range gs.Accounts {
		owner, err := k.parseAddress("owner", a.Owner)
		if err != nil {
			return errorsmod.Wrap(types.ErrInvalidGenesis, err.Error())
		}
		if a.StakingDelegate != "" {
			if _, err := k.parseAddress("staking delegate", a.StakingDelegate); err != nil {
				return errorsmod.Wrap(types.ErrInvalidGenesis, err.Error())
			}
		}
		if has, err := k.Accounts.Has(ctx, owner); err != nil {
			return err
		} else if has {
			return errorsmod.Wrapf(types.ErrInvalidGenesis, "two accounts for %s", a.Owner)
		}
		if err := k.Accounts.Set(ctx, owner, a); err != nil {
			return err
		}
		held = held.Add(a.Free())
	}
	if balance := k.bankKeeper.GetBalance(ctx, k.moduleAddr, types.Denom).Amount; !balance.Equal(held) {
		return errorsmod.Wrapf(types.ErrInvalidGenesis, "module account %s holds %v%s but the accounts' free coins add up to %v%s",
			k.moduleAddr, balance, types.Denom, held, types.Denom)
	}
	return nil
}

// ExportGenesis writes out the params and the accounts.
func (k Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	p, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	gs := &types.GenesisState{Params: p}
	err = k.accountsWalk(ctx, func(a types.VestingAccount) error {
		gs.Accounts = append(gs.Accounts, a)
		return nil
	})
	return gs, err
}
