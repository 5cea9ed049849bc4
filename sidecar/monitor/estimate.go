package monitor

import "time"

// A test packet's fate says only whether every node on its route passed it
// on. Model: node n passes a packet with probability p[n], independently,
// so a route comes back with the product of its nodes' p. For a node n in
// position k (entry gateway, layer 1 to 3, exit gateway) the packets it
// carried say
//
//	r[k][n] = (packets through n at k that came back) / Σ over them of Π_{m≠n} p[m]
//
// its pass rate given its companions: a companion that is down or lossy
// costs n nothing, however the routes happened to pair them. One thing
// the packets cannot tell is which position loses what every node of it
// loses alike (a loss shared by all routes could be any layer's), so each
// position is scaled to its best node: s[k][n] = r[k][n] / max over k's
// nodes. A node's p is the mean of its s over the positions it held,
// weighted by its packets there, and the two steps are repeated until p
// settles. A node dropping half of what it gets scores about 0.5, its
// companions about 1; a node that is down scores 0. A position needs two
// nodes or more for a bad one to show: a lone node is measured only
// against the loss of whole positions, which the monitor cannot pin on it.

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
	sent  time.Time
}

// estimate returns each node's performance in [0, 1] and the number of
// test packets behind it. Nodes no packet told anything about (none went
// through them, or all that did also went through a node that is down)
// are left out.
func estimate(probes []probe) (perf map[uint64]float64, packets map[uint64]int) {
	p := map[uint64]float64{}
	packets = map[uint64]int{}
	for _, pr := range probes {
		for pos, n := range pr.nodes {
			if pos < numPositions {
				p[n] = 1
				packets[n]++
			}
		}
	}
	type sums struct{ back, expected, sent float64 }
	var known map[uint64]bool
	for range 30 {
		var byPos [numPositions]map[uint64]*sums
		for k := range byPos {
			byPos[k] = map[uint64]*sums{}
		}
		for _, pr := range probes {
			for k, n := range pr.nodes {
				if k >= numPositions {
					break
				}
				others := 1.0
				for j, m := range pr.nodes {
					if j != k && j < numPositions {
						others *= p[m]
					}
				}
				s := byPos[k][n]
				if s == nil {
					s = &sums{}
					byPos[k][n] = s
				}
				s.expected += others
				s.sent++
				if pr.ok {
					s.back++
				}
			}
		}
		num, den := map[uint64]float64{}, map[uint64]float64{}
		known = map[uint64]bool{}
		for _, m := range byPos {
			best := 0.0
			for _, s := range m {
				if s.expected > 0 {
					best = max(best, s.back/s.expected)
				}
			}
			for n, s := range m {
				if s.expected <= 0 {
					continue // every packet also met a node that is down
				}
				score := 0.0
				if best > 0 {
					score = s.back / s.expected / best
				}
				num[n] += score * s.sent
				den[n] += s.sent
				known[n] = true
			}
		}
		for n := range p {
			if den[n] > 0 {
				p[n] = min(1, num[n]/den[n])
			}
		}
	}
	perf = map[uint64]float64{}
	for n := range known {
		perf[n] = p[n]
	}
	return perf, packets
}
