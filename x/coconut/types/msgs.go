package types

import (
	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

var (
	_ sdk.Msg = &MsgRequestCredential{}
	_ sdk.Msg = &MsgSpendCredentials{}
	_ sdk.Msg = &MsgUpdateParams{}
)

// MaxSpendEntries bounds a MsgSpendCredentials before any state is read; the
// keeper applies the tighter max_spends_per_tx param.
const MaxSpendEntries = maxSpendsPerTx

// ValidateBasic checks sizes and amounts without state; the keeper decodes and
// verifies the request.
func (m *MsgRequestCredential) ValidateBasic() error {
	if m.Sender == "" {
		return errorsmod.Wrap(ErrInvalidAddress, "sender address is empty")
	}
	if len(m.BlindSignRequest) != RequestSize {
		return errorsmod.Wrapf(ErrInvalidRequest, "blind sign request is %d bytes, want %d", len(m.BlindSignRequest), RequestSize)
	}
	if len(m.CredentialType) == 0 || len(m.CredentialType) > MaxCredentialTypeName {
		return errorsmod.Wrapf(ErrInvalidRequest, "credential type must be 1..%d bytes", MaxCredentialTypeName)
	}
	if m.Deposit.Denom != Denom || m.Deposit.Amount.IsNil() || !m.Deposit.Amount.IsPositive() {
		return errorsmod.Wrapf(ErrInvalidDeposit, "deposit must be a positive amount of %s", Denom)
	}
	return nil
}

// ValidateBasic checks the batch's size and each entry's sizes.
func (m *MsgSpendCredentials) ValidateBasic() error {
	if m.Operator == "" {
		return errorsmod.Wrap(ErrInvalidAddress, "operator address is empty")
	}
	if len(m.Entries) == 0 {
		return errorsmod.Wrap(ErrInvalidSpend, "no entries")
	}
	if len(m.Entries) > MaxSpendEntries {
		return errorsmod.Wrapf(ErrTooManySpends, "%d entries, at most %d", len(m.Entries), MaxSpendEntries)
	}
	for i, e := range m.Entries {
		if err := e.validate(); err != nil {
			return errorsmod.Wrapf(err, "entry %d", i)
		}
	}
	return nil
}

func (e SpendEntry) validate() error {
	if len(e.Theta) != ThetaSize {
		return errorsmod.Wrapf(ErrInvalidSpend, "theta is %d bytes, want %d", len(e.Theta), ThetaSize)
	}
	if len(e.GatewayIdentity) != GatewayIdentitySize {
		return errorsmod.Wrapf(ErrInvalidSpend, "gateway identity is %d bytes, want %d", len(e.GatewayIdentity), GatewayIdentitySize)
	}
	if len(e.Nonce) > MaxNonceSize {
		return errorsmod.Wrapf(ErrInvalidSpend, "nonce is %d bytes, at most %d", len(e.Nonce), MaxNonceSize)
	}
	return nil
}

// ValidateBasic checks the params.
func (m *MsgUpdateParams) ValidateBasic() error {
	if m.Authority == "" {
		return errorsmod.Wrap(ErrInvalidAuthority, "authority address is empty")
	}
	return m.Params.Validate()
}
