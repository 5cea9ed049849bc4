package gateway

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	stored        prometheus.GaugeFunc
	clients       prometheus.GaugeFunc
	storedBytes   prometheus.GaugeFunc
	pushedBytes   prometheus.GaugeFunc
	storedTotal   prometheus.Counter
	pushed        *prometheus.CounterVec
	delivered     prometheus.Counter
	expired       prometheus.Counter
	forgotten     prometheus.Counter
	forwarded     prometheus.Counter
	acks          *prometheus.CounterVec
	refused       *prometheus.CounterVec
	registrations prometheus.Counter
	auths         prometheus.Counter
	connected     prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, st *store, mem *memPool) (*metrics, error) {
	m := &metrics{
		stored: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "nyx", Subsystem: "gateway", Name: "stored_messages",
			Help: "Messages in the inbox store waiting for their client."}, func() float64 {
			return float64(st.count(nil))
		}),
		clients: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "nyx", Subsystem: "gateway", Name: "registered_clients",
			Help: "Registered client identities, bounded by MaxClients."}, func() float64 {
			return float64(st.registered())
		}),
		storedBytes: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "nyx", Subsystem: "gateway", Name: "held_bytes",
			Help: "Bytes of accepted, unacknowledged messages (stored or pushed), as counted against MaxStoredBytes."}, func() float64 {
			return float64(st.heldBytes(nil))
		}),
		pushedBytes: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "nyx", Subsystem: "gateway", Name: "pushed_unacknowledged_bytes",
			Help: "Payload bytes of pushed, unacknowledged messages held in memory, bounded by MaxPushedBytes."}, func() float64 {
			return float64(mem.inUse())
		}),
		storedTotal: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "gateway", Name: "messages_stored_total",
			Help: "Messages written to the inbox store (fsynced)."}),
		pushed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "gateway", Name: "messages_pushed_total",
			Help: "Messages written to a client's websocket, by source (live or stored)."}, []string{"source"}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "gateway", Name: "messages_delivered_total",
			Help: "Messages a client acknowledged."}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "gateway", Name: "messages_expired_total",
			Help: "Stored messages deleted unread after MaxMessageAge (or unreadable, or with a forgotten client)."}),
		forgotten: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "gateway", Name: "clients_forgotten_total",
			Help: "Registrations deleted after MaxClientIdle without an authentication."}),
		forwarded: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "gateway", Name: "packets_forwarded_total",
			Help: "Client packets handed to the forwarder for layer 1."}),
		acks: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "gateway", Name: "surb_acks_total",
			Help: "SURB-ACKs of delivered payloads sent back into the mixnet, by outcome (sent or failed)."}, []string{"outcome"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "gateway", Name: "refused_total",
			Help: "Frames, handshakes, connections and deliveries refused, by reason."}, []string{"reason"}),
		registrations: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "gateway", Name: "registrations_total",
			Help: "Completed client registrations."}),
		auths: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "gateway", Name: "authentications_total",
			Help: "Completed client authentications."}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "nyx", Subsystem: "gateway", Name: "clients_connected",
			Help: "Clients with an authenticated websocket session."}),
	}
	for _, r := range allReasons {
		m.refused.WithLabelValues(r)
	}
	m.acks.WithLabelValues("sent")
	m.acks.WithLabelValues("failed")
	m.pushed.WithLabelValues("live")
	m.pushed.WithLabelValues("stored")
	if reg != nil {
		for _, c := range []prometheus.Collector{m.stored, m.clients, m.storedBytes, m.pushedBytes, m.storedTotal, m.pushed, m.delivered,
			m.expired, m.forgotten, m.forwarded, m.acks, m.refused, m.registrations, m.auths, m.connected} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register gateway metrics: %w", err)
			}
		}
	}
	return m, nil
}
