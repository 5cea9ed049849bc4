package types

import (
	errorsmod "cosmossdk.io/errors"
)

// DefaultGenesisState returns the default params and no accounts.
func DefaultGenesisState() *GenesisState {
	return &GenesisState{Params: DefaultParams()}
}

// Validate checks the params and every account, and that no owner has two.
// Whether the module account holds the accounts' coins and x/mixnet their
// pledges and delegations is checked by the keeper against the other modules.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, a := range gs.Accounts {
		if a.Owner == "" {
			return errorsmod.Wrapf(ErrInvalidGenesis, "account %d has no owner", i)
		}
		if seen[a.Owner] {
			return errorsmod.Wrapf(ErrInvalidGenesis, "two accounts for %s", a.Owner)
		}
		seen[a.Owner] = true
		if err := a.Validate(gs.Params.MaxPeriods); err != nil {
			return errorsmod.Wrapf(ErrInvalidGenesis, "account of %s: %v", a.Owner, err)
		}
	}
	return nil
}
