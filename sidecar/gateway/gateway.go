// Package gateway is the gateway role of a Nyx node: the websocket endpoint
// that clients register with and connect to, which forwards their Sphinx
// packets to mix layer 1 and hands them the packets that arrive for them,
// keeping those of an offline client in a crash-safe inbox until the client
// has acknowledged them.
//
// The protocol (frames, handshake, acknowledgements) is specified in
// PROTOCOL.md beside this file; its wire format is sidecar/gatewayproto and
// its client side sidecar/gatewayclient.
//
// The inbox is one bbolt file written by a single committer that puts all
// the writes waiting at a time into one transaction (commit.go), so
// concurrent deliveries share fsyncs and no lock a client's deliveries
// need is held across a commit. What the gateway holds for outside parties
// is bounded: messages in bytes per client and in all (reserved before a
// message is accepted, so an accepted one is never dropped for want of
// room), pushed, unacknowledged messages in bytes per session and in all,
// registrations in number and in idle time (sweep.go), and its log lines
// (sidecar/ratelog).
//
// With EnforceCredentials clients pay with bandwidth credentials
// (credential.go, balance.go): the gateway offers each session a fresh
// nonce, has a Redeemer (sidecar/gatewaycred) check a show bound to it
// against the chain and redeem it there, records the spend tag and the
// granted bytes in its store, and charges every packet sent and every
// payload pushed to the client's balance.
package gateway

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	"github.com/nyx-privacy/nyx/sidecar/ratelog"
	"github.com/nyx-privacy/nyx/sidecar/tomltime"
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
// default (see DefaultConfig). Its TOML tags make it the [gateway] section
// of nym-node's config.toml (sidecar/node); durations are written as Go
// duration strings.
type Config struct {
	// StoreDir is the directory of the inbox store (created if missing).
	// Required.
	StoreDir string `toml:"store_dir"`
	// MaxMessageAge is how long a stored message waits for its client before
	// it is deleted. Default 24h (Nym's).
	MaxMessageAge tomltime.Duration `toml:"max_message_age"`
	// SweepInterval is how often expired messages are deleted. Default 1h.
	SweepInterval tomltime.Duration `toml:"sweep_interval"`
	// MaxStoredBytesPerClient bounds the bytes of one client's messages the
	// gateway holds (stored, or pushed and unacknowledged; each message
	// counts its payload and 33 bytes). Deliver refuses a message beyond it
	// before accepting it: an accepted message is never dropped later for
	// want of room. Default 64 MiB.
	MaxStoredBytesPerClient int64 `toml:"max_stored_bytes_per_client"`
	// MaxStoredBytes bounds the same for all clients together. Default
	// 4 GiB.
	MaxStoredBytes int64 `toml:"max_stored_bytes"`
	// MaxClientIdle is how long a registration is kept without an
	// authentication; then it is forgotten with its inbox. Default 30 days.
	MaxClientIdle tomltime.Duration `toml:"max_client_idle"`
	// MaxClients bounds the registered identities (anyone may register
	// any number, and each takes room on disk); a registration of a new
	// identity beyond it is refused. Default 1,000,000.
	MaxClients int `toml:"max_clients"`
	// MaxPayloadSize bounds a delivered payload. Default the payload of the
	// largest standard Sphinx geometry (32 KiB).
	MaxPayloadSize int `toml:"-"`
	// Window is how many pushed messages a client may leave unacknowledged;
	// beyond it, new messages are stored until it acknowledges. Default 256.
	Window int `toml:"window"`
	// MaxSessionPushedBytes bounds the payload bytes of one session's
	// pushed, unacknowledged messages (held in memory until acknowledged);
	// beyond it the session pushes nothing more until acknowledgements
	// come. At least MaxPayloadSize. Default 1 MiB.
	MaxSessionPushedBytes int64 `toml:"max_session_pushed_bytes"`
	// MaxPushedBytes bounds the same for all sessions together. Default
	// 256 MiB.
	MaxPushedBytes int64 `toml:"max_pushed_bytes"`
	// HandshakeTimeout bounds the time from the websocket upgrade to a
	// completed registration or authentication. Default 10s.
	HandshakeTimeout tomltime.Duration `toml:"handshake_timeout"`
	// WriteTimeout bounds one websocket write. Default 10s.
	WriteTimeout tomltime.Duration `toml:"write_timeout"`
	// PingInterval is how often the gateway pings an idle client; a client
	// silent for two intervals is disconnected. Default 30s.
	PingInterval tomltime.Duration `toml:"ping_interval"`
	// MaxConnections bounds open websocket connections. Default 10,000.
	MaxConnections int `toml:"max_connections"`

	// EnforceCredentials makes clients pay with bandwidth credentials
	// (PROTOCOL.md §6): every packet a client sends (cover included) and
	// every payload pushed to it is charged to its balance in bytes, and a
	// packet beyond the balance is held (HoldBytes) or refused. The chain
	// side of the checks is the Redeemer (SetRedeemer).
	EnforceCredentials bool `toml:"enforce_credentials"`
	// Optimistic grants a credential's bandwidth as soon as the local and
	// on-chain checks pass, without waiting for its spend to be committed.
	// The risk: a client showing one credential at several gateways within
	// one batch interval is served by each until their spends land, and
	// only the first is paid. Default false: serve after the commit.
	Optimistic bool `toml:"serve_optimistically"`
	// BalanceFlushInterval is how often metered balances are written to
	// the store (they are also written when a session ends and at Close;
	// a crash loses at most this much metering). Default 10s.
	BalanceFlushInterval tomltime.Duration `toml:"balance_flush_interval"`
	// HoldBytes bounds the packets a session holds, in order, after its
	// balance ran out, until its next credential is accepted (they are
	// then forwarded); beyond it packets are refused. Default 64 KiB.
	HoldBytes int64 `toml:"hold_bytes"`
	// CredentialTimeout bounds the check and spend of one credential.
	// Default 2m.
	CredentialTimeout tomltime.Duration `toml:"credential_timeout"`

	// Observe, when set, is called with the client, the layer-1 node and
	// the size of every client packet forwarded: a tap for measuring what a
	// passive observer of the links sees (package anonymity). Nil costs
	// nothing; it is never set from a config file.
	Observe func(client, next [32]byte, size int) `toml:"-"`
}

// DefaultConfig returns the defaults, with StoreDir set to dir.
func DefaultConfig(dir string) Config {
	return Config{
		StoreDir:                dir,
		MaxMessageAge:           tomltime.Duration(24 * time.Hour),
		SweepInterval:           tomltime.Duration(time.Hour),
		MaxStoredBytesPerClient: 64 << 20,
		MaxStoredBytes:          4 << 30,
		MaxClientIdle:           tomltime.Duration(30 * 24 * time.Hour),
		MaxClients:              1_000_000,
		MaxPayloadSize:          sphinx.Extended32.PayloadSize,
		Window:                  256,
		MaxSessionPushedBytes:   1 << 20,
		MaxPushedBytes:          256 << 20,
		HandshakeTimeout:        tomltime.Duration(10 * time.Second),
		WriteTimeout:            tomltime.Duration(10 * time.Second),
		PingInterval:            tomltime.Duration(30 * time.Second),
		MaxConnections:          10_000,
		BalanceFlushInterval:    tomltime.Duration(10 * time.Second),
		HoldBytes:               64 << 10,
		CredentialTimeout:       tomltime.Duration(2 * time.Minute),
	}
}

// Validate checks c as New would: the zero values take their defaults.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig(c.StoreDir)
	if c.StoreDir == "" {
		return c, errors.New("gateway: config: StoreDir is required")
	}
	setD := func(v *tomltime.Duration, def tomltime.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setI := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setI64 := func(v *int64, def int64) {
		if *v == 0 {
			*v = def
		}
	}
	setI64(&c.MaxStoredBytesPerClient, d.MaxStoredBytesPerClient)
	setI64(&c.MaxStoredBytes, d.MaxStoredBytes)
	setI64(&c.MaxSessionPushedBytes, d.MaxSessionPushedBytes)
	setI64(&c.MaxPushedBytes, d.MaxPushedBytes)
	setD(&c.MaxClientIdle, d.MaxClientIdle)
	setD(&c.MaxMessageAge, d.MaxMessageAge)
	setD(&c.SweepInterval, d.SweepInterval)
	setD(&c.HandshakeTimeout, d.HandshakeTimeout)
	setD(&c.WriteTimeout, d.WriteTimeout)
	setD(&c.PingInterval, d.PingInterval)
	setD(&c.BalanceFlushInterval, d.BalanceFlushInterval)
	setD(&c.CredentialTimeout, d.CredentialTimeout)
	setI64(&c.HoldBytes, d.HoldBytes)
	setI(&c.MaxPayloadSize, d.MaxPayloadSize)
	setI(&c.Window, d.Window)
	setI(&c.MaxClients, d.MaxClients)
	setI(&c.MaxConnections, d.MaxConnections)
	for name, v := range map[string]time.Duration{"MaxMessageAge": time.Duration(c.MaxMessageAge), "MaxClientIdle": time.Duration(c.MaxClientIdle), "SweepInterval": time.Duration(c.SweepInterval), "HandshakeTimeout": time.Duration(c.HandshakeTimeout), "WriteTimeout": time.Duration(c.WriteTimeout), "PingInterval": time.Duration(c.PingInterval),
		"BalanceFlushInterval": time.Duration(c.BalanceFlushInterval), "CredentialTimeout": time.Duration(c.CredentialTimeout)} {
		if v < 0 {
			return c, fmt.Errorf("gateway: config: %s is negative", name)
		}
	}
	for name, v := range map[string]int64{"MaxStoredBytesPerClient": c.MaxStoredBytesPerClient, "MaxStoredBytes": c.MaxStoredBytes,
		"MaxSessionPushedBytes": c.MaxSessionPushedBytes, "MaxPushedBytes": c.MaxPushedBytes, "HoldBytes": c.HoldBytes} {
		if v < 0 {
			return c, fmt.Errorf("gateway: config: %s is negative", name)
		}
	}
	if c.MaxSessionPushedBytes < int64(c.MaxPayloadSize) || c.MaxPushedBytes < c.MaxSessionPushedBytes {
		return c, fmt.Errorf("gateway: config: need MaxPayloadSize (%d) <= MaxSessionPushedBytes (%d) <= MaxPushedBytes (%d)",
			c.MaxPayloadSize, c.MaxSessionPushedBytes, c.MaxPushedBytes)
	}
	if c.MaxStoredBytesPerClient < messageCost(c.MaxPayloadSize) || c.MaxStoredBytes < c.MaxStoredBytesPerClient {
		return c, fmt.Errorf("gateway: config: need a message of MaxPayloadSize (%d bytes counted) <= MaxStoredBytesPerClient (%d) <= MaxStoredBytes (%d)",
			messageCost(c.MaxPayloadSize), c.MaxStoredBytesPerClient, c.MaxStoredBytes)
	}
	for name, v := range map[string]int{"MaxPayloadSize": c.MaxPayloadSize, "MaxClients": c.MaxClients,
		"Window": c.Window, "MaxConnections": c.MaxConnections} {
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
	ReasonBadSignature    = "bad_signature"   // a registration signature that does not verify
	ReasonBadMAC          = "bad_mac"         // an authentication MAC that does not verify
	ReasonUnknownClient   = "unknown_client"  // authentication or delivery for an unregistered client
	ReasonTimeout         = "timeout"         // no handshake within HandshakeTimeout
	ReasonTooManyConns    = "too_many_connections"
	ReasonTooManyClients  = "too_many_clients" // a registration beyond MaxClients
	ReasonForwardFailed   = "forward_failed"   // the Forwarder refused a packet
	ReasonInboxFull       = "inbox_full"       // Deliver beyond MaxStoredBytesPerClient
	ReasonStoreFull       = "store_full"       // Deliver beyond MaxStoredBytes
	ReasonTooLarge        = "too_large"        // Deliver of a payload above MaxPayloadSize
	ReasonNoSURBAck       = "no_surb_ack"      // Deliver of a payload without a SURB-ACK
)

var allReasons = []string{ReasonBadFrame, ReasonBadPacket, ReasonUnauthenticated, ReasonBadSignature,
	ReasonBadMAC, ReasonUnknownClient, ReasonTimeout, ReasonTooManyConns, ReasonTooManyClients, ReasonForwardFailed,
	ReasonInboxFull, ReasonStoreFull, ReasonTooLarge, ReasonNoSURBAck}

// Gateway is the gateway role. Create it with New; it is safe for
// concurrent use.
type Gateway struct {
	cfg       Config
	identity  ed25519.PrivateKey
	id        [gatewayproto.IdentitySize]byte
	sphinxKey *sphinx.PrivateKey
	fwd       Forwarder
	log       *slog.Logger
	rlog      *ratelog.Logger // lines outside parties can cause
	m         *metrics
	st        *store
	upgrader  websocket.Upgrader
	clock     atomic.Pointer[func() time.Time] // time.Now; tests move it

	stripes [256]stripe
	mem     memPool

	// Credentials (credential.go).
	red       atomic.Pointer[Redeemer]
	cm        *creditMetrics
	acctMu    sync.Mutex
	accts     map[[gatewayproto.IdentitySize]byte]*account
	claimed   map[[SpendTagSize]byte]struct{}
	verifySem chan struct{}
	credCtx   context.Context
	credStop  context.CancelFunc
	credWG    sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	conns    map[*websocket.Conn]struct{}
	sessions map[[gatewayproto.IdentitySize]byte]*session

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
	st, err := openStore(cfg.StoreDir, cfg.MaxStoredBytesPerClient, cfg.MaxStoredBytes, cfg.MaxClients, cfg.MaxPayloadSize)
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		cfg:       cfg,
		identity:  identity,
		sphinxKey: sphinxKey,
		fwd:       fwd,
		log:       log.With("component", "gateway"),
		st:        st,
		conns:     map[*websocket.Conn]struct{}{},
		sessions:  map[[gatewayproto.IdentitySize]byte]*session{},
		stop:      make(chan struct{}),
	}
	g.setClock(time.Now)
	g.rlog = ratelog.New(g.log, 0, 0)
	g.mem = memPool{max: cfg.MaxPushedBytes, waiting: map[*session]struct{}{}}
	for i := range g.stripes {
		g.stripes[i].storing = map[[gatewayproto.IdentitySize]byte]int{}
	}
	if g.m, err = newMetrics(reg, st, &g.mem); err != nil {
		st.close()
		return nil, err
	}
	if g.cm, err = newCreditMetrics(reg); err != nil {
		st.close()
		return nil, err
	}
	g.accts = map[[gatewayproto.IdentitySize]byte]*account{}
	g.claimed = map[[SpendTagSize]byte]struct{}{}
	g.verifySem = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	g.credCtx, g.credStop = context.WithCancel(context.Background())
	copy(g.id[:], identity.Public().(ed25519.PublicKey))
	g.upgrader = websocket.Upgrader{
		HandshakeTimeout: time.Duration(cfg.HandshakeTimeout),
		ReadBufferSize:   4096,
		WriteBufferSize:  4096,
		// Clients are programs, not browsers: no cookies or ambient
		// authority ride on the origin, so any origin may connect.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	g.log.Info("gateway inbox open", "dir", cfg.StoreDir, "clients", st.registered(), "stored_messages", st.count(nil), "held_bytes", st.heldBytes(nil), "identity", fmt.Sprintf("%x", g.id[:]))
	g.wg.Add(1)
	go g.sweep()
	if cfg.EnforceCredentials {
		g.wg.Add(1)
		go g.flushEvery()
	}
	return g, nil
}

func (g *Gateway) now() time.Time { return (*g.clock.Load())() }

// setClock replaces the gateway's clock (for tests that move time).
func (g *Gateway) setClock(now func() time.Time) { g.clock.Store(&now) }

// Identity returns the gateway's ed25519 public key.
func (g *Gateway) Identity() ed25519.PublicKey { return g.identity.Public().(ed25519.PublicKey) }

// Deliver hands a final-hop payload to the client dest. A payload other
// than an acknowledgement starts with a SURB-ACK (gatewayproto.SplitSURBAck):
// the rest is delivered and the SURB-ACK sent on to its first hop once the
// rest is on disk or the client has acknowledged it, whichever comes first
// (never at the push alone: a crash then would lose it); a payload without
// one is refused. If the
// client is connected and keeping up the payload is pushed at once;
// otherwise it is written to the inbox and fsynced before Deliver returns
// nil. Concurrent calls share
// their commits (one fsync for all the messages waiting at a time), so
// callers that want throughput call it from many goroutines; a client that
// is slow or flooded holds no lock the others need while its messages are
// written.
//
// It refuses (with an error, counted) a client that never registered here,
// a payload above MaxPayloadSize, and a message that would take the
// client's or the store's held bytes beyond their quota. The quotas are
// checked (and the bytes reserved) before a message is accepted, so a
// message Deliver accepted is never dropped later for want of room.
func (g *Gateway) Deliver(dest [32]byte, payload []byte) error {
	if len(payload) > g.cfg.MaxPayloadSize {
		g.m.refused.WithLabelValues(ReasonTooLarge).Inc()
		return fmt.Errorf("gateway: deliver %d bytes (max %d)", len(payload), g.cfg.MaxPayloadSize)
	}
	var ackHop [32]byte
	var ack []byte
	if !gatewayproto.IsAck(payload) {
		var err error
		if ackHop, ack, payload, err = gatewayproto.SplitSURBAck(payload); err != nil {
			g.m.refused.WithLabelValues(ReasonNoSURBAck).Inc()
			return fmt.Errorf("gateway: deliver: %w", err)
		}
	}
	var sa *surbAck
	if ack != nil {
		sa = &surbAck{next: ackHop, packet: ack}
	}
	return g.storeAcked(dest, payload, sa)
}

// surbAck is a delivered payload's SURB-ACK, held until the payload is
// durable: stored, or acknowledged by the client it was pushed to. Sent
// earlier, a gateway crash between the push and the client's ack would
// lose a message its sender no longer retransmits.
type surbAck struct {
	next   [32]byte
	packet []byte
}

// send forwards the SURB-ACK (nil: none to send).
func (a *surbAck) send(g *Gateway) {
	if a != nil {
		g.sendAck(a.next, a.packet)
	}
}

// sendAck sends a delivered payload's SURB-ACK on its way back to the
// sender, once the client acknowledged the payload or it is on disk
// (whichever comes first): the sender then
// stops retransmitting it. A forward that fails is counted; the sender
// retransmits.
func (g *Gateway) sendAck(next [32]byte, ack []byte) {
	if err := g.fwd.Forward(next, ack); err != nil {
		g.m.acks.WithLabelValues("failed").Inc()
		g.rlog.Warn("SURB-ACK not forwarded", "next", fmt.Sprintf("%x", next[:8]), "err", err)
		return
	}
	g.m.acks.WithLabelValues("sent").Inc()
}

// store pushes payload to dest's session or writes it to the inbox.
func (g *Gateway) store(dest [32]byte, payload []byte) error { return g.storeAcked(dest, payload, nil) }

// storeAcked is store, sending ack once the payload is committed to the
// inbox, or, pushed, once the client acknowledges it (or, the session
// ended first, once it is stored then).
func (g *Gateway) storeAcked(dest [32]byte, payload []byte, ack *surbAck) error {
	g.mu.Lock()
	closed := g.closed
	g.mu.Unlock()
	if closed {
		return errors.New("gateway: closed")
	}
	// Refused before it costs a reservation or a place in a commit.
	if _, err := g.st.client(dest); err != nil {
		return g.deliverErr(dest, err)
	}
	cost := messageCost(len(payload))
	if err := g.st.reserve(dest, cost); err != nil {
		return g.deliverErr(dest, err)
	}
	p := append([]byte(nil), payload...)
	st := g.stripe(dest)
	st.Lock()
	g.mu.Lock()
	s := g.sessions[dest]
	g.mu.Unlock()
	if s != nil && s.offer(p, ack) {
		st.Unlock()
		return nil
	}
	commit := g.storeLocked(st, dest, [][]byte{p})
	st.Unlock()
	if err := commit(); err != nil {
		g.st.release(dest, cost)
		return g.deliverErr(dest, err)
	}
	g.m.storedTotal.Inc()
	ack.send(g)
	return nil
}

func (g *Gateway) deliverErr(dest [32]byte, err error) error {
	switch {
	case errors.Is(err, ErrUnknownClient):
		g.m.refused.WithLabelValues(ReasonUnknownClient).Inc()
	case errors.Is(err, ErrInboxFull):
		g.m.refused.WithLabelValues(ReasonInboxFull).Inc()
	case errors.Is(err, ErrStoreFull):
		g.m.refused.WithLabelValues(ReasonStoreFull).Inc()
		g.rlog.Warn("inbox store at its byte quota: deliveries refused", "max_stored_bytes", g.cfg.MaxStoredBytes)
	default:
		g.rlog.Log(slog.LevelError, "deliver failed", "deliver failed", "client", fmt.Sprintf("%x", dest[:8]), "err", err)
	}
	return err
}

// StoredMessages returns how many messages wait in the inbox for client (or
// for all clients if client is nil).
func (g *Gateway) StoredMessages(client *[32]byte) int { return g.st.count(client) }

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
	g.credStop()
	for _, s := range sessions {
		g.detach(s)
	}
	for _, c := range conns {
		c.Close()
	}
	g.wg.Wait()
	g.credWG.Wait()
	g.flushBalances()
	return g.st.close()
}

func (g *Gateway) sweep() {
	defer g.wg.Done()
	t := time.NewTicker(time.Duration(g.cfg.SweepInterval))
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

func (g *Gateway) expire() sweepStats {
	now := g.now()
	st, err := g.st.expire(now.Add(time.Duration(-g.cfg.MaxMessageAge)), now.Add(time.Duration(-g.cfg.MaxClientIdle)), func(id [gatewayproto.IdentitySize]byte) bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.sessions[id] != nil
	}, g.stop)
	g.m.expired.Add(float64(st.messages))
	g.m.forgotten.Add(float64(st.clients))
	if err != nil && !errors.Is(err, errSweepStopped) {
		g.log.Error("sweep the inbox store", "err", err)
	}
	if st.messages > 0 || st.clients > 0 {
		g.log.Info("swept the inbox store", "messages", st.messages, "clients_forgotten", st.clients,
			"transactions", st.txs, "max_message_age", g.cfg.MaxMessageAge, "max_client_idle", g.cfg.MaxClientIdle)
	}
	return st
}
