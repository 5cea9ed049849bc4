package monitor

// A test packet's fate says only whether every node on its route passed it
// on. The monitor chooses each position of a route (entry gateway, layers
// 1 to 3, exit gateway) independently of the others, so every node of a
// position sees the same mix of companions, and a node's share of packets
// back, compared with the other nodes of its position, is its own doing:
//
//	score(n, position) = back(n) / sent(n) ÷ the best such rate in the position
//
// and a node's performance is the mean of its scores over the positions it
// held, weighted by the packets it carried in each. A node dropping half
// of what it gets scores about 0.5 and its companions stay about 1; a
// node that is down scores 0.
//
// What the packets cannot tell is which position loses packets that every
// node of it loses alike (a loss shared by all routes could be any
// layer's): the best node of each position is taken to be perfect. So a
// position needs two nodes or more for a bad one to show; a lone node is
// measured only against the loss of whole positions, which is none of its
// doing as far as the monitor can prove.

// Positions of a route.
const (
	posEntry = iota
	posLayer1
	posLayer2
	posLayer3
	posExit
	numPositions
)

// probe is one test packet: the node id at each position of its route and
// whether it came back. A packet its entry gateway would not take has that
// gateway alone (nodes of length 1).
type probe struct {
	nodes []uint64
	ok    bool
}

// estimate returns each node's performance in [0, 1] and the number of
// test packets behind it. Nodes no packet went through are left out.
func estimate(probes []probe) (perf map[uint64]float64, packets map[uint64]int) {
	type count struct{ sent, back int }
	var byPos [numPositions]map[uint64]*count
	for i := range byPos {
		byPos[i] = map[uint64]*count{}
	}
	for _, pr := range probes {
		for pos, n := range pr.nodes {
			if pos >= numPositions {
				break
			}
			c := byPos[pos][n]
			if c == nil {
				c = &count{}
				byPos[pos][n] = c
			}
			c.sent++
			if pr.ok {
				c.back++
			}
		}
	}
	sum := map[uint64]float64{}
	packets = map[uint64]int{}
	for _, m := range byPos {
		best := 0.0
		for _, c := range m {
			best = max(best, float64(c.back)/float64(c.sent))
		}
		for n, c := range m {
			score := 0.0
			if best > 0 {
				score = float64(c.back) / float64(c.sent) / best
			}
			sum[n] += score * float64(c.sent)
			packets[n] += c.sent
		}
	}
	perf = map[uint64]float64{}
	for n, s := range sum {
		perf[n] = min(1, s/float64(packets[n]))
	}
	return perf, packets
}
