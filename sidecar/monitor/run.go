package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/home"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// Daemon is a monitor with what runs it: the chain connection, the
// topology reader and the HTTP server. Start it with Start, stop it with
// Close.
type Daemon struct {
	*Monitor
	Reader   *topology.Reader
	Registry *prometheus.Registry
	HTTPAddr string

	cancel context.CancelFunc
	wg     sync.WaitGroup
	close  []func()
}

// Start runs a monitor from its config and keys: it reads the topology
// from cfg.Chain.GRPC, reports from keys.Account, and serves /metrics and
// /health on httpL (or cfg.HTTP.Listen if httpL is nil).
func Start(cfg Config, keys Keys, log *slog.Logger, httpL net.Listener) (*Daemon, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid config: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Daemon{Registry: prometheus.NewRegistry()}
	fail := func(err error) (*Daemon, error) {
		for i := len(d.close) - 1; i >= 0; i-- {
			d.close[i]()
		}
		return nil, err
	}
	if httpL == nil {
		l, err := net.Listen("tcp", cfg.HTTP.Listen)
		if err != nil {
			return nil, fmt.Errorf("listen for HTTP on %s: %w", cfg.HTTP.Listen, err)
		}
		httpL = l
	}
	d.close = append(d.close, func() { httpL.Close() })
	d.HTTPAddr = httpL.Addr().String()
	conn, err := topology.Dial(cfg.Chain.GRPC)
	if err != nil {
		return fail(err)
	}
	d.close = append(d.close, func() { conn.Close() })
	signer, err := chaintx.New(conn, keys.Account, chaintx.Config{ChainID: cfg.Chain.ChainID, GasPrice: cfg.Chain.GasPrice})
	if err != nil {
		return fail(err)
	}
	d.Reader = topology.NewReader(mixnettypes.NewQueryClient(conn), topology.ReaderConfig{
		Refresh: time.Duration(cfg.Chain.TopologyRefresh), EpochPoll: time.Duration(cfg.Chain.EpochPoll), Logger: log})
	d.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if d.Monitor, err = New(cfg, keys, d.Reader.Current, signer, log, d.Registry); err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	d.wg.Add(3)
	go func() { defer d.wg.Done(); _ = d.Reader.Run(ctx) }()
	go func() { defer d.wg.Done(); _ = d.Monitor.Run(ctx) }()
	go func() {
		defer d.wg.Done()
		if err := home.ServeHTTP(ctx, httpL, d.Registry, func() any { return d.Health() }); err != nil && !errors.Is(err, net.ErrClosed) {
			log.Error("HTTP server stopped", "err", err)
		}
	}()
	log.Info("nym-monitor started", "account", signer.Address(), "chain", cfg.Chain.GRPC, "http", d.HTTPAddr)
	return d, nil
}

// Close stops the monitor and everything it runs.
func (d *Daemon) Close() {
	d.cancel()
	d.wg.Wait()
	for i := len(d.close) - 1; i >= 0; i-- {
		d.close[i]()
	}
}
