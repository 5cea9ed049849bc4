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
