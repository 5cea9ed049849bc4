package rewarding

import (
	"math/rand/v2"
	"testing"

	"cosmossdk.io/math"
)

// benchNodes builds n nodes with delegations and realistic magnitudes
// (pledges 10^8–10^11 unym, delegations up to 10^11).
func benchNodes(b *testing.B, n int) []Node {
	b.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	nodes := make([]Node, n)
	for i := range nodes {
		node, err := NewNode(math.NewInt(100_000_000+r.Int64N(100_000_000_000)), DefaultCostParams())
		if err != nil {
			b.Fatal(err)
		}
		var d Delegation
		if _, err := node.Delegate(&d, math.NewInt(1+r.Int64N(100_000_000_000))); err != nil {
			b.Fatal(err)
		}
		nodes[i] = node
	}
	return nodes
}

// BenchmarkApplyEpoch10000 rewards 10,000 nodes for one epoch (all active
// with Nym's mainnet-like parameters); one iteration is the whole epoch.
func BenchmarkApplyEpoch10000(b *testing.B) {
	const n = 10_000
	iv, err := NewInterval(DefaultParams(), SetSizes{Active: 9_000, Standby: 1_000}, 720,
		math.NewInt(250_000_000_000_000), math.NewInt(1_000_000_000_000_000))
	if err != nil {
		b.Fatal(err)
	}
	nodes := benchNodes(b, n)
	perf := math.LegacyMustNewDecFromStr("0.95")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i := range nodes {
			st := Active
			if i >= 9_000 {
				st = Standby
			}
			if _, err := nodes[i].ApplyEpoch(iv, perf, st); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/node")
}

// BenchmarkNewInterval is the cost of rebuilding an interval's constants.
func BenchmarkNewInterval(b *testing.B) {
	for b.Loop() {
		if _, err := NewInterval(DefaultParams(), SetSizes{Active: 240, Standby: 0}, 720,
			math.NewInt(250_000_000_000_000), math.NewInt(1_000_000_000_000_000)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSettle is the cost of one delegator withdrawal.
func BenchmarkSettle(b *testing.B) {
	iv, err := NewInterval(DefaultParams(), SetSizes{Active: 240}, 720,
		math.NewInt(250_000_000_000_000), math.NewInt(100_000_000_000_000))
	if err != nil {
		b.Fatal(err)
	}
	node, _ := NewNode(math.NewInt(10_000_000_000), DefaultCostParams())
	var d Delegation
	if _, err := node.Delegate(&d, math.NewInt(50_000_000_000)); err != nil {
		b.Fatal(err)
	}
	perf := math.LegacyOneDec()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := node.ApplyEpoch(iv, perf, Active); err != nil {
			b.Fatal(err)
		}
		if _, err := node.Settle(&d); err != nil {
			b.Fatal(err)
		}
	}
}
