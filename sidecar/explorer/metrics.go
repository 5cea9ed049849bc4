package explorer

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the explorer's Prometheus figures: requests by page and
// status, how long pages take to answer (rendering, and for node and
// address pages the chain queries they make), and the chain reads behind
// the snapshot. Pages are labelled by their route, never by the path asked
// for, so no visitor can grow the label set.
type Metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	refreshes *prometheus.CounterVec
	height    prometheus.Gauge
	nodes     prometheus.Gauge
}

// NewMetrics registers the explorer's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nyx_explorer_requests_total", Help: "Requests answered, by page (route) and status code.",
		}, []string{"page", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nyx_explorer_request_seconds", Help: "Time to answer a request, by page: rendering, and the chain queries of node and address pages.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"page"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nyx_explorer_refreshes_total", Help: "Reads of the network snapshot from the chain, by result (ok, error).",
		}, []string{"result"}),
		height: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nyx_explorer_snapshot_height", Help: "Block height the current network snapshot was read at.",
		}),
		nodes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nyx_explorer_snapshot_nodes", Help: "Bonded nodes in the current network snapshot.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.refreshes, m.height, m.nodes)
	return m
}

// refreshed records one read of the chain.
func (m *Metrics) refreshed(snap *Snapshot, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.refreshes.WithLabelValues("error").Inc()
		return
	}
	m.refreshes.WithLabelValues("ok").Inc()
	m.height.Set(float64(snap.Height))
	m.nodes.Set(float64(len(snap.Nodes)))
}

// statusWriter remembers the status code a page answered with.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// serve answers r through next and records it.
func (m *Metrics) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if m == nil {
		next.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	next.ServeHTTP(sw, r)
	// The mux sets the route it chose on r; a request no route took (a
	// method other than GET) has none.
	page := r.Pattern
	switch page {
	case "":
		page = "none"
	case "GET /":
		page = "not found"
	}
	if sw.code == 0 {
		sw.code = http.StatusOK
	}
	m.requests.WithLabelValues(page, strconv.Itoa(sw.code)).Inc()
	m.duration.WithLabelValues(page).Observe(time.Since(start).Seconds())
}
