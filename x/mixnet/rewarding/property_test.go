package rewarding

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	"cosmossdk.io/math"
)

// The property test drives random nodes and delegations through random
// epochs and random delegate / undelegate / settle / withdraw operations,
// and checks the package against an exact model in big.Rat:
//
//   - every node reward is within one coin of the exact formula;
//   - every operator share is within one coin below the exact split;
//   - a rewarded set that fits the sizes never earns more than the epoch budget;
//   - each delegation's paid + pending never exceeds its exact entitlement and
//     falls short of it by less than one coin per settlement, plus one, plus
//     the 18-decimal truncation of the unit reward;
//   - for each node, whole coins add up exactly: credited = operator reward +
//     withdrawn + delegator pool + paid to delegators + dust, and the pool
//     always covers every pending reward;
//   - once every delegation is gone, the dust is less than one coin per
//     settlement plus one per epoch.

var precision = new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)

func ratDec(d math.LegacyDec) *big.Rat { return new(big.Rat).SetFrac(d.BigInt(), precision) }
func ratInt(i math.Int) *big.Rat       { return new(big.Rat).SetInt(i.BigInt()) }
func ratU(v uint64) *big.Rat           { return new(big.Rat).SetUint64(v) }

func ratMin1(r *big.Rat) *big.Rat {
	if r.Cmp(big.NewRat(1, 1)) > 0 {
		return big.NewRat(1, 1)
	}
	return r
}

// exactModel is the reward formula in exact rational arithmetic.
type exactModel struct {
	budget, sat, omegaA, omegaS, alpha, k, epochs *big.Rat
}

func newExactModel(p Params, sizes SetSizes, epochs uint32, pool, supply math.Int) exactModel {
	e := ratDec(p.IntervalPoolEmission)
	f := ratDec(p.ActiveSetWorkFactor)
	k := ratU(sizes.Rewarded())
	m := exactModel{alpha: ratDec(p.SybilResistance), k: k, epochs: ratU(uint64(epochs))}
	m.budget = new(big.Rat).Mul(ratInt(pool), e)
	m.budget.Quo(m.budget, m.epochs)
	m.sat = new(big.Rat).Mul(ratInt(supply), ratDec(p.StakingSupplyScaleFactor))
	m.sat.Quo(m.sat, k)
	den := new(big.Rat).Mul(f, ratU(uint64(sizes.Active)))
	den.Add(den, ratU(uint64(sizes.Standby)))
	m.omegaS = new(big.Rat).Inv(den)
	m.omegaA = new(big.Rat).Mul(f, m.omegaS)
	return m
}

func (m exactModel) saturation(x math.Int) *big.Rat {
	if !x.IsPositive() {
		return new(big.Rat)
	}
	if m.sat.Sign() == 0 {
		return big.NewRat(1, 1)
	}
	return ratMin1(new(big.Rat).Quo(ratInt(x), m.sat))
}

func (m exactModel) reward(n Node, perf math.LegacyDec, st Status) *big.Rat {
	sigma := m.saturation(n.Stake())
	lambda := m.saturation(n.Pledge)
	w := m.omegaA
	if st == Standby {
		w = m.omegaS
	}
	work := new(big.Rat).Mul(m.alpha, lambda)
	work.Quo(work, m.k)
	work.Add(work, w)
	r := new(big.Rat).Mul(m.budget, ratDec(perf))
	r.Mul(r, sigma)
	r.Mul(r, work)
	return r.Quo(r, new(big.Rat).Add(big.NewRat(1, 1), m.alpha))
}

// operator is the exact operator share of a whole reward.
func (m exactModel) operator(n Node, total math.Int, perf math.LegacyDec) *big.Rat {
	t := ratInt(total)
	cost := new(big.Rat).Quo(ratInt(n.Cost.IntervalOperatingCost), m.epochs)
	cost.Mul(cost, ratDec(perf))
	if cost.Cmp(t) >= 0 || n.Delegations.IsZero() {
		return t
	}
	margin := ratDec(n.Cost.ProfitMargin)
	share := new(big.Rat).SetFrac(n.Pledge.BigInt(), n.Stake().BigInt())
	keep := new(big.Rat).Sub(big.NewRat(1, 1), margin)
	keep.Mul(keep, share)
	keep.Add(keep, margin)
	profit := new(big.Rat).Sub(t, cost)
	return profit.Mul(profit, keep).Add(profit, cost)
}

type simDelegation struct {
	d       Delegation
	owed    *big.Rat // exact entitlement since creation
	paid    math.Int
	settles int
}

type simNode struct {
	n            Node
	dels         []*simDelegation
	closed       []*simDelegation
	credited     math.Int // Σ reward totals
	toDelegators math.Int // Σ delegators' parts
	opWithdrawn  math.Int
	delPaid      math.Int
	dust         math.Int
	settlements  int
	epochs       int
}

func randDec(r *rand.Rand, lo, hi int64, places int64) math.LegacyDec {
	// uniform on {lo, lo+10^-places, ..., hi}
	scale := int64(1)
	for range places {
		scale *= 10
	}
	return math.LegacyNewDecWithPrec(lo*scale+r.Int64N((hi-lo)*scale+1), places)
}

func randAmount(r *rand.Rand) math.Int {
	switch r.IntN(4) {
	case 0:
		return math.NewInt(1 + r.Int64N(100))
	case 1:
		return math.NewInt(1 + r.Int64N(1_000_000))
	default:
		return math.NewInt(1 + r.Int64N(1_000_000_000_000))
	}
}

func randPerf(r *rand.Rand) math.LegacyDec {
	switch r.IntN(6) {
	case 0:
		return math.LegacyZeroDec()
	case 1:
		return math.LegacyOneDec()
	default:
		return randDec(r, 0, 1, 4)
	}
}

func TestPropertyRewardsAddUp(t *testing.T) {
	const trials = 300
	for trial := range trials {
		r := rand.New(rand.NewPCG(uint64(trial), 0x6e7978))
		if err := runTrial(r); err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
	}
}

func runTrial(r *rand.Rand) error {
	p := Params{
		IntervalPoolEmission:     randDec(r, 0, 1, 4),
		SybilResistance:          randDec(r, 0, 1, 3),
		ActiveSetWorkFactor:      randDec(r, 1, 20, 2),
		StakingSupplyScaleFactor: randDec(r, 0, 1, 3),
	}
	if p.StakingSupplyScaleFactor.IsZero() {
		p.StakingSupplyScaleFactor = math.LegacyOneDec()
	}
	sizes := SetSizes{Active: 1 + uint32(r.IntN(8)), Standby: uint32(r.IntN(4))}
	epochs := uint32(1 + r.IntN(1000))
	pool := math.NewInt(r.Int64N(1_000_000_000_000_000))
	supply := math.NewInt(r.Int64N(1_000_000_000_000_000))
	if r.IntN(10) == 0 {
		supply = math.ZeroInt()
	}
	iv, err := NewInterval(p, sizes, epochs, pool, supply)
	if err != nil {
		return err
	}
	model := newExactModel(p, sizes, epochs, pool, supply)

	nodes := make([]*simNode, 1+r.IntN(int(sizes.Rewarded())+2))
	for i := range nodes {
		n, err := NewNode(randAmount(r), CostParams{
			ProfitMargin:          randDec(r, 0, 1, 2),
			IntervalOperatingCost: math.NewInt(r.Int64N(1_000_000_000)),
		})
		if err != nil {
			return err
		}
		nodes[i] = &simNode{n: n, credited: math.ZeroInt(), toDelegators: math.ZeroInt(),
			opWithdrawn: math.ZeroInt(), delPaid: math.ZeroInt(), dust: math.ZeroInt()}
	}

	for epoch := range 8 {
		for range r.IntN(12) {
			if err := randomOp(r, nodes[r.IntN(len(nodes))]); err != nil {
				return fmt.Errorf("epoch %d: %w", epoch, err)
			}
		}
		// Statuses that fit the set sizes: a random prefix active, the next standby, the rest unrewarded.
		order := r.Perm(len(nodes))
		epochTotal := new(big.Rat)
		for rank, idx := range order {
			var st Status
			switch {
			case rank < int(sizes.Active):
				st = Active
			case rank < int(sizes.Rewarded()):
				st = Standby
			default:
				continue
			}
			s := nodes[idx]
			perf := randPerf(r)
			exact := model.reward(s.n, perf, st)
			before := s.n
			rw, err := s.n.ApplyEpoch(iv, perf, st)
			if err != nil {
				return err
			}
			s.epochs++
			got := ratInt(rw.Total)
			// |R_int − R| < 1 (from below: floor; from above: only a 1e-18-scale rounding of N).
			if diff := new(big.Rat).Sub(exact, got); diff.Cmp(big.NewRat(1, 1)) >= 0 || diff.Cmp(big.NewRat(-1, 1_000_000)) < 0 {
				return fmt.Errorf("node reward %v, exact %v", rw.Total, exact.FloatString(6))
			}
			if !rw.Operator.Add(rw.Delegators).Equal(rw.Total) || rw.Operator.IsNegative() || rw.Delegators.IsNegative() {
				return fmt.Errorf("split %+v does not add up", rw)
			}
			opExact := model.operator(before, rw.Total, perf)
			if d := new(big.Rat).Sub(opExact, ratInt(rw.Operator)); d.Sign() < 0 || d.Cmp(big.NewRat(1, 1)) >= 0 {
				return fmt.Errorf("operator %v, exact %v", rw.Operator, opExact.FloatString(6))
			}
			epochTotal.Add(epochTotal, got)
			s.credited = s.credited.Add(rw.Total)
			s.toDelegators = s.toDelegators.Add(rw.Delegators)
			if rw.Delegators.IsPositive() {
				for _, d := range s.dels {
					share := new(big.Rat).SetFrac(new(big.Int).Mul(rw.Delegators.BigInt(), d.d.Amount.BigInt()), before.Delegations.BigInt())
					d.owed.Add(d.owed, share)
				}
			}
		}
		if epochTotal.Cmp(ratDec(iv.EpochBudget())) > 0 {
			return fmt.Errorf("epoch %d paid %v, above the budget %v", epoch, epochTotal.FloatString(0), iv.EpochBudget())
		}
		for _, s := range nodes {
			if err := s.check(); err != nil {
				return fmt.Errorf("epoch %d: %w", epoch, err)
			}
		}
	}

	// Everyone leaves: every coin put aside for delegators is paid or dust.
	for _, s := range nodes {
		for len(s.dels) > 0 {
			if err := s.undelegate(0, s.dels[0].d.Amount); err != nil {
				return err
			}
		}
		dust, err := s.n.TakeDust()
		if err != nil {
			return err
		}
		s.dust = s.dust.Add(dust)
		if err := s.check(); err != nil {
			return fmt.Errorf("final: %w", err)
		}
		if !s.delPaid.Add(s.dust).Equal(s.toDelegators) {
			return fmt.Errorf("delegators got %v + dust %v, credited %v", s.delPaid, s.dust, s.toDelegators)
		}
		if s.dust.GT(math.NewInt(int64(s.settlements + s.epochs))) {
			return fmt.Errorf("dust %v above %d settlements + %d epochs", s.dust, s.settlements, s.epochs)
		}
	}
	return nil
}

func randomOp(r *rand.Rand, s *simNode) error {
	switch op := r.IntN(7); {
	case op <= 1 || len(s.dels) == 0: // new delegation
		d := &simDelegation{owed: new(big.Rat), paid: math.ZeroInt()}
		reward, err := s.n.Delegate(&d.d, randAmount(r))
		if err != nil {
			return err
		}
		if !reward.IsZero() {
			return fmt.Errorf("a new delegation was paid %v", reward)
		}
		s.dels = append(s.dels, d)
	case op == 2: // top up
		d := s.dels[r.IntN(len(s.dels))]
		reward, err := s.n.Delegate(&d.d, randAmount(r))
		if err != nil {
			return err
		}
		s.paid(d, reward)
	case op == 3: // undelegate part or all
		i := r.IntN(len(s.dels))
		amt := s.dels[i].d.Amount
		if r.IntN(2) == 0 {
			amt = math.NewInt(1 + r.Int64N(amt.Int64()))
		}
		return s.undelegate(i, amt)
	case op == 4: // withdraw delegator reward
		d := s.dels[r.IntN(len(s.dels))]
		reward, err := s.n.Settle(&d.d)
		if err != nil {
			return err
		}
		s.paid(d, reward)
	case op == 5:
		w, err := s.n.WithdrawOperatorReward()
		if err != nil {
			return err
		}
		s.opWithdrawn = s.opWithdrawn.Add(w)
	default:
		if r.IntN(2) == 0 {
			return s.n.IncreasePledge(randAmount(r))
		}
		if s.n.Pledge.GT(math.OneInt()) {
			return s.n.DecreasePledge(math.NewInt(1 + r.Int64N(s.n.Pledge.Int64()-1)))
		}
	}
	return nil
}

func (s *simNode) paid(d *simDelegation, reward math.Int) {
	d.paid = d.paid.Add(reward)
	d.settles++
	s.settlements++
	s.delPaid = s.delPaid.Add(reward)
}

func (s *simNode) undelegate(i int, amt math.Int) error {
	d := s.dels[i]
	reward, err := s.n.Undelegate(&d.d, amt)
	if err != nil {
		return err
	}
	s.paid(d, reward)
	if d.d.Amount.IsZero() {
		s.dels = append(s.dels[:i], s.dels[i+1:]...)
		s.closed = append(s.closed, d)
		if len(s.dels) == 0 {
			dust, err := s.n.TakeDust()
			if err != nil {
				return err
			}
			s.dust = s.dust.Add(dust)
		}
	}
	return nil
}

func (s *simNode) check() error {
	n := s.n
	if err := n.Validate(); err != nil {
		return err
	}
	// Whole coins add up exactly.
	sum := n.OperatorReward.Add(s.opWithdrawn).Add(n.DelegatorPool).Add(s.delPaid).Add(s.dust)
	if !sum.Equal(s.credited) {
		return fmt.Errorf("operator %v + withdrawn %v + pool %v + paid %v + dust %v != credited %v",
			n.OperatorReward, s.opWithdrawn, n.DelegatorPool, s.delPaid, s.dust, s.credited)
	}
	total := math.ZeroInt()
	pending := math.ZeroInt()
	for _, d := range s.dels {
		total = total.Add(d.d.Amount)
		p, err := n.PendingReward(d.d)
		if err != nil {
			return err
		}
		pending = pending.Add(p)
		got := ratInt(d.paid.Add(p))
		if got.Cmp(d.owed) > 0 {
			return fmt.Errorf("delegation got %v, more than its exact %v", got.FloatString(3), d.owed.FloatString(3))
		}
		// Each payout floors (< 1 coin lost, kept as dust) and each epoch's unit
		// reward truncates at 18 places (< Amount × 10^-18 lost: below 10^-3 here).
		short := new(big.Rat).Sub(d.owed, got)
		bound := new(big.Rat).Add(ratU(uint64(d.settles+1)), big.NewRat(1, 1000))
		if short.Cmp(bound) >= 0 {
			return fmt.Errorf("delegation short by %v after %d settlements", short.FloatString(3), d.settles)
		}
	}
	if !total.Equal(n.Delegations) {
		return fmt.Errorf("delegations %v, node says %v", total, n.Delegations)
	}
	if pending.GT(n.DelegatorPool) {
		return fmt.Errorf("pending %v above the pool %v", pending, n.DelegatorPool)
	}
	return nil
}
