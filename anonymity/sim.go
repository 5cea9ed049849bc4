package anonymity

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
)

// Model is a Loopix-style network and its traffic, as nym-client and
// nym-node run it: each client releases packets as a Poisson stream (mean
// gap SendDelay); a slot carries the client's next real message if one is
// waiting, else a loop cover packet back to the client if Cover, else
// nothing; real messages come to each client as a Poisson process of rate
// MessageRate and go to a client chosen at random. A packet goes from the
// client through its gateway (which forwards without delay) to one random mix
// of each layer, each holding it for an exponential delay of mean HopDelay,
// to the recipient's gateway. With Acks, that gateway sends a SURB-ACK for
// every packet it receives (real or cover, as nym-node's gateways do) back
// through one random mix of each layer, with the same delays, to the
// sender's gateway.
type Model struct {
	Clients       int
	Gateways      int     // zero gives 1
	Layers        int     // zero gives 3
	MixesPerLayer int     // zero gives 1
	SendDelay     float64 // seconds; zero gives 0.020 (nym-client's default)
	HopDelay      float64 // seconds; zero gives 0.015 (nym-client's default)
	MessageRate   float64 // real messages per second per client; zero gives DefaultMessageRate
	Cover         bool
	// Acks sends a SURB-ACK back for every packet delivered.
	Acks bool
	// Duration is the simulated time in seconds; zero gives 1.
	Duration float64
	Seed     uint64
	// AllPackets measures every packet delivered at an exit (cover and
	// real alike, as an observer, who cannot tell them apart, must), not
	// only real messages.
	AllPackets bool
}

// DefaultMessageRate is the real messages per client per second of the
// default condition: a tenth of the default stream's 50 slots.
const DefaultMessageRate = 5

func (m Model) withDefaults() Model {
	if m.Gateways <= 0 {
		m.Gateways = 1
	}
	if m.Layers <= 0 {
		m.Layers = 3
	}
	if m.MixesPerLayer <= 0 {
		m.MixesPerLayer = 1
	}
	if m.SendDelay <= 0 {
		m.SendDelay = 0.020
	}
	if m.HopDelay <= 0 {
		m.HopDelay = 0.015
	}
	if m.MessageRate <= 0 {
		m.MessageRate = DefaultMessageRate
	}
	if m.Duration <= 0 {
		m.Duration = 1
	}
	return m
}

// MaxSimulatedPackets bounds a simulation's memory (each packet is a few
// events of 24 bytes).
const MaxSimulatedPackets = 20_000_000

type clientEvent struct {
	t      float64
	client int
	slot   bool // a release slot, else a real message arriving
}

type clientQueue []clientEvent

func (q clientQueue) Len() int           { return len(q) }
func (q clientQueue) Less(i, j int) bool { return q[i].t < q[j].t }
func (q clientQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *clientQueue) Push(x any)        { *q = append(*q, x.(clientEvent)) }
func (q *clientQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// Simulate runs the model and returns what a global passive observer sees.
func Simulate(m Model) (*Trace, error) {
	m = m.withDefaults()
	if m.Clients < 1 {
		return nil, fmt.Errorf("anonymity: %d clients", m.Clients)
	}
	expected := float64(m.Clients) * m.Duration * (m.MessageRate + 1/m.SendDelay)
	if m.Acks {
		expected *= 2
	}
	if expected > MaxSimulatedPackets {
		return nil, fmt.Errorf("anonymity: about %.0f packets, more than %d", expected, MaxSimulatedPackets)
	}
	rng := rand.New(rand.NewPCG(m.Seed, 0x6e7978))
	exp := func(mean float64) float64 { return rng.ExpFloat64() * mean }
	tr := &Trace{}
	clients := make([]int32, m.Clients)
	for i := range clients {
		clients[i] = tr.AddNode(Client, 0)
	}
	gateways := make([]int32, m.Gateways)
	for i := range gateways {
		gateways[i] = tr.AddNode(Exit, 0)
	}
	layers := make([][]int32, m.Layers)
	for l := range layers {
		for range m.MixesPerLayer {
			layers[l] = append(layers[l], tr.AddNode(Mix, m.HopDelay))
		}
	}
	gatewayOf := func(c int) int32 { return gateways[c%m.Gateways] }
	route := func(t float64, from, to int32, real, ack bool) float64 {
		for _, layer := range layers {
			mix := layer[rng.IntN(len(layer))]
			tr.Add(Event{T: t, From: from, To: mix, Real: real, Ack: ack})
			t += exp(m.HopDelay)
			from = mix
		}
		tr.Add(Event{T: t, From: from, To: to, Real: real, Ack: ack})
		return t
	}
	send := func(t float64, c int, to int32, real bool) {
		t = route(t, clients[c], to, real, false)
		if m.Acks {
			route(t, to, gatewayOf(c), false, true)
		}
	}

	q := make(clientQueue, 0, 2*m.Clients)
	for c := range m.Clients {
		q = append(q, clientEvent{t: exp(m.SendDelay), client: c, slot: true}, clientEvent{t: exp(1 / m.MessageRate), client: c})
	}
	heap.Init(&q)
	waiting := make([]int, m.Clients)
	for q.Len() > 0 {
		ev := heap.Pop(&q).(clientEvent)
		if ev.t > m.Duration {
			continue
		}
		if !ev.slot {
			waiting[ev.client]++
			heap.Push(&q, clientEvent{t: ev.t + exp(1/m.MessageRate), client: ev.client})
			continue
		}
		switch {
		case waiting[ev.client] > 0:
			waiting[ev.client]--
			send(ev.t, ev.client, gatewayOf(rng.IntN(m.Clients)), true)
		case m.Cover:
			send(ev.t, ev.client, gatewayOf(ev.client), false)
		}
		heap.Push(&q, clientEvent{t: ev.t + exp(m.SendDelay), client: ev.client, slot: true})
	}
	return tr, tr.Index()
}

// Window is the part of a trace whose messages are measured: after a
// warm-up that fills the mixes, before the end (whose packets' later hops
// were not simulated).
func (m Model) Window() (from, to float64) {
	m = m.withDefaults()
	warm := math.Min(0.3*m.Duration, 20*m.HopDelay*float64(m.Layers))
	return warm, m.Duration
}

// SimulateEntropy simulates the model and measures up to maxMessages real
// messages of its window (evenly spaced among them).
func SimulateEntropy(m Model, maxMessages int) (Result, error) {
	tr, err := Simulate(m)
	if err != nil {
		return Result{}, err
	}
	from, to := m.Window()
	return tr.Measure(sample(tr.targets(from, to, !m.AllPackets), maxMessages))
}

func sample(targets []int, n int) []int {
	if n <= 0 || len(targets) <= n {
		return targets
	}
	out := make([]int, 0, n)
	step := float64(len(targets)) / float64(n)
	for i := range n {
		out = append(out, targets[int(float64(i)*step)])
	}
	return out
}
