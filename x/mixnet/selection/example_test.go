package selection_test

import (
	"fmt"

	"cosmossdk.io/math"

	"github.com/nyx-privacy/nyx/x/mixnet/selection"
)

// Assign roles to eight nodes weighted by stake × performance.
func ExampleAssign() {
	var candidates []selection.Candidate
	for id := uint64(1); id <= 8; id++ {
		candidates = append(candidates, selection.Candidate{ID: id, Weight: math.NewIntFromUint64(id * 1_000_000)})
	}
	var seed [selection.SeedSize]byte // in the keeper: derived from block data
	a, err := selection.Assign(candidates, seed, selection.Sizes{EntryGateways: 1, ExitGateways: 1, MixNodes: 3, Standby: 2})
	if err != nil {
		panic(err)
	}
	fmt.Println("entry:", a.EntryGateways, "exit:", a.ExitGateways, "layers:", a.Layers, "standby:", a.Standby)
	fmt.Println("roles:", a.Len())
	// Output:
	// entry: [8] exit: [7] layers: [[5] [3] [6]] standby: [1 4]
	// roles: 7
}
