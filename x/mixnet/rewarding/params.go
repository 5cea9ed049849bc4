package rewarding

import (
	"errors"
	"fmt"
	"math/big"

	"cosmossdk.io/math"
)

// Errors returned by this package. Callers may test for them with errors.Is;
// the returned errors wrap them with what was being done.
var (
	// ErrInvalidParams reports reward parameters or interval inputs out of range.
	ErrInvalidParams = errors.New("rewarding: invalid parameters")
	// ErrInvalidNode reports a node rewarding state that is malformed or inconsistent.
	ErrInvalidNode = errors.New("rewarding: invalid node state")
	// ErrInvalidDelegation reports a delegation record that is malformed or inconsistent with its node.
	ErrInvalidDelegation = errors.New("rewarding: invalid delegation")
	// ErrInvalidAmount reports an amount that is nil, negative, zero where a positive one is needed, or too large.
	ErrInvalidAmount = errors.New("rewarding: invalid amount")
	// ErrInsufficient reports an attempt to remove more than is there (pledge, delegation).
	ErrInsufficient = errors.New("rewarding: insufficient amount")
	// ErrInvalidPerformance reports a performance that is nil or outside [0, 1].
	ErrInvalidPerformance = errors.New("rewarding: invalid performance")
	// ErrInvalidStatus reports a Status that is neither Active nor Standby.
	ErrInvalidStatus = errors.New("rewarding: invalid status")
	// ErrOverflow reports arithmetic that left the range of math.LegacyDec; it
	// can only come from corrupt or absurd inputs.
	ErrOverflow = errors.New("rewarding: arithmetic overflow")
)

// MaxAmountBits bounds every coin amount this package accepts: amounts must
// be below 2^MaxAmountBits. It leaves ample room (the whole supply of a
// token with 6 decimals and 10^12 units is below 2^60) while keeping every
// intermediate product far inside the range of math.LegacyDec.
const MaxAmountBits = 128

// Params are the module's reward parameters. They change only by governance
// and are read at each interval boundary by [NewInterval].
type Params struct {
	// IntervalPoolEmission is the share of the reward pool emitted over one
	// interval if every node of the rewarded set is saturated and performs
	// perfectly (e). In [0, 1].
	IntervalPoolEmission math.LegacyDec
	// SybilResistance is α, the weight of the operator's own pledge in the
	// reward. At least 0.
	SybilResistance math.LegacyDec
	// ActiveSetWorkFactor is f, how much more work an active node does than a
	// standby one. At least 1.
	ActiveSetWorkFactor math.LegacyDec
	// StakingSupplyScaleFactor is β, the share of the staking supply that
	// saturates the whole rewarded set. In (0, 1].
	StakingSupplyScaleFactor math.LegacyDec
}

// DefaultParams returns Nym's mainnet reward parameters: interval pool
// emission 2%, sybil resistance 30%, active set work factor 10 and staking
// supply scale factor 50% (nymtech/nym, mixnet contract instantiation and
// its tests; Nym's docs: "the target level of staking is to have 50% of the
// staking supply locked in mix nodes").
func DefaultParams() Params {
	return Params{
		IntervalPoolEmission:     math.LegacyNewDecWithPrec(2, 2),
		SybilResistance:          math.LegacyNewDecWithPrec(3, 1),
		ActiveSetWorkFactor:      math.LegacyNewDec(10),
		StakingSupplyScaleFactor: math.LegacyNewDecWithPrec(5, 1),
	}
}

// Validate reports whether every parameter is set and in range.
func (p Params) Validate() error {
	one := math.LegacyOneDec()
	switch {
	case p.IntervalPoolEmission.IsNil() || p.IntervalPoolEmission.IsNegative() || p.IntervalPoolEmission.GT(one):
		return fmt.Errorf("%w: interval pool emission %v not in [0, 1]", ErrInvalidParams, p.IntervalPoolEmission)
	case p.SybilResistance.IsNil() || p.SybilResistance.IsNegative() || p.SybilResistance.GT(math.LegacyNewDec(1000)):
		return fmt.Errorf("%w: sybil resistance %v not in [0, 1000]", ErrInvalidParams, p.SybilResistance)
	case p.ActiveSetWorkFactor.IsNil() || p.ActiveSetWorkFactor.LT(one) || p.ActiveSetWorkFactor.GT(math.LegacyNewDec(1_000_000)):
		return fmt.Errorf("%w: active set work factor %v not in [1, 1000000]", ErrInvalidParams, p.ActiveSetWorkFactor)
	case p.StakingSupplyScaleFactor.IsNil() || !p.StakingSupplyScaleFactor.IsPositive() || p.StakingSupplyScaleFactor.GT(one):
		return fmt.Errorf("%w: staking supply scale factor %v not in (0, 1]", ErrInvalidParams, p.StakingSupplyScaleFactor)
	}
	return nil
}

// SetSizes are the sizes of the rewarded set: Active counts every node with
// a role in the mixnet (entry gateways + exit gateways + mix nodes), Standby
// the nodes held in reserve.
type SetSizes struct {
	Active  uint32
	Standby uint32
}

// Rewarded returns k, the size of the whole rewarded set.
func (s SetSizes) Rewarded() uint64 { return uint64(s.Active) + uint64(s.Standby) }

// Status says how a node served in the epoch being rewarded.
type Status uint8

const (
	// Active nodes (gateways and mix nodes) earn the active work factor ω_a.
	Active Status = 1
	// Standby nodes earn the standby work factor ω_s.
	Standby Status = 2
)

// String returns "active", "standby" or "invalid(n)".
func (s Status) String() string {
	switch s {
	case Active:
		return "active"
	case Standby:
		return "standby"
	}
	return fmt.Sprintf("invalid(%d)", uint8(s))
}

// Interval holds the reward constants of one interval. Build it with
// [NewInterval]; the zero Interval is refused by every method that needs one.
// It is immutable and cheap to rebuild (a few dozen decimal operations), so
// the keeper stores only NewInterval's inputs.
type Interval struct {
	params            Params
	sizes             SetSizes
	epochsPerInterval uint32
	rewardPool        math.Int
	stakingSupply     math.Int

	intervalBudget  math.LegacyDec
	epochBudget     math.LegacyDec
	saturationPoint math.LegacyDec
	activeWork      math.LegacyDec
	standbyWork     math.LegacyDec
	alphaOverK      math.LegacyDec // α / k, used once per node
	onePlusAlpha    math.LegacyDec
	costDivisor     math.LegacyDec // E as a decimal
}

// NewInterval computes the constants of an interval:
//
//	interval budget   = rewardPool × IntervalPoolEmission
//	epoch budget      = interval budget / epochsPerInterval
//	saturation point  = stakingSupply × StakingSupplyScaleFactor / (sizes.Active + sizes.Standby)
//	ω_s = 1 / (f × sizes.Active + sizes.Standby),  ω_a = f × ω_s
//
// all truncated at 18 decimals. It fails if the params are invalid, if the
// rewarded set is empty, if epochsPerInterval is zero, or if an amount is
// nil, negative or not below 2^MaxAmountBits. A zero staking supply gives a
// zero saturation point, with which every node with stake counts as saturated.
func NewInterval(p Params, sizes SetSizes, epochsPerInterval uint32, rewardPool, stakingSupply math.Int) (Interval, error) {
	if err := p.Validate(); err != nil {
		return Interval{}, fmt.Errorf("new interval: %w", err)
	}
	if sizes.Active == 0 {
		return Interval{}, fmt.Errorf("new interval: %w: active set size is zero", ErrInvalidParams)
	}
	if epochsPerInterval == 0 {
		return Interval{}, fmt.Errorf("new interval: %w: zero epochs per interval", ErrInvalidParams)
	}
	if err := checkAmount("reward pool", rewardPool); err != nil {
		return Interval{}, fmt.Errorf("new interval: %w", err)
	}
	if err := checkAmount("staking supply", stakingSupply); err != nil {
		return Interval{}, fmt.Errorf("new interval: %w", err)
	}
	k := math.NewIntFromUint64(sizes.Rewarded())
	epochs := math.NewInt(int64(epochsPerInterval))
	f := p.ActiveSetWorkFactor

	iv := Interval{
		params:            p,
		sizes:             sizes,
		epochsPerInterval: epochsPerInterval,
		rewardPool:        rewardPool,
		stakingSupply:     stakingSupply,
	}
	iv.intervalBudget = math.LegacyNewDecFromInt(rewardPool).MulTruncate(p.IntervalPoolEmission)
	iv.epochBudget = iv.intervalBudget.QuoInt(epochs) // QuoInt truncates
	iv.saturationPoint = math.LegacyNewDecFromInt(stakingSupply).MulTruncate(p.StakingSupplyScaleFactor).QuoInt(k)
	workDenominator := f.MulInt64(int64(sizes.Active)).Add(math.LegacyNewDec(int64(sizes.Standby)))
	iv.standbyWork = math.LegacyOneDec().QuoTruncate(workDenominator)
	iv.activeWork = f.MulTruncate(iv.standbyWork)
	iv.alphaOverK = p.SybilResistance.QuoInt(k)
	iv.onePlusAlpha = math.LegacyOneDec().Add(p.SybilResistance)
	iv.costDivisor = math.LegacyNewDecFromInt(epochs)
	return iv, nil
}

func (iv Interval) valid() error {
	if iv.epochsPerInterval == 0 || iv.epochBudget.IsNil() {
		return fmt.Errorf("%w: interval not built with NewInterval", ErrInvalidParams)
	}
	return nil
}

// Params returns the parameters the interval was built from.
func (iv Interval) Params() Params { return iv.params }

// Sizes returns the rewarded-set sizes the interval was built from.
func (iv Interval) Sizes() SetSizes { return iv.sizes }

// EpochsPerInterval returns E.
func (iv Interval) EpochsPerInterval() uint32 { return iv.epochsPerInterval }

// RewardPool returns the reward pool the interval was built from.
func (iv Interval) RewardPool() math.Int { return iv.rewardPool }

// StakingSupply returns the staking supply the interval was built from.
func (iv Interval) StakingSupply() math.Int { return iv.stakingSupply }

// IntervalBudget returns the most the interval can emit: reward pool × emission.
func (iv Interval) IntervalBudget() math.LegacyDec { return iv.intervalBudget }

// EpochBudget returns the most one epoch can emit: interval budget / E.
func (iv Interval) EpochBudget() math.LegacyDec { return iv.epochBudget }

// SaturationPoint returns N, the stake at which a node is saturated.
func (iv Interval) SaturationPoint() math.LegacyDec { return iv.saturationPoint }

// WorkFactor returns ω for a status: ω_a for Active, ω_s for Standby, and
// zero for anything else.
func (iv Interval) WorkFactor(s Status) math.LegacyDec {
	switch s {
	case Active:
		return iv.activeWork
	case Standby:
		return iv.standbyWork
	}
	return math.LegacyZeroDec()
}

// Saturation returns stake / N, uncapped (above 1 means over-saturated; the
// reward uses min(·, 1)). With a zero saturation point it returns 1 for a
// positive stake and 0 for none. It returns zero for a nil or negative stake
// and, never reachable from a valid [Node] (whose stake is below
// 2^(MaxAmountBits+1)), 1 for a larger one, so it cannot overflow.
func (iv Interval) Saturation(stake math.Int) math.LegacyDec {
	if stake.IsNil() || !stake.IsPositive() || iv.saturationPoint.IsNil() {
		return math.LegacyZeroDec()
	}
	if !iv.saturationPoint.IsPositive() || stake.BigIntMut().BitLen() > MaxAmountBits+1 {
		return math.LegacyOneDec()
	}
	return math.LegacyNewDecFromInt(stake).QuoTruncateMut(iv.saturationPoint)
}

// cappedSaturation is min(Saturation(stake), 1).
func (iv Interval) cappedSaturation(stake math.Int) math.LegacyDec {
	s := iv.Saturation(stake)
	if s.GT(math.LegacyOneDec()) {
		return math.LegacyOneDec()
	}
	return s
}

var maxAmount = new(big.Int).Lsh(big.NewInt(1), MaxAmountBits)

// checkAmount accepts 0 ≤ a < 2^MaxAmountBits.
func checkAmount(what string, a math.Int) error {
	switch {
	case a.IsNil():
		return fmt.Errorf("%w: %s is nil", ErrInvalidAmount, what)
	case a.IsNegative():
		return fmt.Errorf("%w: %s %v is negative", ErrInvalidAmount, what, a)
	case a.BigIntMut().Cmp(maxAmount) >= 0:
		return fmt.Errorf("%w: %s %v is not below 2^%d", ErrInvalidAmount, what, a, MaxAmountBits)
	}
	return nil
}

// checkPositive accepts 0 < a < 2^MaxAmountBits.
func checkPositive(what string, a math.Int) error {
	if err := checkAmount(what, a); err != nil {
		return err
	}
	if a.IsZero() {
		return fmt.Errorf("%w: %s is zero", ErrInvalidAmount, what)
	}
	return nil
}

// guard turns a panic from the decimal library (overflow beyond its 256-bit
// range, reachable only with corrupt state) into ErrOverflow. Functions that
// use it compute into locals and assign to their receiver last, so a
// recovered call changes nothing.
func guard(what string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s: %w: %v", what, ErrOverflow, r)
	}
}
