package explorer

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/nyx-privacy/nyx/sidecar/home"
)

// TestMetrics serves pages and /metrics on real listeners, as nym-explorer
// run does, and reads back the requests counted by route and status (never
// by the path asked for), their timings and the chain reads.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	src := NewSource(deadConn(t), Config{Timeout: time.Second, Metrics: NewMetrics(reg)})
	require.Error(t, src.Refresh(context.Background()))
	src.snap = syntheticSnapshot(12, "")

	ctx, cancel := context.WithCancel(context.Background())
	listen := func(h func(net.Listener) error) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() { done <- h(l) }()
		t.Cleanup(func() {
			cancel()
			require.NoError(t, <-done)
		})
		return "http://" + l.Addr().String()
	}
	pages := listen(func(l net.Listener) error { return Serve(ctx, l, NewHandler(src)) })
	metrics := listen(func(l net.Listener) error { return home.ServeHTTP(ctx, l, reg, func() any { return "ok" }) })

	for path, code := range map[string]int{
		"/": 200, "/nodes": 200, "/nodes?role=bogus": 400, "/topology": 200,
		"/no-such-page": 404, "/%3Cscript%3E": 404,
	} {
		c, _, _ := get(t, pages+path)
		require.Equal(t, code, c, path)
	}
	resp, err := http.Post(pages+"/", "text/plain", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	resp, err = http.Get(metrics + "/metrics")
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	text := string(b)
	for _, line := range []string{
		`nyx_explorer_requests_total{code="200",page="GET /{$}"} 1`,
		`nyx_explorer_requests_total{code="200",page="GET /nodes"} 1`,
		`nyx_explorer_requests_total{code="400",page="GET /nodes"} 1`,
		`nyx_explorer_requests_total{code="200",page="GET /topology"} 1`,
		`nyx_explorer_requests_total{code="404",page="not found"} 2`,
		`nyx_explorer_requests_total{code="405",page="none"} 1`,
		`nyx_explorer_request_seconds_count{page="GET /nodes"} 2`,
		`nyx_explorer_refreshes_total{result="error"} 1`,
	} {
		require.Contains(t, text, line+"\n")
	}
	require.NotContains(t, text, "script", "no label from a visitor's path")
}
