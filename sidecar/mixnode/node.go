// Package mixnode is the packet engine of a nym-node: it reads Sphinx packets
// from its previous hops over TCP (sidecar/wire framing), processes them on a
// pool of workers, holds each for the delay its sender chose on one timer
// heap, and writes it to the next hop over one long-lived connection per
// neighbour, or hands a final-hop payload to the gateway.
//
// Every connection is a Noise session (sidecar/wire, version 2) keyed by
// the nodes' bonded identity keys: a next hop is dialled expecting the key
// of the identity the packet's routing names, and is refused if it does
// not hold it; a plaintext (version 1) peer is refused with a log line; the
// links are rekeyed (redialled) when the node's sphinx key rotates.
//
// Every queue is bounded, in packets and where packets differ in size in
// bytes, and drops with a counter (see DropReason); bytes that are not
// packets are refused, counted, and cost the sender its connection, never
// the node its service. Incoming connections are admitted within limits
// per source IP, with a deadline for their first frame and a share kept for
// the nodes of the topology (admit.go); a stranger's connection is closed
// after a short silence or a run of packets that all fail (strangers.go);
// and every log line an outside party can cause is rate-limited
// (sidecar/ratelog).
package mixnode

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nyx-privacy/nyx/sidecar/ratelog"
	"github.com/nyx-privacy/nyx/sidecar/tomltime"
	"github.com/nyx-privacy/nyx/sidecar/wire"
	"github.com/nyx-privacy/nyx/sphinx"
)

// Config tunes a Node. The zero value of any field gives its default. Its
// TOML tags make it the [mixnode] section of nym-node's config.toml
// (sidecar/node); durations are written as Go duration strings.
type Config struct {
	// Workers is the number of Sphinx processing goroutines; default
	// GOMAXPROCS.
	Workers int `toml:"workers"`
	// ProcessQueue bounds the packets read and waiting for a worker.
	ProcessQueue int `toml:"process_queue"`
	// DelayQueue bounds the packets held for their delay.
	DelayQueue int `toml:"delay_queue"`
	// LinkQueue bounds the packets waiting for one next hop's connection.
	LinkQueue int `toml:"link_queue"`
	// DeliverQueue bounds the final-hop payloads waiting for the gateway.
	DeliverQueue int `toml:"deliver_queue"`
	// DeliverWorkers is how many goroutines hand final-hop payloads to the
	// gateway. A delivery to an offline client returns once it is on disk,
	// and the gateway commits the deliveries waiting at a time together,
	// so its store's throughput grows with this (one worker: one fsync per
	// payload).
	DeliverWorkers int `toml:"deliver_workers"`
	// MaxDelay is the longest per-hop delay the node honours; a packet asking
	// for more is dropped.
	MaxDelay tomltime.Duration `toml:"max_delay"`
	// MaxConns bounds the incoming mix connections.
	MaxConns int `toml:"max_connections"`
	// DialTimeout bounds a dial to a next hop; WriteTimeout one batch of
	// writes to it.
	DialTimeout  tomltime.Duration `toml:"dial_timeout"`
	WriteTimeout tomltime.Duration `toml:"write_timeout"`
	// ReconnectMin and ReconnectMax bound the backoff between dials to an
	// unreachable next hop (packets for it are dropped meanwhile).
	ReconnectMin tomltime.Duration `toml:"reconnect_min"`
	ReconnectMax tomltime.Duration `toml:"reconnect_max"`
	// LinkIdle closes an outgoing link unused this long; ReadIdle an
	// incoming connection silent this long between frames (before its
	// first frame, PrefaceTimeout applies; a stranger's, StrangerIdle).
	LinkIdle tomltime.Duration `toml:"link_idle"`
	ReadIdle tomltime.Duration `toml:"read_idle"`
	// ReplayRate (packets per second) and ReplayWindow (the sphinx key's
	// expected lifetime) size the replay filter, for a false-positive
	// rate of ReplayFalsePositive once that many packets have been seen.
	ReplayRate          float64           `toml:"replay_rate"`
	ReplayWindow        tomltime.Duration `toml:"replay_window"`
	ReplayFalsePositive float64           `toml:"replay_false_positive"`
	// Geometries are the packet formats accepted; default the standard ones.
	Geometries []sphinx.Geometry `toml:"-"`

	// Admission of incoming connections (see admit.go). PrefaceTimeout
	// bounds the time from accept to the first complete frame;
	// MaxConnsPerIP the connections one source IP holds; ReservedConns the
	// share of MaxConns only the topology's nodes (SetPeers) may take.
	PrefaceTimeout tomltime.Duration `toml:"preface_timeout"`
	MaxConnsPerIP  int               `toml:"max_connections_per_ip"`
	ReservedConns  int               `toml:"reserved_connections"`
	// Memory bounds in bytes (of the packet buffers held), since a packet
	// count is none: extended packets are 16 times the size of regular
	// ones. DelayQueueBytes bounds the packets held for their delay,
	// LinkQueueBytes one next hop's queue, LinksBytes all next hops'
	// queues together.
	DelayQueueBytes int64 `toml:"delay_queue_bytes"`
	LinkQueueBytes  int64 `toml:"link_queue_bytes"`
	LinksBytes      int64 `toml:"links_bytes"`
	// ProcessQueueBytes bounds the packets read and waiting for a worker,
	// DeliverQueueBytes the final-hop payloads waiting for the gateway
	// (each holds its whole packet buffer until it is handed over).
	ProcessQueueBytes int64 `toml:"process_queue_bytes"`
	DeliverQueueBytes int64 `toml:"deliver_queue_bytes"`
	// Strangers (sources not among SetPeers) are held to less than
	// peers: StrangerIdle replaces ReadIdle between their frames, and a
	// stranger's connection is closed after a run of StrangerFailures
	// packets that all fail Sphinx processing (see strangers.go).
	StrangerIdle     tomltime.Duration `toml:"stranger_idle"`
	StrangerFailures int               `toml:"stranger_failures"`
	// Observe, when set, is called with the next hop and size of every
	// processed packet as it leaves for that hop: a tap for measuring what
	// a passive observer of the links sees (package anonymity). Nil costs
	// nothing; it is never set from a config file.
	Observe func(next [32]byte, size int) `toml:"-"`

	// Identity is the node's ed25519 identity key. Its links are Noise
	// sessions (sidecar/wire) keyed by it: the node proves it to the nodes
	// that dial it and to those it dials, and dials a next hop expecting
	// the key of the identity in the packet's routing information.
	// Required unless PlaintextLinks.
	Identity ed25519.PrivateKey `toml:"-"`
	// PlaintextLinks runs unencrypted (version 1) links, and refuses
	// encrypted ones: only for measuring what the encryption costs.
	PlaintextLinks bool `toml:"-"`
}

// Defaults of Config.
const (
	DefaultProcessQueue        = 4096
	DefaultDelayQueue          = 100_000
	DefaultLinkQueue           = 2048
	DefaultDeliverQueue        = 1024
	DefaultDeliverWorkers      = 256
	DefaultMaxDelay            = 30 * time.Second
	DefaultMaxConns            = 1024
	DefaultDialTimeout         = 5 * time.Second
	DefaultWriteTimeout        = 10 * time.Second
	DefaultReconnectMin        = 100 * time.Millisecond
	DefaultReconnectMax        = 10 * time.Second
	DefaultLinkIdle            = 10 * time.Minute
	DefaultReadIdle            = 30 * time.Minute
	DefaultReplayRate          = 500
	DefaultReplayWindow        = time.Hour
	DefaultReplayFalsePositive = 1e-5
	DefaultPrefaceTimeout      = 5 * time.Second
	DefaultMaxConnsPerIP       = 32
	DefaultReservedConns       = 256
	DefaultDelayQueueBytes     = 256 << 20
	DefaultLinkQueueBytes      = 8 << 20
	DefaultLinksBytes          = 128 << 20
	DefaultProcessQueueBytes   = 32 << 20
	DefaultDeliverQueueBytes   = 16 << 20
	DefaultStrangerIdle        = 30 * time.Second
	DefaultStrangerFailures    = 16
)

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *tomltime.Duration, d time.Duration) {
		if *v <= 0 {
			*v = tomltime.Duration(d)
		}
	}
	def(&c.Workers, runtime.GOMAXPROCS(0))
	def(&c.ProcessQueue, DefaultProcessQueue)
	def(&c.DelayQueue, DefaultDelayQueue)
	def(&c.LinkQueue, DefaultLinkQueue)
	def(&c.DeliverQueue, DefaultDeliverQueue)
	def(&c.DeliverWorkers, DefaultDeliverWorkers)
	def(&c.MaxConns, DefaultMaxConns)
	defd(&c.MaxDelay, DefaultMaxDelay)
	defd(&c.DialTimeout, DefaultDialTimeout)
	defd(&c.WriteTimeout, DefaultWriteTimeout)
	defd(&c.ReconnectMin, DefaultReconnectMin)
	defd(&c.ReconnectMax, DefaultReconnectMax)
	defd(&c.LinkIdle, DefaultLinkIdle)
	defd(&c.ReadIdle, DefaultReadIdle)
	defd(&c.ReplayWindow, DefaultReplayWindow)
	if c.ReplayRate <= 0 {
		c.ReplayRate = DefaultReplayRate
	}
	if c.ReplayFalsePositive <= 0 || c.ReplayFalsePositive >= 1 {
		c.ReplayFalsePositive = DefaultReplayFalsePositive
	}
	if len(c.Geometries) == 0 {
		c.Geometries = sphinx.StandardGeometries()
	}
	defd(&c.PrefaceTimeout, DefaultPrefaceTimeout)
	def(&c.MaxConnsPerIP, DefaultMaxConnsPerIP)
	def(&c.ReservedConns, min(DefaultReservedConns, c.MaxConns/2))
	c.ReservedConns = min(c.ReservedConns, c.MaxConns)
	def64 := func(v *int64, d int64) {
		if *v <= 0 {
			*v = d
		}
	}
	def64(&c.DelayQueueBytes, DefaultDelayQueueBytes)
	def64(&c.LinkQueueBytes, DefaultLinkQueueBytes)
	def64(&c.LinksBytes, DefaultLinksBytes)
	def64(&c.ProcessQueueBytes, DefaultProcessQueueBytes)
	def64(&c.DeliverQueueBytes, DefaultDeliverQueueBytes)
	defd(&c.StrangerIdle, DefaultStrangerIdle)
	def(&c.StrangerFailures, DefaultStrangerFailures)
	c.StrangerIdle = min(c.StrangerIdle, c.ReadIdle)
	return c
}

// Resolver finds the mix address (host:port) of a node by its identity key;
// ok is false for a node not in the topology.
type Resolver func(identity [32]byte) (addr string, ok bool)

// Deliverer takes final-hop payloads: the gateway (sidecar/gateway's
// *Gateway is one). payload is the node's own copy.
type Deliverer interface {
	Deliver(dest [32]byte, payload []byte) error
}

// Errors of Forward.
var (
	ErrUnknownHop = errors.New("mixnode: next hop is not in the topology")
	ErrQueueFull  = errors.New("mixnode: next hop's queue is full")
	ErrPacketSize = errors.New("mixnode: not a packet of an accepted size")
	ErrClosed     = errors.New("mixnode: node closed")
)

type keyState struct {
	key    *sphinx.PrivateKey
	filter *sphinx.ReplayFilter
}

// keySet is the keys the node accepts packets for, the primary first. Each
// key has its own replay filter, kept for as long as the key stays in the
// set.
type keySet []keyState

type job struct {
	buf    *[]byte
	packet []byte
	// from is the stranger's connection the packet came on (nil for a
	// peer's): processing reports to it whether the packet passed.
	from *strangerConn
}

// Node is a running mix node. Create it with New, feed it with Serve, and
// stop it with Close.
type Node struct {
	cfg      Config
	link     *wire.LinkKey // nil: plaintext links
	log      *slog.Logger
	resolve  Resolver
	sizes    wire.Sizes
	geoms    map[int]sphinx.Geometry
	pool     *bufPool
	counters counters

	keys   atomic.Pointer[keySet]
	keysMu sync.Mutex    // serializes SetKeys
	loss   atomic.Uint64 // share of packets dropped on receipt, in 1/2^32 (SetLoss)
	// linkGen counts the primary key's changes: a link dialled under an
	// older generation is redialled (a new handshake, fresh session keys)
	// before its next packet.
	linkGen   atomic.Uint64
	deliverer atomic.Pointer[Deliverer]

	jobs       chan job
	deliveries chan outgoing
	// Bytes of the packet buffers in jobs and deliveries (queues.go).
	jobBytes, deliverBytes atomic.Int64
	delay                  *delayQueue
	links                  *links

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	admit  *admission
	// rlog is for every line an outside party can cause (bytes on the mix
	// port, next hops' failures, the gateway's refusals).
	rlog *ratelog.Logger

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	open      map[net.Conn]struct{}
	closed    bool
}

// New starts a node's workers with its Sphinx key. resolve maps next hops to
// addresses (normally from the current topology); metrics go to reg if it is
// not nil. Serve then accepts connections.
func New(cfg Config, key *sphinx.PrivateKey, resolve Resolver, log *slog.Logger, reg prometheus.Registerer) (*Node, error) {
	cfg = cfg.WithDefaults()
	if key == nil {
		return nil, errors.New("mixnode: no sphinx key")
	}
	if resolve == nil {
		return nil, errors.New("mixnode: no resolver")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := &Node{
		cfg: cfg, log: log.With("component", "mixnode"), resolve: resolve,
		sizes: wire.SizesOf(cfg.Geometries...), geoms: map[int]sphinx.Geometry{},
		jobs:       make(chan job, cfg.ProcessQueue),
		deliveries: make(chan outgoing, cfg.DeliverQueue),
		delay:      newDelayQueue(cfg.DelayQueue, cfg.DelayQueueBytes),
		admit:      newAdmission(cfg),
		listeners:  map[net.Listener]struct{}{},
		open:       map[net.Conn]struct{}{},
	}
	n.rlog = ratelog.New(n.log, 0, 0)
	if !cfg.PlaintextLinks {
		if cfg.Identity == nil {
			return nil, errors.New("mixnode: no identity key for the links")
		}
		k, err := wire.NewLinkKey(cfg.Identity)
		if err != nil {
			return nil, fmt.Errorf("mixnode: link key: %w", err)
		}
		n.link = k
	}
	for _, g := range cfg.Geometries {
		if err := g.Validate(); err != nil {
			return nil, fmt.Errorf("mixnode: geometry %v: %w", g, err)
		}
		n.geoms[g.PacketSize()] = g
	}
	n.pool = newBufPool(n.sizes.List())
	if err := n.SetKey(key); err != nil {
		return nil, err
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.links = newLinks(n.ctx, n)
	if err := n.register(reg); err != nil {
		n.cancel()
		return nil, fmt.Errorf("mixnode: register metrics: %w", err)
	}
	for range cfg.Workers {
		n.wg.Add(1)
		go n.worker()
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.delay.run(n.ctx, n.release, func(out outgoing) {
			n.counters.dropped[DropShutdown].Add(1)
			n.pool.put(out.buf)
		})
	}()
	for range cfg.DeliverWorkers {
		n.wg.Add(1)
		go n.deliverLoop()
	}
	return n, nil
}

// SetKey makes key the node's only Sphinx key. See SetKeys.
func (n *Node) SetKey(key *sphinx.PrivateKey) error { return n.SetKeys(key) }

// SetKeys sets the Sphinx keys the node accepts packets for: primary, tried
// first, and others, tried when a packet fails the MAC under the keys
// before them. Around a key rotation a node holds two: the announced next
// key before the chain switches to it (clients that already see the switch
// use it), and the previous key for a while after (packets made before the
// switch). A packet that fails every key costs one X25519 multiplication
// per key.
//
// A key already in the set keeps its replay filter; a key new to the set
// gets a fresh one (packets for it failed the MAC until now, so none of its
// tags was taken). A key removed from the set loses its filter: bringing
// it back later would let its earlier packets be replayed, so callers add
// fresh keys only.
func (n *Node) SetKeys(primary *sphinx.PrivateKey, others ...*sphinx.PrivateKey) error {
	keys := append([]*sphinx.PrivateKey{primary}, others...)
	for i, k := range keys {
		if k == nil {
			return errors.New("mixnode: no sphinx key")
		}
		for _, o := range keys[:i] {
			if o.Equal(k) {
				return errors.New("mixnode: a sphinx key given twice")
			}
		}
	}
	n.keysMu.Lock()
	defer n.keysMu.Unlock()
	set := make([]KeyFilter, 0, len(keys))
	for _, k := range keys {
		kf := KeyFilter{Key: k, Filter: n.filterOf(k)}
		if kf.Filter == nil {
			f, err := sphinx.NewReplayFilter(n.cfg.ReplayRate, time.Duration(n.cfg.ReplayWindow), n.cfg.ReplayFalsePositive)
			if err != nil {
				return fmt.Errorf("mixnode: replay filter: %w", err)
			}
			kf.Filter = f
		}
		set = append(set, kf)
	}
	return n.setKeyFilters(set)
}

// Keys returns the public keys the node accepts packets for, the primary
// first.
func (n *Node) Keys() []*sphinx.PublicKey {
	var out []*sphinx.PublicKey
	for _, k := range *n.keys.Load() {
		out = append(out, k.key.PublicKey())
	}
	return out
}

// SetDeliverer sets where final-hop payloads go (nil: dropped as no_gateway).
func (n *Node) SetDeliverer(d Deliverer) {
	if d == nil {
		n.deliverer.Store(nil)
		return
	}
	n.deliverer.Store(&d)
}

// Stats returns a snapshot of the node's counters.
func (n *Node) Stats() Stats { return n.counters.snapshot() }

func (n *Node) worker() {
	defer n.wg.Done()
	for {
		select {
		case <-n.ctx.Done():
			return
		case j := <-n.jobs:
			n.jobBytes.Add(-j.size())
			n.process(j)
		}
	}
}

// SetLoss makes the node drop share (0 to 1) of the packets it gets, at
// random, before processing them, counted as DropInjected: a real fault in
// the path for tests of what rides above the mixnet. Zero (the default)
// drops none.
func (n *Node) SetLoss(share float64) {
	n.loss.Store(uint64(min(max(share, 0), 1) * (1 << 32)))
}

// process runs one hop of Sphinx in place in the packet's buffer.
func (n *Node) process(j job) {
	if l := n.loss.Load(); l > 0 && uint64(mrand.Uint32()) < l {
		n.drop(DropInjected, j.buf)
		return
	}
	g := n.geoms[len(j.packet)]
	var res sphinx.Result
	var err error
	refused := false
	for _, ks := range *n.keys.Load() {
		// A packet that fails the MAC is left untouched, so the next key
		// sees the bytes as they came.
		if ks.filter == nil {
			res, err = g.ProcessHopInto(j.packet, ks.key, j.packet)
			refused = !errors.Is(err, sphinx.ErrMAC)
		} else {
			res, err = g.ProcessHopFiltered(j.packet, ks.key, j.packet, ks.filter)
		}
		if !errors.Is(err, sphinx.ErrMAC) {
			break
		}
	}
	if refused {
		n.drop(DropNoReplayFilter, j.buf)
		return
	}
	j.from.judge(err)
	if err != nil {
		n.drop(sphinxDropReason(err), j.buf)
		return
	}
	if res.Delay > time.Duration(n.cfg.MaxDelay) {
		n.drop(DropDelayTooLong, j.buf)
		return
	}
	out := outgoing{buf: j.buf}
	switch res.Action {
	case sphinx.Forward:
		out.packet, out.next = res.Packet, res.NextHop
	case sphinx.Deliver:
		out.deliver, out.packet, out.dest = true, res.Payload, res.Destination
	default:
		n.drop(DropBadPacket, j.buf)
		return
	}
	if res.Delay <= 0 {
		n.release(out)
		return
	}
	if reason, ok := n.delay.add(time.Now().Add(res.Delay), out); !ok {
		n.drop(reason, j.buf)
	}
}

// release sends a packet whose delay has passed on its way.
func (n *Node) release(out outgoing) {
	if out.deliver {
		if reason, ok := n.queueDelivery(out); !ok {
			n.drop(reason, out.buf)
		}
		return
	}
	if f := n.cfg.Observe; f != nil {
		f(out.next, len(out.packet))
	}
	if reason, ok := n.links.send(out); !ok {
		n.drop(reason, out.buf)
	}
}

func (n *Node) drop(reason DropReason, buf *[]byte) {
	n.counters.dropped[reason].Add(1)
	n.pool.put(buf)
}

func (n *Node) deliverLoop() {
	defer n.wg.Done()
	for {
		select {
		case <-n.ctx.Done():
			return
		case out := <-n.deliveries:
			n.deliverBytes.Add(-out.size())
			payload := bytes.Clone(out.packet)
			n.pool.put(out.buf)
			d := n.deliverer.Load()
			if d == nil {
				n.counters.dropped[DropNoGateway].Add(1)
				continue
			}
			if err := (*d).Deliver(out.dest, payload); err != nil {
				n.counters.dropped[DropDeliverFailed].Add(1)
				n.rlog.Warn("gateway refused a final-hop payload", "dest", shortID(out.dest), "err", err)
				continue
			}
			n.counters.delivered.Add(1)
		}
	}
}

// Forward sends packet, unprocessed, to the node with identity next: what an
// entry gateway does with its clients' packets. It copies packet. It
// implements sidecar/gateway's Forwarder.
func (n *Node) Forward(next [32]byte, packet []byte) error {
	if n.ctx.Err() != nil {
		return ErrClosed
	}
	if _, ok := n.geoms[len(packet)]; !ok {
		n.counters.dropped[DropBadFrame].Add(1)
		return fmt.Errorf("%w: %d bytes", ErrPacketSize, len(packet))
	}
	n.counters.received.Add(1)
	buf := n.pool.get(len(packet))
	copy(*buf, packet)
	reason, ok := n.links.send(outgoing{buf: buf, packet: (*buf)[:len(packet)], next: next})
	if ok {
		return nil
	}
	n.drop(reason, buf)
	switch reason {
	case DropUnknownNextHop:
		return fmt.Errorf("%w: %s", ErrUnknownHop, shortID(next))
	case DropShutdown:
		return ErrClosed
	}
	return fmt.Errorf("%w: %s", ErrQueueFull, shortID(next))
}

// Close stops the node: its listeners, connections, workers and links.
// Packets still queued are dropped (counted as shutdown).
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.cancel()
	for l := range n.listeners {
		l.Close()
	}
	for c := range n.open {
		c.Close()
	}
	n.mu.Unlock()
	n.wg.Wait()
	n.links.wg.Wait()
	for {
		select {
		case j := <-n.jobs:
			n.jobBytes.Add(-j.size())
			n.drop(DropShutdown, j.buf)
		case out := <-n.deliveries:
			n.deliverBytes.Add(-out.size())
			n.drop(DropShutdown, out.buf)
		default:
			return nil
		}
	}
}

func shortID(id [32]byte) string { return hex.EncodeToString(id[:6]) }

// bufPool recycles packet buffers, one pool per accepted packet size.
type bufPool struct {
	pools map[int]*sync.Pool
}

func newBufPool(sizes []int) *bufPool {
	p := &bufPool{pools: map[int]*sync.Pool{}}
	for _, s := range sizes {
		p.pools[s] = &sync.Pool{New: func() any { b := make([]byte, s); return &b }}
	}
	return p
}

func (p *bufPool) get(n int) *[]byte {
	if sp, ok := p.pools[n]; ok {
		return sp.Get().(*[]byte)
	}
	b := make([]byte, n)
	return &b
}

func (p *bufPool) put(b *[]byte) {
	if b == nil {
		return
	}
	if sp, ok := p.pools[cap(*b)]; ok {
		*b = (*b)[:cap(*b)]
		sp.Put(b)
	}
}
