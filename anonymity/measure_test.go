//go:build anonymity

package anonymity

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/testutil/mixnet"
)

// TestAnonymity is make anonymity: it runs a local network (an in-process
// chain and five nym-nodes on loopback) with N real nym-clients per
// condition, records what a global passive observer sees through the nodes'
// taps, and computes the sender entropy of the packets delivered at the
// exit; it simulates the same model at the same N and at 1,000 and 10,000
// clients, prints the table, writes the plots, and checks that simulation
// and measurement agree within a tolerance for every measured condition.
//
//	NYX_ANON_CLIENTS   measured network sizes (default "10,25"; 10 to 100)
//	NYX_ANON_SECONDS   seconds of traffic per measured condition (default 10)
//	NYX_ANON_OUT       where the table and PNGs go (default build/anonymity)
//	NYX_ANON_TOLERANCE bits the measured mean may differ from the simulated (default 0.6)
func TestAnonymity(t *testing.T) {
	sizes := envInts(t, "NYX_ANON_CLIENTS", []int{10, 25})
	seconds := envFloat(t, "NYX_ANON_SECONDS", 10)
	tolerance := envFloat(t, "NYX_ANON_TOLERANCE", 0.6)
	out := os.Getenv("NYX_ANON_OUT")
	if out == "" {
		out = filepath.Join("..", "build", "anonymity")
	}
	require.NoError(t, os.MkdirAll(out, 0o755))
	for _, n := range sizes {
		require.True(t, n >= 2 && n <= 100, "NYX_ANON_CLIENTS: %d is not in 2..100", n)
	}

	var cur atomic.Pointer[Recorder]
	nw := mixnet.Start(t, mixnet.Options{
		MixObserve: func(from, next [32]byte, size int) {
			if r := cur.Load(); r != nil {
				r.Mix(from, next, size)
			}
		},
		GatewayObserve: func(gw, c, next [32]byte, size int) {
			if r := cur.Load(); r != nil {
				r.Gateway(gw, c, next, size)
			}
		},
	})
	// The recorder files events under the roles of the moment.
	setRoles := func(r *Recorder, topo *topology.Topology) {
		var mixes, gws [][32]byte
		for _, l := range topo.Layers {
			for _, n := range l {
				mixes = append(mixes, n.Identity)
			}
		}
		for _, n := range append(append([]topology.Node(nil), topo.Entry...), topo.Exit...) {
			gws = append(gws, n.Identity)
		}
		r.SetRoles(mixes, gws)
	}
	updates, unsubscribe := nw.Reader.Subscribe()
	defer unsubscribe()
	go func() {
		for u := range updates {
			if r := cur.Load(); r != nil {
				setRoles(r, u.Topology)
			}
		}
	}()

	var rows []Row
	var delays []DelayPoint
	for _, n := range sizes {
		for _, c := range Conditions {
			// A quiet network needs longer for as many messages.
			secs := seconds
			if c.MessageRate < 1 {
				secs = 3 * seconds
			}
			rec := NewRecorder(time.Duration(c.HopDelay*float64(time.Second)), 20_000_000)
			setRoles(rec, nw.Reader.Current())
			cur.Store(rec)
			runTraffic(t, nw, rec, c, n, secs)
			cur.Store(nil)
			tr, err := rec.Trace()
			require.NoError(t, err)
			events, unknown, dropped := rec.Stats()
			// Warm-up: the clients' first seconds (registration, the mixes
			// filling); the last second's packets may miss later hops.
			warm := 2.0
			meas, err := tr.Measure(sample(tr.ExitPackets(warm, secs+warm-1), 300))
			require.NoError(t, err)
			t.Logf("%s, N=%d: %d events (%d with an unknown end, %d over the bound), %d measured", c.Name, n, events, unknown, dropped, meas.Messages)
			require.Zero(t, dropped)
			require.Less(t, float64(unknown), 0.01*float64(events)+10, "events with an end outside the topology")
			require.Greater(t, meas.Messages, 5, "%s, N=%d: too few packets at the exit", c.Name, n)
			rows = append(rows, Row{Condition: c.Name, N: n, Source: "measured", Result: meas})
			sim, err := SimulateCondition(c, n, 300, uint64(n))
			require.NoError(t, err)
			rows = append(rows, sim)
			if math.Abs(meas.Mean-sim.Result.Mean) > tolerance {
				t.Errorf("%s, N=%d: measured %.3f bits, simulated %.3f (tolerance %.2f)", c.Name, n, meas.Mean, sim.Result.Mean, tolerance)
			}
			if c.Cover && c.MessageRate == DefaultMessageRate {
				delays = append(delays, DelayPoint{Label: fmt.Sprintf("measured, N=%d", n), Delay: c.HopDelay, Entropy: meas.Mean, Measured: true})
			}
		}
	}
	for _, n := range []int{100, 1000, 10000} {
		for _, c := range Conditions {
			msgs := 200
			if n >= 10000 {
				msgs = 30
			}
			r, err := SimulateCondition(c, n, msgs, uint64(n))
			require.NoError(t, err)
			rows = append(rows, r)
		}
	}
	for _, n := range []int{sizes[0], 1000} {
		for _, d := range []float64{0.00375, 0.0075, 0.015, 0.030, 0.060} {
			for _, cover := range []bool{true, false} {
				c := Condition{Name: "x", Cover: cover, HopDelay: d, MessageRate: DefaultMessageRate}
				r, err := SimulateCondition(c, n, 100, 1)
				require.NoError(t, err)
				label := fmt.Sprintf("simulated, N=%d, cover %s", n, map[bool]string{true: "on", false: "off"}[cover])
				delays = append(delays, DelayPoint{Label: label, Delay: d, Entropy: r.Result.Mean})
			}
		}
	}

	var b strings.Builder
	require.NoError(t, WriteTable(&b, rows))
	fmt.Print("\n", b.String(), "\n")
	require.NoError(t, os.WriteFile(filepath.Join(out, "anonymity.txt"), []byte(b.String()), 0o644))
	require.NoError(t, PlotVsN(rows, filepath.Join(out, "entropy_vs_n.png")))
	require.NoError(t, PlotVsDelay(delays, filepath.Join(out, "entropy_vs_delay.png")))
	fmt.Printf("table and plots in %s\n", out)
}

// runTraffic runs n clients of condition c for the given seconds: each
// sends real messages to random others as a Poisson process, and loop cover
// if the condition has it.
func runTraffic(t *testing.T, nw *mixnet.Network, rec *Recorder, c Condition, n int, seconds float64) {
	sc := client.DefaultSenderConfig()
	sc.AveragePacketDelay = time.Duration(c.HopDelay * float64(time.Second))
	clients := make([]*mixnet.Client, n)
	for i := range clients {
		clients[i] = nw.StartClient(t, mixnet.ClientOptions{Sender: sc, LoopCover: c.Cover})
		var id [32]byte
		copy(id[:], clients[i].Keys.Identity.Public().(ed25519.PublicKey))
		rec.AddClient(id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration((seconds+2)*float64(time.Second)))
	defer cancel()
	var wg sync.WaitGroup
	for i, cl := range clients {
		wg.Add(2)
		go func() { // drain what arrives
			defer wg.Done()
			for {
				if _, err := cl.Receive(ctx); err != nil {
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), uint64(n)))
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Duration(rng.ExpFloat64() / c.MessageRate * float64(time.Second))):
				}
				to := clients[rng.IntN(n)]
				_ = cl.Send(to.Address(), []byte("anonymity measurement"))
			}
		}()
	}
	wg.Wait()
	for _, cl := range clients {
		cl.Disconnect()
	}
}

func envInts(t *testing.T, name string, def []int) []int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		require.NoError(t, err, name)
		out = append(out, n)
	}
	return out
}

func envFloat(t *testing.T, name string, def float64) float64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	require.NoError(t, err, name)
	return f
}
