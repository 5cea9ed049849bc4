package selection

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"cosmossdk.io/math"
)

// benchCandidates returns n candidates with stake × performance weights of
// realistic size (up to 10^11 unym × a performance in [0, 1]).
func benchCandidates(n int) []Candidate {
	r := rand.New(rand.NewPCG(7, 8))
	cs := make([]Candidate, n)
	for i := range cs {
		cs[i] = Candidate{ID: r.Uint64(), Weight: math.NewInt(r.Int64N(100_000_000_000))}
	}
	return cs
}

// BenchmarkAssign draws a Nym-sized rewarded set (50 entry, 70 exit, 120 mix
// nodes, 120 standby) and, to show the O(n log n) bound, a set as large as
// the candidate list.
func BenchmarkAssign(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		cs := benchCandidates(n)
		for _, sz := range []struct {
			name  string
			sizes Sizes
		}{
			{"nym-set", Sizes{EntryGateways: 50, ExitGateways: 70, MixNodes: 120, Standby: 120}},
			{"all", Sizes{EntryGateways: uint32(n / 10), ExitGateways: uint32(n / 10), MixNodes: uint32(n * 3 / 10), Standby: uint32(n / 2)}},
		} {
			b.Run(fmt.Sprintf("n=%d/%s", n, sz.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := Assign(cs, seedOf(1), sz.sizes); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
