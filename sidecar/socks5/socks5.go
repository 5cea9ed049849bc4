// Package socks5 is the SOCKS5 (RFC 1928) and SOCKS4a server of the SOCKS5
// client: ordinary programs on the machine connect to it on 127.0.0.1, and
// each CONNECT becomes a stream to the network requester, which resolves
// the host name at the exit (socks5h semantics: the local resolver is
// never asked).
//
// Only what the mixnet can carry is offered: CONNECT without
// authentication. BIND and UDP ASSOCIATE get "command not supported"
// (0x07), an unknown address type 0x08, a client that offers no
// "no authentication" method 0xFF; a malformed request gets "general
// failure" (0x01) where a reply can still be framed, and the connection
// is closed. A refusal by the requester is mapped to the code that says
// why: 0x02 not allowed by the exit policy, 0x04 host not found or
// unreachable, 0x05 connection refused, 0x03 network unreachable, 0x06
// timed out, 0x01 anything else. SOCKS4 clients get 0x5B for all of them.
//
// The requester is named in socks5.toml or, when it is not, picked at each
// start from x/mixnet's service directory on chain, at random among the
// network requesters whose gateway is in the current topology (directory.go:
// PickProvider).
package socks5

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/ratelog"
	"github.com/nyx-privacy/nyx/sidecar/streams"
)

// Reply codes of SOCKS5.
const (
	RepSucceeded          byte = 0x00
	RepGeneralFailure     byte = 0x01
	RepNotAllowed         byte = 0x02
	RepNetUnreachable     byte = 0x03
	RepHostUnreachable    byte = 0x04
	RepConnRefused        byte = 0x05
	RepTTLExpired         byte = 0x06
	RepCmdNotSupported    byte = 0x07
	RepAddrTypeNotSupport byte = 0x08

	methodNoAuth       byte = 0x00
	methodNoAcceptable byte = 0xFF

	cmdConnect byte = 0x01
	atypIPv4   byte = 0x01
	atypDomain byte = 0x03
	atypIPv6   byte = 0x04

	socks4Granted  byte = 0x5A
	socks4Rejected byte = 0x5B
)

// Conn is a stream to a destination: what Dial returns.
type Conn interface {
	io.ReadWriteCloser
	CloseWrite() error
}

// pumper is a Conn that fills its frames itself (a *streams.Stream).
type pumper interface{ Pump(net.Conn) error }

// Dialer opens a stream to host:port (host as the client gave it: a name or
// an address literal).
type Dialer func(ctx context.Context, host string, port uint16) (Conn, error)

// StreamDialer opens each connection's stream with sc.
func StreamDialer(sc *streams.Client) Dialer {
	return func(ctx context.Context, host string, port uint16) (Conn, error) {
		s, err := sc.Dial(ctx, host, port)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return s, nil
	}
}

// Config tunes a Server.
type Config struct {
	// HandshakeTimeout bounds the SOCKS negotiation and the wait for the
	// stream to connect.
	HandshakeTimeout time.Duration
	// MaxConns bounds the connections served at once; more are closed.
	MaxConns int
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config { return Config{HandshakeTimeout: 90 * time.Second, MaxConns: 256} }

// Server serves SOCKS5 and SOCKS4a connections.
type Server struct {
	dial Dialer
	cfg  Config
	log  *slog.Logger
	rlog *ratelog.Logger

	active                       atomic.Int64
	accepted, refused, malformed atomic.Uint64
}

// Stats are a server's counters.
type Stats struct {
	Accepted, Refused, Malformed uint64
	Active                       int64
}

// NewServer returns a server that opens streams with dial.
func NewServer(dial Dialer, cfg Config, log *slog.Logger) (*Server, error) {
	if cfg.HandshakeTimeout <= 0 || cfg.MaxConns <= 0 {
		return nil, errors.New("socks5: handshake timeout and max connections must be positive")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{dial: dial, cfg: cfg, log: log, rlog: ratelog.New(log, ratelog.DefaultBurst, time.Minute)}, nil
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{Accepted: s.accepted.Load(), Refused: s.refused.Load(), Malformed: s.malformed.Load(), Active: s.active.Load()}
}

// Serve accepts connections on l until ctx ends.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	defer func() {
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		if s.active.Load() >= int64(s.cfg.MaxConns) {
			s.rlog.Warn("connection refused: too many SOCKS connections", "max", s.cfg.MaxConns)
			c.Close()
			continue
		}
		s.active.Add(1)
		mu.Lock()
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveConn(ctx, c)
			s.active.Add(-1)
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
			c.Close()
		}()
	}
}

// request is a parsed CONNECT.
type request struct {
	host   string
	port   uint16
	socks4 bool
}

// errReplied: the handshake failed and the client has had its reply.
type errReplied struct{ error }

func (s *Server) serveConn(ctx context.Context, c net.Conn) {
	c.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	br := bufio.NewReaderSize(c, 512)
	req, err := handshake(br, c)
	if err != nil {
		s.malformed.Add(1)
		s.rlog.Log(slog.LevelDebug, "handshake", "SOCKS handshake refused", "err", err)
		return
	}
	dctx, cancel := context.WithTimeout(ctx, s.cfg.HandshakeTimeout)
	st, err := s.dial(dctx, req.host, req.port)
	cancel()
	if err != nil {
		s.refused.Add(1)
		s.rlog.Log(slog.LevelInfo, "refused", "SOCKS connect refused", "err", err)
		writeReply(c, req, replyCode(err))
		return
	}
	defer st.Close()
	if err := writeReply(c, req, RepSucceeded); err != nil {
		return
	}
	s.accepted.Add(1)
	c.SetDeadline(time.Time{})
	relay(c, br, st)
}

// relay copies both ways, carrying each half-close through; an error on
// the stream resets the app's connection so that it sees a failure, not
// a clean end.
func relay(c net.Conn, br *bufio.Reader, st Conn) {
	up := make(chan struct{})
	go func() {
		defer close(up)
		// Bytes the app sent after its request are in br's buffer.
		if n := br.Buffered(); n > 0 {
			b, _ := br.Peek(n)
			if _, err := st.Write(b); err != nil {
				return
			}
			br.Discard(n)
		}
		var err error
		if p, ok := st.(pumper); ok {
			err = p.Pump(c)
		} else {
			_, err = io.Copy(st, c)
		}
		if err == nil {
			st.CloseWrite()
		}
	}()
	_, err := io.Copy(c, st)
	tc, _ := c.(*net.TCPConn)
	if err != nil {
		if tc != nil {
			tc.SetLinger(0) // close with RST: the app sees the failure
		}
		c.Close()
		st.Close()
	} else if tc != nil {
		tc.CloseWrite()
	}
	<-up
}

// replyCode maps a stream's failure to SOCKS5's reply codes.
func replyCode(err error) byte {
	var e *streams.Error
	if !errors.As(err, &e) {
		return RepGeneralFailure
	}
	switch e.Reason {
	case streams.ReasonPolicy:
		return RepNotAllowed
	case streams.ReasonHostNotFound, streams.ReasonHostUnreachable:
		return RepHostUnreachable
	case streams.ReasonRefused:
		return RepConnRefused
	case streams.ReasonNetUnreachable:
		return RepNetUnreachable
	case streams.ReasonTimeout:
		return RepTTLExpired
	}
	return RepGeneralFailure
}

func writeReply(w io.Writer, req request, code byte) error {
	if req.socks4 {
		r := []byte{0, socks4Granted, 0, 0, 0, 0, 0, 0}
		if code != RepSucceeded {
			r[1] = socks4Rejected
		}
		_, err := w.Write(r)
		return err
	}
	_, err := w.Write([]byte{5, code, 0, atypIPv4, 0, 0, 0, 0, 0, 0})
	return err
}

// handshake reads a SOCKS5 or SOCKS4/4a request, answering every failure
// it can frame an answer to.
func handshake(r *bufio.Reader, w io.Writer) (request, error) {
	v, err := r.ReadByte()
	if err != nil {
		return request{}, err
	}
	switch v {
	case 5:
		return handshake5(r, w)
	case 4:
		return handshake4(r, w)
	}
	return request{}, fmt.Errorf("SOCKS version %d", v)
}

func handshake5(r *bufio.Reader, w io.Writer) (request, error) {
	var req request
	n, err := r.ReadByte()
	if err != nil {
		return req, err
	}
	methods := make([]byte, n)
	if _, err := io.ReadFull(r, methods); err != nil {
		return req, err
	}
	ok := false
	for _, m := range methods {
		ok = ok || m == methodNoAuth
	}
	if !ok {
		w.Write([]byte{5, methodNoAcceptable})
		return req, errors.New("client offers no method without authentication")
	}
	if _, err := w.Write([]byte{5, methodNoAuth}); err != nil {
		return req, err
	}
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return req, err
	}
	fail := func(code byte, err error) (request, error) {
		writeReply(w, req, code)
		return request{}, errReplied{err}
	}
	if head[0] != 5 || head[2] != 0 {
		return fail(RepGeneralFailure, fmt.Errorf("malformed request header % x", head))
	}
	switch head[3] {
	case atypIPv4:
		var a [4]byte
		if _, err := io.ReadFull(r, a[:]); err != nil {
			return req, err
		}
		req.host = netip.AddrFrom4(a).String()
	case atypIPv6:
		var a [16]byte
		if _, err := io.ReadFull(r, a[:]); err != nil {
			return req, err
		}
		req.host = netip.AddrFrom16(a).String()
	case atypDomain:
		l, err := r.ReadByte()
		if err != nil {
			return req, err
		}
		h := make([]byte, l)
		if _, err := io.ReadFull(r, h); err != nil {
			return req, err
		}
		req.host = string(h)
	default:
		return fail(RepAddrTypeNotSupport, fmt.Errorf("address type %d", head[3]))
	}
	var p [2]byte
	if _, err := io.ReadFull(r, p[:]); err != nil {
		return req, err
	}
	req.port = binary.BigEndian.Uint16(p[:])
	if head[1] != cmdConnect {
		return fail(RepCmdNotSupported, fmt.Errorf("command %d (only CONNECT is supported)", head[1]))
	}
	if err := streams.CheckHost(req.host); err != nil || req.port == 0 {
		return fail(RepGeneralFailure, fmt.Errorf("bad destination %q:%d", truncate(req.host), req.port))
	}
	return req, nil
}

// readString reads a NUL-terminated string of at most 255 bytes.
func readString(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			return "", err
		}
		if c == 0 {
			return string(b), nil
		}
		if len(b) == 255 {
			return "", errors.New("SOCKS4 string longer than 255 bytes")
		}
		b = append(b, c)
	}
}

func handshake4(r *bufio.Reader, w io.Writer) (request, error) {
	req := request{socks4: true}
	var head [7]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return req, err
	}
	if _, err := readString(r); err != nil { // user id, unused
		writeReply(w, req, RepGeneralFailure)
		return req, errReplied{err}
	}
	req.port = binary.BigEndian.Uint16(head[1:3])
	ip := [4]byte(head[3:7])
	if ip[0] == 0 && ip[1] == 0 && ip[2] == 0 && ip[3] != 0 {
		h, err := readString(r) // SOCKS4a: the host name follows
		if err != nil {
			writeReply(w, req, RepGeneralFailure)
			return req, errReplied{err}
		}
		req.host = h
	} else {
		req.host = netip.AddrFrom4(ip).String()
	}
	if head[0] != cmdConnect {
		writeReply(w, req, RepCmdNotSupported)
		return req, errReplied{fmt.Errorf("SOCKS4 command %d (only CONNECT is supported)", head[0])}
	}
	if err := streams.CheckHost(req.host); err != nil || req.port == 0 {
		writeReply(w, req, RepGeneralFailure)
		return req, errReplied{fmt.Errorf("bad destination %q:%d", truncate(req.host), req.port)}
	}
	return req, nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
