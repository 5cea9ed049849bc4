package streams

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/ratelog"
)

// ClientTransport carries the client's frames to its network requester
// and the requester's frames back.
type ClientTransport interface {
	// Send sends one frame's bytes to the requester, waiting while the
	// transport is busy, until ctx ends.
	Send(ctx context.Context, msg []byte) error
	// Receive returns the next message from the requester.
	Receive(ctx context.Context) ([]byte, error)
	// MaxMessage is the longest message Send takes.
	MaxMessage() int
}

// ClientConfig tunes a Client.
type ClientConfig struct {
	// OpenTimeout bounds the wait for the requester's answer to an Open.
	OpenTimeout time.Duration
	// KeepAlive is how long a stream may be quiet before the client pings
	// the requester about it.
	KeepAlive time.Duration
	// QuietTimeout ends a stream the requester has not sent anything
	// about (not even a Pong), nor anything at all, for this long; or that
	// waits this long for a frame lost on the way.
	QuietTimeout time.Duration
	// MaxStreams bounds the client's open streams.
	MaxStreams int
	// SendTimeout bounds the wait for room in the transport for one frame.
	SendTimeout time.Duration
}

// DefaultClientConfig returns the defaults.
func DefaultClientConfig() ClientConfig {
	return ClientConfig{OpenTimeout: 60 * time.Second, KeepAlive: 10 * time.Second,
		QuietTimeout: 60 * time.Second, MaxStreams: 256, SendTimeout: 30 * time.Second}
}

// Validate checks c.
func (c ClientConfig) Validate() error {
	if c.OpenTimeout <= 0 || c.KeepAlive <= 0 || c.QuietTimeout <= 0 || c.SendTimeout <= 0 {
		return errors.New("streams: timeouts must be positive")
	}
	if c.KeepAlive >= c.QuietTimeout {
		return errors.New("streams: keep-alive must be shorter than the quiet timeout")
	}
	if c.MaxStreams <= 0 {
		return errors.New("streams: max streams must be positive")
	}
	return nil
}

// ErrTooManyStreams: the client has MaxStreams open.
var ErrTooManyStreams = errors.New("streams: too many open streams")

// Client opens streams through one network requester.
type Client struct {
	t    ClientTransport
	cfg  ClientConfig
	log  *slog.Logger
	rlog *ratelog.Logger
	ctx  context.Context // Run's, once it runs

	mu      sync.Mutex
	streams map[uint64]*Stream
	failed  map[Reason]uint64
	running chan struct{}

	malformed, unknown, opened atomic.Uint64
	heard                      atomic.Int64 // unix nanoseconds of the last frame
}

// ClientStats are a Client's counters.
type ClientStats struct {
	// Malformed counts messages that were not frames; Unknown, frames for
	// streams the client does not have (ended, or never opened).
	Malformed, Unknown, Opened uint64
	Open                       int
	// Failed counts streams that ended in an error, by reason (reasons
	// from the requester and the client's own: timeouts, protocol).
	Failed map[Reason]uint64
}

// NewClient returns a client over t; Run it.
func NewClient(t ClientTransport, cfg ClientConfig, log *slog.Logger) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if t.MaxMessage() < HeaderSize+3+MaxHostSize {
		return nil, fmt.Errorf("streams: transport carries %d bytes, too few for an open", t.MaxMessage())
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{t: t, cfg: cfg, log: log, rlog: ratelog.New(log, ratelog.DefaultBurst, time.Minute),
		streams: map[uint64]*Stream{}, failed: map[Reason]uint64{}, running: make(chan struct{})}, nil
}

// Stats returns the client's counters.
func (c *Client) Stats() ClientStats {
	c.mu.Lock()
	n := len(c.streams)
	failed := make(map[Reason]uint64, len(c.failed))
	for k, v := range c.failed {
		failed[k] = v
	}
	c.mu.Unlock()
	return ClientStats{Malformed: c.malformed.Load(), Unknown: c.unknown.Load(), Opened: c.opened.Load(), Open: n, Failed: failed}
}

// Run receives the requester's frames and keeps streams alive until ctx
// ends; streams open then fail.
func (c *Client) Run(ctx context.Context) error {
	c.mu.Lock()
	c.ctx = ctx
	close(c.running)
	c.mu.Unlock()
	defer c.failAll(ReasonGeneral)
	go c.sweep(ctx)
	for {
		m, err := c.t.Receive(ctx)
		if err != nil {
			return err
		}
		f, err := ParseFrame(m)
		if err != nil {
			c.malformed.Add(1)
			c.rlog.Log(slog.LevelDebug, "malformed", "malformed frame from the requester dropped", "err", err)
			continue
		}
		c.heard.Store(time.Now().UnixNano())
		c.mu.Lock()
		s := c.streams[f.Stream]
		c.mu.Unlock()
		if s == nil {
			c.unknown.Add(1)
			continue
		}
		if err := s.Deliver(f); err != nil {
			c.rlog.Log(slog.LevelDebug, "protocol", "stream ended: protocol violation by the requester", "err", err)
		}
	}
}

func (c *Client) failAll(r Reason) {
	c.mu.Lock()
	all := make([]*Stream, 0, len(c.streams))
	for _, s := range c.streams {
		all = append(all, s)
	}
	c.mu.Unlock()
	for _, s := range all {
		s.Fail(r)
	}
}

// sweep pings quiet streams and ends those quiet too long.
func (c *Client) sweep(ctx context.Context) {
	tick := time.NewTicker(min(c.cfg.KeepAlive/2, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			c.mu.Lock()
			all := make([]*Stream, 0, len(c.streams))
			for _, s := range c.streams {
				all = append(all, s)
			}
			c.mu.Unlock()
			for _, s := range all {
				if s.Quiet(now, c.cfg.QuietTimeout, time.Unix(0, c.heard.Load())) {
					s.Fail(ReasonTimeout)
					continue
				}
				s.ping(now, c.cfg.KeepAlive, c.cfg.QuietTimeout/2)
			}
		}
	}
}

func (c *Client) send(f Frame) error {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.SendTimeout)
	defer cancel()
	return c.t.Send(ctx, f.Marshal())
}

// Dial opens a stream to host:port through the requester (the host is
// resolved there) and waits until the requester has connected it.
func (c *Client) Dial(ctx context.Context, host string, port uint16) (*Stream, error) {
	if err := CheckHost(host); err != nil {
		return nil, err
	}
	if port == 0 {
		return nil, errors.New("streams: port 0")
	}
	select {
	case <-c.running:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	id := binary.BigEndian.Uint64(b[:])
	s := NewStream(id, c.send, c.t.MaxMessage()-HeaderSize, c.remove)
	c.mu.Lock()
	if len(c.streams) >= c.cfg.MaxStreams {
		c.mu.Unlock()
		return nil, ErrTooManyStreams
	}
	c.streams[id] = s
	c.mu.Unlock()
	c.opened.Add(1)
	if err := s.SendFirst(Frame{Kind: KindOpen, Host: host, Port: port}); err != nil {
		s.Close()
		return nil, fmt.Errorf("streams: send open: %w", err)
	}
	t := time.NewTimer(c.cfg.OpenTimeout)
	defer t.Stop()
	select {
	case <-s.First():
		return s, nil
	case <-s.Done():
		return nil, s.Err()
	case <-t.C:
		s.Fail(ReasonTimeout)
		return nil, &Error{Reason: ReasonTimeout}
	case <-ctx.Done():
		s.Close()
		return nil, ctx.Err()
	}
}

func (c *Client) remove(s *Stream) {
	var e *Error
	failed := errors.As(s.Err(), &e)
	c.mu.Lock()
	if failed {
		c.failed[e.Reason]++
	}
	if c.streams[s.id] == s {
		delete(c.streams, s.id)
	}
	c.mu.Unlock()
}
