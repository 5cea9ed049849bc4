// Package anonymity measures how well a Loopix-style mixnet hides who sends
// each message: from what a global passive observer records (every packet's
// time on every link, who sent it to whom; never a payload), it computes the
// Shannon entropy of the sender of each message delivered at an exit gateway,
// in bits, to be read next to log2(N) for N clients (the most any message can
// have: every client equally likely).
//
// The adversary's method (Analyze): each mix holds a packet for an
// exponential delay of a known mean, so an output at time t came from an
// input at time t_i ≤ t with a likelihood proportional to exp(-(t - t_i)/mean)
// (Danezis, "The traffic analysis of continuous-time mixes", 2004; the
// Loopix paper's entropy, where the memoryless delay makes every packet still
// in the mix equally likely to leave next, is the same weighting seen from the
// pool). Normalised over the inputs, that is the probability of each input;
// chained back through the layers to the links from the clients it gives the
// sender distribution. The entry gateway does not mix: it forwards a client's
// packet unprocessed, so the observer links the client's packet to the
// gateway's by its bytes, and a trace records the client as the sender of the
// packet into layer 1. The computation is one backward sweep per mix per
// message (the exponential weights telescope), so it scales to traces of
// millions of packets.
//
// The method does not use the constraint that each input leaves once (an
// adversary solving that matching problem, or watching a client for long,
// learns more); the entropy here is what this adversary gets per message, an
// upper bound on what the best one leaves.
//
// Simulate produces traces of the same model (Poisson clients with or without
// loop cover, exponential delays, random paths) at any N; the localnet
// recorder produces them from a real network (see the make anonymity driver
// in measure_test.go). Report runs the conditions and draws the plots.
package anonymity

import (
	"fmt"
	"sort"
)

// Kind is what a node of a trace is.
type Kind uint8

const (
	// Client sends and receives packets.
	Client Kind = iota
	// Mix holds each packet for an exponential delay.
	Mix
	// Exit is a gateway receiving packets for its clients: where messages
	// are delivered.
	Exit
)

// Event is one packet on one link as the observer sees it.
type Event struct {
	// T is the time in seconds from the trace's start.
	T float64
	// From and To are node indexes of the trace.
	From, To int32
	// Real marks, for choosing the messages to measure, a packet of a real
	// message (not cover); the analysis itself never reads it.
	Real bool
	// Ack marks a SURB-ACK a gateway sent back towards a packet's sender:
	// traffic through the mixes like any other, never measured itself
	// (its sender is a gateway, not a client); the analysis never reads it.
	Ack bool
}

// Trace is what a global passive observer recorded.
type Trace struct {
	// Kinds gives each node's kind, by node index.
	Kinds []Kind
	// MeanDelay is each mix's mean delay in seconds (0 for other nodes).
	MeanDelay []float64
	// Events are in any order; Index sorts them.
	Events []Event
	// Senders is how many clients there are (the N of log2 N).
	Senders int

	// in[m] and out[m] are, for a mix m, the indexes of events into and out
	// of it, by time.
	in, out [][]int32
	indexed bool
	// weight and next are SenderDistribution's scratch, by event index.
	weight, next []float64
}

// AddNode adds a node and returns its index.
func (t *Trace) AddNode(k Kind, meanDelay float64) int32 {
	t.Kinds = append(t.Kinds, k)
	t.MeanDelay = append(t.MeanDelay, meanDelay)
	if k == Client {
		t.Senders++
	}
	t.indexed = false
	return int32(len(t.Kinds) - 1)
}

// Add records an event.
func (t *Trace) Add(e Event) {
	t.Events = append(t.Events, e)
	t.indexed = false
}

// Index sorts the events by time and indexes them per mix.
func (t *Trace) Index() error {
	if t.indexed {
		return nil
	}
	sort.SliceStable(t.Events, func(i, j int) bool { return t.Events[i].T < t.Events[j].T })
	n := len(t.Kinds)
	t.in, t.out = make([][]int32, n), make([][]int32, n)
	for i, e := range t.Events {
		if e.From < 0 || int(e.From) >= n || e.To < 0 || int(e.To) >= n {
			return fmt.Errorf("anonymity: event %d links unknown nodes %d -> %d", i, e.From, e.To)
		}
		if e.From == e.To {
			// Not on any link, and it would be its own input.
			return fmt.Errorf("anonymity: event %d goes from node %d to itself", i, e.From)
		}
		if t.Kinds[e.To] == Mix {
			t.in[e.To] = append(t.in[e.To], int32(i))
		}
		if t.Kinds[e.From] == Mix {
			t.out[e.From] = append(t.out[e.From], int32(i))
		}
	}
	for m, k := range t.Kinds {
		if k == Mix && !(t.MeanDelay[m] > 0) {
			return fmt.Errorf("anonymity: mix %d has mean delay %v", m, t.MeanDelay[m])
		}
	}
	t.indexed = true
	return nil
}

// Targets returns the indexes of the events that deliver a real message at
// an exit, between from and to seconds (a warm-up at the start leaves the
// mixes time to fill; the end, time for the analysis window).
func (t *Trace) Targets(from, to float64) []int { return t.targets(from, to, true) }

// ExitPackets returns the indexes of every packet (real or cover) delivered
// at an exit between from and to seconds.
func (t *Trace) ExitPackets(from, to float64) []int { return t.targets(from, to, false) }

func (t *Trace) targets(from, to float64, realOnly bool) []int {
	var out []int
	for i, e := range t.Events {
		if (e.Real || !realOnly) && !e.Ack && t.Kinds[e.To] == Exit && t.Kinds[e.From] == Mix && e.T >= from && e.T <= to {
			out = append(out, i)
		}
	}
	return out
}

// ClientRate is the packets per client per second that clients sent between
// from and to seconds.
func (t *Trace) ClientRate(from, to float64) float64 {
	if t.Senders == 0 || to <= from {
		return 0
	}
	var n int
	for _, e := range t.Events {
		if e.T >= from && e.T < to && t.Kinds[e.From] == Client {
			n++
		}
	}
	return float64(n) / float64(t.Senders) / (to - from)
}
