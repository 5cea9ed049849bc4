package rewarding

import (
	"fmt"

	"cosmossdk.io/math"
)

// CostParams are a node operator's declared costs. They change only at an
// interval boundary (the keeper queues updates).
type CostParams struct {
	// ProfitMargin is the share of the node's profit (reward above cost) the
	// operator takes before the rest is split by stake. In [0, 1].
	ProfitMargin math.LegacyDec
	// IntervalOperatingCost is the operator's cost for a whole interval, in
	// coins; each epoch pays it pro rata, scaled by performance.
	IntervalOperatingCost math.Int
}

// DefaultCostParams returns Nym's default cost parameters: profit margin
// 20%, interval operating cost 40,000,000 (in the base denom, 40 NYM).
func DefaultCostParams() CostParams {
	return CostParams{
		ProfitMargin:          math.LegacyNewDecWithPrec(2, 1),
		IntervalOperatingCost: math.NewInt(40_000_000),
	}
}

// Validate reports whether the cost params are set and in range.
func (c CostParams) Validate() error {
	if c.ProfitMargin.IsNil() || c.ProfitMargin.IsNegative() || c.ProfitMargin.GT(math.LegacyOneDec()) {
		return fmt.Errorf("%w: profit margin %v not in [0, 1]", ErrInvalidParams, c.ProfitMargin)
	}
	if err := checkAmount("interval operating cost", c.IntervalOperatingCost); err != nil {
		return err
	}
	return nil
}

// Node is the rewarding state of one bonded node: everything the keeper
// stores for it besides its bond data. Create it with [NewNode]. All fields
// are exported so the keeper can store them (proto customtypes for
// math.Int / math.LegacyDec), but they are changed only through the methods.
type Node struct {
	// Pledge is the operator's own stake.
	Pledge math.Int
	// Delegations is the sum of the amounts of all the node's delegations.
	Delegations math.Int
	// Cost holds the operator's cost params in force this interval.
	Cost CostParams
	// UnitReward is the cumulative reward per unit of delegation since the
	// node was bonded (the accumulator). It never decreases.
	UnitReward math.LegacyDec
	// OperatorReward is the operator's earned and not yet withdrawn reward.
	OperatorReward math.Int
	// DelegatorPool is the coins earned by the node's delegators and not yet
	// paid out. It is at least the sum of the pending rewards of the node's
	// delegations; the difference is rounding dust (see [Node.TakeDust]).
	DelegatorPool math.Int
}

// NewNode returns the rewarding state of a freshly bonded node with the
// given pledge (positive) and cost params.
func NewNode(pledge math.Int, cost CostParams) (Node, error) {
	if err := checkPositive("pledge", pledge); err != nil {
		return Node{}, fmt.Errorf("new node: %w", err)
	}
	if err := cost.Validate(); err != nil {
		return Node{}, fmt.Errorf("new node: %w", err)
	}
	return Node{
		Pledge:         pledge,
		Delegations:    math.ZeroInt(),
		Cost:           cost,
		UnitReward:     math.LegacyZeroDec(),
		OperatorReward: math.ZeroInt(),
		DelegatorPool:  math.ZeroInt(),
	}, nil
}

// Validate reports whether every field is set and in range. Every method
// validates its receiver first, so state read back from a store is checked.
func (n Node) Validate() error {
	if err := checkAmount("pledge", n.Pledge); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidNode, err)
	}
	if err := checkAmount("delegations", n.Delegations); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidNode, err)
	}
	if err := n.Cost.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidNode, err)
	}
	if n.UnitReward.IsNil() || n.UnitReward.IsNegative() {
		return fmt.Errorf("%w: unit reward %v is nil or negative", ErrInvalidNode, n.UnitReward)
	}
	if err := checkAmount("operator reward", n.OperatorReward); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidNode, err)
	}
	if err := checkAmount("delegator pool", n.DelegatorPool); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidNode, err)
	}
	return nil
}

// Stake returns Pledge + Delegations, the stake σ' is computed from. It
// returns zero for a node with nil fields.
func (n Node) Stake() math.Int {
	if n.Pledge.IsNil() || n.Delegations.IsNil() {
		return math.ZeroInt()
	}
	return n.Pledge.Add(n.Delegations)
}

// Reward is what one node earned in one epoch, in whole coins. Total =
// Operator + Delegators exactly; Operator includes OperatingCost.
type Reward struct {
	// Total is floor(R), the node's whole reward for the epoch.
	Total math.Int
	// Operator is the operator's part: the operating cost plus its share of the profit.
	Operator math.Int
	// OperatingCost is the part of Operator that covers the operator's cost
	// (epoch cost × performance, capped by Total).
	OperatingCost math.Int
	// Delegators is the part shared by the node's delegators.
	Delegators math.Int
}

// ZeroReward returns a Reward with every field zero.
func ZeroReward() Reward {
	return Reward{Total: math.ZeroInt(), Operator: math.ZeroInt(), OperatingCost: math.ZeroInt(), Delegators: math.ZeroInt()}
}

func checkPerformance(p math.LegacyDec) error {
	if p.IsNil() || p.IsNegative() || p.GT(math.LegacyOneDec()) {
		return fmt.Errorf("%w: %v not in [0, 1]", ErrInvalidPerformance, p)
	}
	return nil
}

// NodeReward returns R = B × perf × σ' × (ω + α·λ'/k) / (1 + α) before
// rounding to whole coins, for a node of the given status and performance
// (in [0, 1]) in this interval. Each operation truncates.
func (iv Interval) NodeReward(n Node, performance math.LegacyDec, status Status) (r math.LegacyDec, err error) {
	defer guard("node reward", &err)
	if err := iv.valid(); err != nil {
		return math.LegacyDec{}, fmt.Errorf("node reward: %w", err)
	}
	if err := n.Validate(); err != nil {
		return math.LegacyDec{}, fmt.Errorf("node reward: %w", err)
	}
	if err := checkPerformance(performance); err != nil {
		return math.LegacyDec{}, fmt.Errorf("node reward: %w", err)
	}
	if status != Active && status != Standby {
		return math.LegacyDec{}, fmt.Errorf("node reward: %w: %v", ErrInvalidStatus, status)
	}
	return iv.nodeReward(n, performance, status), nil
}

func (iv Interval) nodeReward(n Node, performance math.LegacyDec, status Status) math.LegacyDec {
	sigma := iv.cappedSaturation(n.Stake())
	if sigma.IsZero() || performance.IsZero() {
		return math.LegacyZeroDec()
	}
	// Mut operations on values this function owns: one allocation each
	// instead of one per operation (this runs once per node per epoch).
	work := iv.cappedSaturation(n.Pledge).MulTruncateMut(iv.alphaOverK).AddMut(iv.WorkFactor(status))
	return sigma.MulTruncateMut(iv.epochBudget).
		MulTruncateMut(performance).
		MulTruncateMut(work).
		QuoTruncateMut(iv.onePlusAlpha)
}

// EpochReward computes, without changing anything, what [Node.ApplyEpoch]
// would credit: the node's whole reward floor(R) and its split between
// operator and delegators (see the package documentation for the formulas).
// Use it for reward estimates; use ApplyEpoch to reward.
func (iv Interval) EpochReward(n Node, performance math.LegacyDec, status Status) (rw Reward, err error) {
	defer guard("epoch reward", &err)
	r, err := iv.NodeReward(n, performance, status)
	if err != nil {
		return Reward{}, fmt.Errorf("epoch reward: %w", err)
	}
	return iv.split(n, r.TruncateInt(), performance), nil
}

// split divides a whole reward between the operator and the delegators.
func (iv Interval) split(n Node, total math.Int, performance math.LegacyDec) Reward {
	if !total.IsPositive() {
		return ZeroReward()
	}
	totalDec := math.LegacyNewDecFromInt(total)
	cost := math.LegacyNewDecFromInt(n.Cost.IntervalOperatingCost).
		QuoTruncateMut(iv.costDivisor).
		MulTruncateMut(performance)
	if cost.GTE(totalDec) {
		// The operator's cost swallows the whole reward.
		return Reward{Total: total, Operator: total, OperatingCost: total, Delegators: math.ZeroInt()}
	}
	if !n.Delegations.IsPositive() {
		return Reward{Total: total, Operator: total, OperatingCost: cost.TruncateInt(), Delegators: math.ZeroInt()}
	}
	margin := n.Cost.ProfitMargin
	// keep = m + (1 − m) × s, with s = pledge / stake truncated.
	keep := math.LegacyNewDecFromInt(n.Pledge).QuoIntMut(n.Stake()).
		MulTruncateMut(math.LegacyOneDec().SubMut(margin)).
		AddMut(margin)
	profit := totalDec.SubMut(cost) // totalDec is not used after this
	operator := profit.MulTruncateMut(keep).AddMut(cost).TruncateInt()
	if operator.GT(total) { // cannot happen (keep ≤ 1); kept as a guard against coin creation
		operator = total
	}
	return Reward{
		Total:         total,
		Operator:      operator,
		OperatingCost: cost.TruncateInt(),
		Delegators:    total.Sub(operator),
	}
}

// ApplyEpoch rewards the node for one epoch in which it had the given
// status and performance (in [0, 1]): it computes the reward as
// [Interval.EpochReward] does, adds the operator's part to OperatorReward,
// the delegators' part to DelegatorPool, and advances UnitReward by
// Delegators / n.Delegations (truncated). It costs O(1) whatever the number
// of delegations. The returned Reward says what was credited; its Total is
// what the keeper moves out of the reward pool. On error n is unchanged.
//
// Call it once per node per epoch, before that epoch's queued delegation
// and pledge changes are applied, so the stake it sees is the stake that
// served during the epoch.
func (n *Node) ApplyEpoch(iv Interval, performance math.LegacyDec, status Status) (rw Reward, err error) {
	defer guard("apply epoch", &err)
	rw, err = iv.EpochReward(*n, performance, status)
	if err != nil {
		return Reward{}, fmt.Errorf("apply epoch: %w", err)
	}
	if rw.Total.IsZero() {
		return rw, nil
	}
	unit := n.UnitReward
	if rw.Delegators.IsPositive() {
		unit = unit.Add(math.LegacyNewDecFromInt(rw.Delegators).QuoInt(n.Delegations))
	}
	operatorReward := n.OperatorReward.Add(rw.Operator)
	pool := n.DelegatorPool.Add(rw.Delegators)
	if err := checkAmount("operator reward", operatorReward); err != nil {
		return Reward{}, fmt.Errorf("apply epoch: %w", err)
	}
	if err := checkAmount("delegator pool", pool); err != nil {
		return Reward{}, fmt.Errorf("apply epoch: %w", err)
	}
	n.UnitReward, n.OperatorReward, n.DelegatorPool = unit, operatorReward, pool
	return rw, nil
}

// WithdrawOperatorReward returns the operator's unwithdrawn reward and sets
// it to zero; the keeper pays it out.
func (n *Node) WithdrawOperatorReward() (math.Int, error) {
	if err := n.Validate(); err != nil {
		return math.Int{}, fmt.Errorf("withdraw operator reward: %w", err)
	}
	r := n.OperatorReward
	n.OperatorReward = math.ZeroInt()
	return r, nil
}

// IncreasePledge adds a positive amount to the pledge. Call it when a
// queued pledge increase is applied, after the epoch's rewards.
func (n *Node) IncreasePledge(amount math.Int) error {
	if err := n.Validate(); err != nil {
		return fmt.Errorf("increase pledge: %w", err)
	}
	if err := checkPositive("pledge increase", amount); err != nil {
		return fmt.Errorf("increase pledge: %w", err)
	}
	p := n.Pledge.Add(amount)
	if err := checkAmount("pledge", p); err != nil {
		return fmt.Errorf("increase pledge: %w", err)
	}
	n.Pledge = p
	return nil
}

// DecreasePledge removes a positive amount, at most the pledge, from the
// pledge. The keeper enforces the minimum pledge.
func (n *Node) DecreasePledge(amount math.Int) error {
	if err := n.Validate(); err != nil {
		return fmt.Errorf("decrease pledge: %w", err)
	}
	if err := checkPositive("pledge decrease", amount); err != nil {
		return fmt.Errorf("decrease pledge: %w", err)
	}
	if amount.GT(n.Pledge) {
		return fmt.Errorf("decrease pledge: %w: %v exceeds the pledge %v", ErrInsufficient, amount, n.Pledge)
	}
	n.Pledge = n.Pledge.Sub(amount)
	return nil
}

// SetCostParams replaces the cost params (at an interval boundary).
func (n *Node) SetCostParams(c CostParams) error {
	if err := n.Validate(); err != nil {
		return fmt.Errorf("set cost params: %w", err)
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("set cost params: %w", err)
	}
	n.Cost = c
	return nil
}

// TakeDust returns the rounding dust left in DelegatorPool and sets the pool
// to zero, but only once the node has no delegations left (then every
// delegation has been settled and nothing in the pool is owed); otherwise it
// returns zero and changes nothing. The keeper returns the dust to the
// reward pool, typically when the last delegation leaves or the node unbonds.
func (n *Node) TakeDust() (math.Int, error) {
	if err := n.Validate(); err != nil {
		return math.Int{}, fmt.Errorf("take dust: %w", err)
	}
	if !n.Delegations.IsZero() {
		return math.ZeroInt(), nil
	}
	d := n.DelegatorPool
	n.DelegatorPool = math.ZeroInt()
	return d, nil
}
