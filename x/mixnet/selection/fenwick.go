package selection

import "math/bits"

// fenwick is a Fenwick (binary indexed) tree over uint64 weights: prefix
// sums, point removal and "find the element at cumulative weight r", each in
// O(log n). Sums are bounded by the caller (below 2^62), so they never
// overflow.
type fenwick struct {
	tree  []uint64 // 1-based
	w     []uint64 // current weight of each element, 0-based
	count int      // elements with positive weight left
	top   int      // highest power of two ≤ len
}

func newFenwick(weights []uint64) fenwick {
	n := len(weights)
	f := fenwick{tree: make([]uint64, n+1), w: weights, count: n}
	for i, w := range weights {
		f.tree[i+1] += w
		if j := (i + 1) + ((i + 1) & -(i + 1)); j <= n {
			f.tree[j] += f.tree[i+1]
		}
	}
	if n > 0 {
		f.top = 1 << (bits.Len(uint(n)) - 1)
	}
	return f
}

// find returns the 0-based index i and weight of the element whose
// cumulative range [sum(w[:i]), sum(w[:i+1])) holds r; r must be below the
// current total.
func (f *fenwick) find(r uint64) (int, uint64) {
	pos := 0
	for step := f.top; step > 0; step >>= 1 {
		if next := pos + step; next < len(f.tree) && f.tree[next] <= r {
			pos = next
			r -= f.tree[next]
		}
	}
	return pos, f.w[pos]
}

// remove sets element i's weight (w, its current one) to zero.
func (f *fenwick) remove(i int, w uint64) {
	f.w[i] = 0
	f.count--
	for j := i + 1; j < len(f.tree); j += j & -j {
		f.tree[j] -= w
	}
}
