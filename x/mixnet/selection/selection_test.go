package selection

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"cosmossdk.io/math"
)

func seedOf(i uint64) [SeedSize]byte {
	var s [SeedSize]byte
	binary.BigEndian.PutUint64(s[:], i)
	s[31] = 0xa5
	return s
}

// candidates returns n candidates with IDs 100.. and weight(i).
func candidates(n int, weight func(i int) int64) []Candidate {
	cs := make([]Candidate, n)
	for i := range cs {
		cs[i] = Candidate{ID: uint64(100 + i), Weight: math.NewInt(weight(i))}
	}
	return cs
}

// checkAssignment verifies structural invariants: no duplicates, only
// candidates, sorted lists, layer sizes differing by at most one.
func checkAssignment(t *testing.T, a Assignment, cs []Candidate) {
	t.Helper()
	known := map[uint64]bool{}
	for _, c := range cs {
		known[c.ID] = true
	}
	seen := map[uint64]bool{}
	for _, list := range [][]uint64{a.EntryGateways, a.ExitGateways, a.Layers[0], a.Layers[1], a.Layers[2], a.Standby} {
		if !slices.IsSorted(list) {
			t.Errorf("list not sorted: %v", list)
		}
		for _, id := range list {
			if !known[id] {
				t.Errorf("id %d is not a candidate", id)
			}
			if seen[id] {
				t.Errorf("id %d assigned twice", id)
			}
			seen[id] = true
		}
	}
	l0, l1, l2 := len(a.Layers[0]), len(a.Layers[1]), len(a.Layers[2])
	if max(l0, l1, l2)-min(l0, l1, l2) > 1 {
		t.Errorf("layer sizes %d/%d/%d differ by more than one", l0, l1, l2)
	}
	if roles := a.Roles(); len(roles) != a.Len() {
		t.Errorf("Roles has %d entries, Len %d", len(roles), a.Len())
	}
}

func TestDeterministicAndOrderIndependent(t *testing.T) {
	cs := candidates(500, func(i int) int64 { return int64(1 + (i*7919)%1000) })
	sizes := Sizes{EntryGateways: 20, ExitGateways: 30, MixNodes: 60, Standby: 40}
	a, err := Assign(cs, seedOf(1), sizes)
	if err != nil {
		t.Fatal(err)
	}
	checkAssignment(t, a, cs)
	shuffled := slices.Clone(cs)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for range 3 {
		b, err := Assign(shuffled, seedOf(1), sizes)
		if err != nil {
			t.Fatal(err)
		}
		if !equalAssignments(a, b) {
			t.Fatalf("same input in another order gave another assignment")
		}
	}
	if !slices.EqualFunc(cs, candidates(500, func(i int) int64 { return int64(1 + (i*7919)%1000) }), func(a, b Candidate) bool {
		return a.ID == b.ID && a.Weight.Equal(b.Weight)
	}) {
		t.Error("Assign modified its input")
	}
	c, err := Assign(cs, seedOf(2), sizes)
	if err != nil {
		t.Fatal(err)
	}
	if equalAssignments(a, c) {
		t.Error("two seeds gave the same assignment")
	}
}

func equalAssignments(a, b Assignment) bool {
	return slices.Equal(a.EntryGateways, b.EntryGateways) && slices.Equal(a.ExitGateways, b.ExitGateways) &&
		slices.Equal(a.Layers[0], b.Layers[0]) && slices.Equal(a.Layers[1], b.Layers[1]) &&
		slices.Equal(a.Layers[2], b.Layers[2]) && slices.Equal(a.Standby, b.Standby)
}

// A fixed vector: the assignment is consensus state, so any change to the
// algorithm (stream, draw, shuffle, dealing) must show up here.
func TestGoldenAssignment(t *testing.T) {
	cs := candidates(12, func(i int) int64 { return int64(i % 4) }) // three of weight 0
	a, err := Assign(cs, seedOf(42), Sizes{EntryGateways: 2, ExitGateways: 2, MixNodes: 4, Standby: 2})
	if err != nil {
		t.Fatal(err)
	}
	// 104 has weight 0: it comes in only once the nine positive nodes are drawn, as the last standby.
	want := Assignment{
		EntryGateways: []uint64{106, 107},
		ExitGateways:  []uint64{103, 105},
		Layers:        [3][]uint64{{109, 111}, {102}, {110}},
		Standby:       []uint64{101, 104},
	}
	if !equalAssignments(a, want) {
		t.Fatalf("assignment changed:\n got  %+v\n want %+v", a, want)
	}
}

// The stream is exactly SHA-256(domain || seed || counter), four big-endian words per block.
func TestStreamSpec(t *testing.T) {
	seed := seedOf(7)
	s := NewStream(seed)
	for block := range uint64(3) {
		msg := append([]byte("nyx/mixnet/selection/v1"), seed[:]...)
		msg = binary.BigEndian.AppendUint64(msg, block)
		sum := sha256.Sum256(msg)
		for w := range 4 {
			if got, want := s.Uint64(), binary.BigEndian.Uint64(sum[8*w:]); got != want {
				t.Fatalf("block %d word %d: %x, want %x", block, w, got, want)
			}
		}
	}
}

func TestUint64nUniform(t *testing.T) {
	s := NewStream(seedOf(9))
	if s.Uint64n(0) != 0 || s.Uint64n(1) != 0 {
		t.Fatal("Uint64n(0|1) != 0")
	}
	const n, draws = 6, 60_000
	var counts [n]int
	for range draws {
		v := s.Uint64n(n)
		if v >= n {
			t.Fatalf("Uint64n(%d) = %d", n, v)
		}
		counts[v]++
	}
	// Each count ~ Binomial(60000, 1/6): mean 10000, sd ≈ 91; allow 6 sd.
	for v, c := range counts {
		if c < 10_000-550 || c > 10_000+550 {
			t.Errorf("value %d drawn %d times of %d", v, c, draws)
		}
	}
	if v := s.Uint64n(1 << 63); v >= 1<<63 {
		t.Errorf("Uint64n(2^63) = %d", v)
	}
}

// The first draw picks a node with probability weight / total. Over 20,000
// fixed seeds, each node's count must lie within 6 standard deviations of
// its expectation, and a node of weight 2 must be picked about twice as
// often as one of weight 1.
func TestFirstDrawProportionalToWeight(t *testing.T) {
	weights := []int64{1, 2, 3, 4, 10, 0, 20}
	cs := candidates(len(weights), func(i int) int64 { return weights[i] })
	var total int64
	for _, w := range weights {
		total += w
	}
	const seeds = 20_000
	counts := map[uint64]int{}
	for s := range uint64(seeds) {
		ids, err := Draw(cs, seedOf(s), 1)
		if err != nil {
			t.Fatal(err)
		}
		counts[ids[0]]++
	}
	for i, w := range weights {
		p := float64(w) / float64(total)
		mean := seeds * p
		sd := sqrt(seeds * p * (1 - p))
		got := float64(counts[cs[i].ID])
		if got < mean-6*sd || got > mean+6*sd {
			t.Errorf("weight %d: drawn %v times, expected %.0f ± %.0f", w, got, mean, 6*sd)
		}
	}
	if counts[cs[5].ID] != 0 {
		t.Errorf("zero-weight node drawn first %d times", counts[cs[5].ID])
	}
	ratio := float64(counts[cs[1].ID]) / float64(counts[cs[0].ID])
	if ratio < 1.7 || ratio > 2.3 {
		t.Errorf("weight 2 / weight 1 drawn ratio %.2f, want about 2", ratio)
	}
}

func sqrt(x float64) float64 { // test-only, to keep the math import for cosmossdk.io/math
	r := x
	for range 60 {
		r = (r + x/r) / 2
	}
	return r
}

// Heavier nodes are in the active set more often, and a node's role within
// the active set does not depend on its weight.
func TestAssignWeighting(t *testing.T) {
	// 40 nodes: 20 of weight 1, 20 of weight 2; 12 active slots.
	cs := candidates(40, func(i int) int64 { return int64(1 + i%2) })
	sizes := Sizes{EntryGateways: 3, ExitGateways: 3, MixNodes: 6}
	var light, heavy int
	heavyRoles := map[Role]int{}
	for s := range uint64(3000) {
		a, err := Assign(cs, seedOf(s), sizes)
		if err != nil {
			t.Fatal(err)
		}
		for id, r := range a.Roles() {
			if (id-100)%2 == 1 {
				heavy++
				heavyRoles[r]++
			} else {
				light++
			}
		}
	}
	// Without replacement inclusion is not exactly proportional, but heavy
	// nodes must be clearly favoured (exact ratio ≈ 1.8 here).
	if ratio := float64(heavy) / float64(light); ratio < 1.5 || ratio > 2.2 {
		t.Errorf("heavy/light inclusion ratio %.2f", ratio)
	}
	// Roles of heavy nodes follow the slot counts 3:3:2:2:2 (shuffled dealing).
	perSlot := float64(heavy) / 12
	for r, slots := range map[Role]float64{RoleEntryGateway: 3, RoleExitGateway: 3, RoleLayer1: 2, RoleLayer2: 2, RoleLayer3: 2} {
		got := float64(heavyRoles[r])
		if got < 0.9*slots*perSlot || got > 1.1*slots*perSlot {
			t.Errorf("heavy nodes as %v: %v, expected about %.0f", r, got, slots*perSlot)
		}
	}
}

func TestLayering(t *testing.T) {
	cs := candidates(300, func(i int) int64 { return int64(1 + i) })
	for _, mix := range []uint32{0, 1, 2, 3, 4, 5, 7, 120, 121, 122} {
		sizes := Sizes{EntryGateways: 5, ExitGateways: 6, MixNodes: mix, Standby: 9}
		a, err := Assign(cs, seedOf(uint64(mix)), sizes)
		if err != nil {
			t.Fatal(err)
		}
		checkAssignment(t, a, cs)
		if len(a.EntryGateways) != 5 || len(a.ExitGateways) != 6 || a.MixNodes() != int(mix) || len(a.Standby) != 9 {
			t.Errorf("mix %d: sizes %d/%d/%d/%d", mix, len(a.EntryGateways), len(a.ExitGateways), a.MixNodes(), len(a.Standby))
		}
		want := [3]int{int(mix+2) / 3, int(mix+1) / 3, int(mix) / 3}
		for l := range 3 {
			if len(a.Layers[l]) != want[l] {
				t.Errorf("mix %d: layer %d has %d, want %d", mix, l+1, len(a.Layers[l]), want[l])
			}
		}
	}
}

func TestFewerCandidatesThanSlots(t *testing.T) {
	sizes := Sizes{EntryGateways: 4, ExitGateways: 3, MixNodes: 9, Standby: 5}
	// want[n] = entry, exit, L1, L2, L3 for n candidates (round robin in that order).
	want := map[int][5]int{
		0:  {0, 0, 0, 0, 0},
		1:  {1, 0, 0, 0, 0},
		3:  {1, 1, 1, 0, 0},
		5:  {1, 1, 1, 1, 1},
		7:  {2, 2, 1, 1, 1},
		12: {3, 3, 2, 2, 2},
		15: {3, 3, 3, 3, 3},
		16: {4, 3, 3, 3, 3},
	}
	for n, w := range want {
		cs := candidates(n, func(i int) int64 { return int64(1 + i) })
		a, err := Assign(cs, seedOf(uint64(n)), sizes)
		if err != nil {
			t.Fatal(err)
		}
		checkAssignment(t, a, cs)
		got := [5]int{len(a.EntryGateways), len(a.ExitGateways), len(a.Layers[0]), len(a.Layers[1]), len(a.Layers[2])}
		if got != w {
			t.Errorf("%d candidates: roles %v, want %v", n, got, w)
		}
		if len(a.Standby) != 0 {
			t.Errorf("%d candidates: standby %v, want none", n, a.Standby)
		}
		if a.Len() != n {
			t.Errorf("%d candidates: %d assigned", n, a.Len())
		}
	}
	// 18 candidates: the active set is full and 2 go to standby.
	cs := candidates(18, func(i int) int64 { return 1 })
	a, err := Assign(cs, seedOf(18), sizes)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Standby) != 2 || a.Len() != 18 {
		t.Errorf("18 candidates: standby %d, assigned %d", len(a.Standby), a.Len())
	}
}

func TestRoleCountsLarge(t *testing.T) {
	// O(1) per role even with huge sizes; counts sum to n and respect capacities.
	sizes := Sizes{EntryGateways: 1 << 31, ExitGateways: 7, MixNodes: 1<<32 - 1, Standby: 0}
	n := uint64(3_000_000_123)
	c := roleCounts(n, sizes)
	if c[0]+c[1]+c[2]+c[3]+c[4] != n || c[1] != 7 || c[2] < c[3] || c[3] < c[4] || c[2]-c[4] > 1 || c[0] > 1<<31 {
		t.Errorf("roleCounts = %v", c)
	}
}

func TestZeroWeightLast(t *testing.T) {
	cs := candidates(20, func(i int) int64 {
		if i%2 == 0 {
			return 0
		}
		return int64(i)
	})
	for s := range uint64(50) {
		ids, err := Draw(cs, seedOf(s), 15)
		if err != nil {
			t.Fatal(err)
		}
		for k, id := range ids {
			zero := (id-100)%2 == 0
			if k < 10 && zero {
				t.Fatalf("seed %d: zero-weight node %d drawn at %d while positive ones remained", s, id, k)
			}
			if k >= 10 && !zero {
				t.Fatalf("seed %d: positive node %d drawn after zero ones", s, id)
			}
		}
	}
	// All zero: still a full, uniform-order assignment.
	zeros := candidates(10, func(int) int64 { return 0 })
	a, err := Assign(zeros, seedOf(1), Sizes{EntryGateways: 1, ExitGateways: 1, MixNodes: 3, Standby: 2})
	if err != nil {
		t.Fatal(err)
	}
	checkAssignment(t, a, zeros)
	if a.Len() != 7 {
		t.Errorf("all-zero assigned %d, want 7", a.Len())
	}
}

// Weights beyond 62 bits are scaled down without losing small positive ones.
func TestHugeWeights(t *testing.T) {
	huge := math.NewIntFromBigInt(new(big.Int).Lsh(big.NewInt(1), 200))
	cs := []Candidate{{ID: 1, Weight: huge}, {ID: 2, Weight: huge}, {ID: 3, Weight: math.NewInt(1)}, {ID: 4, Weight: math.ZeroInt()}}
	firsts := map[uint64]int{}
	for s := range uint64(2000) {
		ids, err := Draw(cs, seedOf(s), 4)
		if err != nil {
			t.Fatal(err)
		}
		if ids[2] != 3 || ids[3] != 4 {
			t.Fatalf("seed %d: order %v, want the tiny node third and the zero one last", s, ids)
		}
		firsts[ids[0]]++
	}
	if firsts[1] < 850 || firsts[1] > 1150 {
		t.Errorf("equal huge weights: first %d / 2000 times", firsts[1])
	}
}

func TestBadCandidates(t *testing.T) {
	cases := map[string][]Candidate{
		"duplicate id":    {{ID: 1, Weight: math.NewInt(1)}, {ID: 1, Weight: math.NewInt(2)}},
		"nil weight":      {{ID: 1}},
		"negative weight": {{ID: 1, Weight: math.NewInt(-1)}},
	}
	for name, cs := range cases {
		if _, err := Assign(cs, seedOf(0), Sizes{EntryGateways: 1}); !errors.Is(err, ErrInvalidCandidate) {
			t.Errorf("%s: Assign err = %v", name, err)
		}
		if _, err := Draw(cs, seedOf(0), 1); !errors.Is(err, ErrInvalidCandidate) {
			t.Errorf("%s: Draw err = %v", name, err)
		}
	}
	a, err := Assign(nil, seedOf(0), Sizes{EntryGateways: 3, MixNodes: 3})
	if err != nil || a.Len() != 0 {
		t.Errorf("no candidates: %+v, %v", a, err)
	}
}

// The Fenwick tree agrees with a linear scan under random removals.
func TestFenwickAgainstLinearScan(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for trial := range 200 {
		n := 1 + r.IntN(70)
		w := make([]uint64, n)
		ref := make([]uint64, n)
		var total uint64
		for i := range w {
			if r.IntN(4) != 0 {
				w[i] = r.Uint64N(1000)
			}
			ref[i] = w[i]
			total += w[i]
		}
		f := newFenwick(w)
		for total > 0 {
			x := r.Uint64N(total)
			i, wi := f.find(x)
			// linear scan
			var acc uint64
			j := 0
			for ; acc+ref[j] <= x; j++ {
				acc += ref[j]
			}
			if i != j || wi != ref[j] {
				t.Fatalf("trial %d: find(%d) = %d (w %d), scan %d (w %d)", trial, x, i, wi, j, ref[j])
			}
			f.remove(i, wi)
			ref[i] = 0
			total -= wi
		}
	}
}

func TestRoleString(t *testing.T) {
	names := map[Role]string{RoleNone: "none", RoleEntryGateway: "entry-gateway", RoleLayer1: "layer-1", RoleLayer2: "layer-2",
		RoleLayer3: "layer-3", RoleExitGateway: "exit-gateway", RoleStandby: "standby", Role(99): "role(99)"}
	for r, s := range names {
		if r.String() != s {
			t.Errorf("%d.String() = %q", r, r.String())
		}
	}
}

// FuzzAssign checks the structural invariants on arbitrary candidate sets and sizes.
func FuzzAssign(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, uint8(1), uint8(1), uint8(3), uint8(1), uint64(7))
	f.Add([]byte{0, 0, 0, 0}, uint8(2), uint8(0), uint8(5), uint8(9), uint64(0))
	f.Add([]byte{255, 1, 255, 1, 0, 17, 17}, uint8(0), uint8(3), uint8(0), uint8(2), uint64(99))
	f.Fuzz(func(t *testing.T, weights []byte, entry, exit, mix, standby uint8, seed uint64) {
		cs := make([]Candidate, len(weights))
		for i, w := range weights {
			// Duplicate IDs when i collides mod 200: must be an error, not a panic.
			cs[i] = Candidate{ID: uint64(i % 200), Weight: math.NewInt(int64(w))}
		}
		sizes := Sizes{EntryGateways: uint32(entry), ExitGateways: uint32(exit), MixNodes: uint32(mix), Standby: uint32(standby)}
		a, err := Assign(cs, seedOf(seed), sizes)
		if len(weights) > 200 {
			if !errors.Is(err, ErrInvalidCandidate) {
				t.Fatalf("duplicate ids: err = %v", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		checkAssignment(t, a, cs)
		if want := min(uint64(len(cs)), sizes.Total()); uint64(a.Len()) != want {
			t.Fatalf("assigned %d, want %d", a.Len(), want)
		}
		positive := 0
		for _, w := range weights {
			if w > 0 {
				positive++
			}
		}
		// No zero-weight node while a positive one is left out.
		if a.Len() < positive {
			for id, r := range a.Roles() {
				if weights[id] == 0 {
					t.Fatalf("zero-weight node %d got %v while positive ones were left out", id, r)
				}
			}
		}
	})
}
