package anonymity

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// h2 is the binary entropy of p, in bits.
func h2(p float64) float64 { return -p*math.Log2(p) - (1-p)*math.Log2(1-p) }

func TestEntropyOfWeights(t *testing.T) {
	require.Equal(t, 0.0, Entropy(nil))
	require.Equal(t, 0.0, Entropy([]float64{0, 5, 0}))
	require.InDelta(t, 1, Entropy([]float64{1, 1}), 1e-12)
	require.InDelta(t, 2, Entropy([]float64{3, 3, 3, 3}), 1e-12)
	require.InDelta(t, 1.5, Entropy([]float64{2, 1, 1}), 1e-12)
}

// oneMix: senders A and B send into one mix of mean delay 1 s at times a and
// b; one packet leaves for the exit at time out.
func oneMix(t *testing.T, a, b, out float64) (*Trace, int) {
	tr := &Trace{}
	A, B := tr.AddNode(Client, 0), tr.AddNode(Client, 0)
	m := tr.AddNode(Mix, 1)
	x := tr.AddNode(Exit, 0)
	tr.Add(Event{T: a, From: A, To: m})
	tr.Add(Event{T: b, From: B, To: m})
	tr.Add(Event{T: out, From: m, To: x, Real: true})
	require.NoError(t, tr.Index())
	targets := tr.Targets(0, 100)
	require.Len(t, targets, 1)
	return tr, targets[0]
}

// TestOneMixTwoSenders: by hand, P(A) = e^-(out-a) / (e^-(out-a) + e^-(out-b)).
func TestOneMixTwoSenders(t *testing.T) {
	for _, tc := range []struct {
		name      string
		a, b, out float64
		pA        float64
	}{
		// Both arrived together: a coin toss, 1 bit.
		{"together", 0, 0, 1, 0.5},
		// A one mean delay earlier: P(A) = e^-2/(e^-2+e^-1) = 1/(1+e).
		{"one mean apart", 0, 1, 2, 1 / (1 + math.E)},
		// Only A had arrived when the packet left: it is A's, 0 bits.
		{"B too late", 0, 3, 2, 1},
		// Three means apart: P(A) = 1/(1+e^3).
		{"three means apart", 0, 3, 3, 1 / (1 + math.Exp(3))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, target := oneMix(t, tc.a, tc.b, tc.out)
			d, err := tr.SenderDistribution(target)
			require.NoError(t, err)
			require.InDelta(t, tc.pA, d[0], 1e-12)
			require.InDelta(t, 1-tc.pA, d[1], 1e-12)
			want := 0.0
			if tc.pA > 0 && tc.pA < 1 {
				want = h2(tc.pA)
			}
			res, err := tr.Measure(tr.Targets(0, 100))
			require.NoError(t, err)
			require.Equal(t, 1, res.Messages)
			require.InDelta(t, want, res.Mean, 1e-12)
			require.Equal(t, 1.0, res.Max)
		})
	}
}

// TestTwoOutputsShareInputs: two packets leave one mix; each output's
// distribution is its own normalised weighting of the inputs, by hand.
func TestTwoOutputsShareInputs(t *testing.T) {
	tr := &Trace{}
	A, B := tr.AddNode(Client, 0), tr.AddNode(Client, 0)
	m := tr.AddNode(Mix, 0.5)
	x := tr.AddNode(Exit, 0)
	tr.Add(Event{T: 0, From: A, To: m})
	tr.Add(Event{T: 0.5, From: B, To: m})
	tr.Add(Event{T: 1, From: m, To: x, Real: true})
	tr.Add(Event{T: 2, From: m, To: x, Real: true})
	require.NoError(t, tr.Index())
	targets := tr.Targets(0, 10)
	require.Len(t, targets, 2)
	// Output at 1: weights e^-2 (A), e^-1 (B); at 2 (1.5 and 1 s later... in
	// means: 4 and 3): weights e^-4, e^-3. Both give P(A) = 1/(1+e).
	for _, ev := range targets {
		d, err := tr.SenderDistribution(ev)
		require.NoError(t, err)
		require.InDelta(t, 1/(1+math.E), d[A], 1e-12)
	}
}

// TestTwoLayers: A and B into mix 1 (mean 1), one packet from mix 1 into
// mix 2 (mean 1) with C's packet, one packet out of mix 2. By hand:
// P(from mix 1) = e^-(t-t1)/(e^-(t-t1)+e^-(t-tC)), then split A/B at mix 1.
func TestTwoLayers(t *testing.T) {
	tr := &Trace{}
	A, B, C := tr.AddNode(Client, 0), tr.AddNode(Client, 0), tr.AddNode(Client, 0)
	m1, m2 := tr.AddNode(Mix, 1), tr.AddNode(Mix, 1)
	x := tr.AddNode(Exit, 0)
	tr.Add(Event{T: 0, From: A, To: m1})
	tr.Add(Event{T: 1, From: B, To: m1})
	tr.Add(Event{T: 2, From: m1, To: m2})
	tr.Add(Event{T: 2, From: C, To: m2})
	tr.Add(Event{T: 3, From: m2, To: x, Real: true})
	require.NoError(t, tr.Index())
	targets := tr.Targets(0, 10)
	require.Len(t, targets, 1)
	d, err := tr.SenderDistribution(targets[0])
	require.NoError(t, err)
	// At mix 2 both inputs came at 2: half each. At mix 1, for the output at
	// 2: A e^-2, B e^-1.
	pA := 0.5 / (1 + math.E)
	require.InDelta(t, pA, d[A], 1e-12)
	require.InDelta(t, 0.5-pA, d[B], 1e-12)
	require.InDelta(t, 0.5, d[C], 1e-12)
	// H = 1/2 log 2 + 1/2 (log 2 + h(1/(1+e))) = 1 + h(1/(1+e))/2.
	require.InDelta(t, 1+0.5*h2(1/(1+math.E)), Entropy([]float64{d[A], d[B], d[C]}), 1e-12)
}

func TestIndexRefusesBadTraces(t *testing.T) {
	tr := &Trace{}
	a := tr.AddNode(Client, 0)
	tr.Add(Event{T: 0, From: a, To: 7})
	require.Error(t, tr.Index())
	tr = &Trace{}
	a = tr.AddNode(Client, 0)
	m := tr.AddNode(Mix, 0)
	tr.Add(Event{T: 0, From: a, To: m})
	require.Error(t, tr.Index(), "a mix without a delay")
	tr = &Trace{}
	m = tr.AddNode(Mix, 1)
	tr.Add(Event{T: 0, From: m, To: m})
	require.Error(t, tr.Index(), "a node sending to itself")
}

// TestRingOfMixesEnds: two mixes that feed each other (roles filed wrongly)
// still give an answer: the tracing stops after maxHops.
func TestRingOfMixesEnds(t *testing.T) {
	tr := &Trace{}
	a := tr.AddNode(Client, 0)
	m1, m2 := tr.AddNode(Mix, 1), tr.AddNode(Mix, 1)
	x := tr.AddNode(Exit, 0)
	tr.Add(Event{T: 0, From: a, To: m1})
	for i := 1; i < 40; i++ {
		from, to := m1, m2
		if i%2 == 0 {
			from, to = m2, m1
		}
		tr.Add(Event{T: float64(i), From: from, To: to})
	}
	tr.Add(Event{T: 50, From: m1, To: x, Real: true})
	res, err := tr.Measure(tr.Targets(0, 100))
	require.NoError(t, err)
	require.Equal(t, 1, res.Messages)
	require.Equal(t, 0.0, res.Mean)
}
