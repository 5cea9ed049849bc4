package monitor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// simulate sends n packets over routes of one gateway and one node per
// layer (two per position), each node passing a packet with its true
// probability, and estimates.
func simulate(t *testing.T, truth map[uint64]float64, n int) map[uint64]float64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	positions := [][]uint64{{1, 2}, {11, 12}, {21, 22}, {31, 32}, {1, 2}}
	var probes []probe
	for range n {
		var pr probe
		pr.ok = true
		for _, pos := range positions {
			id := pos[rng.IntN(len(pos))]
			pr.nodes = append(pr.nodes, id)
			if rng.Float64() >= truth[id] {
				pr.ok = false
			}
		}
		probes = append(probes, pr)
	}
	perf, _ := estimate(probes)
	return perf
}

func truthAll(p float64) map[uint64]float64 {
	return map[uint64]float64{1: p, 2: p, 11: p, 12: p, 21: p, 22: p, 31: p, 32: p}
}

func TestEstimateHalfDropper(t *testing.T) {
	truth := truthAll(1)
	truth[21] = 0.5
	perf := simulate(t, truth, 4000)
	if math.Abs(perf[21]-0.5) > 0.07 {
		t.Fatalf("the half-dropper scores %.3f", perf[21])
	}
	for id, p := range perf {
		if id != 21 && p < 0.93 {
			t.Fatalf("node %d, sound, scores %.3f beside a half-dropper", id, p)
		}
	}
}

func TestEstimateDownNode(t *testing.T) {
	truth := truthAll(1)
	truth[12] = 0
	perf := simulate(t, truth, 2000)
	if perf[12] != 0 {
		t.Fatalf("a down node scores %.3f", perf[12])
	}
	for id, p := range perf {
		if id != 12 && p < 0.9 { // sampling noise: each node carries about 1,000 packets
			t.Fatalf("node %d scores %.3f beside a down node", id, p)
		}
	}
}

// TestEstimateGatewayRefusal: a gateway that takes no packet (probes of
// it alone, failed) and loses what it should deliver scores 0; its
// companions are judged against their positions.
func TestEstimateGatewayRefusal(t *testing.T) {
	probes := []probe{{nodes: []uint64{1}}, {nodes: []uint64{1}}, {nodes: []uint64{2, 11, 21, 31, 2}, ok: true}, {nodes: []uint64{2, 11, 21, 31, 1}}}
	perf, _ := estimate(probes)
	if perf[1] != 0 || perf[2] != 1 || perf[31] != 1 { // 31 lost a packet to gateway 1, as any layer-3 node would
		t.Fatalf("%v", perf)
	}
}

// TestTrimKeepsPendingInStep: past maxProbes the oldest half goes, and the
// packets still out point at their own probes.
func TestTrimKeepsPendingInStep(t *testing.T) {
	m := &Monitor{pending: map[[32]byte]pendingProbe{}}
	for i := range maxProbes {
		m.probes = append(m.probes, probe{nodes: []uint64{uint64(i)}})
	}
	m.pending[[32]byte{1}] = pendingProbe{idx: 10}
	m.pending[[32]byte{2}] = pendingProbe{idx: maxProbes - 1}
	m.trimLocked()
	if len(m.probes) != maxProbes/2 {
		t.Fatalf("%d probes kept", len(m.probes))
	}
	if _, ok := m.pending[[32]byte{1}]; ok {
		t.Fatal("a packet whose probe was dropped is still pending")
	}
	if p := m.pending[[32]byte{2}]; m.probes[p.idx].nodes[0] != maxProbes-1 {
		t.Fatal("a pending packet points at another probe")
	}
}

// TestEstimatePairingImbalance: a half-dropping node that happened to share
// fewer routes with a node that is down than its layer-mate did still
// scores about 0.5 (scoring against the layer-mate's raw rate would give
// it about 0.67 here).
func TestEstimatePairingImbalance(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var probes []probe
	for i := range 6000 {
		x := i%2 == 0 // layer 1: node 1 (drops half) or node 2
		l1 := uint64(2)
		if x {
			l1 = 1
		}
		// Node 1 meets the down node 11 on 40 % of its routes, node 2 on 60 %.
		share := 0.6
		if x {
			share = 0.4
		}
		l2 := uint64(12)
		if rng.Float64() < share {
			l2 = 11
		}
		ok := l2 != 11 && (!x || rng.Float64() < 0.5)
		probes = append(probes, probe{nodes: []uint64{31, l1, l2, 21, 31}, ok: ok})
	}
	perf, _ := estimate(probes)
	if math.Abs(perf[1]-0.5) > 0.05 || perf[11] != 0 || perf[2] < 0.95 || perf[12] < 0.95 {
		t.Fatalf("%v", perf)
	}
}
