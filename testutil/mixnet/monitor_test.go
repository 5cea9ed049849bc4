package mixnet_test

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/testutil/mixnet"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// TestMonitorScoresFaultyAndDownNodes runs a network of nine nodes (two
// per mix layer, a gateway of each kind, one spare) and a monitor. At the
// start of an epoch a node of layer 1 starts dropping half of the packets
// it gets (a real node behind its own key, faulty.go) and a node of layer
// 2 stops. At the end of that epoch the chain records about 0.5 for the
// first, about 0 for the second and about 1 for the others, from the
// monitor's reports; and in the epoch drawn with those figures, the
// stopped node (under the chain's minimum_performance, 0.1 here) gets no
// role while the eight others fill the rewarded set.
func TestMonitorScoresFaultyAndDownNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain and a network")
	}
	const epoch = 8 * time.Second
	nw := mixnet.Start(t, mixnet.Options{Entry: 1, Exit: 1, Mixnodes: 6, Nodes: 9, EpochDuration: epoch,
		Monitors: 1, FaultyPorts: true, MinimumPerformance: "0.1"})
	mon := nw.StartMonitor(t, 0, mixnet.MonitorOptions{})
	ctx := timeout(t, 3*time.Minute)
	eventually(t, "a first report", 30*time.Second, func() bool { return mon.Health().LastReportEpoch > 0 })

	// The next epoch: its layer 1 and 2 nodes are known at its start.
	cur := nw.Reader.Current().Epoch
	top, err := nw.Reader.Wait(ctx, func(tp *topology.Topology) bool { return tp.Epoch > cur })
	if err != nil {
		t.Fatal(err)
	}
	byID := map[uint64]*mixnet.Node{}
	for _, n := range nw.Nodes {
		byID[n.ID] = n
	}
	faulty, down := byID[top.Layer(1)[0].ID], byID[top.Layer(2)[0].ID]
	nw.SetDropRate(faulty, 0.5)
	nw.SetDropRate(down, 1) // at once; stopping takes a moment
	nw.StopNode(down)
	measured := top.Epoch
	t.Logf("epoch %d: node %d (layer 1) drops half, node %d (layer 2) is down", measured, faulty.ID, down.ID)

	if _, err := nw.Reader.Wait(ctx, func(tp *topology.Topology) bool { return tp.Epoch > measured }); err != nil {
		t.Fatal(err)
	}
	perf := func(id uint64) float64 {
		r, err := nw.Query.Node(ctx, &mixnettypes.QueryNodeRequest{NodeId: id})
		if err != nil {
			t.Fatal(err)
		}
		f, _ := r.Node.Performance.Float64()
		return f
	}
	t.Logf("recorded: dropping half %.3f, stopped %.3f", perf(faulty.ID), perf(down.ID))
	if p := perf(faulty.ID); p < 0.3 || p > 0.7 {
		t.Errorf("the node dropping half scores %.3f", p)
	}
	// About 0: the monitor may have sent a packet or two through it in
	// the epoch before the test stopped it.
	if p := perf(down.ID); p > 0.05 {
		t.Errorf("the stopped node scores %.3f", p)
	}
	for _, n := range top.All() {
		t.Logf("node %d (%s): %.3f", n.ID, n.Role, perf(n.ID))
		if n.Role == topology.Standby || n.ID == faulty.ID || n.ID == down.ID {
			continue
		}
		if p := perf(n.ID); p < 0.8 {
			t.Errorf("node %d (%s), sound, scores %.3f", n.ID, n.Role, p)
		}
	}

	// The draw that weighs these figures is that of epoch measured+2 (each
	// epoch's roles come from the weights as the epoch before it began):
	// the stopped node has no role, and the rewarded set is full without
	// it.
	tp, err := nw.Reader.Wait(ctx, func(tp *topology.Topology) bool { return tp.Epoch >= measured+2 })
	if err != nil {
		t.Fatal(err)
	}
	if n, in := tp.ByID(down.ID); in && (n.Role.IsGateway() || n.Role.Layer() > 0) {
		t.Fatalf("epoch %d: the stopped node was drawn as %s", tp.Epoch, n.Role)
	}
	if len(tp.Layer(1))+len(tp.Layer(2))+len(tp.Layer(3)) != 6 || len(tp.Entry) != 1 || len(tp.Exit) != 1 {
		t.Fatalf("epoch %d: the rewarded set is not full without the stopped node: %d %d %d, %d, %d", tp.Epoch,
			len(tp.Layer(1)), len(tp.Layer(2)), len(tp.Layer(3)), len(tp.Entry), len(tp.Exit))
	}
}

// TestMonitorOutlivesChainOutage: the monitor reaches the chain through a
// TCP relay the test cuts. While the chain is out of reach the monitor
// keeps sending test packets over the last topology it read and counts
// its failed reports; once the relay is back, a report goes through.
func TestMonitorOutlivesChainOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain and a network")
	}
	nw := mixnet.Start(t, mixnet.Options{EpochDuration: 4 * time.Second, Monitors: 1})
	relay := newRelay(t, nw.Chain.GRPCAddr)
	mon := nw.StartMonitor(t, 0, mixnet.MonitorOptions{GRPC: relay.addr})
	eventually(t, "a first report", 30*time.Second, func() bool { return mon.Health().LastReportEpoch > 0 })

	relay.cut()
	reported := mon.Health().LastReportEpoch
	sent := func() float64 { return gatherValue(t, mon.Registry, "nyx_monitor_packets_sent_total", nil) }
	atCut := sent()
	eventually(t, "a failed report", 30*time.Second, func() bool {
		return gatherValue(t, mon.Registry, "nyx_monitor_reports_total", map[string]string{"result": "failed"}) >= 1
	})
	eventually(t, "test packets sent while the chain is out of reach", 30*time.Second, func() bool { return sent() >= atCut+50 })
	relay.restore()
	eventually(t, "a report after the outage", 60*time.Second, func() bool { return mon.Health().LastReportEpoch > reported })
}

// relay passes TCP connections to target until cut, and again after
// restore, on the same address.
type relay struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	l      net.Listener
	conns  []net.Conn
}

func newRelay(t *testing.T, target string) *relay {
	r := &relay{t: t, target: target}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = l.Addr().String()
	r.serve(l)
	t.Cleanup(r.cut)
	return r
}

func (r *relay) serve(l net.Listener) {
	r.mu.Lock()
	r.l = l
	r.mu.Unlock()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", r.target)
			if err != nil {
				c.Close()
				continue
			}
			r.mu.Lock()
			r.conns = append(r.conns, c, up)
			r.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

// cut closes the relay's port and every connection through it.
func (r *relay) cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.l != nil {
		r.l.Close()
		r.l = nil
	}
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}

func (r *relay) restore() {
	var l net.Listener
	var err error
	for range 50 { // the port was just closed; take it again
		if l, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatal(err)
	}
	r.serve(l)
}
