package anonymity

import (
	"sync"
	"time"
)

// Recorder builds a Trace from taps on a running network: every client
// packet a gateway forwards (Gateway) and every packet a node sends on after
// its delay (Mix), timed as they happen. It sees what a global passive
// observer of the links sees and nothing more: who sent a packet to whom,
// when, and its size.
//
// A node's role can change at each epoch, so a trace node is a node in one
// role: the Recorder keeps the current roles (SetRoles, from the topology)
// and files each event under the roles its ends hold when it happens.
type Recorder struct {
	mu      sync.Mutex
	start   time.Time
	trace   Trace
	delay   float64
	max     int
	roles   map[[32]byte]Kind
	nodes   map[roleKey]int32
	clients map[[32]byte]int32
	unknown int
	dropped int
}

type roleKey struct {
	id   [32]byte
	kind Kind
}

// NewRecorder records up to maxEvents events of a network whose mixes hold
// packets for a mean of hopDelay.
func NewRecorder(hopDelay time.Duration, maxEvents int) *Recorder {
	return &Recorder{start: time.Now(), delay: hopDelay.Seconds(), max: maxEvents,
		roles: map[[32]byte]Kind{}, nodes: map[roleKey]int32{}, clients: map[[32]byte]int32{}}
}

// SetRoles says which nodes are mixes and which gateways from now on.
func (r *Recorder) SetRoles(mixes, gateways [][32]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.roles)
	for _, id := range mixes {
		r.roles[id] = Mix
	}
	for _, id := range gateways {
		r.roles[id] = Exit
	}
}

// AddClient makes a client's packets count (a sender of the N of log2 N).
func (r *Recorder) AddClient(id [32]byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.clients[id]; !ok {
		r.clients[id] = r.trace.AddNode(Client, 0)
	}
}

// node returns the trace node of id in its current role; called with r.mu held.
func (r *Recorder) node(id [32]byte) (int32, bool) {
	k, ok := r.roles[id]
	if !ok {
		return 0, false
	}
	key := roleKey{id, k}
	n, ok := r.nodes[key]
	if !ok {
		delay := 0.0
		if k == Mix {
			delay = r.delay
		}
		n = r.trace.AddNode(k, delay)
		r.nodes[key] = n
	}
	return n, true
}

func (r *Recorder) add(from int32, to [32]byte, now time.Time) {
	if len(r.trace.Events) >= r.max {
		r.dropped++
		return
	}
	n, ok := r.node(to)
	if !ok || n == from {
		// A node sending to itself puts nothing on a link.
		r.unknown++
		return
	}
	r.trace.Add(Event{T: now.Sub(r.start).Seconds(), From: from, To: n, Real: true})
}

// Gateway records a client's packet forwarded by its gateway to next: the
// gateway forwards the bytes it received, so the observer links them.
func (r *Recorder) Gateway(gateway, client, next [32]byte, size int) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.clients[client]
	if !ok {
		r.unknown++
		return
	}
	r.add(c, next, now)
}

// Mix records a packet that node from sends on to next after its delay.
func (r *Recorder) Mix(from, next [32]byte, size int) {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	// The sender processed and delayed the packet: it acts as a mix.
	key := roleKey{from, Mix}
	f, ok := r.nodes[key]
	if !ok {
		f = r.trace.AddNode(Mix, r.delay)
		r.nodes[key] = f
	}
	r.add(f, next, now)
}

// Stats says how many events were left out: with an end that was neither a
// client nor a node of the topology, or past the recorder's bound.
func (r *Recorder) Stats() (events, unknown, dropped int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.trace.Events), r.unknown, r.dropped
}

// Trace returns a copy of what was recorded, indexed, with times in seconds
// from the recorder's start.
func (r *Recorder) Trace() (*Trace, error) {
	r.mu.Lock()
	t := &Trace{Kinds: append([]Kind(nil), r.trace.Kinds...), MeanDelay: append([]float64(nil), r.trace.MeanDelay...),
		Events: append([]Event(nil), r.trace.Events...), Senders: r.trace.Senders}
	r.mu.Unlock()
	return t, t.Index()
}
