package home

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nyx-privacy/nyx/sidecar/ratelog"
	"github.com/nyx-privacy/nyx/sidecar/tomltime"
)

// LogSection is the [log] section every daemon's config has.
type LogSection struct {
	Level  string `toml:"level"`
	Format string `toml:"format"`
}

// DefaultLog is info-level text.
func DefaultLog() LogSection { return LogSection{Level: "info", Format: "text"} }

// Validate checks the level and format.
func (l LogSection) Validate() error {
	switch l.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level %q is not debug, info, warn or error", l.Level)
	}
	if l.Format != "text" && l.Format != "json" {
		return fmt.Errorf("log.format %q is not text or json", l.Format)
	}
	return nil
}

// Logger is the logger the section describes, writing to w.
func (l LogSection) Logger(w io.Writer) (*slog.Logger, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(l.Level))
	opts := &slog.HandlerOptions{Level: lv}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// HTTPLimits bound what a connection may cost a daemon's HTTP server
// until it is done (or, on a gateway's clients port, a websocket session,
// which the gateway's own limits bound). Their TOML tags make them an
// [http] section.
type HTTPLimits struct {
	ReadHeaderTimeout tomltime.Duration `toml:"read_header_timeout"`
	ReadTimeout       tomltime.Duration `toml:"read_timeout"`
	WriteTimeout      tomltime.Duration `toml:"write_timeout"`
	IdleTimeout       tomltime.Duration `toml:"idle_timeout"`
	MaxHeaderBytes    int               `toml:"max_header_bytes"`
	// MaxPending bounds the connections that are not (yet) websocket
	// sessions, MaxPendingPerIP those of one source (SourceKey). Over
	// either, a new connection is closed at once.
	MaxPending      int `toml:"max_pending_connections"`
	MaxPendingPerIP int `toml:"max_pending_per_ip"`
}

// HTTPLimitsTemplate writes the limits into a daemon's [http] section as
// init does, each setting with its comment: a text/template body whose dot
// is an HTTPLimits. A daemon's config template includes it (AddTemplates).
const HTTPLimitsTemplate = `# Time to read a request's headers; to read the whole request.
read_header_timeout = "{{.ReadHeaderTimeout}}"
read_timeout = "{{.ReadTimeout}}"
# Time to write a plain HTTP response (metrics, health, errors).
write_timeout = "{{.WriteTimeout}}"
# A kept-alive connection with no request this long is closed.
idle_timeout = "{{.IdleTimeout}}"
# Largest request header (bytes).
max_header_bytes = {{.MaxHeaderBytes}}
# Connections that are not (yet) websocket sessions, per listener: in all
# and from one source IP. Over either, a new connection is closed at once.
max_pending_connections = {{.MaxPending}}
max_pending_per_ip = {{.MaxPendingPerIP}}
`

// AddTemplates adds home's config fragments to t, by name:
// "http_limits" (HTTPLimitsTemplate).
func AddTemplates(t *template.Template) *template.Template {
	template.Must(t.New("http_limits").Parse(HTTPLimitsTemplate))
	return t
}

// DefaultHTTPLimits are the limits of a daemon's HTTP server.
func DefaultHTTPLimits() HTTPLimits {
	return HTTPLimits{
		ReadHeaderTimeout: tomltime.Duration(5 * time.Second), ReadTimeout: tomltime.Duration(10 * time.Second),
		WriteTimeout: tomltime.Duration(10 * time.Second), IdleTimeout: tomltime.Duration(60 * time.Second),
		MaxHeaderBytes: 8 << 10, MaxPending: 256, MaxPendingPerIP: 8,
	}
}

// Validate checks that every limit is one (positive) that lets ordinary
// requests through; section names the config section in errors.
func (h HTTPLimits) Validate(section string) error {
	var errs []error
	for _, d := range []struct {
		name string
		v    tomltime.Duration
	}{{"read_header_timeout", h.ReadHeaderTimeout}, {"read_timeout", h.ReadTimeout}, {"write_timeout", h.WriteTimeout}, {"idle_timeout", h.IdleTimeout}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s.%s must be positive", section, d.name))
		}
	}
	if h.MaxPending <= 0 || h.MaxPendingPerIP <= 0 {
		errs = append(errs, fmt.Errorf("%s.max_pending_connections and max_pending_per_ip must be positive", section))
	}
	if h.MaxHeaderBytes < 1024 {
		errs = append(errs, fmt.Errorf("%s.max_header_bytes must be at least 1024", section))
	}
	if h.MaxPendingPerIP > h.MaxPending {
		errs = append(errs, fmt.Errorf("%s.max_pending_per_ip must not exceed max_pending_connections", section))
	}
	return errors.Join(errs...)
}

// HTTPServer is what a daemon serves HTTP with: the handler, its limits,
// TLS if any, and where what outside parties cause is counted and logged.
type HTTPServer struct {
	Handler http.Handler
	Limits  HTTPLimits
	// TLS, if not nil, serves HTTPS; the handshake counts as a pending
	// connection's time, bounded like its request headers.
	TLS *tls.Config
	// Name labels the listener in Refused and in log lines.
	Name string
	// Refused, if not nil, counts connections closed at once, by the
	// labels listener (Name) and reason (pending_limit, pending_per_ip):
	// NewRefusedCounter.
	Refused *prometheus.CounterVec
	// Log takes net/http's error lines (bad TLS, broken requests), which
	// clients' bytes cause, rate-limited; nil discards them.
	Log *ratelog.Logger
}

// NewRefusedCounter is the counter HTTPServer.Refused takes, registered
// with reg as <namespace>_<subsystem>_http_refused_total.
func NewRefusedCounter(reg prometheus.Registerer, namespace, subsystem string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Subsystem: subsystem, Name: "http_refused_total",
		Help: "Connections to an HTTP port closed at once: over max_pending_connections (pending_limit) " +
			"or max_pending_per_ip (pending_per_ip)."}, []string{"listener", "reason"})
	reg.MustRegister(c)
	return c
}

// Start serves on l in a goroutine until the returned server is shut
// down or closed; done is closed when it has stopped. An error other than
// the server's closing goes to errf (if not nil).
func (o HTTPServer) Start(l net.Listener, errf func(error)) (srv *http.Server, done <-chan struct{}) {
	lim := o.Limits
	pl := &pendingListener{Listener: l, max: lim.MaxPending, perIP: lim.MaxPendingPerIP, byIP: map[netip.Addr]int{}}
	if o.Refused != nil {
		pl.refusedLimit = o.Refused.WithLabelValues(o.Name, "pending_limit")
		pl.refusedPerIP = o.Refused.WithLabelValues(o.Name, "pending_per_ip")
	}
	rlog := o.Log
	if rlog == nil {
		rlog = ratelog.New(slog.New(slog.DiscardHandler), 0, 0)
	}
	srv = &http.Server{
		Handler: o.Handler,
		// Server timeouts stop applying to a hijacked connection (the
		// websocket library also clears the deadlines they set): a
		// websocket session is bounded by its own timeouts.
		ReadHeaderTimeout: time.Duration(lim.ReadHeaderTimeout),
		ReadTimeout:       time.Duration(lim.ReadTimeout),
		WriteTimeout:      time.Duration(lim.WriteTimeout),
		IdleTimeout:       time.Duration(lim.IdleTimeout),
		MaxHeaderBytes:    lim.MaxHeaderBytes,
		ConnState:         pl.connState,
		// net/http logs what clients' bytes cause (bad TLS, panics in
		// handlers, accept errors): outside parties must not choose how
		// many lines.
		ErrorLog: log.New(rlogWriter{rlog: rlog, listener: o.Name}, "", 0),
	}
	var serveL net.Listener = pl
	if o.TLS != nil {
		srv.TLSConfig = o.TLS
		serveL = tls.NewListener(pl, o.TLS)
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := srv.Serve(serveL); err != nil && !errors.Is(err, http.ErrServerClosed) && errf != nil {
			errf(err)
		}
	}()
	return srv, stopped
}

// Shutdown stops srv, letting requests in progress finish for up to two
// seconds.
func Shutdown(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close()
	}
}

// Routes is a daemon's HTTP port: /metrics (reg), /health (health's value
// as JSON) and the extra routes, by pattern.
func Routes(reg *prometheus.Registry, health func() any, extra map[string]http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(health())
	})
	for pattern, h := range extra {
		mux.Handle(pattern, h)
	}
	return mux
}

// Serve serves on l until ctx ends (then shuts the server down) or the
// server fails.
func (o HTTPServer) Serve(ctx context.Context, l net.Listener) error {
	errc := make(chan error, 1)
	srv, done := o.Start(l, func(err error) { errc <- err })
	select {
	case <-ctx.Done():
		Shutdown(srv)
		<-done
		return nil
	case <-done:
		select {
		case err := <-errc:
			return err
		default:
			return nil
		}
	}
}

// ServeHTTP serves Routes(reg, health, nil) on l under the default limits
// until ctx ends.
func ServeHTTP(ctx context.Context, l net.Listener, reg *prometheus.Registry, health func() any) error {
	return HTTPServer{Handler: Routes(reg, health, nil), Limits: DefaultHTTPLimits(), Name: "http"}.Serve(ctx, l)
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

// SourceKey is what a per-source limit counts ip under: an IPv4 address
// itself, an IPv6 address its /64 (a host given a /64 could otherwise open
// connections from as many addresses as it likes).
func SourceKey(ip netip.Addr) netip.Addr {
	ip = ip.Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return ip
}

// AddrIP is the IP of a TCP address; every other kind of address (a unix
// socket in tests) maps to the zero Addr, one source.
func AddrIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			return ip.Unmap()
		}
	}
	return netip.Addr{}
}

// pendingListener bounds the connections of an http.Server that are not
// (yet) websocket sessions: new, active or idle. It closes a connection
// over the bound as soon as it is accepted, before any byte is read.
// byIP only holds sources with a pending connection, at most max entries.
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
		ip := SourceKey(AddrIP(c.RemoteAddr()))
		l.mu.Lock()
		var over prometheus.Counter
		refused := false
		switch {
		case l.byIP[ip] >= l.perIP:
			over, refused = l.refusedPerIP, true
		case l.total >= l.max:
			over, refused = l.refusedLimit, true
		default:
			l.total++
			l.byIP[ip]++
		}
		l.mu.Unlock()
		if refused {
			if over != nil {
				over.Inc()
			}
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
