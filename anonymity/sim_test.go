package anonymity

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSimulationBounds: a simulated network's entropy stays within [0,
// log2 N], comes close to log2 N with cover traffic and many packets in each
// mix, and falls near zero on a quiet network with no cover, where a message
// is often alone in the mixes.
func TestSimulationBounds(t *testing.T) {
	busy, err := SimulateEntropy(Model{Clients: 50, Cover: true, Seed: 1}, 100)
	require.NoError(t, err)
	require.Greater(t, busy.Messages, 50)
	require.LessOrEqual(t, busy.Mean, math.Log2(50)+1e-9)
	require.Greater(t, busy.Mean, math.Log2(50)-1, "cover traffic mixes each message among most clients: %+v", busy)

	quiet, err := SimulateEntropy(Model{Clients: 50, MessageRate: 0.5, Duration: 20, Seed: 1}, 100)
	require.NoError(t, err)
	require.Greater(t, quiet.Messages, 50)
	require.GreaterOrEqual(t, quiet.Min, 0.0)
	require.Less(t, quiet.Mean, 1.5, "a quiet network without cover leaves messages nearly alone: %+v", quiet)
	require.Less(t, quiet.Mean, busy.Mean)
}

// TestSimulationDeterministic: a seed gives one trace.
func TestSimulationDeterministic(t *testing.T) {
	a, err := SimulateEntropy(Model{Clients: 20, Cover: true, Seed: 7, Duration: 0.5}, 30)
	require.NoError(t, err)
	b, err := SimulateEntropy(Model{Clients: 20, Cover: true, Seed: 7, Duration: 0.5}, 30)
	require.NoError(t, err)
	require.Equal(t, a, b)
}

// TestSimulationAcks: with SURB-ACKs every delivered packet is acknowledged
// by one packet from its exit gateway back through the mixes to the
// sender's gateway; acks are never measured themselves, and the traffic
// they add to a quiet network's mixes does not lower its entropy.
func TestSimulationAcks(t *testing.T) {
	tr, err := Simulate(Model{Clients: 10, Cover: true, Acks: true, Duration: 1, Seed: 3})
	require.NoError(t, err)
	delivered, acked := 0, 0
	for _, e := range tr.Events {
		if tr.Kinds[e.To] == Exit {
			if e.Ack {
				acked++
			} else {
				delivered++
			}
		}
		if e.Ack && tr.Kinds[e.From] != Mix {
			require.Equal(t, Exit, tr.Kinds[e.From], "an ack starts at a gateway")
		}
	}
	require.Positive(t, delivered)
	require.Equal(t, delivered, acked)
	for _, i := range tr.ExitPackets(0, 1) {
		require.False(t, tr.Events[i].Ack)
	}

	quiet := Model{Clients: 50, MessageRate: 0.5, Duration: 20, Seed: 1}
	without, err := SimulateEntropy(quiet, 300)
	require.NoError(t, err)
	quiet.Acks = true
	with, err := SimulateEntropy(quiet, 300)
	require.NoError(t, err)
	require.Equal(t, without.Messages, with.Messages)
	require.GreaterOrEqual(t, with.Mean, without.Mean, "acks crowd the mixes: %+v vs %+v", with, without)
}

// TestAckInputDiscounted: one mix (mean delay 1 s) gets client A's packet
// and a gateway's ack at t=0 and client B's packet at t=0.5; a packet leaves
// for the exit at t=1. By hand: each input's weight is exp(-(1-t_i)), the
// observer knows the ack came from a gateway, so the sender distribution is
// A: e^-1/(e^-1+e^-0.5), B: e^-0.5/(e^-1+e^-0.5).
func TestAckInputDiscounted(t *testing.T) {
	tr := &Trace{}
	a, b := tr.AddNode(Client, 0), tr.AddNode(Client, 0)
	g, mix, exit := tr.AddNode(Exit, 0), tr.AddNode(Mix, 1), tr.AddNode(Exit, 0)
	tr.Add(Event{T: 0, From: a, To: mix, Real: true})
	tr.Add(Event{T: 0, From: g, To: mix, Ack: true})
	tr.Add(Event{T: 0.5, From: b, To: mix})
	tr.Add(Event{T: 1, From: mix, To: exit, Real: true})
	require.NoError(t, tr.Index())
	targets := tr.Targets(0, 2)
	require.Len(t, targets, 1)
	d, err := tr.SenderDistribution(targets[0])
	require.NoError(t, err)
	ea, eb := math.Exp(-1), math.Exp(-0.5)
	require.InDelta(t, ea/(ea+eb), d[a], 1e-12)
	require.InDelta(t, eb/(ea+eb), d[b], 1e-12)
	require.Zero(t, d[g])
}
