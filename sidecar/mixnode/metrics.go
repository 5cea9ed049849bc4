package mixnode

import (
	"errors"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nyx-privacy/nyx/sidecar/wire"
	"github.com/nyx-privacy/nyx/sphinx"
)

// DropReason says why a packet (or a connection's bytes) was dropped.
type DropReason int

// The drop reasons, as the "reason" label of nyx_mixnode_packets_dropped_total.
const (
	DropBadPreface        DropReason = iota // a connection did not start with the preface
	DropBadFrame                            // a frame length that is no packet size
	DropBadMAC                              // Sphinx header MAC failed (garbage, wrong key, tampering)
	DropReplay                              // replay tag seen before under this key
	DropBadRouting                          // verified routing information unusable
	DropBadPayload                          // final-hop payload integrity failed
	DropBadPacket                           // any other Sphinx refusal (invalid group element, ...)
	DropDelayTooLong                        // per-hop delay above the configured maximum
	DropProcessQueueFull                    // workers' queue full
	DropDelayQueueFull                      // delay heap full
	DropLinkQueueFull                       // next hop's outgoing queue full
	DropUnknownNextHop                      // next hop not in the topology
	DropLinkDown                            // next hop unreachable (dial or write failed)
	DropDeliverQueueFull                    // final-hop delivery queue full
	DropNoGateway                           // final-hop packet but no gateway to deliver to
	DropDeliverFailed                       // the gateway refused the delivery
	DropConnLimit                           // incoming connection over the limit (counts connections)
	DropShutdown                            // node closing
	DropConnPerIP                           // incoming connection over the per-source-IP limit (counts connections)
	DropPrefaceTimeout                      // connection closed: no first frame within PrefaceTimeout (counts connections)
	DropDelayQueueBytes                     // delay heap holds its bytes bound
	DropLinkQueueBytes                      // next hop's outgoing queue holds its bytes bound
	DropLinksBytes                          // all next hops' queues together hold their bytes bound
	DropProcessQueueBytes                   // workers' queue holds its bytes bound
	DropDeliverQueueBytes                   // final-hop delivery queue holds its bytes bound
	DropStrangerIdle                        // a stranger's connection silent for StrangerIdle (counts connections)
	DropStrangerFailures                    // a stranger's connection closed after a run of failed packets (counts connections)
	DropNoReplayFilter                      // for a key whose replay filter was lost: a replay could not be told
	DropInjected                            // dropped on purpose by a node set to lose a share of its packets (SetLoss; tests)
	DropPlaintextPeer                       // a connection opened an unencrypted (version 1) link (counts connections)
	DropHandshake                           // a connection failed the Noise handshake (counts connections)
	DropFrameAuth                           // an encrypted frame failed its tag: its connection is closed (counts connections)
	numDropReasons
)

var dropNames = [numDropReasons]string{
	"bad_preface", "bad_frame", "bad_mac", "replay", "bad_routing", "bad_payload", "bad_packet",
	"delay_too_long", "process_queue_full", "delay_queue_full", "link_queue_full",
	"unknown_next_hop", "link_down", "deliver_queue_full", "no_gateway", "deliver_failed",
	"conn_limit", "shutdown", "conn_per_ip", "preface_timeout", "delay_queue_bytes", "link_queue_bytes", "links_bytes",
	"process_queue_bytes", "deliver_queue_bytes", "stranger_idle", "stranger_failures", "no_replay_filter",
	"injected", "plaintext_peer", "handshake_failed", "frame_auth",
}

// String is the reason's metric label.
func (r DropReason) String() string {
	if r >= 0 && r < numDropReasons {
		return dropNames[r]
	}
	return "unknown"
}

// sphinxDropReason sorts a sphinx processing error.
func sphinxDropReason(err error) DropReason {
	switch {
	case errors.Is(err, sphinx.ErrMAC):
		return DropBadMAC
	case errors.Is(err, sphinx.ErrReplay):
		return DropReplay
	case errors.Is(err, sphinx.ErrRoutingInfo):
		return DropBadRouting
	case errors.Is(err, sphinx.ErrPayloadIntegrity):
		return DropBadPayload
	}
	return DropBadPacket
}

// wireDropReason sorts a frame reader error; ok is false for an ordinary
// connection error (EOF, reset, timeout).
func wireDropReason(err error) (DropReason, bool) {
	switch {
	case errors.Is(err, wire.ErrPlaintextPeer):
		return DropPlaintextPeer, true
	case errors.Is(err, wire.ErrHandshake):
		return DropHandshake, true
	case errors.Is(err, wire.ErrDecrypt):
		return DropFrameAuth, true
	case errors.Is(err, wire.ErrPreface):
		return DropBadPreface, true
	case errors.Is(err, wire.ErrFrameSize):
		return DropBadFrame, true
	}
	return 0, false
}

// counters are the node's counts, kept in atomics the packet path updates
// and Prometheus reads.
type counters struct {
	received, forwarded, delivered atomic.Uint64
	connsAccepted                  atomic.Uint64
	// linkHandshakeFailures counts dials whose next hop failed the Noise
	// handshake (not the key bonded for its address, or not speaking
	// encrypted links).
	linkHandshakeFailures atomic.Uint64
	dropped               [numDropReasons]atomic.Uint64
}

// Stats is a snapshot of a node's counters.
type Stats struct {
	Received, Forwarded, Delivered uint64
	ConnsAccepted                  uint64
	LinkHandshakeFailures          uint64
	Dropped                        map[string]uint64 // by reason label, only non-zero ones
}

// DroppedTotal sums the drops of every reason.
func (s Stats) DroppedTotal() uint64 {
	var n uint64
	for _, v := range s.Dropped {
		n += v
	}
	return n
}

func (c *counters) snapshot() Stats {
	s := Stats{Received: c.received.Load(), Forwarded: c.forwarded.Load(), Delivered: c.delivered.Load(),
		ConnsAccepted: c.connsAccepted.Load(), LinkHandshakeFailures: c.linkHandshakeFailures.Load(), Dropped: map[string]uint64{}}
	for i := range c.dropped {
		if v := c.dropped[i].Load(); v != 0 {
			s.Dropped[DropReason(i).String()] = v
		}
	}
	return s
}

// register exposes the counters and the queue depths on reg.
func (n *Node) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	c := &n.counters
	cf := func(name, help string, v *atomic.Uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "mixnode", Name: name, Help: help},
			func() float64 { return float64(v.Load()) })
	}
	cs := []prometheus.Collector{
		cf("packets_received_total", "Packets read from previous hops and gateways' clients.", &c.received),
		cf("packets_forwarded_total", "Packets written to the next hop.", &c.forwarded),
		cf("packets_delivered_total", "Final-hop payloads handed to the gateway.", &c.delivered),
		cf("connections_accepted_total", "Incoming mix connections accepted.", &c.connsAccepted),
		cf("link_handshake_failures_total", "Dials to a next hop that failed the Noise handshake "+
			"(a listener without the key bonded for the address, or one that does not speak encrypted links).",
			&c.linkHandshakeFailures),
	}
	for i := range c.dropped {
		v := &c.dropped[i]
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "nyx", Subsystem: "mixnode", Name: "packets_dropped_total",
			Help: "Packets (or connections, for conn_limit, conn_per_ip, preface_timeout, bad_preface, " +
				"plaintext_peer, handshake_failed, frame_auth, stranger_idle and stranger_failures) dropped, by reason.",
			ConstLabels: prometheus.Labels{"reason": DropReason(i).String()},
		}, func() float64 { return float64(v.Load()) }))
	}
	gauge := func(queue string, f func() int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "nyx", Subsystem: "mixnode", Name: "queue_depth",
			Help: "Packets waiting in a queue: process (workers), delay (timer heap), " +
				"deliver (to the gateway), links (all next hops' outgoing queues).",
			ConstLabels: prometheus.Labels{"queue": queue},
		}, func() float64 { return float64(f()) })
	}
	cs = append(cs,
		gauge("process", func() int { return len(n.jobs) }),
		gauge("delay", n.delay.len),
		gauge("deliver", func() int { return len(n.deliveries) }),
		gauge("links", n.links.queued),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "nyx", Subsystem: "mixnode", Name: "links",
			Help: "Outgoing links to next hops."}, func() float64 { return float64(n.links.count()) }),
	)
	bytesGauge := func(queue string, f func() int64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "nyx", Subsystem: "mixnode", Name: "queue_bytes",
			Help: "Bytes of packet buffers held in a queue: process (workers), delay (timer heap), " +
				"deliver (to the gateway), links (all next hops' outgoing queues).",
			ConstLabels: prometheus.Labels{"queue": queue},
		}, func() float64 { return float64(f()) })
	}
	connsGauge := func(kind string, f func() int) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: "nyx", Subsystem: "mixnode", Name: "connections_open",
			Help:        "Open incoming mix connections: from peer (a node of the topology) or stranger.",
			ConstLabels: prometheus.Labels{"kind": kind},
		}, func() float64 { return float64(f()) })
	}
	cs = append(cs,
		bytesGauge("process", n.jobBytes.Load),
		bytesGauge("delay", n.delay.size),
		bytesGauge("deliver", n.deliverBytes.Load),
		bytesGauge("links", n.links.bytes.Load),
		connsGauge("peer", func() int { p, _ := n.admit.open(); return p }),
		connsGauge("stranger", func() int { _, s := n.admit.open(); return s }),
	)
	for _, col := range cs {
		if err := reg.Register(col); err != nil {
			return err
		}
	}
	return nil
}
