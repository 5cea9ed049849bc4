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
	"github.com/nyx-privacy/nyx/sidecar/tomltime"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/testutil/mixnet"
)

// TestAnonymity is make anonymity: it runs a local network (an in-process
// chain and five nym-nodes on loopback) with N real nym-clients per
// condition, records what a global passive observer sees through the nodes'
// taps, and computes the sender entropy of the packets delivered at the
// exit; it simulates the same model at the same N and at 1,000 and 10,000
// clients, prints the table, writes the plots, and checks that simulation
// (at the packet rate the clients reached) and measurement agree within a
// tolerance for every measured condition whose clients reached keptUp of
// their nominal rate; at least one must.
//
//	NYX_ANON_CLIENTS   measured network sizes (default "10,25"; 10 to 100)
//	NYX_ANON_SECONDS   seconds of traffic per measured condition (default 10, twice that
//	                   for the quiet network; at most about 15, to fit in one epoch)
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
	// Roles are redrawn every epoch, and a node that is the clients'
	// gateway in one may be a mix in the next: each condition runs within
	// one epoch, with clients registered with a gateway of that epoch.
	nw := mixnet.Start(t, mixnet.Options{
		EpochDuration: measureEpoch,
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
	compared := 0
	for _, n := range sizes {
		for _, c := range Conditions {
			// A quiet network needs longer for as many messages.
			secs := seconds
			if c.MessageRate < 1 {
				secs = 2 * seconds
			}
			waitForRoom(t, nw, time.Duration((secs+5)*float64(time.Second))+time.Duration(n)*300*time.Millisecond)
			rec := NewRecorder(time.Duration(c.HopDelay*float64(time.Second)), 20_000_000)
			setRoles(rec, nw.Reader.Current())
			cur.Store(rec)
			ready := runTraffic(t, nw, rec, c, n, secs)
			cur.Store(nil)
			tr, err := rec.Trace()
			require.NoError(t, err)
			events, unknown, dropped := rec.Stats()
			// From when every client was up: a warm-up while the mixes
			// fill, and the last second left out (its packets' later hops
			// came after the clients stopped).
			from, to := ready+1.5, ready+secs+1
			meas, err := tr.Measure(sample(tr.ExitPackets(from, to), 300))
			require.NoError(t, err)
			t.Logf("%s, N=%d: %d events (%d with an unknown end, %d over the bound), %d measured", c.Name, n, events, unknown, dropped, meas.Messages)
			require.Zero(t, dropped)
			require.Less(t, float64(unknown), 0.01*float64(events)+10, "events with an end outside the topology")
			require.Greater(t, meas.Messages, 5, "%s, N=%d: too few packets at the exit", c.Name, n)
			// The clients send as fast as the machine lets them: the
			// simulation of this network runs at the rate they reached.
			rate := tr.ClientRate(from, to)
			rows = append(rows, Row{Condition: c.Name, N: n, Source: "measured", Rate: rate, Result: meas})
			sim, err := SimulateAtRate(c, n, rate, 300, uint64(n))
			require.NoError(t, err)
			rows = append(rows, sim)
			// The comparison holds where the network ran the model: when
			// the machine cannot keep up, the clients' streams stall and
			// burst (not Poisson any more) and packets queue in the nodes,
			// which the simulation does not do. Such rows are reported.
			nominal := c.MessageRate
			if c.Cover {
				nominal = 1 / time.Duration(client.DefaultSenderConfig().AverageSendDelay).Seconds()
			}
			switch {
			case rate < keptUp*nominal:
				t.Logf("%s, N=%d: the clients sent %.1f packets/s of %.1f: not compared (measured %.3f bits, simulated %.3f)",
					c.Name, n, rate, nominal, meas.Mean, sim.Result.Mean)
			case math.Abs(meas.Mean-sim.Result.Mean) > tolerance:
				t.Errorf("%s, N=%d: measured %.3f bits, simulated %.3f (tolerance %.2f)", c.Name, n, meas.Mean, sim.Result.Mean, tolerance)
			default:
				compared++
			}
			if c.Cover && c.MessageRate == DefaultMessageRate {
				delays = append(delays, DelayPoint{Label: fmt.Sprintf("measured, N=%d", n), Delay: c.HopDelay, Entropy: meas.Mean, Measured: true})
			}
		}
	}
	require.Positive(t, compared, "no condition ran at the model's rate: the machine is too busy (try fewer clients)")
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

// keptUp is the share of the nominal packet rate the clients must reach for
// the measurement to be compared with the simulation.
const keptUp = 0.7

// measureEpoch is the measurement network's epoch: long enough for a
// condition's clients to start and run within one.
const measureEpoch = 45 * time.Second

// waitForRoom returns when the current epoch has at least need left, waiting
// for the next one (and for every node to have read it) if it has not.
func waitForRoom(t *testing.T, nw *mixnet.Network, need time.Duration) {
	require.Less(t, need, measureEpoch, "NYX_ANON_SECONDS too long for one epoch")
	topo := nw.Reader.Current()
	if time.Until(topo.EpochEnd) >= need {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*measureEpoch)
	defer cancel()
	for nw.Reader.Current().Epoch <= topo.Epoch {
		select {
		case <-ctx.Done():
			t.Fatalf("no epoch after %d", topo.Epoch)
		case <-time.After(100 * time.Millisecond):
		}
	}
	require.NoError(t, nw.WaitNodesAt(ctx, topo.Epoch+1))
}

// runTraffic runs n clients of condition c for the given seconds: each
// sends real messages to random others as a Poisson process, and loop cover
// if the condition has it. It returns when, in the recorder's time, every
// client was up.
func runTraffic(t *testing.T, nw *mixnet.Network, rec *Recorder, c Condition, n int, seconds float64) float64 {
	sc := client.DefaultSenderConfig()
	sc.AveragePacketDelay = tomltime.Duration(c.HopDelay * float64(time.Second))
	clients := make([]*mixnet.Client, n)
	for i := range clients {
		clients[i] = nw.StartClient(t, mixnet.ClientOptions{Sender: sc, LoopCover: c.Cover})
		var id [32]byte
		copy(id[:], clients[i].Keys.Identity.Public().(ed25519.PublicKey))
		rec.AddClient(id)
	}
	ready := time.Since(rec.start).Seconds()
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
				_, _ = cl.Send(ctx, to.Address(), []byte("anonymity measurement"))
			}
		}()
	}
	wg.Wait()
	for _, cl := range clients {
		cl.Disconnect()
	}
	return ready
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
