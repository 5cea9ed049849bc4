package rewarding_test

import (
	"fmt"

	"cosmossdk.io/math"

	"github.com/nyx-privacy/nyx/x/mixnet/rewarding"
)

// The keeper's sequence: build the interval, bond a node, delegate, reward
// an epoch, then pay the delegator and the operator.
func Example() {
	iv, err := rewarding.NewInterval(rewarding.DefaultParams(),
		rewarding.SetSizes{Active: 240, Standby: 0}, 720,
		math.NewInt(250_000_000_000_000), // reward pool
		math.NewInt(100_000_000_000_000)) // staking supply
	if err != nil {
		panic(err)
	}
	node, err := rewarding.NewNode(math.NewInt(100_000_000_000), rewarding.DefaultCostParams())
	if err != nil {
		panic(err)
	}
	var d rewarding.Delegation // zero: a new delegation
	if _, err := node.Delegate(&d, math.NewInt(50_000_000_000)); err != nil {
		panic(err)
	}
	rw, err := node.ApplyEpoch(iv, math.LegacyMustNewDecFromStr("0.95"), rewarding.Active)
	if err != nil {
		panic(err)
	}
	fmt.Println("node reward:", rw.Total, "operator:", rw.Operator, "delegators:", rw.Delegators)
	paid, err := node.Settle(&d)
	if err != nil {
		panic(err)
	}
	op, err := node.WithdrawOperatorReward()
	if err != nil {
		panic(err)
	}
	fmt.Println("delegator paid:", paid, "operator paid:", op, "dust kept:", node.DelegatorPool)
	// Output:
	// node reward: 17416666 operator: 12786295 delegators: 4630371
	// delegator paid: 4630371 operator paid: 12786295 dust kept: 0
}
