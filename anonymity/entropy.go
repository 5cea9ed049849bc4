package anonymity

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// windowMeans bounds how far back one mix's weights reach, in mean delays:
// exp(-20) is 2e-9, far under what changes an entropy's third decimal.
const windowMeans = 20

// maxHops bounds how many mixes back a packet is traced: a Sphinx route has
// at most five hops.
const maxHops = 8

// Entropy is the Shannon entropy in bits of a distribution given as
// non-negative weights (normalised here; zero weights count for nothing).
func Entropy(weights []float64) float64 {
	var sum float64
	for _, w := range weights {
		sum += w
	}
	if sum <= 0 {
		return 0
	}
	var h float64
	for _, w := range weights {
		if w > 0 {
			p := w / sum
			h -= p * math.Log2(p)
		}
	}
	return h
}

// SenderDistribution returns the observer's probability, for each node
// index, that the packet of event target was sent by that node (zero for
// non-clients). target must be an event out of a mix.
func (t *Trace) SenderDistribution(target int) ([]float64, error) {
	if err := t.Index(); err != nil {
		return nil, err
	}
	if target < 0 || target >= len(t.Events) {
		return nil, fmt.Errorf("anonymity: no event %d", target)
	}
	if len(t.weight) != len(t.Events) {
		t.weight, t.next = make([]float64, len(t.Events)), make([]float64, len(t.Events))
	}
	senders := make([]float64, len(t.Kinds))
	// weight holds, per event index, the probability that it is the
	// target's packet at an earlier hop; frontier lists the events of the
	// current layer with a weight.
	t.weight[target] = 1
	frontier := []int32{int32(target)}
	var nextFrontier []int32
	byMix := map[int32][]int32{}
	for hop := 0; len(frontier) > 0; hop++ {
		if hop > maxHops {
			// Only a trace whose mixes feed each other in a ring gets
			// here (a recorder filing a node's roles wrongly); what has
			// not reached a client by now is left out.
			for _, ev := range frontier {
				t.weight[ev] = 0
			}
			break
		}
		clear(byMix)
		for _, ev := range frontier {
			e := t.Events[ev]
			switch t.Kinds[e.From] {
			case Mix:
				byMix[e.From] = append(byMix[e.From], ev)
			case Client:
				senders[e.From] += t.weight[ev]
			}
		}
		mixes := make([]int32, 0, len(byMix))
		for m := range byMix {
			mixes = append(mixes, m)
		}
		slices.Sort(mixes)
		nextFrontier = nextFrontier[:0]
		for _, m := range mixes {
			nextFrontier = t.backward(m, byMix[m], nextFrontier)
		}
		for _, ev := range frontier {
			t.weight[ev] = 0
		}
		// The next layer's weights become the current ones.
		t.weight, t.next = t.next, t.weight
		frontier, nextFrontier = nextFrontier, frontier
	}
	var sum float64
	for _, w := range senders {
		sum += w
	}
	if sum > 0 {
		for i := range senders {
			senders[i] /= sum
		}
	}
	return senders, nil
}

// backward spreads the weights of outputs (events out of mix m) over m's
// inputs: input i gets Σ_o w(o)·exp(-(t_o-t_i)/μ)/Z(t_o) over the outputs o
// at or after it, where Z(t_o) = Σ_{t_j ≤ t_o} exp(-(t_o-t_j)/μ) over all of
// m's inputs. Both sums telescope, so one forward and one backward sweep over
// the window of inputs do it.
func (t *Trace) backward(m int32, outputs []int32, touched []int32) []int32 {
	mu := t.MeanDelay[m]
	in := t.in[m]
	// Event indexes are in time order (Index sorted them).
	slices.Sort(outputs)
	tLast := t.Events[outputs[len(outputs)-1]].T
	tFirst := t.Events[outputs[0]].T
	lo := sort.Search(len(in), func(i int) bool { return t.Events[in[i]].T >= tFirst-windowMeans*mu })
	hi := sort.Search(len(in), func(i int) bool { return t.Events[in[i]].T > tLast })
	win := in[lo:hi]
	if len(win) == 0 {
		return touched
	}
	// Z at each output, by a forward sweep over the window (inputs before
	// the window weigh below exp(-windowMeans)).
	z := make([]float64, len(outputs))
	var acc, at float64
	j := 0
	for k, o := range outputs {
		to := t.Events[o].T
		for j < len(win) && t.Events[win[j]].T <= to {
			ti := t.Events[win[j]].T
			acc = acc*math.Exp(-(ti-at)/mu) + 1
			at = ti
			j++
		}
		z[k] = acc * math.Exp(-(to-at)/mu)
	}
	// Backward sweep: S(t) = Σ_{t_o ≥ t} c_o·exp(-(t_o-t)/μ), c_o = w(o)/Z(t_o).
	var s float64
	at = tLast
	k := len(outputs) - 1
	for i := len(win) - 1; i >= 0; i-- {
		ti := t.Events[win[i]].T
		for k >= 0 && t.Events[outputs[k]].T >= ti {
			to := t.Events[outputs[k]].T
			s *= math.Exp(-(at - to) / mu)
			at = to
			if z[k] > 0 {
				s += t.weight[outputs[k]] / z[k]
			}
			k--
		}
		w := s * math.Exp(-(at-ti)/mu)
		if w > 1e-15 {
			if t.next[win[i]] == 0 {
				touched = append(touched, win[i])
			}
			t.next[win[i]] += w
		}
	}
	return touched
}

// Result sums the entropies of a set of messages.
type Result struct {
	// Messages is how many were measured.
	Messages int
	// Mean, Min and P10 are the mean, least and 10th-percentile entropy in
	// bits; Max is log2 of the number of clients.
	Mean, Min, P10, Max float64
}

// Measure computes the sender entropy of each target event.
func (t *Trace) Measure(targets []int) (Result, error) {
	r := Result{Messages: len(targets), Max: math.Log2(float64(max(t.Senders, 1)))}
	if len(targets) == 0 {
		return r, nil
	}
	hs := make([]float64, 0, len(targets))
	for _, ev := range targets {
		d, err := t.SenderDistribution(ev)
		if err != nil {
			return r, err
		}
		hs = append(hs, Entropy(d))
	}
	sort.Float64s(hs)
	var sum float64
	for _, h := range hs {
		sum += h
	}
	r.Mean, r.Min, r.P10 = sum/float64(len(hs)), hs[0], hs[len(hs)/10]
	return r, nil
}
