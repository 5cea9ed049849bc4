package types_test

import (
	"math/big"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"

	"github.com/nyx-privacy/nyx/x/vesting/types"
)

// model is the schedule as a list of (end time, amount) events in big integers,
// summed afresh for every question: nothing shared with the code under test.
type model struct {
	ends    []*big.Int
	amounts []*big.Int
}

func newModel(start int64, periods []types.Period) model {
	var m model
	end := big.NewInt(start)
	for _, p := range periods {
		end = new(big.Int).Add(end, big.NewInt(p.LengthSeconds))
		m.ends = append(m.ends, end)
		m.amounts = append(m.amounts, p.Amount.BigInt())
	}
	return m
}

func (m model) vested(t int64) *big.Int {
	v := new(big.Int)
	for i, e := range m.ends {
		if e.Cmp(big.NewInt(t)) <= 0 {
			v.Add(v, m.amounts[i])
		}
	}
	return v
}

// randBelow is a random integer in [0, n) (slightly biased; fine for a test).
func randBelow(r *rand.Rand, n *big.Int) *big.Int {
	x := new(big.Int)
	for i := 0; i <= n.BitLen()/64; i++ {
		x.Lsh(x, 64).Or(x, new(big.Int).SetUint64(r.Uint64()))
	}
	return x.Mod(x, n)
}

func randomSchedule(r *rand.Rand) (int64, []types.Period, math.Int) {
	n := 1 + r.IntN(24)
	periods := make([]types.Period, n)
	total := math.ZeroInt()
	for i := range periods {
		// Amounts up to 2^100, so the arithmetic leaves int64.
		amt := randBelow(r, new(big.Int).Lsh(big.NewInt(1), uint(1+r.IntN(100))))
		amt.Add(amt, big.NewInt(1))
		periods[i] = types.Period{LengthSeconds: 1 + r.Int64N(400*24*3600), Amount: math.NewIntFromBigInt(amt)}
		total = total.Add(periods[i].Amount)
	}
	return r.Int64N(2_000_000_000), periods, total
}

// TestVestedAgainstModel: at random times around every period end, the vested
// amount is the model's; vested + locked = original; vested never falls with time;
// nothing before the start, everything after the last end.
func TestVestedAgainstModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 300; iter++ {
		start, periods, total := randomSchedule(r)
		require.NoError(t, types.ValidateSchedule(start, periods, total, types.DefaultMaxPeriods))
		a := types.VestingAccount{StartTime: start, Periods: periods, Original: total, Withdrawn: math.ZeroInt(), Pledged: math.ZeroInt(), Delegated: math.ZeroInt()}
		m := newModel(start, periods)
		var times []int64
		for _, e := range m.ends {
			times = append(times, e.Int64()-1, e.Int64(), e.Int64()+1, e.Int64()-r.Int64N(1000))
		}
		times = append(times, start-1, start, r.Int64N(3_000_000_000))
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		prev := math.ZeroInt()
		for _, tm := range times {
			v := a.Vested(tm)
			require.Equal(t, 0, v.BigInt().Cmp(m.vested(tm)), "vested at %d", tm)
			require.True(t, v.GTE(prev))
			b := a.Balances(tm, types.DefaultParams())
			require.True(t, b.Vested.Add(b.Locked).Equal(total))
			prev = v
		}
		require.True(t, a.Vested(start-1).IsZero())
		require.True(t, a.Vested(m.ends[len(m.ends)-1].Int64()).Equal(total))
	}
}

// TestNeverWithdrawUnvested drives random withdrawals, pledges, delegations and
// returns through the account's arithmetic: whatever the order, withdrawn never
// exceeds what has vested, and free never goes negative.
func TestNeverWithdrawUnvested(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for iter := 0; iter < 200; iter++ {
		start, periods, total := randomSchedule(r)
		a := types.VestingAccount{StartTime: start, Periods: periods, Original: total, Withdrawn: math.ZeroInt(), Pledged: math.ZeroInt(), Delegated: math.ZeroInt()}
		m := newModel(start, periods)
		now := start - 10
		last := m.ends[len(m.ends)-1].Int64()
		frac := func(x math.Int) math.Int {
			if !x.IsPositive() {
				return math.ZeroInt()
			}
			return math.NewIntFromBigInt(randBelow(r, x.AddRaw(1).BigInt()))
		}
		for step := 0; step < 60; step++ {
			now += r.Int64N((last-start)/20 + 2)
			switch r.IntN(5) {
			case 0: // withdraw up to the spendable amount
				a.Withdrawn = a.Withdrawn.Add(frac(a.Spendable(now)))
			case 1:
				a.Delegated = a.Delegated.Add(frac(a.Free()))
			case 2:
				a.Pledged = a.Pledged.Add(frac(a.Free()))
			case 3:
				a.Delegated = a.Delegated.Sub(frac(a.Delegated))
			case 4:
				a.Pledged = a.Pledged.Sub(frac(a.Pledged))
			}
			require.NoError(t, a.Validate(types.DefaultMaxPeriods))
			require.True(t, a.Withdrawn.BigInt().Cmp(m.vested(now)) <= 0, "withdrawn %v beyond vested %v", a.Withdrawn, m.vested(now))
			s := a.Spendable(now)
			require.False(t, s.IsNegative())
			require.True(t, s.LTE(a.Free()))
		}
		// Once everything is back and vested, all that is left can be withdrawn.
		a.Pledged, a.Delegated = math.ZeroInt(), math.ZeroInt()
		require.True(t, a.Spendable(last).Equal(total.Sub(a.Withdrawn)))
	}
}

// TestPledgeCap: Nym's default cap is 10% of the original, rounded down; an
// absolute cap replaces it.
func TestPledgeCap(t *testing.T) {
	p := types.DefaultParams()
	require.Equal(t, int64(800_000), p.PledgeCap(math.NewInt(8_000_000)).Int64())
	require.Equal(t, int64(0), p.PledgeCap(math.NewInt(9)).Int64())
	require.Equal(t, int64(1), p.PledgeCap(math.NewInt(19)).Int64())
	p.PledgeCapAbsolute = math.NewInt(5)
	require.Equal(t, int64(5), p.PledgeCap(math.NewInt(8_000_000)).Int64())
	require.NoError(t, p.Validate())
	p.PledgeCapShare = math.LegacyNewDec(2)
	require.ErrorIs(t, p.Validate(), types.ErrInvalidParams)
}
