package types

import (
	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// validAmount checks a positive unym amount.
func validAmount(c sdk.Coin) error {
	if c.Denom != Denom || c.Amount.IsNil() || !c.Amount.IsPositive() {
		return errorsmod.Wrapf(ErrInvalidAmount, "amount %v must be a positive amount of %s", c, Denom)
	}
	return nil
}

// ValidateBasic checks the amount (the schedule is checked against the params by
// the keeper).
func (m *MsgCreateVestingAccount) ValidateBasic() error { return validAmount(m.Amount) }

// ValidateBasic checks the amount.
func (m *MsgWithdrawVested) ValidateBasic() error { return validAmount(m.Amount) }

// ValidateBasic checks x/mixnet's bond.
func (m *MsgBondNodeFromVesting) ValidateBasic() error { return m.Bond.ValidateBasic() }

// ValidateBasic checks the amount.
func (m *MsgPledgeMoreFromVesting) ValidateBasic() error { return validAmount(m.Amount) }

// ValidateBasic checks the amount.
func (m *MsgDelegateFromVesting) ValidateBasic() error { return validAmount(m.Amount) }

// ValidateBasic checks the amount.
func (m *MsgUndelegateFromVesting) ValidateBasic() error { return validAmount(m.Amount) }
