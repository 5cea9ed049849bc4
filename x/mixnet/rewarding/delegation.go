package rewarding

import (
	"fmt"

	"cosmossdk.io/math"
)

// Delegation is what the keeper stores per delegation for rewarding: its
// amount and the node's UnitReward when it was last settled. The zero
// Delegation (both fields nil) stands for "no delegation yet" and is accepted
// by [Node.Delegate] only.
type Delegation struct {
	// Amount is the delegated principal.
	Amount math.Int
	// UnitReward is the node's [Node.UnitReward] when this delegation was
	// made or last settled; it is never above the node's current one.
	UnitReward math.LegacyDec
}

// IsZero reports whether d is the zero Delegation (no delegation yet).
func (d Delegation) IsZero() bool { return d.Amount.IsNil() && d.UnitReward.IsNil() }

func (n Node) checkDelegation(d Delegation) error {
	if err := checkAmount("delegation amount", d.Amount); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidDelegation, err)
	}
	if d.UnitReward.IsNil() || d.UnitReward.IsNegative() {
		return fmt.Errorf("%w: recorded unit reward %v is nil or negative", ErrInvalidDelegation, d.UnitReward)
	}
	if d.UnitReward.GT(n.UnitReward) {
		return fmt.Errorf("%w: recorded unit reward %v is above the node's %v", ErrInvalidDelegation, d.UnitReward, n.UnitReward)
	}
	if d.Amount.GT(n.Delegations) {
		return fmt.Errorf("%w: amount %v exceeds the node's delegations %v", ErrInvalidDelegation, d.Amount, n.Delegations)
	}
	return nil
}

// pending is floor(Amount × (n.UnitReward − d.UnitReward)), checked against
// the pool it is paid from.
func (n Node) pending(d Delegation) (math.Int, error) {
	r := n.UnitReward.Sub(d.UnitReward).MulInt(d.Amount).TruncateInt()
	if r.GT(n.DelegatorPool) {
		// Impossible for state built by this package: the pool always holds
		// at least the sum of the pending rewards.
		return math.Int{}, fmt.Errorf("%w: pending reward %v exceeds the delegator pool %v", ErrInvalidDelegation, r, n.DelegatorPool)
	}
	return r, nil
}

// PendingReward returns the delegation's earned and unpaid reward,
// floor(d.Amount × (n.UnitReward − d.UnitReward)). It changes nothing.
func (n Node) PendingReward(d Delegation) (r math.Int, err error) {
	defer guard("pending reward", &err)
	if err := n.Validate(); err != nil {
		return math.Int{}, fmt.Errorf("pending reward: %w", err)
	}
	if err := n.checkDelegation(d); err != nil {
		return math.Int{}, fmt.Errorf("pending reward: %w", err)
	}
	r, err = n.pending(d)
	if err != nil {
		return math.Int{}, fmt.Errorf("pending reward: %w", err)
	}
	return r, nil
}

// OperatorPendingReward returns the operator's earned and unwithdrawn reward.
func (n Node) OperatorPendingReward() (math.Int, error) {
	if err := n.Validate(); err != nil {
		return math.Int{}, fmt.Errorf("operator pending reward: %w", err)
	}
	return n.OperatorReward, nil
}

// Settle pays out a delegation's pending reward: it returns the reward
// (which the keeper sends to the delegator), removes it from n.DelegatorPool
// and moves d's record to the node's current UnitReward. This is the
// delegator's "withdraw reward". On error n and d are unchanged.
func (n *Node) Settle(d *Delegation) (reward math.Int, err error) {
	defer guard("settle delegation", &err)
	if err := n.Validate(); err != nil {
		return math.Int{}, fmt.Errorf("settle delegation: %w", err)
	}
	if err := n.checkDelegation(*d); err != nil {
		return math.Int{}, fmt.Errorf("settle delegation: %w", err)
	}
	reward, err = n.pending(*d)
	if err != nil {
		return math.Int{}, fmt.Errorf("settle delegation: %w", err)
	}
	n.DelegatorPool = n.DelegatorPool.Sub(reward)
	d.UnitReward = n.UnitReward
	return reward, nil
}

// Delegate adds a positive amount to delegation d, which is either the zero
// Delegation (a new delegation) or an existing one of this node. An existing
// delegation is settled first: the returned reward is its pending reward,
// which the keeper pays out. On success d holds the new record to store.
// On error n and d are unchanged.
func (n *Node) Delegate(d *Delegation, amount math.Int) (reward math.Int, err error) {
	defer guard("delegate", &err)
	if err := n.Validate(); err != nil {
		return math.Int{}, fmt.Errorf("delegate: %w", err)
	}
	if err := checkPositive("delegation", amount); err != nil {
		return math.Int{}, fmt.Errorf("delegate: %w", err)
	}
	cur := Delegation{Amount: math.ZeroInt(), UnitReward: n.UnitReward}
	if !d.IsZero() {
		cur = *d
	}
	if err := n.checkDelegation(cur); err != nil {
		return math.Int{}, fmt.Errorf("delegate: %w", err)
	}
	newAmount := cur.Amount.Add(amount)
	newTotal := n.Delegations.Add(amount)
	if err := checkAmount("delegation", newAmount); err != nil {
		return math.Int{}, fmt.Errorf("delegate: %w", err)
	}
	if err := checkAmount("node delegations", newTotal); err != nil {
		return math.Int{}, fmt.Errorf("delegate: %w", err)
	}
	reward, err = n.pending(cur)
	if err != nil {
		return math.Int{}, fmt.Errorf("delegate: %w", err)
	}
	n.DelegatorPool = n.DelegatorPool.Sub(reward)
	n.Delegations = newTotal
	*d = Delegation{Amount: newAmount, UnitReward: n.UnitReward}
	return reward, nil
}

// Undelegate removes a positive amount, at most d.Amount, from delegation d,
// settling it first: the returned reward is its pending reward, which the
// keeper pays out together with the amount. When d.Amount becomes zero the
// keeper deletes the delegation (and may call [Node.TakeDust] if it was the
// node's last). On error n and d are unchanged.
func (n *Node) Undelegate(d *Delegation, amount math.Int) (reward math.Int, err error) {
	defer guard("undelegate", &err)
	if err := n.Validate(); err != nil {
		return math.Int{}, fmt.Errorf("undelegate: %w", err)
	}
	if err := checkPositive("undelegation", amount); err != nil {
		return math.Int{}, fmt.Errorf("undelegate: %w", err)
	}
	if err := n.checkDelegation(*d); err != nil {
		return math.Int{}, fmt.Errorf("undelegate: %w", err)
	}
	if amount.GT(d.Amount) {
		return math.Int{}, fmt.Errorf("undelegate: %w: %v exceeds the delegation %v", ErrInsufficient, amount, d.Amount)
	}
	reward, err = n.pending(*d)
	if err != nil {
		return math.Int{}, fmt.Errorf("undelegate: %w", err)
	}
	n.DelegatorPool = n.DelegatorPool.Sub(reward)
	n.Delegations = n.Delegations.Sub(amount)
	*d = Delegation{Amount: d.Amount.Sub(amount), UnitReward: n.UnitReward}
	return reward, nil
}
