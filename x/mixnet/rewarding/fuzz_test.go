package rewarding

import (
	"errors"
	"math/big"
	"testing"

	"cosmossdk.io/math"
)

// decFromRaw reads a LegacyDec from raw 10^-18 units, possibly out of range.
func decFromRaw(v int64) math.LegacyDec {
	return math.LegacyNewDecFromBigIntWithPrec(big.NewInt(v), 18)
}

// FuzzApplyEpoch feeds arbitrary parameters, stakes and performance to the
// whole cycle (interval, node, delegation, epoch, settle, undelegate). Bad
// input must give an error, never a panic; good input must conserve coins.
func FuzzApplyEpoch(f *testing.F) {
	f.Add(int64(20_000_000_000_000_000), int64(300_000_000_000_000_000), int64(10), int64(500_000_000_000_000_000),
		uint32(240), uint32(10), uint32(720), int64(250_000_000_000_000), int64(100_000_000_000_000),
		int64(100_000_000_000), int64(50_000_000_000), int64(950_000_000_000_000_000), int64(200_000_000_000_000_000), int64(40_000_000), true)
	f.Add(int64(1_000_000_000_000_000_000), int64(0), int64(1), int64(1_000_000_000_000_000_000),
		uint32(1), uint32(0), uint32(1), int64(1), int64(0), int64(1), int64(1), int64(1_000_000_000_000_000_000), int64(0), int64(0), false)
	f.Add(int64(-1), int64(-1), int64(0), int64(0), uint32(0), uint32(0), uint32(0), int64(-5), int64(-5), int64(0), int64(-1), int64(2_000_000_000_000_000_000), int64(-1), int64(-1), true)
	f.Fuzz(func(t *testing.T, emission, alpha, workFactor, scale int64, active, standby, epochs uint32,
		pool, supply, pledge, delegation, perf, margin, cost int64, isActive bool) {
		p := Params{
			IntervalPoolEmission:     decFromRaw(emission),
			SybilResistance:          decFromRaw(alpha),
			ActiveSetWorkFactor:      math.LegacyNewDec(workFactor),
			StakingSupplyScaleFactor: decFromRaw(scale),
		}
		iv, err := NewInterval(p, SetSizes{Active: active, Standby: standby}, epochs, math.NewInt(pool), math.NewInt(supply))
		if err != nil {
			if !errors.Is(err, ErrInvalidParams) && !errors.Is(err, ErrInvalidAmount) {
				t.Fatalf("NewInterval: unexpected error %v", err)
			}
			return
		}
		n, err := NewNode(math.NewInt(pledge), CostParams{ProfitMargin: decFromRaw(margin), IntervalOperatingCost: math.NewInt(cost)})
		if err != nil {
			return
		}
		var d Delegation
		if delegation > 0 {
			if _, err := n.Delegate(&d, math.NewInt(delegation)); err != nil {
				t.Fatalf("delegate: %v", err)
			}
		}
		st := Standby
		if isActive {
			st = Active
		}
		rw, err := n.ApplyEpoch(iv, decFromRaw(perf), st)
		if err != nil {
			if !errors.Is(err, ErrInvalidPerformance) {
				t.Fatalf("ApplyEpoch: unexpected error %v", err)
			}
			return
		}
		if !rw.Operator.Add(rw.Delegators).Equal(rw.Total) || rw.Operator.IsNegative() || rw.Delegators.IsNegative() {
			t.Fatalf("split %+v does not add up", rw)
		}
		if rw.Total.ToLegacyDec().GT(iv.EpochBudget()) {
			t.Fatalf("one node earned %v, above the epoch budget %v", rw.Total, iv.EpochBudget())
		}
		if delegation > 0 {
			paid, err := n.Undelegate(&d, d.Amount)
			if err != nil {
				t.Fatalf("undelegate: %v", err)
			}
			if paid.GT(rw.Delegators) {
				t.Fatalf("delegator paid %v of %v", paid, rw.Delegators)
			}
			dust, err := n.TakeDust()
			if err != nil {
				t.Fatal(err)
			}
			if !paid.Add(dust).Equal(rw.Delegators) || dust.GT(math.NewInt(2)) {
				t.Fatalf("paid %v + dust %v != delegators' %v", paid, dust, rw.Delegators)
			}
		}
	})
}
