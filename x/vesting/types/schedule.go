package types

import (
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
)

// ValidateSchedule checks a schedule: one to maxPeriods periods, each longer than
// zero and vesting a positive amount, amounts adding up to total, a start time
// and a whole length each within MaxScheduleSeconds (so every period's end fits
// an int64).
func ValidateSchedule(start int64, periods []Period, total math.Int, maxPeriods uint32) error {
	if len(periods) == 0 {
		return errorsmod.Wrap(ErrInvalidSchedule, "no periods")
	}
	if uint64(len(periods)) > uint64(maxPeriods) {
		return errorsmod.Wrapf(ErrInvalidSchedule, "%d periods, at most %d", len(periods), maxPeriods)
	}
	if start < 0 || start > MaxScheduleSeconds {
		return errorsmod.Wrapf(ErrInvalidSchedule, "start time %d must be in [0, %d]", start, int64(MaxScheduleSeconds))
	}
	sum, length := math.ZeroInt(), int64(0)
	for i, p := range periods {
		if p.LengthSeconds <= 0 {
			return errorsmod.Wrapf(ErrInvalidSchedule, "period %d has length %d s; every period must be longer than zero", i, p.LengthSeconds)
		}
		if p.Amount.IsNil() || !p.Amount.IsPositive() {
			return errorsmod.Wrapf(ErrInvalidSchedule, "period %d vests %v; every period must vest a positive amount", i, p.Amount)
		}
		if length += p.LengthSeconds; length > MaxScheduleSeconds {
			return errorsmod.Wrapf(ErrInvalidSchedule, "schedule longer than %d s", int64(MaxScheduleSeconds))
		}
		sum = sum.Add(p.Amount)
	}
	if total.IsNil() || !sum.Equal(total) {
		return errorsmod.Wrapf(ErrInvalidSchedule, "period amounts add up to %v%s, not %v%s", sum, Denom, total, Denom)
	}
	return nil
}

// Vested is what has vested at time t (unix seconds): the amounts of the periods
// ended at or before t.
func (a VestingAccount) Vested(t int64) math.Int {
	vested, end := math.ZeroInt(), a.StartTime
	for _, p := range a.Periods {
		end += p.LengthSeconds
		if end > t {
			break
		}
		vested = vested.Add(p.Amount)
	}
	return vested
}

// InUse is the account's coins x/mixnet holds.
func (a VestingAccount) InUse() math.Int { return a.Pledged.Add(a.Delegated) }

// Free is what the module account holds for the account: original - withdrawn -
// pledged - delegated. Only free coins may be pledged, delegated or withdrawn.
func (a VestingAccount) Free() math.Int { return a.Original.Sub(a.Withdrawn).Sub(a.InUse()) }

// Spendable is what the owner may withdraw at time t: vested and not withdrawn,
// and free. Since withdrawn never exceeds vested, an owner can never take out
// more than has vested, whatever is pledged or delegated.
func (a VestingAccount) Spendable(t int64) math.Int {
	s := math.MinInt(a.Vested(t).Sub(a.Withdrawn), a.Free())
	if s.IsNegative() {
		return math.ZeroInt()
	}
	return s
}

// Balances are the account's amounts at time t under params p.
func (a VestingAccount) Balances(t int64, p Params) Balances {
	vested := a.Vested(t)
	return Balances{
		Original:  a.Original,
		Vested:    vested,
		Locked:    a.Original.Sub(vested),
		Spendable: a.Spendable(t),
		Withdrawn: a.Withdrawn,
		Pledged:   a.Pledged,
		Delegated: a.Delegated,
		Free:      a.Free(),
		PledgeCap: p.PledgeCap(a.Original),
	}
}

// Validate checks a stored account's numbers: a valid schedule adding up to
// original, nothing negative, and withdrawn plus in-use within original.
func (a VestingAccount) Validate(maxPeriods uint32) error {
	if err := ValidateSchedule(a.StartTime, a.Periods, a.Original, maxPeriods); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    math.Int
	}{{"withdrawn", a.Withdrawn}, {"pledged", a.Pledged}, {"delegated", a.Delegated}} {
		if f.v.IsNil() || f.v.IsNegative() {
			return errorsmod.Wrapf(ErrAccounting, "%s %v must not be negative", f.name, f.v)
		}
	}
	if a.Free().IsNegative() {
		return errorsmod.Wrapf(ErrAccounting, "withdrawn %v, pledged %v and delegated %v exceed the original %v", a.Withdrawn, a.Pledged, a.Delegated, a.Original)
	}
	return nil
}
