package types

import (
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
)

// Defaults: Nym's pledge cap (10% of the original amount) and room for a monthly
// schedule of ten years.
const (
	DefaultMaxPeriods = 120
	// MaxScheduleSeconds bounds a schedule's whole length (1,000 years), so the
	// end of every period fits an int64 with room to spare.
	MaxScheduleSeconds = 1000 * 365 * 24 * 3600
)

// DefaultParams returns the default params.
func DefaultParams() Params {
	return Params{
		PledgeCapShare:    math.LegacyNewDecWithPrec(1, 1),
		PledgeCapAbsolute: math.ZeroInt(),
		MaxPeriods:        DefaultMaxPeriods,
	}
}

// Validate checks the params.
func (p Params) Validate() error {
	if p.PledgeCapShare.IsNil() || !p.PledgeCapShare.IsPositive() || p.PledgeCapShare.GT(math.LegacyOneDec()) {
		return errorsmod.Wrapf(ErrInvalidParams, "pledge cap share %v must be in (0, 1]", p.PledgeCapShare)
	}
	if p.PledgeCapAbsolute.IsNil() || p.PledgeCapAbsolute.IsNegative() {
		return errorsmod.Wrapf(ErrInvalidParams, "pledge cap absolute %v must be zero (unused) or positive", p.PledgeCapAbsolute)
	}
	if p.MaxPeriods == 0 || p.MaxPeriods > 10_000 {
		return errorsmod.Wrapf(ErrInvalidParams, "max periods %d must be in [1, 10000]", p.MaxPeriods)
	}
	return nil
}

// PledgeCap is the most an account with original unym may have pledged at once:
// the absolute cap when set, else the share of original (rounded down).
func (p Params) PledgeCap(original math.Int) math.Int {
	if p.PledgeCapAbsolute.IsPositive() {
		return p.PledgeCapAbsolute
	}
	return p.PledgeCapShare.MulInt(original).TruncateInt()
}
