// Package monitor is the network monitor (nym-monitor): it measures how
// well each node of the epoch's topology passes packets on, and reports
// each node's performance (0 to 1) to x/mixnet with MsgSubmitPerformance
// from an account listed in the module's network_monitors param. The chain
// takes the median of the monitors' reports, so one monitor that lies
// moves nothing while most are honest.
//
// It measures by sending, as a client does, loop cover packets through the
// network: it registers with the epoch's gateways under its identity, and
// sends each test packet from one gateway (over its websocket, like any
// client) through one node of each mix layer to another gateway, which
// delivers it back to the monitor. A test packet is a regular Sphinx
// packet whose payload is sealed by the monitor to itself exactly as a
// client seals its loop cover, with the client's exponential per-hop
// delays and Poisson sending: no node on the route, gateways included, can
// tell it from a client's packet. Routes are chosen position by position,
// each position's least-measured node next, so every node carries about
// the same number of test packets in each position it holds; estimate.go
// turns the packets that came back into per-node scores.
//
// The monitor keeps measuring on the last topology it read while the chain
// is unreachable, and submits when the chain is back (the chain takes
// reports on the current epoch only, so what was measured of an epoch
// that ended meanwhile is lost). Its reports and per-node figures are
// logged and exported as Prometheus metrics (nyx_monitor_*).
package monitor

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sidecar/gatewayclient"
	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	"github.com/nyx-privacy/nyx/sidecar/ratelog"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/sphinx"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// Submitter sends the monitor's transactions: a *chaintx.Signer.
type Submitter interface {
	Address() string
	Submit(ctx context.Context, msgs ...sdk.Msg) (*sdk.TxResponse, error)
}

// Monitor is a running network monitor. Create it with New and run it with
// Run.
type Monitor struct {
	cfg    Config
	id     ed25519.PrivateKey
	self   [32]byte
	enc    *ecdh.PrivateKey
	topo   func() *topology.Topology
	signer Submitter
	log    *slog.Logger
	rlog   *ratelog.Logger
	m      *metrics
	bw     gatewayclient.Bandwidth // nil: no credentials to present

	mu      sync.Mutex
	rng     *mrand.Rand
	epoch   uint64
	probes  []probe
	pending map[[32]byte]pendingProbe
	used    [numPositions]map[uint64]int
	gws     map[[32]byte]*session
	report  reportState
}

type pendingProbe struct {
	idx      int
	deadline time.Time
}

type reportState struct {
	epoch   uint64 // of the last report the chain took
	at      time.Time
	nodes   int
	lastErr string
	retryAt time.Time
}

// session is the monitor's connection to one gateway.
type session struct {
	node       topology.Node
	conn       *gatewayclient.Conn // nil while down
	connecting bool
	retryAt    time.Time
	backoff    time.Duration
}

// New makes a monitor: keys.Identity registers with gateways, topo gives
// the topology in use (a topology.Reader's Current), signer submits the
// reports; metrics go to reg if it is not nil.
func New(cfg Config, keys Keys, topo func() *topology.Topology, signer Submitter, log *slog.Logger, reg prometheus.Registerer) (*Monitor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid config: %w", err)
	}
	if len(keys.Identity) != ed25519.PrivateKeySize || topo == nil || signer == nil {
		return nil, errors.New("monitor: identity, topology and signer are required")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	enc, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	var seed [32]byte
	_, _ = rand.Read(seed[:])
	m := &Monitor{cfg: cfg, id: keys.Identity, enc: enc, topo: topo, signer: signer,
		log: log.With("component", "monitor"), rng: mrand.New(mrand.NewChaCha8(seed)),
		pending: map[[32]byte]pendingProbe{}, gws: map[[32]byte]*session{}}
	copy(m.self[:], keys.Identity.Public().(ed25519.PublicKey))
	m.rlog = ratelog.New(m.log, 0, 0)
	m.resetLocked(0)
	if m.m, err = newMetrics(reg); err != nil {
		return nil, err
	}
	return m, nil
}

// SetBandwidth sets where the monitor's gateway sessions take bandwidth
// credentials from (a *clientcred.Wallet); call it before Run.
func (m *Monitor) SetBandwidth(bw gatewayclient.Bandwidth) { m.bw = bw }

// Run measures and reports until ctx ends.
func (m *Monitor) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); m.sweepLoop(ctx) }()
	go func() { defer wg.Done(); m.reportLoop(ctx) }()
	m.sendLoop(ctx, &wg)
	wg.Wait()
	m.mu.Lock()
	for _, s := range m.gws {
		if s.conn != nil {
			s.conn.Close()
		}
	}
	m.mu.Unlock()
	return nil
}

// resetLocked starts the measurement of epoch.
func (m *Monitor) resetLocked(epoch uint64) {
	m.epoch = epoch
	m.probes = nil
	clear(m.pending)
	for i := range m.used {
		m.used[i] = map[uint64]int{}
	}
}

func (m *Monitor) sendLoop(ctx context.Context, wg *sync.WaitGroup) {
	mean := float64(time.Second) / m.cfg.Monitor.Rate
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		m.mu.Lock()
		gap := time.Duration(m.rng.ExpFloat64() * mean)
		m.mu.Unlock()
		timer.Reset(gap)
		t := m.topo()
		if t == nil || len(t.Gateways()) == 0 || len(t.Layer(1)) == 0 || len(t.Layer(2)) == 0 || len(t.Layer(3)) == 0 {
			continue
		}
		m.sendOne(ctx, t, wg)
	}
}

// gateways returns the epoch's gateways the monitor uses, by node id.
func (m *Monitor) gateways(t *topology.Topology) []topology.Node {
	gws := slices.Clone(t.Gateways())
	slices.SortFunc(gws, func(a, b topology.Node) int { return cmpU64(a.ID, b.ID) })
	return gws[:min(len(gws), m.cfg.Monitor.MaxGateways)]
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// pickLocked returns the node of candidates that carried the fewest test
// packets in pos this epoch, ties broken at random.
func (m *Monitor) pickLocked(pos int, candidates []topology.Node) topology.Node {
	best, n := candidates[0], 0
	fewest := -1
	for _, c := range candidates {
		u := m.used[pos][c.ID]
		switch {
		case fewest < 0 || u < fewest:
			best, fewest, n = c, u, 1
		case u == fewest:
			n++
			if m.rng.IntN(n) == 0 {
				best = c
			}
		}
	}
	m.used[pos][best.ID]++
	return best
}

// sendOne sends one test packet over a route through the least-measured
// nodes, or records the entry gateway's refusal.
func (m *Monitor) sendOne(ctx context.Context, t *topology.Topology, wg *sync.WaitGroup) {
	gws := m.gateways(t)
	m.mu.Lock()
	if t.Epoch != m.epoch {
		if m.epoch != 0 {
			m.log.Info("epoch ended", "epoch", m.epoch, "test_packets", len(m.probes))
		}
		m.resetLocked(t.Epoch)
		m.m.epoch.Set(float64(t.Epoch))
	}
	entry := m.pickLocked(posEntry, gws)
	m.mu.Unlock()
	conn := m.connect(ctx, entry, wg)
	// The exit must be a gateway the monitor is connected to, or the
	// packet would wait in an inbox.
	var exits []topology.Node
	for _, g := range gws {
		if m.connect(ctx, g, wg) != nil {
			exits = append(exits, g)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.Epoch != m.epoch {
		return
	}
	if conn == nil {
		if s := m.gws[entry.Identity]; s != nil && !s.connecting {
			// Down, or refused the monitor's registration: it takes no
			// packet from a client either.
			m.recordLocked(probe{nodes: []uint64{entry.ID}}, false)
		}
		return
	}
	if len(exits) == 0 {
		return
	}
	nodes := []topology.Node{entry}
	route := make([]sphinx.Hop, 0, 4)
	for l := 1; l <= 3; l++ {
		n := m.pickLocked(posLayer1+l-1, t.Layer(l))
		nodes = append(nodes, n)
		route = append(route, n.Hop(m.expLocked()))
	}
	exit := m.pickLocked(posExit, exits)
	nodes = append(nodes, exit)
	route = append(route, exit.Hop(m.expLocked()))
	content, err := client.SealCover(rand.Reader, m.enc.PublicKey(), sphinx.Regular.PayloadSize)
	if err != nil {
		m.log.Error("seal a test packet", "err", err)
		return
	}
	// Like a client's, the packet carries a SURB-ACK back to the monitor
	// through the mix layers, which the exit sends on and the monitor
	// ignores: without one no gateway takes it, and with one it looks like
	// any client's cover. Its route is drawn apart from the scored one.
	payload, err := m.withSURBAckLocked(t, entry, content)
	if err != nil {
		m.log.Error("a test packet's SURB-ACK", "err", err)
		return
	}
	var dst sphinx.Destination
	dst.Address = sphinx.DestinationAddress(m.self)
	_, _ = rand.Read(dst.Identifier[:])
	packet, err := sphinx.Regular.NewPacket(rand.Reader, route, dst, payload)
	if err != nil {
		m.log.Error("build a test packet", "err", err)
		return
	}
	pr := probe{nodes: make([]uint64, len(nodes)), sent: time.Now()}
	for i, n := range nodes {
		pr.nodes[i] = n.ID
	}
	if err := conn.Send(route[0].Address, packet); err != nil {
		m.rlog.Warn("gateway took no test packet", "gateway", entry.ID, "err", err)
		m.dropLocked(entry.Identity)
		m.recordLocked(probe{nodes: []uint64{entry.ID}}, false)
		return
	}
	m.m.sent.Inc()
	m.probes = append(m.probes, pr)
	m.pending[sha256.Sum256(content)] = pendingProbe{idx: len(m.probes) - 1, deadline: time.Now().Add(m.timeout(t))}
	m.trimLocked()
}

// maxProbes bounds the test packets kept for one epoch's estimate (64
// bytes or so each). An epoch normally ends well before it; while the
// chain is unreachable the epoch in use does not end, and the oldest half
// is then dropped each time the bound is reached, so the estimate follows
// the latest packets.
const maxProbes = 200_000

func (m *Monitor) trimLocked() {
	if len(m.probes) < maxProbes {
		return
	}
	half := len(m.probes) / 2
	m.probes = append([]probe(nil), m.probes[half:]...)
	for h, p := range m.pending {
		if p.idx < half {
			delete(m.pending, h)
		} else {
			p.idx -= half
			m.pending[h] = p
		}
	}
}

// timeout is how long a test packet may take in t's epoch: PacketTimeout,
// or a quarter of the epoch if that is shorter, so that a short epoch
// still has packets whose fate is known when its reports are due.
func (m *Monitor) timeout(t *topology.Topology) time.Duration {
	d := time.Duration(m.cfg.Monitor.PacketTimeout)
	if t != nil {
		if q := t.EpochEnd.Sub(t.EpochStart) / 4; q > 0 && q < d {
			d = q
		}
	}
	return d
}

func (m *Monitor) expLocked() time.Duration {
	return time.Duration(m.rng.ExpFloat64() * float64(m.cfg.Monitor.PacketDelay))
}

// recordLocked adds a finished probe.
func (m *Monitor) recordLocked(pr probe, ok bool) {
	pr.ok, pr.sent = ok, time.Now()
	m.probes = append(m.probes, pr)
	if !ok {
		m.m.lost.Inc()
	}
	m.trimLocked()
}

// connect returns the session with gw, or nil while there is none; then it
// registers in the background (one attempt per backoff), so a gateway that
// is down never holds up the test packets of the others.
func (m *Monitor) connect(ctx context.Context, gw topology.Node, wg *sync.WaitGroup) *gatewayclient.Conn {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.gws[gw.Identity]
	if s == nil {
		s = &session{node: gw, backoff: time.Second}
		m.gws[gw.Identity] = s
	}
	if s.conn != nil || s.connecting || time.Now().Before(s.retryAt) || ctx.Err() != nil {
		return s.conn
	}
	s.connecting = true
	wg.Add(1)
	go func() {
		defer wg.Done()
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		url, pub := "ws://"+gw.ClientsAddr()+"/", ed25519.PublicKey(gw.Identity[:])
		conn, key, err := gatewayclient.Register(rctx, url, pub, m.id)
		if err == nil && m.bw != nil {
			// Again, with credentials for a gateway that enforces them.
			conn.Close()
			conn, err = gatewayclient.DialWithBandwidth(rctx, url, pub, m.id, key, m.bw)
		}
		cancel()
		m.mu.Lock()
		defer m.mu.Unlock()
		s.connecting = false
		if err != nil {
			m.rlog.Warn("gateway unreachable", "gateway", gw.ID, "addr", gw.ClientsAddr(), "err", err, "retry_in", s.backoff)
			s.retryAt = time.Now().Add(s.backoff)
			s.backoff = min(2*s.backoff, time.Minute)
			return
		}
		s.conn, s.backoff = conn, time.Second
		m.m.gateways.Inc()
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.receive(ctx, gw.Identity, conn)
		}()
	}()
	return nil
}

// dropLocked forgets gw's session after it failed.
func (m *Monitor) dropLocked(gw [32]byte) {
	if s := m.gws[gw]; s != nil && s.conn != nil {
		s.conn.Close()
		s.conn = nil
		s.retryAt = time.Now().Add(s.backoff)
		m.m.gateways.Dec()
	}
}

// withSURBAckLocked prefixes content with a SURB-ACK: an ack-size packet over
// a random route through the three layers back to the monitor at gateway
// own, carrying random bytes.
func (m *Monitor) withSURBAckLocked(t *topology.Topology, own topology.Node, content []byte) ([]byte, error) {
	route := make([]sphinx.Hop, 0, 4)
	for l := 1; l <= 3; l++ {
		layer := t.Layer(l)
		if len(layer) == 0 {
			return nil, fmt.Errorf("no node in layer %d", l)
		}
		route = append(route, layer[m.rng.IntN(len(layer))].Hop(m.expLocked()))
	}
	route = append(route, own.Hop(m.expLocked()))
	var dst sphinx.Destination
	dst.Address = sphinx.DestinationAddress(m.self)
	_, _ = rand.Read(dst.Identifier[:])
	body := make([]byte, sphinx.Ack.PayloadSize)
	_, _ = rand.Read(body)
	ack, err := sphinx.Ack.NewPacket(rand.Reader, route, dst, body)
	if err != nil {
		return nil, err
	}
	return gatewayproto.JoinSURBAck([32]byte(route[0].Address), ack, content)
}

// receive takes what gw delivers: test packets back.
func (m *Monitor) receive(ctx context.Context, gw [32]byte, conn *gatewayclient.Conn) {
	for {
		msg, err := conn.Receive(ctx)
		if err != nil {
			m.mu.Lock()
			if s := m.gws[gw]; s != nil && s.conn == conn {
				m.dropLocked(gw)
			}
			m.mu.Unlock()
			return
		}
		_ = conn.Ack(msg.ID)
		h := sha256.Sum256(msg.Payload)
		m.mu.Lock()
		if p, ok := m.pending[h]; ok {
			delete(m.pending, h)
			m.probes[p.idx].ok = true
			m.m.returned.Inc()
		}
		m.mu.Unlock()
	}
}

// sweepLoop counts test packets not back in time as lost.
func (m *Monitor) sweepLoop(ctx context.Context) {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			m.mu.Lock()
			for h, p := range m.pending {
				if now.After(p.deadline) {
					delete(m.pending, h)
					m.m.lost.Inc()
				}
			}
			m.mu.Unlock()
		}
	}
}

// settledLocked returns the probes sent at least timeout ago: every one
// of them is back or lost. Younger ones are left out even when back, or
// the estimate would count their successes before their losses.
func (m *Monitor) settledLocked(now time.Time, timeout time.Duration) []probe {
	cutoff := now.Add(-timeout)
	n, _ := slices.BinarySearchFunc(m.probes, cutoff, func(p probe, t time.Time) int { return p.sent.Compare(t) })
	for n < len(m.probes) && !m.probes[n].sent.After(cutoff) {
		n++
	}
	return slices.Clone(m.probes[:n])
}

// Performance returns the current epoch and each measured node's
// performance so far, for nodes with at least MinPackets settled test
// packets.
func (m *Monitor) Performance() (uint64, map[uint64]float64) {
	timeout := m.timeout(m.topo())
	m.mu.Lock()
	settled := m.settledLocked(time.Now(), timeout)
	epoch := m.epoch
	m.mu.Unlock()
	perf, packets := estimate(settled)
	for n := range perf {
		if packets[n] < m.cfg.Monitor.MinPackets {
			delete(perf, n)
		}
	}
	return epoch, perf
}

func (m *Monitor) reportLoop(ctx context.Context) {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			m.maybeReport(ctx, now)
		}
	}
}

// maybeReport submits this epoch's figures once ReportAfter of the epoch
// has passed, and again every ReportInterval.
func (m *Monitor) maybeReport(ctx context.Context, now time.Time) {
	t := m.topo()
	if t == nil || t.Epoch == 0 {
		return
	}
	due := t.EpochStart.Add(time.Duration(m.cfg.Monitor.ReportAfter * float64(t.EpochEnd.Sub(t.EpochStart))))
	m.mu.Lock()
	r := m.report
	m.mu.Unlock()
	if now.Before(due) || now.Before(r.retryAt) || (r.epoch == t.Epoch && now.Sub(r.at) < time.Duration(m.cfg.Monitor.ReportInterval)) {
		return
	}
	epoch, perf := m.Performance()
	if epoch != t.Epoch || len(perf) == 0 {
		return
	}
	msg := &mixnettypes.MsgSubmitPerformance{Monitor: m.signer.Address(), EpochId: epoch}
	ids := make([]uint64, 0, len(perf))
	for id := range perf {
		if _, ok := t.ByID(id); ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	m.m.perf.Reset()
	for _, id := range ids {
		p := perf[id]
		msg.Reports = append(msg.Reports, mixnettypes.NodePerformance{NodeId: id, Performance: math.LegacyNewDecWithPrec(int64(p*1e6+0.5), 6)})
		n, _ := t.ByID(id)
		m.m.perf.WithLabelValues(strconv.FormatUint(id, 10), n.Role.String()).Set(p)
	}
	if len(msg.Reports) == 0 {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	_, err := m.signer.Submit(sctx, msg)
	cancel()
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.m.reports.WithLabelValues("failed").Inc()
		m.report.lastErr = err.Error()
		m.report.retryAt = now.Add(2 * time.Second)
		m.rlog.Warn("performance report not taken; measuring on and retrying", "epoch", epoch, "err", err)
		return
	}
	m.m.reports.WithLabelValues("ok").Inc()
	m.report = reportState{epoch: epoch, at: now, nodes: len(msg.Reports)}
	args := []any{"epoch", epoch, "nodes", len(msg.Reports)}
	for _, r := range msg.Reports {
		args = append(args, "node_"+strconv.FormatUint(r.NodeId, 10), r.Performance.String()[:5])
	}
	m.log.Info("performance reported", args...)
}

// Health is what /health shows.
type Health struct {
	Epoch           uint64 `json:"epoch"`
	TestPackets     int    `json:"test_packets"`
	Pending         int    `json:"pending"`
	Gateways        int    `json:"gateways_connected"`
	LastReportEpoch uint64 `json:"last_report_epoch"`
	LastReportNodes int    `json:"last_report_nodes"`
	LastReportError string `json:"last_report_error,omitempty"`
}

// Health reports the monitor's state.
func (m *Monitor) Health() Health {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := Health{Epoch: m.epoch, TestPackets: len(m.probes), Pending: len(m.pending),
		LastReportEpoch: m.report.epoch, LastReportNodes: m.report.nodes, LastReportError: m.report.lastErr}
	for _, s := range m.gws {
		if s.conn != nil {
			h.Gateways++
		}
	}
	return h
}

type metrics struct {
	sent, returned, lost prometheus.Counter
	gateways, epoch      prometheus.Gauge
	perf                 *prometheus.GaugeVec
	reports              *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: "nyx", Subsystem: "monitor", Name: name, Help: help}
	}
	m := &metrics{
		sent:     prometheus.NewCounter(prometheus.CounterOpts(opts("packets_sent_total", "Test packets sent."))),
		returned: prometheus.NewCounter(prometheus.CounterOpts(opts("packets_returned_total", "Test packets that came back."))),
		lost: prometheus.NewCounter(prometheus.CounterOpts(opts("packets_lost_total",
			"Test packets not back within packet_timeout, or refused by their entry gateway."))),
		gateways: prometheus.NewGauge(prometheus.GaugeOpts(opts("gateways_connected", "Gateways the monitor has a session with."))),
		epoch:    prometheus.NewGauge(prometheus.GaugeOpts(opts("epoch", "The epoch being measured."))),
		perf: prometheus.NewGaugeVec(prometheus.GaugeOpts(opts("node_performance",
			"Each node's performance in the last report (0 to 1).")), []string{"node_id", "role"}),
		reports: prometheus.NewCounterVec(prometheus.CounterOpts(opts("reports_total",
			"Performance reports submitted, by result (ok, failed).")), []string{"result"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.sent, m.returned, m.lost, m.gateways, m.epoch, m.perf, m.reports} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
