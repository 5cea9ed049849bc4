// Package client is nym-client's engine: the client's keys and address,
// its registration with and connection to its gateway, the sender that
// turns messages into Sphinx packets released as a Poisson stream, and the
// local websocket API apps use (see README.md).
package client

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/gatewayclient"
	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	"github.com/nyx-privacy/nyx/sidecar/topology"
)

// ErrNotConnected: there is no open connection to the gateway.
var ErrNotConnected = errors.New("client: not connected to the gateway")

// Config is what a client needs besides its keys.
type Config struct {
	// GatewayURL is the websocket URL of the client's gateway
	// (ws://host:clients_port/).
	GatewayURL string
	// GatewayIdentity is the gateway's ed25519 identity key.
	GatewayIdentity [32]byte
	// Sender tunes packet building and release.
	Sender SenderConfig
	// ReceiveBuffer bounds the received messages no app has taken yet;
	// beyond it the client stops acknowledging, and the gateway keeps the
	// rest.
	ReceiveBuffer int
	// ReconnectMax bounds the backoff between attempts to reach the gateway.
	ReconnectMax time.Duration
	// LoopCover fills every slot of the release stream that no message
	// takes with a loop cover packet to the client itself, so that the
	// client sends at the same rate whether it has something to say or not.
	// It needs a positive Sender.AverageSendDelay.
	LoopCover bool
	// Bandwidth supplies credentials to gateways that enforce them (the
	// home's wallet, bandwidth.go); nil presents none.
	Bandwidth gatewayclient.Bandwidth
}

// Client is a running nym-client.
type Client struct {
	cfg    Config
	keys   *Keys
	shared gatewayproto.SharedKey
	topo   func() *topology.Topology
	log    *slog.Logger
	sender *Sender
	inbox  chan []byte

	mu    sync.Mutex
	conn  *gatewayclient.Conn
	ready chan struct{} // closed while conn is set

	reasm *reassembler // the gateway session's

	received, undecryptable, coverReceived atomic.Uint64
	incomplete, badFragments               atomic.Uint64
}

// Register registers keys with the gateway and returns the shared key to
// keep (see SaveSharedKey).
func Register(ctx context.Context, url string, gw [32]byte, keys *Keys) (gatewayproto.SharedKey, error) {
	conn, key, err := gatewayclient.Register(ctx, url, ed25519.PublicKey(gw[:]), keys.Identity)
	if err != nil {
		return key, err
	}
	conn.Close()
	return key, nil
}

// New returns a client; Run connects it. topo returns the current topology
// (a topology.Reader's Current).
func New(cfg Config, keys *Keys, shared gatewayproto.SharedKey, topo func() *topology.Topology, log *slog.Logger) (*Client, error) {
	if cfg.GatewayURL == "" {
		return nil, errors.New("client: no gateway URL")
	}
	if cfg.ReceiveBuffer <= 0 {
		cfg.ReceiveBuffer = 1024
	}
	if cfg.ReconnectMax <= 0 {
		cfg.ReconnectMax = 30 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{cfg: cfg, keys: keys, shared: shared, topo: topo, log: log.With("component", "client"),
		inbox: make(chan []byte, cfg.ReceiveBuffer), ready: make(chan struct{}),
		reasm: newReassembler(cfg.Sender.Geometry.PayloadSize)}
	s, err := NewSender(cfg.Sender, topo, c.transmit, nil, c.log)
	if err != nil {
		return nil, err
	}
	if cfg.LoopCover {
		if s.cover, err = s.LoopCover(c.Address()); err != nil {
			return nil, err
		}
	}
	c.sender = s
	return c, nil
}

// Address returns the client's address.
func (c *Client) Address() Address { return c.keys.Address(c.cfg.GatewayIdentity) }

// Send queues message for the recipient (see Sender.Send).
func (c *Client) Send(to Address, message []byte) error {
	if err := c.bandwidthStopped(); err != nil {
		return err
	}
	return c.sender.Send(to, message)
}

// MaxMessageSize is the largest message Send takes.
func (c *Client) MaxMessageSize() int { return c.sender.MaxMessageSize() }

// Receive returns the next message for this client.
func (c *Client) Receive(ctx context.Context) ([]byte, error) {
	select {
	case m := <-c.inbox:
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Stats are the client's counters: messages received (whole, or put back
// together from fragments), loop cover packets back, payloads that did not
// open, fragments refused, and fragmented messages given up on incomplete
// (expired or evicted, see MaxLongMessage).
type Stats struct {
	SenderStats
	Received, CoverReceived, Undecryptable uint64
	BadFragments, Incomplete               uint64
	Connected                              bool
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	connected := c.conn != nil
	c.mu.Unlock()
	return Stats{SenderStats: c.sender.Stats(), Received: c.received.Load(),
		CoverReceived: c.coverReceived.Load(), Undecryptable: c.undecryptable.Load(),
		BadFragments: c.badFragments.Load(), Incomplete: c.incomplete.Load(), Connected: connected}
}

// transmitWait is how long a released packet waits for a gateway
// connection before it is dropped; the release stream pauses meanwhile.
const transmitWait = 10 * time.Second

func (c *Client) transmit(next [32]byte, packet []byte) error {
	c.mu.Lock()
	conn, ready := c.conn, c.ready
	c.mu.Unlock()
	if conn == nil {
		t := time.NewTimer(transmitWait)
		defer t.Stop()
		select {
		case <-ready:
		case <-t.C:
			return ErrNotConnected
		}
		c.mu.Lock()
		conn = c.conn
		c.mu.Unlock()
		if conn == nil {
			return ErrNotConnected
		}
	}
	return conn.Send(next, packet)
}

// Run connects to the gateway (reconnecting with backoff when the
// connection drops), receives, and releases packets until ctx ends.
func (c *Client) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.sender.Run(ctx)
	}()
	defer wg.Wait()
	backoff := 100 * time.Millisecond
	for {
		start := time.Now()
		err := c.session(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Since(start) > time.Minute {
			backoff = 100 * time.Millisecond
		}
		c.log.Warn("gateway connection ended; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, c.cfg.ReconnectMax)
	}
}

// session runs one gateway connection.
func (c *Client) session(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	conn, err := gatewayclient.DialWithBandwidth(dctx, c.cfg.GatewayURL, ed25519.PublicKey(c.cfg.GatewayIdentity[:]), c.keys.Identity, c.shared, c.cfg.Bandwidth)
	cancel()
	if err != nil {
		return err
	}
	c.log.Info("connected to gateway", "url", c.cfg.GatewayURL, "stored", conn.Stored)
	c.mu.Lock()
	c.conn = conn
	close(c.ready)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.conn = nil
		c.ready = make(chan struct{})
		c.mu.Unlock()
		conn.Close()
	}()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	for {
		select {
		case r := <-conn.Refusals():
			c.log.Warn("gateway refused", "code", r.Code, "message", r.Message)
			continue
		default:
		}
		m, err := conn.Receive(ctx)
		if err != nil {
			return err
		}
		var msg []byte
		p, err := OpenPiece(c.keys.Encryption, m.Payload)
		switch {
		case errors.Is(err, ErrCover):
			c.coverReceived.Add(1)
		case err != nil:
			// Not for us or damaged: nothing to hand on, nothing to keep.
			c.undecryptable.Add(1)
			c.log.Debug("undecryptable payload dropped", "err", err)
		case p.Fragment:
			var abandoned int
			msg, abandoned, err = c.reasm.add(p, time.Now())
			c.incomplete.Add(uint64(abandoned))
			if err != nil {
				c.badFragments.Add(1)
				c.log.Debug("fragment dropped", "err", err)
			}
		default:
			msg = p.Data
		}
		if msg != nil {
			select {
			case c.inbox <- msg:
				c.received.Add(1)
			case <-ctx.Done():
				return ctx.Err()
			case <-conn.Done():
				return conn.Err()
			}
		}
		// The payload is ours now (a fragment waits in memory for the
		// rest of its message): the gateway may delete it.
		if err := conn.Ack(m.ID); err != nil {
			return fmt.Errorf("acknowledge message %d: %w", m.ID, err)
		}
	}
}
