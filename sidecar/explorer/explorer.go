// Package explorer is a read-only web view of a Nyx network: the current
// epoch and its countdown, the topology as a picture, every bonded node with
// its role, stake, saturation, performance history and rewards, the
// delegations of an address, and x/coconut's credential counts (requested,
// issued, spent, deposits and payouts, which the chain keeps: its Stats query).
//
// A Source reads the chain over gRPC, as any sidecar does, and keeps the last
// good Snapshot; pages about the whole network render from it, so a page of a
// thousand nodes costs one template execution and no chain round trip. Pages
// about one node or one address ask the chain for what the snapshot lacks
// (delegations, pending rewards). Each read is pinned to one block: the first
// query's answer says its height (the SDK's x-cosmos-block-height header) and
// the rest ask for that height, so a page never mixes two blocks' state and
// says which block it shows (package browsertest checks pages that way). The chain keeps no history of performance,
// so the Source records a sample per node at every epoch it sees and keeps the
// last Config.HistoryEpochs of them in memory.
//
// Pages are html/template, with their style and the few lines of countdown
// script inline: nothing is fetched from anywhere else. Everything shown is
// escaped (hosts are whatever an operator bonded). Unknown paths answer 404,
// malformed parameters 400 with the reason, and a chain that does not answer
// gives a page saying so: the last snapshot with a banner, or 503 before the
// first one.
//
// Metrics (metrics.go) count requests by route and status and time them,
// and count the chain reads, in Prometheus text; routes, never paths, label
// them, so visitors cannot grow the label set. RunDaemon (daemon.go) is
// nym-explorer: its home holds only a documented config.toml (sidecar/home's
// strict loading), the pages listen on one address and /metrics and /health
// on another.
package explorer

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Config tunes the explorer. The zero value gives the defaults.
type Config struct {
	// Refresh is how often the network snapshot is read again; zero gives
	// DefaultRefresh.
	Refresh time.Duration
	// Timeout bounds one read of the chain; zero gives DefaultTimeout.
	Timeout time.Duration
	// HistoryEpochs is how many epochs of samples are kept per node; zero
	// gives DefaultHistoryEpochs.
	HistoryEpochs int
	// MaxNodes bounds the bonded nodes read (memory); zero gives DefaultMaxNodes.
	MaxNodes int
	// Logger gets the explorer's logs; nil discards them.
	Logger *slog.Logger
	// Metrics records requests and chain reads; nil records nothing.
	Metrics *Metrics
}

// Defaults of Config.
const (
	DefaultRefresh       = 5 * time.Second
	DefaultTimeout       = 10 * time.Second
	DefaultHistoryEpochs = 24
	DefaultMaxNodes      = 100_000
)

func (c Config) withDefaults() Config {
	if c.Refresh <= 0 {
		c.Refresh = DefaultRefresh
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.HistoryEpochs <= 0 {
		c.HistoryEpochs = DefaultHistoryEpochs
	}
	if c.MaxNodes <= 0 {
		c.MaxNodes = DefaultMaxNodes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Serve answers HTTP on l with the explorer's pages until ctx ends.
func Serve(ctx context.Context, l net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
