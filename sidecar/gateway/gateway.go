// Package gateway is the gateway role of a Nyx node: the websocket endpoint
// that clients register with and connect to, which forwards their Sphinx
// packets to mix layer 1 and hands them the packets that arrive for them,
// keeping those of an offline client in a crash-safe inbox until the client
// has acknowledged them.
//
// The protocol (frames, handshake, acknowledgements) is specified in
// PROTOCOL.md beside this file; Register and Dial are its client side.
package gateway

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/nyx-privacy/nyx/sphinx"
)

// Forwarder sends a packet to the node with the given identity (layer 1 for
// client traffic). The mix node's link manager implements it. Forward must
// not block for long (queue and drop with a counter instead); it may keep
// packet, which the gateway does not reuse.
type Forwarder interface {
	Forward(next [32]byte, packet []byte) error
}

// Config holds the gateway's settings. The zero value of a field means its
// default (see DefaultConfig).
type Config struct {
	// StoreDir is the directory of the inbox store (created if missing).
	// Required.
	StoreDir string
	// MaxMessageAge is how long a stored message waits for its client before
	// it is deleted. Default 24h (Nym's).
	MaxMessageAge time.Duration
	// SweepInterval is how often expired messages are deleted. Default 1h.
	SweepInterval time.Duration
	// MaxStoredPerClient bounds one client's inbox; Deliver refuses beyond
	// it. Default 100,000.
	MaxStoredPerClient int
	// MaxPayloadSize bounds a delivered payload. Default the payload of the
	// largest standard Sphinx geometry (32 KiB).
	MaxPayloadSize int
	// Window is how many pushed messages a client may leave unacknowledged;
	// beyond it, new messages are stored until it acknowledges. Default 256.
	Window int
	// MaxClockSkew bounds the difference between a handshake's timestamp and
	// the gateway's clock. Default 30s.
	MaxClockSkew time.Duration
	// HandshakeTimeout bounds the time from the websocket upgrade to a
	// completed registration or authentication. Default 10s.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds one websocket write. Default 10s.
	WriteTimeout time.Duration
	// PingInterval is how often the gateway pings an idle client; a client
	// silent for two intervals is disconnected. Default 30s.
	PingInterval time.Duration
	// MaxConnections bounds open websocket connections. Default 10,000.
	MaxConnections int
	// MaxNonces bounds the authentication replay cache. Default 65,536.
	MaxNonces int
}

// DefaultConfig returns the defaults, with StoreDir set to dir.
func DefaultConfig(dir string) Config {
	return Config{
		StoreDir:           dir,
		MaxMessageAge:      24 * time.Hour,
		SweepInterval:      time.Hour,
		MaxStoredPerClient: 100_000,
		MaxPayloadSize:     sphinx.Extended32.PayloadSize,
		Window:             256,
		MaxClockSkew:       30 * time.Second,
		HandshakeTimeout:   10 * time.Second,
		WriteTimeout:       10 * time.Second,
		PingInterval:       30 * time.Second,
		MaxConnections:     10_000,
		MaxNonces:          1 << 16,
	}
}

func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig(c.StoreDir)
	if c.StoreDir == "" {
		return c, errors.New("gateway: config: StoreDir is required")
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setI := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setD(&c.MaxMessageAge, d.MaxMessageAge)
	setD(&c.SweepInterval, d.SweepInterval)
	setD(&c.MaxClockSkew, d.MaxClockSkew)
	setD(&c.HandshakeTimeout, d.HandshakeTimeout)
	setD(&c.WriteTimeout, d.WriteTimeout)
	setD(&c.PingInterval, d.PingInterval)
	setI(&c.MaxStoredPerClient, d.MaxStoredPerClient)
	setI(&c.MaxPayloadSize, d.MaxPayloadSize)
	setI(&c.Window, d.Window)
	setI(&c.MaxConnections, d.MaxConnections)
	setI(&c.MaxNonces, d.MaxNonces)
	for name, v := range map[string]time.Duration{"MaxMessageAge": c.MaxMessageAge, "SweepInterval": c.SweepInterval,
		"MaxClockSkew": c.MaxClockSkew, "HandshakeTimeout": c.HandshakeTimeout, "WriteTimeout": c.WriteTimeout, "PingInterval": c.PingInterval} {
		if v < 0 {
			return c, fmt.Errorf("gateway: config: %s is negative", name)
		}
	}
	for name, v := range map[string]int{"MaxStoredPerClient": c.MaxStoredPerClient, "MaxPayloadSize": c.MaxPayloadSize,
		"Window": c.Window, "MaxConnections": c.MaxConnections, "MaxNonces": c.MaxNonces} {
		if v < 0 {
			return c, fmt.Errorf("gateway: config: %s is negative", name)
		}
	}
	return c, nil
}

// Refusal reasons, the "reason" label of nyx_gateway_refused_total.
const (
	ReasonBadFrame        = "bad_frame"       // a frame that does not parse or is out of place
	ReasonBadPacket       = "bad_packet"      // a binary frame that is no Sphinx packet
	ReasonUnauthenticated = "unauthenticated" // traffic before a completed handshake
	ReasonSkew            = "clock_skew"      // a handshake timestamp too far from now
	ReasonBadSignature    = "bad_signature"   // a registration signature that does not verify
	ReasonBadMAC          = "bad_mac"         // an authentication MAC that does not verify
	ReasonReplay          = "replay"          // an authentication nonce seen before
	ReasonUnknownClient   = "unknown_client"  // authentication or delivery for an unregistered client
	ReasonTimeout         = "timeout"         // no handshake within HandshakeTimeout
	ReasonTooManyConns    = "too_many_connections"
	ReasonForwardFailed   = "forward_failed" // the Forwarder refused a packet
	ReasonInboxFull       = "inbox_full"     // Deliver beyond MaxStoredPerClient
	ReasonTooLarge        = "too_large"      // Deliver of a payload above MaxPayloadSize
	ReasonBusy            = "busy"           // the replay cache is full
)

type metrics struct {
	stored        prometheus.GaugeFunc
	storedTotal   prometheus.Counter
	pushed        *prometheus.CounterVec
	delivered     prometheus.Counter
	expired       prometheus.Counter
	forwarded     prometheus.Counter
	refused       *prometheus.CounterVec
	registrations prometheus.Counter
	auths         prometheus.Counter
	connected     prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, st *store) (*metrics, error) {
	m := &metrics{
		stored: prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "nyx", Subsystem: "gateway", Name: "stored_messages",
			Help: "Messages in the inbox store waiting for their client."}, func() float64 {
			n, _ := st.count(nil)
			return float64(n)
		}),
		storedTotal: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "gateway", Name: "messages_stored_total",
			Help: "Messages written to the inbox store (fsynced)."}),
		pushed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "gateway", Name: "messages_pushed_total",
			Help: "Messages written to a client's websocket, by source (live or stored)."}, []string{"source"}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "gateway", Name: "messages_delivered_total",
			Help: "Messages a client acknowledged."}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "gateway", Name: "messages_expired_total",
			Help: "Stored messages deleted unread after MaxMessageAge (or unreadable)."}),
		forwarded: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "gateway", Name: "packets_forwarded_total",
			Help: "Client packets handed to the forwarder for layer 1."}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "gateway", Name: "refused_total",
			Help: "Frames, handshakes, connections and deliveries refused, by reason."}, []string{"reason"}),
		registrations: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "gateway", Name: "registrations_total",
			Help: "Completed client registrations."}),
		auths: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "gateway", Name: "authentications_total",
			Help: "Completed client authentications."}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "nyx", Subsystem: "gateway", Name: "clients_connected",
			Help: "Clients with an authenticated websocket session."}),
	}
	for _, r := range []string{ReasonBadFrame, ReasonBadPacket, ReasonUnauthenticated, ReasonSkew, ReasonBadSignature,
		ReasonBadMAC, ReasonReplay, ReasonUnknownClient, ReasonTimeout, ReasonTooManyConns, ReasonForwardFailed,
		ReasonInboxFull, ReasonTooLarge, ReasonBusy} {
		m.refused.WithLabelValues(r)
	}
	m.pushed.WithLabelValues("live")
	m.pushed.WithLabelValues("stored")
	if reg != nil {
		for _, c := range []prometheus.Collector{m.stored, m.storedTotal, m.pushed, m.delivered, m.expired, m.forwarded,
			m.refused, m.registrations, m.auths, m.connected} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register gateway metrics: %w", err)
			}
		}
	}
	return m, nil
}

// Gateway is the gateway role. Create it with New; it is safe for
// concurrent use.
type Gateway struct {
	cfg       Config
	identity  ed25519.PrivateKey
	id        [IdentitySize]byte
	sphinxKey *sphinx.PrivateKey
	fwd       Forwarder
	log       *slog.Logger
	m         *metrics
	st        *store
	upgrader  websocket.Upgrader
	nonces    *nonceCache
	now       func() time.Time

	// stripes serialise, per client, the choice between pushing a message
	// and storing it with the attachment of that client's session, so no
	// message slips between "stored" and "session reads the store".
	stripes [256]sync.Mutex

	mu       sync.Mutex
	closed   bool
	conns    map[*websocket.Conn]struct{}
	sessions map[[IdentitySize]byte]*session

	stop chan struct{}
	wg   sync.WaitGroup
}

// New opens the inbox store and returns a gateway with the given identity
// (its ed25519 key, the name clients and nodes know it by) and Sphinx key.
// Packets from clients go to fwd. reg may be nil (no metrics registered).
//
// Final-hop packets are processed by the node's mix engine, which calls
// Deliver with the payload; the gateway keeps sphinxKey (which may be nil)
// for the packets it will originate itself (acknowledgements, replies).
func New(cfg Config, identity ed25519.PrivateKey, sphinxKey *sphinx.PrivateKey, fwd Forwarder, log *slog.Logger, reg prometheus.Registerer) (*Gateway, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if len(identity) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("gateway: identity key of %d bytes", len(identity))
	}
	if fwd == nil {
		return nil, errors.New("gateway: nil Forwarder")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st, err := openStore(cfg.StoreDir, cfg.MaxStoredPerClient, cfg.MaxPayloadSize)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(reg, st)
	if err != nil {
		st.close()
		return nil, err
	}
	g := &Gateway{
		cfg:       cfg,
		identity:  identity,
		sphinxKey: sphinxKey,
		fwd:       fwd,
		log:       log.With("component", "gateway"),
		m:         m,
		st:        st,
		nonces:    newNonceCache(cfg.MaxNonces),
		now:       time.Now,
		conns:     map[*websocket.Conn]struct{}{},
		sessions:  map[[IdentitySize]byte]*session{},
		stop:      make(chan struct{}),
	}
	copy(g.id[:], identity.Public().(ed25519.PublicKey))
	g.upgrader = websocket.Upgrader{
		HandshakeTimeout: cfg.HandshakeTimeout,
		ReadBufferSize:   4096,
		WriteBufferSize:  4096,
		// Clients are programs, not browsers: no cookies or ambient
		// authority ride on the origin, so any origin may connect.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	n, _ := st.count(nil)
	g.log.Info("gateway inbox open", "dir", cfg.StoreDir, "stored_messages", n, "identity", fmt.Sprintf("%x", g.id[:]))
	g.wg.Add(1)
	go g.sweep()
	return g, nil
}

// Identity returns the gateway's ed25519 public key.
func (g *Gateway) Identity() ed25519.PublicKey { return g.identity.Public().(ed25519.PublicKey) }

// Deliver hands a final-hop payload to the client dest. If the client is
// connected and keeping up it is pushed at once; otherwise it is written to
// the inbox and fsynced before Deliver returns nil. It refuses (with an
// error, counted) a client that never registered here, a payload above
// MaxPayloadSize, and a full inbox.
func (g *Gateway) Deliver(dest [32]byte, payload []byte) error {
	if len(payload) > g.cfg.MaxPayloadSize {
		g.m.refused.WithLabelValues(ReasonTooLarge).Inc()
		return fmt.Errorf("gateway: deliver %d bytes (max %d)", len(payload), g.cfg.MaxPayloadSize)
	}
	p := append([]byte(nil), payload...)
	lock := &g.stripes[dest[0]]
	lock.Lock()
	defer lock.Unlock()
	g.mu.Lock()
	s := g.sessions[dest]
	closed := g.closed
	g.mu.Unlock()
	if closed {
		return errors.New("gateway: closed")
	}
	if s != nil {
		pushed, err := s.offer(p)
		if err != nil {
			return g.deliverErr(dest, err)
		}
		if pushed {
			return nil
		}
		g.m.storedTotal.Inc()
		return nil
	}
	if _, err := g.st.append(dest, g.now(), p); err != nil {
		return g.deliverErr(dest, err)
	}
	g.m.storedTotal.Inc()
	return nil
}

func (g *Gateway) deliverErr(dest [32]byte, err error) error {
	switch {
	case errors.Is(err, ErrUnknownClient):
		g.m.refused.WithLabelValues(ReasonUnknownClient).Inc()
	case errors.Is(err, ErrInboxFull):
		g.m.refused.WithLabelValues(ReasonInboxFull).Inc()
	default:
		g.log.Error("deliver failed", "client", fmt.Sprintf("%x", dest[:8]), "err", err)
	}
	return err
}

// StoredMessages returns how many messages wait in the inbox for client (or
// for all clients if client is nil).
func (g *Gateway) StoredMessages(client *[32]byte) int {
	n, _ := g.st.count(client)
	return n
}

// Close disconnects every client (keeping what they have not acknowledged),
// stops the sweeper and closes the store.
func (g *Gateway) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	sessions := make([]*session, 0, len(g.sessions))
	for _, s := range g.sessions {
		sessions = append(sessions, s)
	}
	conns := make([]*websocket.Conn, 0, len(g.conns))
	for c := range g.conns {
		conns = append(conns, c)
	}
	g.mu.Unlock()
	close(g.stop)
	for _, s := range sessions {
		g.detach(s)
	}
	for _, c := range conns {
		c.Close()
	}
	g.wg.Wait()
	return g.st.close()
}

func (g *Gateway) sweep() {
	defer g.wg.Done()
	t := time.NewTicker(g.cfg.SweepInterval)
	defer t.Stop()
	for {
		g.expire()
		select {
		case <-g.stop:
			return
		case <-t.C:
		}
	}
}

func (g *Gateway) expire() {
	n, err := g.st.expire(g.now().Add(-g.cfg.MaxMessageAge))
	if err != nil {
		g.log.Error("expire stored messages", "err", err)
		return
	}
	if n > 0 {
		g.m.expired.Add(float64(n))
		g.log.Info("expired stored messages", "count", n, "max_age", g.cfg.MaxMessageAge)
	}
}

// nonceCache remembers the authentication nonces seen within the clock-skew
// window: an authentication is accepted only within MaxClockSkew of its
// timestamp, so a nonce older than twice that can be forgotten.
type nonceCache struct {
	mu   sync.Mutex
	max  int
	seen map[[IdentitySize + NonceSize]byte]time.Time // → forget after
}

func newNonceCache(max int) *nonceCache {
	return &nonceCache{max: max, seen: map[[IdentitySize + NonceSize]byte]time.Time{}}
}

// add records the nonce until forget; it reports false if the nonce was
// there already, and errFull if the cache is full of live nonces.
func (c *nonceCache) add(id [IdentitySize]byte, nonce [NonceSize]byte, now, forget time.Time) (bool, error) {
	var k [IdentitySize + NonceSize]byte
	copy(k[:], id[:])
	copy(k[IdentitySize:], nonce[:])
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.seen[k]; ok && now.Before(t) {
		return false, nil
	}
	if len(c.seen) >= c.max {
		for n, t := range c.seen {
			if !now.Before(t) {
				delete(c.seen, n)
			}
		}
		if len(c.seen) >= c.max {
			return false, errNonceCacheFull
		}
	}
	c.seen[k] = forget
	return true, nil
}

var errNonceCacheFull = errors.New("gateway: authentication replay cache full")
