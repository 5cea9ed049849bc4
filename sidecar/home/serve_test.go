package home

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestHTTPServer: a daemon's HTTP port serves /metrics, /health and its
// extra routes, and a source holding max_pending_per_ip idle connections
// has its next one closed at once, counted.
func TestHTTPServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	lim := DefaultHTTPLimits()
	lim.MaxPendingPerIP = 2
	o := HTTPServer{
		Handler: Routes(reg, func() any { return map[string]string{"state": "up"} },
			map[string]http.Handler{"/extra": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "extra") })}),
		Limits: lim, Name: "http", Refused: NewRefusedCounter(reg, "nyx", "test"),
	}
	srv, done := o.Start(l, func(err error) { t.Error(err) })
	defer func() { Shutdown(srv); <-done }()

	base := "http://" + l.Addr().String()
	for path, want := range map[string]string{"/health": `{"state":"up"}`, "/extra": "extra", "/metrics": "nyx_test_http_refused_total"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), want) {
			t.Fatalf("%s: %q", path, b)
		}
	}
	http.DefaultClient.CloseIdleConnections()

	// Another source than the requests above, whose connections may not
	// have been released yet.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.9")}}
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range 2 {
		c, err := d.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	c, err := d.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the third idle connection of one source was not closed: %v", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counted := false
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if mf.GetName() == "nyx_test_http_refused_total" && m.GetCounter().GetValue() == 1 && len(m.GetLabel()) == 2 &&
				m.GetLabel()[1].GetValue() == "pending_per_ip" {
				counted = true
			}
		}
	}
	if !counted {
		t.Fatal("the refused connection was not counted")
	}
}
