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
	"google.golang.org/grpc"

	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/clientcred"
	"github.com/nyx-privacy/nyx/sidecar/home"
	"github.com/nyx-privacy/nyx/sidecar/ratelog"
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

// Start runs a monitor from its home dir, config and keys: it reads the
// topology from cfg.Chain.GRPC, reports from keys.Account, keeps its
// bandwidth credentials in dir (buying them as [credentials] says), and
// serves /metrics and /health on httpL (or cfg.HTTP.Listen if httpL is
// nil).
func Start(dir string, cfg Config, keys Keys, log *slog.Logger, httpL net.Listener) (*Daemon, error) {
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
	wallet, err := clientcred.Open(dir, keys.Identity)
	if err != nil {
		return fail(fmt.Errorf("credentials: %w", err))
	}
	d.Monitor.SetBandwidth(wallet)
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	if cfg.Credentials.Deposit != "" && cfg.Credentials.Keep > 0 {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			keepCredentials(ctx, wallet, conn, signer, cfg, log)
		}()
	}
	d.wg.Add(3)
	go func() { defer d.wg.Done(); _ = d.Reader.Run(ctx) }()
	go func() { defer d.wg.Done(); _ = d.Monitor.Run(ctx) }()
	srv := home.HTTPServer{Handler: home.Routes(d.Registry, func() any { return d.Health() }, nil), Limits: cfg.HTTP.HTTPLimits,
		Name: "http", Refused: home.NewRefusedCounter(d.Registry, "nyx", "monitor"), Log: ratelog.New(log, 0, 0)}
	go func() {
		defer d.wg.Done()
		if err := srv.Serve(ctx, httpL); err != nil && !errors.Is(err, net.ErrClosed) {
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

// keepCredentials buys a credential whenever the wallet holds fewer unused
// ones than cfg.Credentials.Keep, checking every ten seconds.
func keepCredentials(ctx context.Context, w *clientcred.Wallet, conn *grpc.ClientConn, signer *chaintx.Signer, cfg Config, log *slog.Logger) {
	for {
		if _, ready, err := w.Balance(); err == nil && ready < cfg.Credentials.Keep {
			rec, err := w.Buy(ctx, conn, signer, cfg.Chain.ChainID, cfg.Credentials.Deposit)
			if err != nil {
				log.Warn("could not buy a bandwidth credential; retrying", "deposit", cfg.Credentials.Deposit, "err", err)
			} else {
				log.Info("bandwidth credential bought", "deposit", cfg.Credentials.Deposit, "request_id", rec.RequestID, "bytes", rec.Value)
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(10 * time.Second):
		}
	}
}
