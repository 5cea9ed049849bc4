package rewarding

import (
	"errors"
	"math/big"
	"testing"

	"cosmossdk.io/math"
)

func dec(s string) math.LegacyDec { return math.LegacyMustNewDecFromStr(s) }
func i64(v int64) math.Int        { return math.NewInt(v) }

// handParams are chosen so every constant is a short decimal:
//
//	e = 2%, α = 0.25, f = 6, β = 0.5; sizes 3 active + 2 standby (k = 5); E = 100
//	P = 10^12, S = 5·10^11
//	B_I = 10^12 × 0.02 = 2·10^10;  B = 2·10^10 / 100 = 2·10^8
//	N   = 5·10^11 × 0.5 / 5 = 5·10^10
//	ω_s = 1 / (6·3 + 2) = 1/20 = 0.05;  ω_a = 6 × 0.05 = 0.3
func handParams() Params {
	return Params{
		IntervalPoolEmission:     dec("0.02"),
		SybilResistance:          dec("0.25"),
		ActiveSetWorkFactor:      dec("6"),
		StakingSupplyScaleFactor: dec("0.5"),
	}
}

func handInterval(t *testing.T) Interval {
	t.Helper()
	iv, err := NewInterval(handParams(), SetSizes{Active: 3, Standby: 2}, 100, i64(1_000_000_000_000), i64(500_000_000_000))
	if err != nil {
		t.Fatal(err)
	}
	return iv
}

// handCost: profit margin 20%, interval operating cost 4·10^7, so the epoch cost is 4·10^5 × performance.
func handCost() CostParams { return DefaultCostParams() }

func mustNode(t *testing.T, pledge int64) Node {
	t.Helper()
	n, err := NewNode(i64(pledge), handCost())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func eqDec(t *testing.T, what string, got math.LegacyDec, want string) {
	t.Helper()
	if !got.Equal(dec(want)) {
		t.Errorf("%s = %v, want %s", what, got, want)
	}
}

func eqInt(t *testing.T, what string, got math.Int, want int64) {
	t.Helper()
	if got.IsNil() || !got.Equal(i64(want)) {
		t.Errorf("%s = %v, want %d", what, got, want)
	}
}

func TestNewIntervalHand(t *testing.T) {
	iv := handInterval(t)
	eqDec(t, "interval budget", iv.IntervalBudget(), "20000000000")
	eqDec(t, "epoch budget", iv.EpochBudget(), "200000000")
	eqDec(t, "saturation point", iv.SaturationPoint(), "50000000000")
	eqDec(t, "ω_a", iv.WorkFactor(Active), "0.3")
	eqDec(t, "ω_s", iv.WorkFactor(Standby), "0.05")
	eqDec(t, "ω of an invalid status", iv.WorkFactor(Status(9)), "0")
	// 2.5·10^10 / 5·10^10 = 0.5; 10^11 / 5·10^10 = 2 (uncapped).
	eqDec(t, "saturation(2.5e10)", iv.Saturation(i64(25_000_000_000)), "0.5")
	eqDec(t, "saturation(1e11)", iv.Saturation(i64(100_000_000_000)), "2")
	eqDec(t, "saturation(0)", iv.Saturation(i64(0)), "0")
}

// Nym's mainnet numbers: 240 active nodes, no standby, 720 epochs per
// interval, defaults e = 2%, f = 10, β = 50%.
//
//	ω_s = 1/(10·240) = 1/2400 = 0.000416666666666666 (truncated at 18 places)
//	ω_a = 10 × ω_s = 0.00416666666666666 (exactly 10 × the truncated ω_s)
//	P = 2.5·10^14: B_I = 5·10^12, B = 5·10^12 / 720 = 6944444444.444444444444444444
//	S = 10^14: N = 10^14 × 0.5 / 240 = 208333333333.333333333333333333
func TestNewIntervalDefaults(t *testing.T) {
	iv, err := NewInterval(DefaultParams(), SetSizes{Active: 240}, 720, i64(250_000_000_000_000), i64(100_000_000_000_000))
	if err != nil {
		t.Fatal(err)
	}
	eqDec(t, "ω_s", iv.WorkFactor(Standby), "0.000416666666666666")
	eqDec(t, "ω_a", iv.WorkFactor(Active), "0.004166666666666660")
	eqDec(t, "interval budget", iv.IntervalBudget(), "5000000000000")
	eqDec(t, "epoch budget", iv.EpochBudget(), "6944444444.444444444444444444")
	eqDec(t, "saturation point", iv.SaturationPoint(), "208333333333.333333333333333333")
}

func TestNewIntervalRejects(t *testing.T) {
	good := handParams()
	pool, supply := i64(1000), i64(1000)
	cases := []struct {
		name   string
		mod    func(p *Params)
		sizes  SetSizes
		epochs uint32
		pool   math.Int
		supply math.Int
	}{
		{"nil emission", func(p *Params) { p.IntervalPoolEmission = math.LegacyDec{} }, SetSizes{3, 2}, 10, pool, supply},
		{"emission above 1", func(p *Params) { p.IntervalPoolEmission = dec("1.01") }, SetSizes{3, 2}, 10, pool, supply},
		{"negative alpha", func(p *Params) { p.SybilResistance = dec("-0.1") }, SetSizes{3, 2}, 10, pool, supply},
		{"work factor below 1", func(p *Params) { p.ActiveSetWorkFactor = dec("0.5") }, SetSizes{3, 2}, 10, pool, supply},
		{"zero scale factor", func(p *Params) { p.StakingSupplyScaleFactor = dec("0") }, SetSizes{3, 2}, 10, pool, supply},
		{"no active nodes", func(*Params) {}, SetSizes{0, 2}, 10, pool, supply},
		{"zero epochs", func(*Params) {}, SetSizes{3, 2}, 0, pool, supply},
		{"nil pool", func(*Params) {}, SetSizes{3, 2}, 10, math.Int{}, supply},
		{"negative supply", func(*Params) {}, SetSizes{3, 2}, 10, pool, i64(-1)},
		{"huge pool", func(*Params) {}, SetSizes{3, 2}, 10, math.NewIntFromBigInt(maxAmount), supply},
	}
	for _, c := range cases {
		p := good
		c.mod(&p)
		if _, err := NewInterval(p, c.sizes, c.epochs, c.pool, c.supply); !errors.Is(err, ErrInvalidParams) && !errors.Is(err, ErrInvalidAmount) {
			t.Errorf("%s: err = %v, want ErrInvalidParams or ErrInvalidAmount", c.name, err)
		}
	}
	// The zero Interval is refused, not a panic.
	n := mustNode(t, 1000)
	if _, err := (Interval{}).NodeReward(n, dec("1"), Active); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("zero interval: err = %v", err)
	}
	if _, err := n.ApplyEpoch(Interval{}, dec("1"), Active); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("zero interval apply: err = %v", err)
	}
}

// An active node, pledge 10^10 and delegations 1.5·10^10 (stake 2.5·10^10),
// performance 0.9:
//
//	σ' = 2.5·10^10 / 5·10^10 = 0.5;  λ' = 10^10 / 5·10^10 = 0.2
//	R  = 2·10^8 × 0.9 × 0.5 × (0.3 + 0.25 × 0.2 / 5) / 1.25
//	   = 9·10^7 × 0.31 / 1.25 = 2.79·10^7 / 1.25 = 22,320,000
//	C  = 4·10^7 / 100 × 0.9 = 360,000;  profit = 21,960,000
//	s  = 10^10 / 2.5·10^10 = 0.4;  operator keeps 0.2 + 0.8 × 0.4 = 0.52
//	operator   = 360,000 + 21,960,000 × 0.52 = 360,000 + 11,419,200 = 11,779,200
//	delegators = 22,320,000 − 11,779,200 = 10,540,800
//	unit reward += 10,540,800 / 1.5·10^10 = 0.00070272
//	delegation 5·10^9 earns 3,513,600; delegation 10^10 earns 7,027,200 (sum 10,540,800)
func TestHandActiveNodeWithDelegations(t *testing.T) {
	iv := handInterval(t)
	n := mustNode(t, 10_000_000_000)
	var a, b Delegation
	if r, err := n.Delegate(&a, i64(5_000_000_000)); err != nil || !r.IsZero() {
		t.Fatalf("delegate a: %v %v", r, err)
	}
	if r, err := n.Delegate(&b, i64(10_000_000_000)); err != nil || !r.IsZero() {
		t.Fatalf("delegate b: %v %v", r, err)
	}
	eqInt(t, "delegations", n.Delegations, 15_000_000_000)

	exact, err := iv.NodeReward(n, dec("0.9"), Active)
	if err != nil {
		t.Fatal(err)
	}
	eqDec(t, "R", exact, "22320000")
	rw, err := n.ApplyEpoch(iv, dec("0.9"), Active)
	if err != nil {
		t.Fatal(err)
	}
	eqInt(t, "total", rw.Total, 22_320_000)
	eqInt(t, "operating cost", rw.OperatingCost, 360_000)
	eqInt(t, "operator", rw.Operator, 11_779_200)
	eqInt(t, "delegators", rw.Delegators, 10_540_800)
	eqDec(t, "unit reward", n.UnitReward, "0.00070272")
	eqInt(t, "operator reward", n.OperatorReward, 11_779_200)
	eqInt(t, "delegator pool", n.DelegatorPool, 10_540_800)

	pa, err := n.PendingReward(a)
	if err != nil {
		t.Fatal(err)
	}
	eqInt(t, "pending a", pa, 3_513_600)
	pb, _ := n.PendingReward(b)
	eqInt(t, "pending b", pb, 7_027_200)

	// Settling a pays it and leaves b untouched.
	got, err := n.Settle(&a)
	if err != nil {
		t.Fatal(err)
	}
	eqInt(t, "settled a", got, 3_513_600)
	eqDec(t, "a's record", a.UnitReward, "0.00070272")
	if p, _ := n.PendingReward(a); !p.IsZero() {
		t.Errorf("pending a after settle = %v", p)
	}
	eqInt(t, "pool after settling a", n.DelegatorPool, 7_027_200)

	// Undelegating all of b pays its reward; the pool is then empty.
	got, err = n.Undelegate(&b, i64(10_000_000_000))
	if err != nil {
		t.Fatal(err)
	}
	eqInt(t, "b's reward", got, 7_027_200)
	eqInt(t, "b left", b.Amount, 0)
	eqInt(t, "pool", n.DelegatorPool, 0)
	eqInt(t, "delegations", n.Delegations, 5_000_000_000)

	op, err := n.WithdrawOperatorReward()
	if err != nil {
		t.Fatal(err)
	}
	eqInt(t, "withdrawn", op, 11_779_200)
	if p, _ := n.OperatorPendingReward(); !p.IsZero() {
		t.Errorf("operator pending after withdraw = %v", p)
	}
}

// The same stake as a standby node with performance 1:
//
//	R = 2·10^8 × 1 × 0.5 × (0.05 + 0.01) / 1.25 = 10^8 × 0.06 / 1.25 = 4,800,000
//	C = 400,000; profit 4,400,000 × 0.52 = 2,288,000; operator 2,688,000; delegators 2,112,000
func TestHandStandbyNode(t *testing.T) {
	iv := handInterval(t)
	n := mustNode(t, 10_000_000_000)
	var d Delegation
	if _, err := n.Delegate(&d, i64(15_000_000_000)); err != nil {
		t.Fatal(err)
	}
	rw, err := n.ApplyEpoch(iv, dec("1"), Standby)
	if err != nil {
		t.Fatal(err)
	}
	eqInt(t, "total", rw.Total, 4_800_000)
	eqInt(t, "operator", rw.Operator, 2_688_000)
	eqInt(t, "delegators", rw.Delegators, 2_112_000)
	p, _ := n.PendingReward(d)
	eqInt(t, "pending", p, 2_112_000)
}

// A saturated node: pledge 10^10, delegations 9·10^10, stake 10^11 > N = 5·10^10:
//
//	σ' = 1, λ' = 0.2: R = 2·10^8 × 0.31 / 1.25 = 49,600,000
//	C = 400,000; profit 49,200,000; s = 0.1, operator keeps 0.2 + 0.8 × 0.1 = 0.28
//	operator = 400,000 + 13,776,000 = 14,176,000; delegators = 35,424,000
//	unit reward = 35,424,000 / 9·10^10 = 0.0003936
func TestHandSaturatedNode(t *testing.T) {
	iv := handInterval(t)
	n := mustNode(t, 10_000_000_000)
	var d Delegation
	if _, err := n.Delegate(&d, i64(90_000_000_000)); err != nil {
		t.Fatal(err)
	}
	rw, err := n.ApplyEpoch(iv, dec("1"), Active)
	if err != nil {
		t.Fatal(err)
	}
	eqInt(t, "total", rw.Total, 49_600_000)
	eqInt(t, "operator", rw.Operator, 14_176_000)
	eqInt(t, "delegators", rw.Delegators, 35_424_000)
	eqDec(t, "unit reward", n.UnitReward, "0.0003936")
	// More delegation does not earn more once saturated: only the split changes.
	m := mustNode(t, 10_000_000_000)
	var e Delegation
	if _, err := m.Delegate(&e, i64(190_000_000_000)); err != nil {
		t.Fatal(err)
	}
	rw2, _ := iv.EpochReward(m, dec("1"), Active)
	eqInt(t, "total at 4× saturation", rw2.Total, 49_600_000)
}

// The operator's cost exceeds the reward: the operator takes all of it.
//
//	pledge 10^8, delegations 10^8: σ' = 2·10^8 / 5·10^10 = 0.004, λ' = 0.002
//	R = 2·10^8 × 0.004 × (0.3 + 0.25 × 0.002 / 5) / 1.25 = 800,000 × 0.3001 / 1.25 = 192,064
//	C = 400,000 > R: operator 192,064, delegators 0
func TestHandCostAboveReward(t *testing.T) {
	iv := handInterval(t)
	n := mustNode(t, 100_000_000)
	var d Delegation
	if _, err := n.Delegate(&d, i64(100_000_000)); err != nil {
		t.Fatal(err)
	}
	rw, err := n.ApplyEpoch(iv, dec("1"), Active)
	if err != nil {
		t.Fatal(err)
	}
	eqInt(t, "total", rw.Total, 192_064)
	eqInt(t, "operator", rw.Operator, 192_064)
	eqInt(t, "operating cost", rw.OperatingCost, 192_064)
	eqInt(t, "delegators", rw.Delegators, 0)
	eqDec(t, "unit reward", n.UnitReward, "0")
	p, _ := n.PendingReward(d)
	eqInt(t, "pending", p, 0)
}

// A node without delegations keeps its whole reward:
//
//	pledge 10^8: σ' = λ' = 0.002; R = 2·10^8 × 0.002 × 0.3001 / 1.25 = 96,032 (all to the operator)
func TestHandNoDelegations(t *testing.T) {
	iv := handInterval(t)
	n := mustNode(t, 100_000_000)
	rw, err := n.ApplyEpoch(iv, dec("1"), Active)
	if err != nil {
		t.Fatal(err)
	}
	eqInt(t, "total", rw.Total, 96_032)
	eqInt(t, "operator", rw.Operator, 96_032)
	eqInt(t, "delegators", rw.Delegators, 0)
	eqInt(t, "operator reward", n.OperatorReward, 96_032)
}

// A full rewarded set of saturated nodes (pledge ≥ N, so λ' = 1) with
// performance 1 earns exactly the epoch budget:
//
//	active:  2·10^8 × (0.3 + 0.25/5) / 1.25 = 2·10^8 × 0.35 / 1.25 = 56,000,000 (× 3 = 168,000,000)
//	standby: 2·10^8 × (0.05 + 0.05) / 1.25 = 16,000,000 (× 2 = 32,000,000)
//	sum = 200,000,000 = B
func TestFullSetEarnsBudget(t *testing.T) {
	iv := handInterval(t)
	total := math.ZeroInt()
	for i, st := range []Status{Active, Active, Active, Standby, Standby} {
		n := mustNode(t, 60_000_000_000)
		rw, err := n.ApplyEpoch(iv, dec("1"), st)
		if err != nil {
			t.Fatal(err)
		}
		want := int64(56_000_000)
		if st == Standby {
			want = 16_000_000
		}
		eqInt(t, "node reward "+st.String(), rw.Total, want)
		_ = i
		total = total.Add(rw.Total)
	}
	eqInt(t, "set total", total, 200_000_000)
}

// Performance 0 earns nothing and changes nothing; performance is linear.
func TestPerformanceEdges(t *testing.T) {
	iv := handInterval(t)
	n := mustNode(t, 10_000_000_000)
	var d Delegation
	if _, err := n.Delegate(&d, i64(15_000_000_000)); err != nil {
		t.Fatal(err)
	}
	before := n
	rw, err := n.ApplyEpoch(iv, dec("0"), Active)
	if err != nil {
		t.Fatal(err)
	}
	eqInt(t, "reward at performance 0", rw.Total, 0)
	if !n.UnitReward.Equal(before.UnitReward) || !n.OperatorReward.Equal(before.OperatorReward) || !n.DelegatorPool.Equal(before.DelegatorPool) {
		t.Errorf("performance 0 changed the node: %+v", n)
	}
	// perf 1: 2·10^8 × 0.5 × 0.31 / 1.25 = 24,800,000; perf 0.5: 12,400,000.
	r1, _ := iv.EpochReward(n, dec("1"), Active)
	r5, _ := iv.EpochReward(n, dec("0.5"), Active)
	eqInt(t, "perf 1", r1.Total, 24_800_000)
	eqInt(t, "perf 0.5", r5.Total, 12_400_000)
	// The cost scales with performance too: 400,000 and 200,000.
	eqInt(t, "cost at perf 1", r1.OperatingCost, 400_000)
	eqInt(t, "cost at perf 0.5", r5.OperatingCost, 200_000)
}

// A node whose stake is zero (its pledge decreased to nothing) earns nothing.
func TestZeroStake(t *testing.T) {
	iv := handInterval(t)
	n := mustNode(t, 1000)
	if err := n.DecreasePledge(i64(1000)); err != nil {
		t.Fatal(err)
	}
	rw, err := n.ApplyEpoch(iv, dec("1"), Active)
	if err != nil {
		t.Fatal(err)
	}
	eqInt(t, "reward at zero stake", rw.Total, 0)
	// A zero staking supply makes every staked node saturated (σ' = λ' = 1) instead of dividing by zero.
	iv0, err := NewInterval(handParams(), SetSizes{Active: 3, Standby: 2}, 100, i64(1_000_000_000_000), i64(0))
	if err != nil {
		t.Fatal(err)
	}
	m := mustNode(t, 5)
	rw, err = iv0.EpochReward(m, dec("1"), Active)
	if err != nil {
		t.Fatal(err)
	}
	eqInt(t, "reward with zero saturation point", rw.Total, 56_000_000)
}

// Shares that do not divide evenly: dust stays in the pool, is never paid
// twice, and comes back through TakeDust once no delegation is left.
//
//	3 delegations of 1 coin; delegators' share 10 coins (set by hand below):
//	unit reward = 10 / 3 = 3.333333333333333333; each pending = floor(3.333…) = 3; dust = 1
func TestRoundingDust(t *testing.T) {
	n := mustNode(t, 1000)
	ds := make([]Delegation, 3)
	for i := range ds {
		if _, err := n.Delegate(&ds[i], i64(1)); err != nil {
			t.Fatal(err)
		}
	}
	// Credit as ApplyEpoch does, with a delegators' share of 10.
	n.UnitReward = n.UnitReward.Add(math.LegacyNewDec(10).QuoInt(n.Delegations))
	n.DelegatorPool = n.DelegatorPool.Add(i64(10))
	eqDec(t, "unit reward", n.UnitReward, "3.333333333333333333")
	paid := math.ZeroInt()
	for i := range ds {
		r, err := n.Undelegate(&ds[i], i64(1))
		if err != nil {
			t.Fatal(err)
		}
		eqInt(t, "payout", r, 3)
		paid = paid.Add(r)
	}
	eqInt(t, "pool before dust", n.DelegatorPool, 1)
	dust, err := n.TakeDust()
	if err != nil {
		t.Fatal(err)
	}
	eqInt(t, "dust", dust, 1)
	eqInt(t, "paid + dust", paid.Add(dust), 10)
	eqInt(t, "pool after dust", n.DelegatorPool, 0)
}

func TestTakeDustWithDelegationsLeft(t *testing.T) {
	n := mustNode(t, 1000)
	var d Delegation
	if _, err := n.Delegate(&d, i64(7)); err != nil {
		t.Fatal(err)
	}
	n.DelegatorPool = i64(5)
	got, err := n.TakeDust()
	if err != nil || !got.IsZero() {
		t.Fatalf("TakeDust = %v, %v; want 0 while delegations remain", got, err)
	}
	eqInt(t, "pool untouched", n.DelegatorPool, 5)
}

// Delegating more to an existing delegation settles it first, so the new
// amount earns only from now on.
func TestDelegateMoreSettlesFirst(t *testing.T) {
	iv := handInterval(t)
	n := mustNode(t, 10_000_000_000)
	var d Delegation
	if _, err := n.Delegate(&d, i64(15_000_000_000)); err != nil {
		t.Fatal(err)
	}
	// 22,320,000 total at perf 0.9 (TestHandActiveNodeWithDelegations): the only delegation gets 10,540,800.
	if _, err := n.ApplyEpoch(iv, dec("0.9"), Active); err != nil {
		t.Fatal(err)
	}
	r, err := n.Delegate(&d, i64(5_000_000_000))
	if err != nil {
		t.Fatal(err)
	}
	eqInt(t, "reward paid on top-up", r, 10_540_800)
	eqInt(t, "amount", d.Amount, 20_000_000_000)
	eqInt(t, "pool", n.DelegatorPool, 0)
	p, _ := n.PendingReward(d)
	eqInt(t, "pending after top-up", p, 0)
}

func TestBadInputsChangeNothing(t *testing.T) {
	iv := handInterval(t)
	n := mustNode(t, 10_000_000_000)
	var d Delegation
	if _, err := n.Delegate(&d, i64(15_000_000_000)); err != nil {
		t.Fatal(err)
	}
	if _, err := n.ApplyEpoch(iv, dec("1"), Active); err != nil {
		t.Fatal(err)
	}
	snapN, snapD := n, d
	same := func(what string) {
		t.Helper()
		if !n.Pledge.Equal(snapN.Pledge) || !n.Delegations.Equal(snapN.Delegations) || !n.UnitReward.Equal(snapN.UnitReward) ||
			!n.OperatorReward.Equal(snapN.OperatorReward) || !n.DelegatorPool.Equal(snapN.DelegatorPool) ||
			!d.Amount.Equal(snapD.Amount) || !d.UnitReward.Equal(snapD.UnitReward) {
			t.Errorf("%s changed the state", what)
		}
	}
	check := func(what string, err error, target error) {
		t.Helper()
		if !errors.Is(err, target) {
			t.Errorf("%s: err = %v, want %v", what, err, target)
		}
		same(what)
	}
	_, err := n.ApplyEpoch(iv, dec("1.01"), Active)
	check("performance above 1", err, ErrInvalidPerformance)
	_, err = n.ApplyEpoch(iv, dec("-0.1"), Active)
	check("negative performance", err, ErrInvalidPerformance)
	_, err = n.ApplyEpoch(iv, math.LegacyDec{}, Active)
	check("nil performance", err, ErrInvalidPerformance)
	_, err = n.ApplyEpoch(iv, dec("1"), Status(0))
	check("zero status", err, ErrInvalidStatus)
	_, err = n.Undelegate(&d, i64(15_000_000_001))
	check("undelegate more than delegated", err, ErrInsufficient)
	_, err = n.Undelegate(&d, i64(0))
	check("undelegate zero", err, ErrInvalidAmount)
	_, err = n.Delegate(&d, i64(-5))
	check("negative delegation", err, ErrInvalidAmount)
	_, err = n.Delegate(&d, math.Int{})
	check("nil delegation", err, ErrInvalidAmount)
	err = n.DecreasePledge(i64(10_000_000_001))
	check("decrease pledge below zero", err, ErrInsufficient)
	err = n.IncreasePledge(math.NewIntFromBigInt(maxAmount))
	check("huge pledge increase", err, ErrInvalidAmount)
	err = n.SetCostParams(CostParams{ProfitMargin: dec("1.5"), IntervalOperatingCost: i64(1)})
	check("profit margin above 1", err, ErrInvalidParams)

	// A delegation record ahead of the node (corrupt state) is refused.
	bad := Delegation{Amount: d.Amount, UnitReward: n.UnitReward.Add(dec("1"))}
	_, err = n.Settle(&bad)
	check("record ahead of node", err, ErrInvalidDelegation)
	_, err = n.PendingReward(bad)
	check("pending of record ahead of node", err, ErrInvalidDelegation)
	// A delegation larger than the node's total is refused.
	tooBig := Delegation{Amount: n.Delegations.Add(i64(1)), UnitReward: math.LegacyZeroDec()}
	_, err = n.Settle(&tooBig)
	check("delegation above node total", err, ErrInvalidDelegation)
	// Half-initialised delegation record.
	half := Delegation{Amount: i64(1)}
	_, err = n.Delegate(&half, i64(1))
	check("half-initialised record", err, ErrInvalidDelegation)
	// A pool smaller than what is owed (corrupt state) is refused, not paid.
	corrupt := n
	corrupt.DelegatorPool = i64(1)
	dd := d
	if _, err := corrupt.Settle(&dd); !errors.Is(err, ErrInvalidDelegation) {
		t.Errorf("settle from a short pool: err = %v", err)
	}
	if !dd.UnitReward.Equal(d.UnitReward) || !corrupt.DelegatorPool.Equal(i64(1)) {
		t.Errorf("failed settle changed state")
	}

	// Nil fields are reported, never a panic.
	var zero Node
	if _, err := zero.ApplyEpoch(iv, dec("1"), Active); !errors.Is(err, ErrInvalidNode) {
		t.Errorf("zero node: err = %v", err)
	}
	if _, err := zero.WithdrawOperatorReward(); !errors.Is(err, ErrInvalidNode) {
		t.Errorf("zero node withdraw: err = %v", err)
	}
	if _, err := zero.TakeDust(); !errors.Is(err, ErrInvalidNode) {
		t.Errorf("zero node dust: err = %v", err)
	}
	if _, err := NewNode(i64(0), handCost()); !errors.Is(err, ErrInvalidAmount) {
		t.Errorf("zero pledge: err = %v", err)
	}
	if _, err := NewNode(i64(1), CostParams{}); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("nil cost params: err = %v", err)
	}
}

// Huge values in a corrupt store give an error, never a panic.
func TestOverflowIsAnError(t *testing.T) {
	n := mustNode(t, 1000)
	var d Delegation
	if _, err := n.Delegate(&d, i64(1000)); err != nil {
		t.Fatal(err)
	}
	// 2^255: still a valid LegacyDec, but × 1000 leaves its range.
	n.UnitReward = math.LegacyNewDecFromBigInt(new(big.Int).Lsh(big.NewInt(1), 255))
	n.DelegatorPool = math.NewIntFromBigInt(maxAmount).SubRaw(1)
	if _, err := n.PendingReward(d); !errors.Is(err, ErrOverflow) {
		t.Fatalf("pending with an absurd unit reward: err = %v, want ErrOverflow", err)
	}
	before := d
	if _, err := n.Settle(&d); !errors.Is(err, ErrOverflow) {
		t.Fatalf("settle with an absurd unit reward: err = %v, want ErrOverflow", err)
	}
	if !d.UnitReward.Equal(before.UnitReward) {
		t.Error("failed settle changed the delegation")
	}
}

func TestStatusString(t *testing.T) {
	if Active.String() != "active" || Standby.String() != "standby" || Status(7).String() != "invalid(7)" {
		t.Error("Status.String")
	}
}

// Saturation never panics, whatever the stake.
func TestSaturationHugeStake(t *testing.T) {
	iv := handInterval(t)
	huge := math.NewIntFromBigInt(new(big.Int).Lsh(big.NewInt(1), 250))
	eqDec(t, "saturation(2^250)", iv.Saturation(huge), "1")
	eqDec(t, "saturation(nil)", iv.Saturation(math.Int{}), "0")
	eqDec(t, "saturation(-1)", iv.Saturation(i64(-1)), "0")
	// The largest valid stake (two amounts just below 2^128) is computed exactly.
	top := math.NewIntFromBigInt(new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), MaxAmountBits+1), big.NewInt(2)))
	if s := iv.Saturation(top); !s.GT(math.LegacyOneDec()) {
		t.Errorf("saturation of the largest valid stake = %v", s)
	}
}
