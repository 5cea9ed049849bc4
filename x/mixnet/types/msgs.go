package types

import (
	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

var (
	_ sdk.Msg = &MsgBondNode{}
	_ sdk.Msg = &MsgUnbondNode{}
	_ sdk.Msg = &MsgUpdateNodeConfig{}
	_ sdk.Msg = &MsgAnnounceSphinxKey{}
	_ sdk.Msg = &MsgUpdateCostParams{}
	_ sdk.Msg = &MsgPledgeMore{}
	_ sdk.Msg = &MsgDecreasePledge{}
	_ sdk.Msg = &MsgDelegate{}
	_ sdk.Msg = &MsgUndelegate{}
	_ sdk.Msg = &MsgWithdrawOperatorReward{}
	_ sdk.Msg = &MsgWithdrawDelegatorReward{}
	_ sdk.Msg = &MsgSubmitPerformance{}
	_ sdk.Msg = &MsgFundRewardPool{}
	_ sdk.Msg = &MsgAnnounceService{}
	_ sdk.Msg = &MsgWithdrawService{}
	_ sdk.Msg = &MsgUpdateParams{}
)

// MaxReportsPerMsg bounds the reports in one MsgSubmitPerformance.
const MaxReportsPerMsg = 10_000

// ValidateAmount checks a coin is a positive amount of unym.
func ValidateAmount(what string, c sdk.Coin) error {
	if c.Denom != Denom {
		return errorsmod.Wrapf(ErrInvalidAmount, "%s must be in %s, not %q", what, Denom, c.Denom)
	}
	if c.Amount.IsNil() || !c.Amount.IsPositive() {
		return errorsmod.Wrapf(ErrInvalidAmount, "%s must be positive", what)
	}
	return nil
}

func requireAddress(what, addr string) error {
	if addr == "" {
		return errorsmod.Wrapf(ErrInvalidAddress, "%s address is empty", what)
	}
	return nil
}

// ValidateBasic checks the message without state: keys, host, ports, pledge and
// cost params. The signature is checked by the keeper, which knows the nonce.
func (m *MsgBondNode) ValidateBasic() error {
	if err := requireAddress("owner", m.Owner); err != nil {
		return err
	}
	if err := ValidateAmount("pledge", m.Pledge); err != nil {
		return err
	}
	if err := ValidateIdentityKey(m.IdentityKey); err != nil {
		return err
	}
	if err := ValidateSphinxKey(m.SphinxKey); err != nil {
		return err
	}
	if err := ValidateHost(m.Host); err != nil {
		return err
	}
	if err := ValidatePorts(m.MixPort, m.ClientsPort, m.HttpPort); err != nil {
		return err
	}
	if err := m.CostParams().Validate(); err != nil {
		return err
	}
	if len(m.Signature) != SignatureSize {
		return errorsmod.Wrapf(ErrInvalidSignature, "signature is %d bytes, want %d", len(m.Signature), SignatureSize)
	}
	return nil
}

// ValidateBasic checks the owner is set.
func (m *MsgUnbondNode) ValidateBasic() error { return requireAddress("owner", m.Owner) }

// ValidateBasic checks the fields that are set.
func (m *MsgUpdateNodeConfig) ValidateBasic() error {
	if err := requireAddress("owner", m.Owner); err != nil {
		return err
	}
	if m.Host != "" {
		if err := ValidateHost(m.Host); err != nil {
			return err
		}
	}
	for _, p := range []uint32{m.MixPort, m.ClientsPort, m.HttpPort} {
		if p > 65535 {
			return errorsmod.Wrapf(ErrInvalidHost, "port %d is not in 1..65535", p)
		}
	}
	if len(m.NextSphinxKey) != 0 {
		if err := ValidateSphinxKey(m.NextSphinxKey); err != nil {
			return err
		}
	}
	if m.Host == "" && m.MixPort == 0 && m.ClientsPort == 0 && m.HttpPort == 0 && len(m.NextSphinxKey) == 0 {
		return errorsmod.Wrap(ErrInvalidHost, "nothing to update")
	}
	return nil
}

// ValidateBasic checks the sender, node id, key and signature length; the signature
// itself is checked by the keeper, which knows the node's identity key.
func (m *MsgAnnounceSphinxKey) ValidateBasic() error {
	if err := requireAddress("sender", m.Sender); err != nil {
		return err
	}
	if m.NodeId == 0 {
		return errorsmod.Wrap(ErrNodeNotFound, "node id 0")
	}
	if err := ValidateSphinxKey(m.NextSphinxKey); err != nil {
		return err
	}
	if len(m.Signature) != SignatureSize {
		return errorsmod.Wrapf(ErrInvalidSignature, "signature is %d bytes, want %d", len(m.Signature), SignatureSize)
	}
	return nil
}

// ValidateBasic checks the cost params that are set.
func (m *MsgUpdateCostParams) ValidateBasic() error {
	if err := requireAddress("owner", m.Owner); err != nil {
		return err
	}
	if m.ProfitMargin.IsNil() && isUnsetCoin(m.IntervalOperatingCost) {
		return errorsmod.Wrap(ErrInvalidCostParams, "nothing to update")
	}
	return m.Apply(DefaultCostParams()).Validate()
}

// Apply returns current with the message's set fields replacing its own.
func (m *MsgUpdateCostParams) Apply(current CostParams) CostParams {
	out := current
	if !m.ProfitMargin.IsNil() {
		out.ProfitMargin = m.ProfitMargin
	}
	if !isUnsetCoin(m.IntervalOperatingCost) {
		out.IntervalOperatingCost = m.IntervalOperatingCost
	}
	return out
}

// CostParams returns the bond's cost params, Nym's default for each one not set.
func (m *MsgBondNode) CostParams() CostParams {
	return (&MsgUpdateCostParams{ProfitMargin: m.ProfitMargin, IntervalOperatingCost: m.IntervalOperatingCost}).Apply(DefaultCostParams())
}

// isUnsetCoin reports a coin field left out of a message.
func isUnsetCoin(c sdk.Coin) bool { return c.Denom == "" && (c.Amount.IsNil() || c.Amount.IsZero()) }

// ValidateBasic checks the amount.
func (m *MsgPledgeMore) ValidateBasic() error {
	if err := requireAddress("owner", m.Owner); err != nil {
		return err
	}
	return ValidateAmount("pledge increase", m.Amount)
}

// ValidateBasic checks the amount.
func (m *MsgDecreasePledge) ValidateBasic() error {
	if err := requireAddress("owner", m.Owner); err != nil {
		return err
	}
	return ValidateAmount("pledge decrease", m.Amount)
}

// ValidateBasic checks the amount.
func (m *MsgDelegate) ValidateBasic() error {
	if err := requireAddress("delegator", m.Delegator); err != nil {
		return err
	}
	return ValidateAmount("delegation", m.Amount)
}

// ValidateBasic checks the amount.
func (m *MsgUndelegate) ValidateBasic() error {
	if err := requireAddress("delegator", m.Delegator); err != nil {
		return err
	}
	return ValidateAmount("undelegation", m.Amount)
}

// ValidateBasic checks the owner is set.
func (m *MsgWithdrawOperatorReward) ValidateBasic() error { return requireAddress("owner", m.Owner) }

// ValidateBasic checks the delegator is set.
func (m *MsgWithdrawDelegatorReward) ValidateBasic() error {
	return requireAddress("delegator", m.Delegator)
}

// ValidateBasic checks every report's performance is in [0, 1] and no node is
// reported twice.
func (m *MsgSubmitPerformance) ValidateBasic() error {
	if err := requireAddress("monitor", m.Monitor); err != nil {
		return err
	}
	if len(m.Reports) == 0 || len(m.Reports) > MaxReportsPerMsg {
		return errorsmod.Wrapf(ErrInvalidPerformance, "%d reports: want 1 to %d", len(m.Reports), MaxReportsPerMsg)
	}
	seen := make(map[uint64]bool, len(m.Reports))
	for _, r := range m.Reports {
		if err := checkUnitDec("performance", r.Performance); err != nil {
			return errorsmod.Wrapf(ErrInvalidPerformance, "node %d: %v", r.NodeId, err)
		}
		if seen[r.NodeId] {
			return errorsmod.Wrapf(ErrInvalidPerformance, "node %d reported twice", r.NodeId)
		}
		seen[r.NodeId] = true
	}
	return nil
}

// ValidateBasic checks the amount.
func (m *MsgFundRewardPool) ValidateBasic() error {
	if err := requireAddress("sender", m.Sender); err != nil {
		return err
	}
	return ValidateAmount("reward pool funding", m.Amount)
}

// ValidateBasic checks the params.
func (m *MsgUpdateParams) ValidateBasic() error {
	if err := requireAddress("authority", m.Authority); err != nil {
		return err
	}
	return m.Params.Validate()
}
