// Package selection assigns the mixnet's roles for an epoch: a
// deterministic, weighted random draw without replacement over the bonded
// nodes, seeded from block data, so that every validator computes the same
// assignment.
//
// The package is pure (no store, no I/O, no global state) and uses integer
// arithmetic only: no floats, so the result is identical on every platform.
// It imports only the standard library and cosmossdk.io/math.
//
// # The draw
//
// Candidates are first sorted by ID, so the result does not depend on the
// order they are given in. Random numbers come from SHA-256 in counter mode
// keyed by the 32-byte seed (see [Stream]); a number uniform in [0, W) is
// drawn by rejection sampling, so it is exactly uniform. A node is drawn
// with probability weight / (sum of the weights not yet drawn), by walking a
// Fenwick tree of the weights, then removed: a draw costs O(log n), the whole
// assignment O(n log n).
//
// Weights are math.Int. If their sum does not fit in 62 bits, every weight
// is shifted right by the same number of bits (a relative change below
// 2^-50 for any node whose weight matters) and a positive weight never
// becomes zero. Nodes of zero weight are never drawn while a node of
// positive weight remains; after that they are drawn uniformly at random.
// The keeper filters out nodes that must never be chosen (for example below
// the minimum performance) before calling [Assign].
//
// # Roles
//
// Any node may serve any role. [Assign] first draws the active set (entry
// gateways + exit gateways + mix nodes) by weight, then the standby set by
// weight from the remaining nodes. It then shuffles the active set uniformly
// and deals it out to the roles. Drawing the roles one after the other by
// weight (entry gateways first) would give the heaviest nodes the entry role
// far more often; dealing a shuffled active set makes a node's role
// independent of its weight, while its chance of being active still grows
// with its weight. Mix nodes are dealt to the three layers round robin, so
// layer sizes differ by at most one.
//
// When there are fewer candidates than active slots, the roles are filled
// round robin in the order entry gateway, exit gateway, layer 1, layer 2,
// layer 3 (each while it has room), so that a working route exists as soon as
// there are five nodes, and the standby set stays empty.
package selection

import (
	"cmp"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"cosmossdk.io/math"
)

// SeedSize is the size in bytes of the seed of a draw.
const SeedSize = 32

// ErrInvalidCandidate reports a candidate with a nil or negative weight, or
// a duplicate ID; the returned errors wrap it with what was being done.
var ErrInvalidCandidate = errors.New("selection: invalid candidate")

// Candidate is a node that may be given a role: its ID and its weight,
// normally stake × performance truncated to an integer.
type Candidate struct {
	ID     uint64
	Weight math.Int
}

// Sizes are the wanted number of nodes per role. MixNodes is the total over
// the three layers.
type Sizes struct {
	EntryGateways uint32
	ExitGateways  uint32
	MixNodes      uint32
	Standby       uint32
}

// Active returns EntryGateways + ExitGateways + MixNodes.
func (s Sizes) Active() uint64 {
	return uint64(s.EntryGateways) + uint64(s.ExitGateways) + uint64(s.MixNodes)
}

// Total returns Active() + Standby.
func (s Sizes) Total() uint64 { return s.Active() + uint64(s.Standby) }

// Role is a node's role in an epoch.
type Role uint8

// The roles. RoleNone (the zero Role) is a node without a role.
const (
	RoleNone Role = iota
	RoleEntryGateway
	RoleLayer1
	RoleLayer2
	RoleLayer3
	RoleExitGateway
	RoleStandby
)

// String returns the role's name, e.g. "entry-gateway" or "layer-2".
func (r Role) String() string {
	switch r {
	case RoleNone:
		return "none"
	case RoleEntryGateway:
		return "entry-gateway"
	case RoleLayer1:
		return "layer-1"
	case RoleLayer2:
		return "layer-2"
	case RoleLayer3:
		return "layer-3"
	case RoleExitGateway:
		return "exit-gateway"
	case RoleStandby:
		return "standby"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// Assignment is the result of [Assign]: the node IDs of every role, each
// list sorted ascending. A node appears at most once in the whole assignment.
type Assignment struct {
	EntryGateways []uint64
	ExitGateways  []uint64
	// Layers holds the mix nodes of layers 1, 2 and 3; their lengths differ by at most one.
	Layers  [3][]uint64
	Standby []uint64
}

// MixNodes returns the number of mix nodes over the three layers.
func (a Assignment) MixNodes() int { return len(a.Layers[0]) + len(a.Layers[1]) + len(a.Layers[2]) }

// Len returns the number of nodes with a role.
func (a Assignment) Len() int {
	return len(a.EntryGateways) + len(a.ExitGateways) + a.MixNodes() + len(a.Standby)
}

// Roles returns the assignment as a map from node ID to role.
func (a Assignment) Roles() map[uint64]Role {
	m := make(map[uint64]Role, a.Len())
	put := func(ids []uint64, r Role) {
		for _, id := range ids {
			m[id] = r
		}
	}
	put(a.EntryGateways, RoleEntryGateway)
	put(a.ExitGateways, RoleExitGateway)
	put(a.Layers[0], RoleLayer1)
	put(a.Layers[1], RoleLayer2)
	put(a.Layers[2], RoleLayer3)
	put(a.Standby, RoleStandby)
	return m
}

// Assign draws the roles of an epoch from the candidates, by weight, with
// the given seed (see the package documentation for the procedure). It
// returns min(sizes.Active(), len(candidates)) active nodes and as many
// standby nodes as are wanted and left. The same candidates (in any order),
// seed and sizes always give the same Assignment. It fails on a duplicate ID
// or a nil or negative weight; it does not modify candidates.
func Assign(candidates []Candidate, seed [SeedSize]byte, sizes Sizes) (Assignment, error) {
	d, err := newDrawer(candidates, seed)
	if err != nil {
		return Assignment{}, fmt.Errorf("assign roles: %w", err)
	}
	active := d.draw(sizes.Active())
	standby := d.draw(uint64(sizes.Standby))

	// Deal a uniformly shuffled active set: a node's role must not depend on its weight.
	for i := len(active) - 1; i > 0; i-- {
		j := d.rng.Uint64n(uint64(i) + 1)
		active[i], active[j] = active[j], active[i]
	}
	counts := roleCounts(uint64(len(active)), sizes)
	var a Assignment
	next := 0
	take := func(n uint64) []uint64 {
		out := make([]uint64, n)
		copy(out, active[next:next+int(n)])
		next += int(n)
		slices.Sort(out)
		return out
	}
	a.EntryGateways = take(counts[0])
	a.ExitGateways = take(counts[1])
	// Mix nodes are dealt round robin from the shuffled order, so layer
	// sizes differ by at most one (layer 1 ≥ layer 2 ≥ layer 3, as counts says).
	mixCount := int(counts[2] + counts[3] + counts[4])
	for i, id := range active[next : next+mixCount] {
		a.Layers[i%3] = append(a.Layers[i%3], id)
	}
	for i := range a.Layers {
		slices.Sort(a.Layers[i])
	}
	a.Standby = standby
	slices.Sort(a.Standby)
	return a, nil
}

// roleCounts returns how many of n active nodes go to entry, exit, layer 1,
// layer 2 and layer 3. With enough nodes every role gets its size (the mix
// nodes split as evenly as possible, extra ones to the lower layers);
// otherwise the roles are filled one node at a time in that order.
func roleCounts(n uint64, s Sizes) [5]uint64 {
	m := uint64(s.MixNodes)
	capacity := [5]uint64{uint64(s.EntryGateways), uint64(s.ExitGateways), (m + 2) / 3, (m + 1) / 3, m / 3}
	if n >= s.Active() {
		return capacity
	}
	var c [5]uint64
	// Whole rounds first, so this is O(1) per role and not O(n).
	for n > 0 {
		open := uint64(0)
		minRoom := uint64(0)
		for i := range c {
			if room := capacity[i] - c[i]; room > 0 {
				if open == 0 || room < minRoom {
					minRoom = room
				}
				open++
			}
		}
		if open == 0 {
			break
		}
		if rounds := min(minRoom, n/open); rounds > 0 {
			for i := range c {
				if capacity[i] > c[i] {
					c[i] += rounds
				}
			}
			n -= rounds * open
			continue
		}
		for i := range c {
			if n == 0 {
				break
			}
			if capacity[i] > c[i] {
				c[i]++
				n--
			}
		}
	}
	// The layers were filled round robin in order, so layer 1 ≥ layer 2 ≥ layer 3 ≥ layer 1 − 1.
	return c
}

// Draw returns up to n candidate IDs drawn by weight without replacement,
// in draw order: each draw picks a remaining candidate with probability
// weight / (sum of the remaining weights), and candidates of zero weight come
// last, in uniformly random order. It is the draw [Assign] uses for its
// active set; the same inputs (in any order) always give the same result.
func Draw(candidates []Candidate, seed [SeedSize]byte, n uint64) ([]uint64, error) {
	d, err := newDrawer(candidates, seed)
	if err != nil {
		return nil, fmt.Errorf("draw: %w", err)
	}
	return d.draw(n), nil
}

// drawer holds the state of a draw without replacement.
type drawer struct {
	ids    []uint64 // sorted by ID; index i is Fenwick position i+1
	tree   fenwick
	total  uint64   // sum of the remaining positive weights
	zeros  []uint64 // IDs of zero-weight candidates, sorted
	zeroAt int      // zeros[:zeroAt] are already drawn (after a shuffle)
	shuf   bool
	rng    *Stream
}

// maxTotalBits bounds the sum of the weights in the tree, so that sums never
// overflow a uint64 and rejection sampling wastes at most half its draws.
const maxTotalBits = 62

func newDrawer(candidates []Candidate, seed [SeedSize]byte) (*drawer, error) {
	// Sort (ID, index) pairs rather than the candidates: no pointers to move.
	type key struct {
		id  uint64
		idx int
	}
	order := make([]key, len(candidates))
	for i, c := range candidates {
		order[i] = key{c.ID, i}
	}
	slices.SortFunc(order, func(a, b key) int { return cmp.Compare(a.id, b.id) })
	sum := new(big.Int)
	for i, k := range order {
		c := candidates[k.idx]
		if i > 0 && order[i-1].id == k.id {
			return nil, fmt.Errorf("%w: duplicate id %d", ErrInvalidCandidate, c.ID)
		}
		if c.Weight.IsNil() || c.Weight.IsNegative() {
			return nil, fmt.Errorf("%w: id %d has weight %v", ErrInvalidCandidate, c.ID, c.Weight)
		}
		sum.Add(sum, c.Weight.BigIntMut())
	}
	shift := uint(0)
	if bl := sum.BitLen(); bl > maxTotalBits-1 {
		// Leave room for the +1 given to positive weights that shift to zero.
		shift = uint(bl - (maxTotalBits - 1))
	}
	d := &drawer{rng: NewStream(seed)}
	weights := make([]uint64, 0, len(order))
	w := new(big.Int)
	for _, k := range order {
		c := candidates[k.idx]
		if c.Weight.IsZero() {
			d.zeros = append(d.zeros, c.ID)
			continue
		}
		w.Rsh(c.Weight.BigIntMut(), shift)
		v := w.Uint64()
		if v == 0 {
			v = 1
		}
		d.ids = append(d.ids, c.ID)
		weights = append(weights, v)
		d.total += v
	}
	d.tree = newFenwick(weights)
	return d, nil
}

// draw returns up to n more IDs, positive weights first.
func (d *drawer) draw(n uint64) []uint64 {
	remaining := uint64(len(d.zeros)-d.zeroAt) + uint64(d.tree.count)
	n = min(n, remaining)
	out := make([]uint64, 0, n)
	for uint64(len(out)) < n && d.total > 0 {
		r := d.rng.Uint64n(d.total)
		i, w := d.tree.find(r)
		d.tree.remove(i, w)
		d.total -= w
		out = append(out, d.ids[i])
	}
	if uint64(len(out)) < n {
		if !d.shuf {
			for i := len(d.zeros) - 1; i > 0; i-- {
				j := d.rng.Uint64n(uint64(i) + 1)
				d.zeros[i], d.zeros[j] = d.zeros[j], d.zeros[i]
			}
			d.shuf = true
		}
		k := int(n - uint64(len(out)))
		out = append(out, d.zeros[d.zeroAt:d.zeroAt+k]...)
		d.zeroAt += k
	}
	return out
}
