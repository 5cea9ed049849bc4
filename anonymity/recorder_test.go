package anonymity

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRecorderFilesEventsByRole feeds the taps by hand: a client's packet
// into a mix, the mix's packet on to a gateway, and packets with ends the
// recorder does not know; then a role change files the same node anew.
func TestRecorderFilesEventsByRole(t *testing.T) {
	var c1, c2, m1, g1, stranger [32]byte
	c1[0], c2[0], m1[0], g1[0], stranger[0] = 1, 2, 3, 4, 5
	r := NewRecorder(10*time.Millisecond, 5)
	r.SetRoles([][32]byte{m1}, [][32]byte{g1})
	r.AddClient(c1)
	r.AddClient(c2)
	r.Gateway(g1, c1, m1, 100)
	time.Sleep(2 * time.Millisecond)
	r.Gateway(g1, c2, m1, 100)
	r.Mix(m1, g1, 100)
	r.Gateway(g1, stranger, m1, 100) // a client the recorder was not told of
	r.Mix(m1, stranger, 100)         // a next hop outside the topology
	tr, err := r.Trace()
	require.NoError(t, err)
	events, unknown, dropped := r.Stats()
	require.Equal(t, 3, events)
	require.Equal(t, 2, unknown)
	require.Zero(t, dropped)
	require.Equal(t, 2, tr.Senders)
	require.Len(t, tr.Events, 3)
	targets := tr.ExitPackets(0, 10)
	require.Len(t, targets, 1)
	d, err := tr.SenderDistribution(targets[0])
	require.NoError(t, err)
	// c2 arrived later, so it weighs more, and the two share the mass.
	require.InDelta(t, 1, d[0]+d[1], 1e-12)
	require.Greater(t, d[1], d[0])

	// The mix becomes a gateway: events to it are filed under a new node.
	r.SetRoles(nil, [][32]byte{m1, g1})
	r.Gateway(g1, c1, m1, 100)
	tr, err = r.Trace()
	require.NoError(t, err)
	require.Equal(t, Exit, tr.Kinds[tr.Events[len(tr.Events)-1].To])
	// The bound: events past it are counted, not kept.
	r.Gateway(g1, c1, m1, 100)
	r.Gateway(g1, c1, m1, 100)
	_, _, dropped = r.Stats()
	require.Equal(t, 1, dropped)
}

func TestTableAndPlots(t *testing.T) {
	rows := []Row{}
	for _, n := range []int{10, 100} {
		for _, c := range Conditions[:2] {
			r, err := SimulateCondition(c, n, 20, 1)
			require.NoError(t, err)
			rows = append(rows, r)
		}
	}
	rows = append(rows, Row{Condition: "default", N: 10, Source: "measured", Result: Result{Messages: 3, Mean: 3, Max: 3.32}})
	var b bytes.Buffer
	require.NoError(t, WriteTable(&b, rows))
	require.Equal(t, len(rows)+1, strings.Count(b.String(), "\n"))
	require.Contains(t, b.String(), "cover off")

	dir := t.TempDir()
	require.NoError(t, PlotVsN(rows, filepath.Join(dir, "n.png")))
	require.NoError(t, PlotVsDelay([]DelayPoint{{Label: "a", Delay: 0.01, Entropy: 1}, {Label: "a", Delay: 0.02, Entropy: 2},
		{Label: "m", Delay: 0.015, Entropy: 1.5, Measured: true}}, filepath.Join(dir, "d.png")))
	for _, f := range []string{"n.png", "d.png"} {
		fh, err := os.Open(filepath.Join(dir, f))
		require.NoError(t, err)
		img, err := png.Decode(fh)
		fh.Close()
		require.NoError(t, err)
		require.Greater(t, img.Bounds().Dx(), 500)
	}
}
