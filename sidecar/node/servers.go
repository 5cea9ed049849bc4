package node

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nyx-privacy/nyx/sidecar/mixnode"
	"github.com/nyx-privacy/nyx/sidecar/ratelog"
	"github.com/nyx-privacy/nyx/sidecar/wire"
)

// Defaults of the [http] section.
const (
	DefaultHTTPReadHeaderTimeout = 5 * time.Second
	DefaultHTTPReadTimeout       = 10 * time.Second
	DefaultHTTPWriteTimeout      = 10 * time.Second
	DefaultHTTPIdleTimeout       = 60 * time.Second
	DefaultHTTPMaxHeaderBytes    = 8 << 10
	DefaultHTTPMaxPending        = 256
	DefaultHTTPMaxPendingPerIP   = 8
)

// DefaultHTTPSection is the [http] section Init writes.
func DefaultHTTPSection() HTTPSection {
	return HTTPSection{
		ReadHeaderTimeout: Duration(DefaultHTTPReadHeaderTimeout), ReadTimeout: Duration(DefaultHTTPReadTimeout),
		WriteTimeout: Duration(DefaultHTTPWriteTimeout), IdleTimeout: Duration(DefaultHTTPIdleTimeout),
		MaxHeaderBytes: DefaultHTTPMaxHeaderBytes, MaxPending: DefaultHTTPMaxPending, MaxPendingPerIP: DefaultHTTPMaxPendingPerIP,
	}
}

// validateLimits checks the settings that bound what outside parties can
// make the node hold: each must be a bound (positive) that lets the
// ordinary traffic through.
func (c Config) validateLimits() []error {
	var errs []error
	m, h := c.Mixnode, c.HTTP
	for name, d := range map[string]Duration{
		"mixnode.preface_timeout": m.PrefaceTimeout, "mixnode.stranger_idle": m.StrangerIdle,
		"http.read_header_timeout": h.ReadHeaderTimeout,
		"http.read_timeout":        h.ReadTimeout, "http.write_timeout": h.WriteTimeout, "http.idle_timeout": h.IdleTimeout,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", name))
		}
	}
	for name, v := range map[string]int{
		"mixnode.max_connections_per_ip": m.MaxConnectionsPerIP, "mixnode.stranger_failures": m.StrangerFailures,
		"http.max_pending_connections": h.MaxPending,
		"http.max_pending_per_ip":      h.MaxPendingPerIP,
	} {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive", name))
		}
	}
	if m.ReservedConnections <= 0 || (m.MaxConnections > 0 && m.ReservedConnections > m.MaxConnections) {
		errs = append(errs, errors.New("mixnode.reserved_connections must be positive and at most max_connections"))
	}
	// One packet of the largest size must fit, or every such packet is
	// dropped.
	largest := int64(wire.StandardSizes().Max())
	for name, v := range map[string]int64{
		"mixnode.delay_queue_bytes": m.DelayQueueBytes, "mixnode.link_queue_bytes": m.LinkQueueBytes, "mixnode.links_bytes": m.LinksBytes,
		"mixnode.process_queue_bytes": m.ProcessQueueBytes, "mixnode.deliver_queue_bytes": m.DeliverQueueBytes,
	} {
		if v < largest {
			errs = append(errs, fmt.Errorf("%s must be at least %d (the largest packet)", name, largest))
		}
	}
	// A stranger is held to less than a peer, never to more.
	if m.ReadIdle > 0 && m.StrangerIdle > m.ReadIdle {
		errs = append(errs, errors.New("mixnode.stranger_idle must not exceed read_idle"))
	}
	if m.LinkQueueBytes > m.LinksBytes {
		errs = append(errs, errors.New("mixnode.link_queue_bytes must not exceed links_bytes"))
	}
	if h.MaxHeaderBytes < 1024 {
		errs = append(errs, errors.New("http.max_header_bytes must be at least 1024"))
	}
	if h.MaxPendingPerIP > h.MaxPending {
		errs = append(errs, errors.New("http.max_pending_per_ip must not exceed max_pending_connections"))
	}
	return errs
}

// startServers serves the gateway's websocket endpoint on clientsL (if the
// gateway runs) and /metrics and /health on httpL, both bounded by the
// [http] section.
func (s *Server) startServers(clientsL, httpL net.Listener, clientsTLS *tls.Config) {
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "node", Name: "http_refused_total",
		Help: "Connections to the clients or HTTP port closed at once: over max_pending_connections (pending_limit) " +
			"or max_pending_per_ip (pending_per_ip)."}, []string{"listener", "reason"})
	s.reg.MustRegister(refused)
	rlog := ratelog.New(s.log, 0, 0)
	if s.gw != nil {
		s.clientsAddr = clientsL.Addr().String()
		s.clientsSrv = s.newHTTPServer(s.gw.Handler(), clientsL, "clients", refused, rlog, clientsTLS)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/health", s.health)
	s.httpAddr = httpL.Addr().String()
	s.httpSrv = s.newHTTPServer(mux, httpL, "http", refused, rlog, nil)
}

// newHTTPServer serves h on l under the [http] bounds, over TLS if tlsCfg
// is not nil, and returns the server, for Close. The TLS handshake counts
// as a pending connection's time, bounded like its request headers.
func (s *Server) newHTTPServer(h http.Handler, l net.Listener, what string, refused *prometheus.CounterVec, rlog *ratelog.Logger, tlsCfg *tls.Config) *http.Server {
	c := s.cfg.HTTP
	pl := &pendingListener{Listener: l, max: c.MaxPending, perIP: c.MaxPendingPerIP, byIP: map[netip.Addr]int{},
		refusedLimit: refused.WithLabelValues(what, "pending_limit"), refusedPerIP: refused.WithLabelValues(what, "pending_per_ip")}
	srv := &http.Server{
		Handler: h,
		// Server timeouts stop applying to a hijacked connection (the
		// websocket library also clears the deadlines they set): a
		// websocket session is bounded by the gateway's own timeouts.
		ReadHeaderTimeout: time.Duration(c.ReadHeaderTimeout),
		ReadTimeout:       time.Duration(c.ReadTimeout),
		WriteTimeout:      time.Duration(c.WriteTimeout),
		IdleTimeout:       time.Duration(c.IdleTimeout),
		MaxHeaderBytes:    c.MaxHeaderBytes,
		ConnState:         pl.connState,
		// net/http logs what clients' bytes cause (bad TLS, panics in
		// handlers, accept errors): outside parties must not choose how
		// many lines.
		ErrorLog: log.New(rlogWriter{rlog: rlog, listener: what}, "", 0),
	}
	var serveL net.Listener = pl
	if tlsCfg != nil {
		srv.TLSConfig = tlsCfg
		serveL = tls.NewListener(pl, tlsCfg)
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := srv.Serve(serveL); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("listener stopped", "listener", what, "err", err)
		}
	}()
	return srv
}

// rlogWriter writes net/http's error log lines through a ratelog.Logger.
type rlogWriter struct {
	rlog     *ratelog.Logger
	listener string
}

func (w rlogWriter) Write(p []byte) (int, error) {
	w.rlog.Warn("HTTP server error", "listener", w.listener, "err", strings.TrimSpace(string(p)))
	return len(p), nil
}

// pendingListener bounds the connections of an http.Server that are not
// (yet) websocket sessions: new, active or idle. It closes a connection
// over the bound as soon as it is accepted, before any byte is read.
// Sources are counted as on the mix port (mixnode.SourceKey: an IPv6
// source is its /64); byIP only holds sources with a pending connection,
// at most max entries.
type pendingListener struct {
	net.Listener
	max, perIP                 int
	refusedLimit, refusedPerIP prometheus.Counter

	mu    sync.Mutex
	total int
	byIP  map[netip.Addr]int
}

func (l *pendingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := mixnode.SourceKey(connIP(c.RemoteAddr()))
		l.mu.Lock()
		var over prometheus.Counter
		switch {
		case l.byIP[ip] >= l.perIP:
			over = l.refusedPerIP
		case l.total >= l.max:
			over = l.refusedLimit
		default:
			l.total++
			l.byIP[ip]++
		}
		l.mu.Unlock()
		if over != nil {
			over.Inc()
			c.Close()
			continue
		}
		return &pendingConn{Conn: c, l: l, ip: ip}, nil
	}
}

// connState gives a connection's slot back once it is a websocket
// session (hijacked) or closed.
func (l *pendingListener) connState(c net.Conn, st http.ConnState) {
	if st != http.StateHijacked && st != http.StateClosed {
		return
	}
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if pc, ok := c.(*pendingConn); ok {
		pc.release()
	}
}

// pending returns the pending connections.
func (l *pendingListener) pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

type pendingConn struct {
	net.Conn
	l    *pendingListener
	ip   netip.Addr
	once sync.Once
}

func (c *pendingConn) release() {
	c.once.Do(func() {
		l := c.l
		l.mu.Lock()
		l.total--
		if l.byIP[c.ip] <= 1 {
			delete(l.byIP, c.ip)
		} else {
			l.byIP[c.ip]--
		}
		l.mu.Unlock()
	})
}

// Close releases the slot too, in case the server closes a connection
// without a state change.
func (c *pendingConn) Close() error {
	c.release()
	return c.Conn.Close()
}

// connIP is the IP of a TCP address, the zero Addr for any other.
func connIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			return ip.Unmap()
		}
	}
	return netip.Addr{}
}
