package node

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// startTestNode starts a real node (mix engine, gateway, HTTP servers) on
// loopback ports; its chain is unreachable, which these tests do not need.
func startTestNode(t *testing.T, mod func(*Config)) *Server {
	t.Helper()
	keys, err := GenerateKeys(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Chain.GRPC = "127.0.0.1:1"
	cfg.Node.MixListen, cfg.Node.ClientsListen, cfg.Node.HTTPListen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	if mod != nil {
		mod(&cfg)
	}
	s, err := Start(context.Background(), t.TempDir(), cfg, keys, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByPeer reports whether the other end has closed c.
func closedByPeer(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
	var b [1]byte
	_, err := c.Read(b[:])
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

// TestClientsPortSlowloris: request headers dripped one byte a second are
// cut off at read_header_timeout.
func TestClientsPortSlowloris(t *testing.T) {
	s := startTestNode(t, func(c *Config) { c.HTTP.ReadHeaderTimeout = Duration(time.Second) })
	c := dialFrom(t, "127.0.0.9", s.ClientsAddr())
	header := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
	// The server gives 1 s; a server that waited 6 s or more (as a fixed
	// 10 s header timeout did) fails.
	for i := range 6 {
		if _, err := c.Write([]byte{header[i]}); err != nil || closedByPeer(c) {
			return
		}
		time.Sleep(time.Second)
	}
	t.Fatal("a request header dripped a byte a second is still being read after 6 s")
}

// TestClientsPortPendingPerIP: one source opening many connections and
// sending nothing holds at most max_pending_per_ip of them; a websocket
// client from elsewhere still connects.
func TestClientsPortPendingPerIP(t *testing.T) {
	s := startTestNode(t, func(c *Config) {
		c.HTTP.MaxPending, c.HTTP.MaxPendingPerIP = 64, 4
		// Long enough that none of the four is timed out (and its slot
		// taken again) while the test runs, however slow the machine.
		c.HTTP.ReadHeaderTimeout, c.HTTP.ReadTimeout = Duration(time.Minute), Duration(time.Minute)
	})
	var conns []net.Conn
	for range 200 {
		conns = append(conns, dialFrom(t, "127.0.0.9", s.ClientsAddr()))
	}
	// Every connection over the bound is closed as soon as it is accepted.
	deadline := time.Now().Add(10 * time.Second)
	for {
		open := 0
		for _, c := range conns {
			if !closedByPeer(c) {
				open++
			}
		}
		if open <= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("one source holds %d idle connections to the clients port, bound 4", open)
		}
	}
	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+s.ClientsAddr()+"/", nil)
	if err != nil {
		t.Fatalf("a websocket client could not connect: %v (%v)", err, resp)
	}
	ws.Close()
	if got := metricValue(t, s, `nyx_node_http_refused_total{listener="clients",reason="pending_per_ip"}`); got != "196" {
		t.Fatalf("refused per IP: %s, want 196", got)
	}
}

// TestHeaderTooLarge: a request header over max_header_bytes is refused
// (431) on both ports.
func TestHeaderTooLarge(t *testing.T) {
	s := startTestNode(t, nil)
	for _, addr := range []string{s.HTTPAddr(), s.ClientsAddr()} {
		c := dialFrom(t, "127.0.0.1", addr)
		// net/http allows 4 KiB of slack over MaxHeaderBytes.
		req := "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", DefaultHTTPSection().MaxHeaderBytes+8<<10) + "\r\n\r\n"
		go c.Write([]byte(req))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("%s: status %d for a %d-byte header", addr, resp.StatusCode, len(req))
		}
	}
}

// TestMetricsNotPublic: with the listen addresses init writes by default,
// /metrics is on loopback only, and the public ports do not serve it.
func TestMetricsNotPublic(t *testing.T) {
	def := DefaultConfig()
	host, _, err := net.SplitHostPort(def.Node.HTTPListen)
	if err != nil {
		t.Fatal(err)
	}
	if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
		t.Fatalf("the HTTP port listens on %q by default", def.Node.HTTPListen)
	}
	s := startTestNode(t, func(c *Config) {
		c.Node.HTTPListen = net.JoinHostPort(host, "0")
		c.Node.ClientsListen = net.JoinHostPort(must(net.SplitHostPort(def.Node.ClientsListen)), "0")
	})
	if ip := netip.MustParseAddrPort(s.HTTPAddr()).Addr(); !ip.IsLoopback() {
		t.Fatalf("HTTP port on %s", s.HTTPAddr())
	}
	// The clients port is public; it answers no metrics.
	_, port, _ := net.SplitHostPort(s.ClientsAddr())
	resp, err := http.Get("http://127.0.0.1:" + port + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK || strings.Contains(string(body), "nyx_mixnode") {
		t.Fatalf("the clients port served /metrics: %d %.100s", resp.StatusCode, body)
	}
	// The operator reads them on loopback.
	if v := metricValue(t, s, `nyx_mixnode_packets_received_total`); v != "0" {
		t.Fatalf("packets received %s", v)
	}
}

func must(host, _ string, err error) string {
	if err != nil {
		panic(err)
	}
	return host
}

// metricValue reads one sample of the node's /metrics.
func metricValue(t *testing.T, s *Server, name string) string {
	t.Helper()
	resp, err := http.Get("http://" + s.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return v
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return ""
}

// TestWebsocketOutlivesServerTimeouts: the HTTP server's read, write and
// idle timeouts end with the upgrade; a websocket session is the
// gateway's to bound.
func TestWebsocketOutlivesServerTimeouts(t *testing.T) {
	s := startTestNode(t, func(c *Config) {
		c.HTTP.ReadTimeout, c.HTTP.WriteTimeout, c.HTTP.IdleTimeout = Duration(time.Second), Duration(time.Second), Duration(time.Second)
	})
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+s.ClientsAddr()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	// The gateway opens with its challenge (protocol version 2).
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, msg, err := ws.ReadMessage(); err != nil || !strings.Contains(string(msg), `"challenge"`) {
		t.Fatalf("first message %q, %v: want the gateway's challenge", msg, err)
	}
	// Silent for twice the server timeouts (well within the gateway's
	// handshake timeout), then a bogus handshake: the gateway still reads
	// it and writes its refusal.
	time.Sleep(2 * time.Second)
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"nonsense"}`)); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, msg, err := ws.ReadMessage()
	var ce *websocket.CloseError
	if err != nil && !errors.As(err, &ce) {
		t.Fatalf("the websocket session ended within the HTTP server's timeouts: %v", err)
	}
	if err == nil && !strings.Contains(string(msg), "error") {
		t.Fatalf("gateway answered %q", msg)
	}
}

// TestLimitsValidated: a bound that bounds nothing, or lets no ordinary
// traffic through, is refused on load with the setting's name.
func TestLimitsValidated(t *testing.T) {
	for in, want := range map[string]string{
		"[mixnode]\npreface_timeout = \"0s\"\n":                         "mixnode.preface_timeout",
		"[mixnode]\nmax_connections_per_ip = 0\n":                       "mixnode.max_connections_per_ip",
		"[mixnode]\nmax_connections = 10\nreserved_connections = 11\n":  "mixnode.reserved_connections",
		"[mixnode]\ndelay_queue_bytes = 1000\n":                         "mixnode.delay_queue_bytes",
		"[mixnode]\nprocess_queue_bytes = 0\n":                          "mixnode.process_queue_bytes",
		"[mixnode]\ndeliver_queue_bytes = 33116\n":                      "mixnode.deliver_queue_bytes",
		"[mixnode]\nstranger_idle = \"0s\"\n":                           "mixnode.stranger_idle must be positive",
		"[mixnode]\nread_idle = \"10s\"\nstranger_idle = \"11s\"\n":     "mixnode.stranger_idle must not exceed",
		"[mixnode]\nstranger_failures = -1\n":                           "mixnode.stranger_failures",
		"[mixnode]\nlink_queue_bytes = 300000000\n":                     "mixnode.link_queue_bytes must not exceed",
		"[http]\nread_header_timeout = \"-1s\"\n":                       "http.read_header_timeout",
		"[http]\nmax_header_bytes = 10\n":                               "http.max_header_bytes",
		"[http]\nmax_pending_connections = 4\nmax_pending_per_ip = 5\n": "http.max_pending_per_ip",
		"[http]\nmax_pending_connections = 0\n":                         "http.max_pending_connections",
		"[http]\nidle_timeout = \"soon\"\n":                             "invalid duration",
	} {
		_, err := ParseConfig([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one naming %s", in, err, want)
		}
	}
}
