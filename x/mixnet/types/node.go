package types

import (
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/mixnet/rewarding"
	"github.com/nyx-privacy/nyx/x/mixnet/selection"
)

// AllRoles lists the roles a node can hold, in topology order.
var AllRoles = []Role{RoleEntryGateway, RoleMixLayer1, RoleMixLayer2, RoleMixLayer3, RoleExitGateway, RoleStandby}

// IsValidRole reports whether r is a role a node can hold (not RoleUnspecified).
func IsValidRole(r Role) bool { return r >= RoleEntryGateway && r <= RoleStandby }

// Status returns how a node holding the role is rewarded.
func (r Role) Status() rewarding.Status {
	if r == RoleStandby {
		return rewarding.Standby
	}
	return rewarding.Active
}

// RolesOf lists a role draw's result as role -> node ids.
func RolesOf(a selection.Assignment) map[Role][]uint64 {
	return map[Role][]uint64{
		RoleEntryGateway: a.EntryGateways,
		RoleMixLayer1:    a.Layers[0],
		RoleMixLayer2:    a.Layers[1],
		RoleMixLayer3:    a.Layers[2],
		RoleExitGateway:  a.ExitGateways,
		RoleStandby:      a.Standby,
	}
}

// Rewarding returns the node's reward accounting for x/mixnet/rewarding.
func (n Node) Rewarding() rewarding.Node {
	return rewarding.Node{
		Pledge:         n.Pledge.Amount,
		Delegations:    n.Delegations,
		Cost:           n.CostParams.ToRewarding(),
		UnitReward:     n.UnitReward,
		OperatorReward: n.OperatorReward,
		DelegatorPool:  n.DelegatorPool,
	}
}

// SetRewarding stores reward accounting computed by x/mixnet/rewarding.
func (n *Node) SetRewarding(r rewarding.Node) {
	n.Pledge = sdk.NewCoin(Denom, r.Pledge)
	n.Delegations = r.Delegations
	n.UnitReward = r.UnitReward
	n.OperatorReward = r.OperatorReward
	n.DelegatorPool = r.DelegatorPool
}

// Stake is the node's pledge plus its delegations.
func (n Node) Stake() math.Int { return n.Pledge.Amount.Add(n.Delegations) }

// Rewarding returns the delegation's record for x/mixnet/rewarding.
func (d Delegation) Rewarding() rewarding.Delegation {
	return rewarding.Delegation{Amount: d.Amount.Amount, UnitReward: d.UnitReward}
}

// SetRewarding stores a delegation record computed by x/mixnet/rewarding.
func (d *Delegation) SetRewarding(r rewarding.Delegation) {
	d.Amount = sdk.NewCoin(Denom, r.Amount)
	d.UnitReward = r.UnitReward
}

// Claims is what the module account owes: the coins its state accounts for.
func (n Node) Claims() math.Int {
	return n.Pledge.Amount.Add(n.Delegations).Add(n.OperatorReward).Add(n.DelegatorPool)
}

// Deposit is the coins a queued event holds in the module account until it
// applies: a delegation's or a pledge raise's amount, and nothing for the others.
func (e EpochEvent) Deposit() math.Int {
	switch k := e.Kind.(type) {
	case *EpochEvent_Delegate:
		return k.Delegate.Amount.Amount
	case *EpochEvent_PledgeMore:
		return k.PledgeMore.Amount.Amount
	}
	return math.ZeroInt()
}

// Interval builds the interval's reward constants.
func (ir IntervalRewarding) Interval() (rewarding.Interval, error) {
	return rewarding.NewInterval(ir.RewardParams.ToRewarding(), ir.RewardedSet.ToRewarding(), ir.EpochsPerInterval, ir.RewardPool, ir.StakingSupply)
}

// VestingPart is the part of the pledge paid from the owner's x/vesting account
// (zero for a record written before the field existed).
func (n Node) VestingPart() math.Int { return intOrZero(n.VestingPledge) }

// VestingPart is the part of the delegation paid from the delegator's x/vesting
// account.
func (d Delegation) VestingPart() math.Int { return intOrZero(d.VestingAmount) }

func intOrZero(i math.Int) math.Int {
	if i.IsNil() {
		return math.ZeroInt()
	}
	return i
}
