// Package requester is the network requester: the service at the exit of
// the mixnet that opens TCP connections for SOCKS5 clients
// (sidecar/socks5) and relays their streams (sidecar/streams).
//
// It opens a connection only if its exit policy (sidecar/exitpolicy)
// allows the destination: a host name is resolved here, and only the
// addresses the policy allows are tried, so a name that resolves to a
// private address cannot reach the requester's own network. A refusal is
// sent back as a stream Error whose reason the SOCKS5 client turns into
// its reply code: not allowed by the policy, host not found, connection
// refused, unreachable, timed out, or too many streams.
//
// Bounds: at most MaxStreamsPerClient streams per client and MaxStreams in
// all (a stream counts from its first frame, before it connects); each
// stream holds at most streams.Window early frames and
// streams.MaxBuffered unread bytes; a stream the client has sent nothing
// about for QuietTimeout (clients ping quiet streams) is ended. Malformed
// messages and frames are dropped and counted.
//
// Clients find a requester in x/mixnet's service directory on chain, where it
// announces itself (directory.go: Announce, Withdraw; RunHome with
// [directory] announce), paying a deposit from its home's chain account.
package requester

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/exitpolicy"
	"github.com/nyx-privacy/nyx/sidecar/ratelog"
	"github.com/nyx-privacy/nyx/sidecar/streams"
)

// Config tunes a Requester.
type Config struct {
	Policy              *exitpolicy.Policy
	MaxStreamsPerClient int
	MaxStreams          int
	// QuietTimeout ends a stream the client has sent nothing about, and
	// has sent nothing at all, for this long; or that waits this long for
	// a frame lost on the way.
	QuietTimeout time.Duration
	// DialTimeout bounds resolving and connecting.
	DialTimeout time.Duration
	// SendTimeout bounds the wait for room in the transport for one frame.
	SendTimeout time.Duration
	// Resolver resolves host names; nil is net.DefaultResolver.
	Resolver *net.Resolver
}

// DefaultConfig returns the defaults with the default exit policy.
func DefaultConfig() Config {
	return Config{Policy: exitpolicy.Default(), MaxStreamsPerClient: 64, MaxStreams: 1024,
		QuietTimeout: 2 * time.Minute, DialTimeout: 15 * time.Second, SendTimeout: 30 * time.Second}
}

// Validate checks c.
func (c Config) Validate() error {
	if c.Policy == nil {
		return errors.New("requester: no exit policy")
	}
	if c.MaxStreamsPerClient <= 0 || c.MaxStreams <= 0 || c.MaxStreamsPerClient > c.MaxStreams {
		return errors.New("requester: stream limits must be positive, per client at most the total")
	}
	if c.QuietTimeout <= 0 || c.DialTimeout <= 0 || c.SendTimeout <= 0 {
		return errors.New("requester: timeouts must be positive")
	}
	return nil
}

// Stats are the requester's counters.
type Stats struct {
	// Malformed counts messages that were not frames or broke the
	// protocol; Unknown, frames about streams it does not have.
	Malformed, Unknown uint64
	// UnknownPings counts pings answered "unknown stream" (after a
	// restart, these tell clients their streams are gone).
	UnknownPings uint64
	// DroppedAnswers counts answers dropped because maxAnswers were
	// already waiting for room.
	DroppedAnswers uint64
	// Connected counts streams connected; Refused, streams refused, by
	// reason.
	Connected uint64
	Refused   map[streams.Reason]uint64
	TimedOut  uint64
	Active    int
}

// clientState is what the requester keeps of a client while it has streams.
type clientState struct {
	streams int
	heard   time.Time // its last frame
}

type key struct {
	tag string
	id  uint64
}

// Requester serves streams over a transport.
type Requester struct {
	t    streams.ServiceTransport
	cfg  Config
	log  *slog.Logger
	rlog *ratelog.Logger
	ctx  context.Context

	mu      sync.Mutex
	streams map[key]*streams.Stream
	perClnt map[string]*clientState
	// ended remembers streams that ended here for a quiet timeout, in
	// order (at most 4 MaxStreams of them), so that late frames and
	// pings about them are not taken for a new stream or a lost one.
	ended      map[key]time.Time
	endedOrder []key
	refused    map[streams.Reason]uint64
	wg         sync.WaitGroup
	dialer     net.Dialer
	resolver   *net.Resolver

	answers chan struct{}

	malformed, unknown, connected, timedOut, unknownPings, droppedAnswers atomic.Uint64
}

// New returns a requester over t; Run it.
func New(t streams.ServiceTransport, cfg Config, log *slog.Logger) (*Requester, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Requester{t: t, cfg: cfg, log: log, rlog: ratelog.New(log, ratelog.DefaultBurst, time.Minute),
		streams: map[key]*streams.Stream{}, perClnt: map[string]*clientState{}, ended: map[key]time.Time{}, answers: make(chan struct{}, maxAnswers), refused: map[streams.Reason]uint64{},
		dialer: net.Dialer{Timeout: cfg.DialTimeout}, resolver: cfg.Resolver}
	if r.resolver == nil {
		r.resolver = net.DefaultResolver
	}
	return r, nil
}

// Stats returns the requester's counters.
func (r *Requester) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	ref := make(map[streams.Reason]uint64, len(r.refused))
	for k, v := range r.refused {
		ref[k] = v
	}
	return Stats{Malformed: r.malformed.Load(), Unknown: r.unknown.Load(), Connected: r.connected.Load(),
		Refused: ref, TimedOut: r.timedOut.Load(), Active: len(r.streams), UnknownPings: r.unknownPings.Load(), DroppedAnswers: r.droppedAnswers.Load()}
}

// Run serves until ctx ends; then every stream is closed and its client
// told so (a requester that dies without saying so is found out by the
// clients' pings).
func (r *Requester) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	r.ctx = ctx
	defer r.wg.Wait()
	defer cancel() // first: the goroutines waited for end with ctx
	r.wg.Add(1)
	go func() { defer r.wg.Done(); r.sweep(ctx) }()
	for {
		tag, msg, err := r.t.Receive(ctx)
		if errors.Is(err, streams.ErrEnvelope) {
			r.malformed.Add(1)
			r.rlog.Log(slog.LevelDebug, "envelope", "message that is not anonymous (no sender tag) dropped", "err", err)
			continue
		}
		if err != nil {
			return err
		}
		f, err := streams.ParseFrame(msg)
		if err != nil {
			r.malformed.Add(1)
			r.rlog.Log(slog.LevelDebug, "frame", "malformed frame dropped", "err", err)
			continue
		}
		r.handle(tag, f)
	}
}

func (r *Requester) sender(tag string) streams.SendFunc {
	return func(f streams.Frame) error {
		ctx, cancel := context.WithTimeout(r.ctx, r.cfg.SendTimeout)
		defer cancel()
		return r.t.Reply(ctx, tag, f.Marshal())
	}
}

// maxAnswers bounds the answers (pongs, refusals, unknown-stream errors)
// waiting for room in the transport at once; beyond it they are dropped
// and counted, so that frames from clients can neither block the receive
// loop nor pile up goroutines.
const maxAnswers = 64

// answer returns a send function for tag that sends in the background,
// at most maxAnswers at once.
func (r *Requester) answer(tag string) streams.SendFunc {
	send := r.sender(tag)
	return func(f streams.Frame) error {
		select {
		case r.answers <- struct{}{}:
		default:
			r.droppedAnswers.Add(1)
			return errors.New("requester: too many answers waiting")
		}
		go func() {
			defer func() { <-r.answers }()
			_ = send(f)
		}()
		return nil
	}
}

func (r *Requester) handle(tag string, f streams.Frame) {
	k := key{tag, f.Stream}
	r.mu.Lock()
	if cs := r.perClnt[tag]; cs != nil {
		cs.heard = time.Now()
	}
	s := r.streams[k]
	if s == nil && r.recentlyEnded(k) {
		// Its last frames may still be on their way to the client, which
		// pings or closes meanwhile: nothing to say or do.
		r.mu.Unlock()
		r.unknown.Add(1)
		return
	}
	if s == nil {
		switch f.Kind {
		case streams.KindPing:
			// A ping for a stream we do not have: we restarted (or ended
			// it long ago). Say so, so the client's app is not left
			// waiting.
			r.mu.Unlock()
			r.unknown.Add(1)
			r.unknownPings.Add(1)
			r.answer(tag)(streams.Frame{Kind: streams.KindError, Stream: f.Stream, Reason: streams.ReasonUnknownStream})
			return
		case streams.KindOpen, streams.KindData, streams.KindEOF:
			// A new stream: its open may arrive after its first data.
		default:
			r.mu.Unlock()
			r.unknown.Add(1)
			return
		}
		cs := r.perClnt[tag]
		if len(r.streams) >= r.cfg.MaxStreams || (cs != nil && cs.streams >= r.cfg.MaxStreamsPerClient) {
			r.refused[streams.ReasonLimit]++
			r.mu.Unlock()
			r.rlog.Log(slog.LevelInfo, "limit", "stream refused: stream limit reached")
			r.answer(tag)(streams.Frame{Kind: streams.KindError, Stream: f.Stream, Reason: streams.ReasonLimit})
			return
		}
		s = streams.NewStream(f.Stream, r.sender(tag), r.t.MaxMessage()-streams.HeaderSize, func(s *streams.Stream) { r.remove(k, s) })
		s.SetAnswer(r.answer(tag))
		r.streams[k] = s
		if cs == nil {
			cs = &clientState{heard: time.Now()}
			r.perClnt[tag] = cs
		}
		cs.streams++
		r.wg.Add(1)
		go func() { defer r.wg.Done(); r.serve(s) }()
	}
	r.mu.Unlock()
	if err := s.Deliver(f); err != nil {
		r.malformed.Add(1)
		r.rlog.Log(slog.LevelDebug, "protocol", "stream ended: protocol violation", "err", err)
	}
}

func (r *Requester) remove(k key, s *streams.Stream) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.streams[k] != s {
		return
	}
	delete(r.streams, k)
	r.ended[k] = time.Now()
	r.endedOrder = append(r.endedOrder, k)
	if len(r.endedOrder) > 4*r.cfg.MaxStreams {
		delete(r.ended, r.endedOrder[0])
		r.endedOrder = r.endedOrder[1:]
	}
	if cs := r.perClnt[k.tag]; cs != nil {
		if cs.streams--; cs.streams <= 0 {
			delete(r.perClnt, k.tag)
		}
	}
}

// recentlyEnded reports whether stream k ended here within the quiet
// timeout. r.mu is held.
func (r *Requester) recentlyEnded(k key) bool {
	t, ok := r.ended[k]
	return ok && time.Since(t) < r.cfg.QuietTimeout
}

// forgetEnded drops the ended streams older than the quiet timeout.
func (r *Requester) forgetEnded(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.endedOrder) > 0 {
		k := r.endedOrder[0]
		if t, ok := r.ended[k]; ok && now.Sub(t) < r.cfg.QuietTimeout {
			return
		}
		delete(r.ended, k)
		r.endedOrder = r.endedOrder[1:]
	}
}

// sweep ends streams the client has gone quiet about.
func (r *Requester) sweep(ctx context.Context) {
	tick := time.NewTicker(min(r.cfg.QuietTimeout/4, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			r.mu.Lock()
			all := make([]*streams.Stream, 0, len(r.streams))
			for _, s := range r.streams {
				all = append(all, s)
			}
			r.mu.Unlock()
			for _, s := range all {
				s.Close()
			}
			return
		case now := <-tick.C:
			r.forgetEnded(now)
			r.mu.Lock()
			var quiet []*streams.Stream
			for k, s := range r.streams {
				var heard time.Time
				if cs := r.perClnt[k.tag]; cs != nil {
					heard = cs.heard
				}
				if s.Quiet(now, r.cfg.QuietTimeout, heard) {
					quiet = append(quiet, s)
				}
			}
			r.mu.Unlock()
			for _, s := range quiet {
				r.timedOut.Add(1)
				s.Fail(streams.ReasonTimeout)
			}
		}
	}
}

func (r *Requester) refuse(s *streams.Stream, reason streams.Reason, err error) {
	r.mu.Lock()
	r.refused[reason]++
	r.mu.Unlock()
	r.rlog.Log(slog.LevelInfo, "refused", "stream refused", "reason", reason.String(), "err", err)
	s.Fail(reason)
}

// serve waits for the stream's Open, connects, and relays.
func (r *Requester) serve(s *streams.Stream) {
	var open streams.Frame
	select {
	case open = <-s.First():
	case <-s.Done():
		return
	}
	conn, reason, err := r.connect(open.Host, open.Port)
	if err != nil {
		r.refuse(s, reason, err)
		return
	}
	defer conn.Close()
	if err := s.SendFirst(streams.Frame{Kind: streams.KindConnected}); err != nil {
		s.Fail(streams.ReasonGeneral)
		return
	}
	r.connected.Add(1)
	stop := context.AfterFunc(r.ctx, func() { conn.Close() })
	defer stop()
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-s.Done():
			conn.Close()
		case <-finished:
		}
	}()
	up := make(chan struct{})
	go func() {
		defer close(up)
		if _, err := io.Copy(conn, s); err == nil {
			conn.CloseWrite()
		}
	}()
	err = s.Pump(conn)
	if err != nil {
		if s.Err() == nil {
			s.Fail(streams.ReasonReset)
		}
	} else {
		s.CloseWrite()
	}
	<-up
}

// connect resolves host (unless it is an address), keeps the addresses the
// policy allows, and dials them in turn.
func (r *Requester) connect(host string, port uint16) (*net.TCPConn, streams.Reason, error) {
	ctx, cancel := context.WithTimeout(r.ctx, r.cfg.DialTimeout)
	defer cancel()
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		if !r.cfg.Policy.MayAllowPort(port) {
			return nil, streams.ReasonPolicy, fmt.Errorf("port %d not allowed", port)
		}
		ips, err := r.resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			var de *net.DNSError
			if errors.As(err, &de) && de.IsTimeout {
				return nil, streams.ReasonTimeout, err
			}
			return nil, streams.ReasonHostNotFound, err
		}
		addrs = ips
	}
	var allowed []netip.Addr
	for _, a := range addrs {
		if ok, _ := r.cfg.Policy.Allows(a, port); ok {
			allowed = append(allowed, a.Unmap())
		}
	}
	if len(allowed) == 0 {
		return nil, streams.ReasonPolicy, fmt.Errorf("no address of %s allowed on port %d", host, port)
	}
	var err error
	for _, a := range allowed {
		var c net.Conn
		c, err = r.dialer.DialContext(ctx, "tcp", net.JoinHostPort(a.String(), strconv.Itoa(int(port))))
		if err == nil {
			return c.(*net.TCPConn), 0, nil
		}
	}
	return nil, dialReason(err), err
}

func dialReason(err error) streams.Reason {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return streams.ReasonRefused
	case errors.Is(err, syscall.ENETUNREACH):
		return streams.ReasonNetUnreachable
	case errors.Is(err, syscall.EHOSTUNREACH):
		return streams.ReasonHostUnreachable
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return streams.ReasonTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return streams.ReasonTimeout
	}
	return streams.ReasonGeneral
}
