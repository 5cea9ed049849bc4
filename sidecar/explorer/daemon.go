package explorer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"text/template"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/nyx-privacy/nyx/sidecar/home"
	"github.com/nyx-privacy/nyx/sidecar/tomltime"
)

// DaemonConfig is nym-explorer's config.toml (sidecar/home's layout: the
// explorer holds no keys, so its home is this file alone).
type DaemonConfig struct {
	Chain    ChainSection    `toml:"chain"`
	Explorer ExplorerSection `toml:"explorer"`
	HTTP     HTTPSection     `toml:"http"`
	Log      home.LogSection `toml:"log"`
}

// ChainSection is how the explorer reads nyxd.
type ChainSection struct {
	GRPC    string            `toml:"grpc"`
	Refresh tomltime.Duration `toml:"refresh"`
	Timeout tomltime.Duration `toml:"timeout"`
}

// ExplorerSection is where the pages are served and what they keep.
type ExplorerSection struct {
	Listen        string `toml:"listen"`
	HistoryEpochs int    `toml:"history_epochs"`
	MaxNodes      int    `toml:"max_nodes"`
}

// HTTPSection is where /metrics and /health are served.
type HTTPSection struct {
	Listen string `toml:"listen"`
}

// Defaults of the daemon's config beyond Config's.
const (
	DefaultGRPC          = "127.0.0.1:9090"
	DefaultListen        = "127.0.0.1:8080"
	DefaultMetricsListen = "127.0.0.1:8081"
)

// DefaultDaemonConfig is the config with every default.
func DefaultDaemonConfig() DaemonConfig {
	return DaemonConfig{
		Chain:    ChainSection{GRPC: DefaultGRPC, Refresh: tomltime.Duration(DefaultRefresh), Timeout: tomltime.Duration(DefaultTimeout)},
		Explorer: ExplorerSection{Listen: DefaultListen, HistoryEpochs: DefaultHistoryEpochs, MaxNodes: DefaultMaxNodes},
		HTTP:     HTTPSection{Listen: DefaultMetricsListen},
		Log:      home.DefaultLog(),
	}
}

// Validate checks every field, all errors at once.
func (c DaemonConfig) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, _, err := net.SplitHostPort(c.Chain.GRPC); err != nil {
		bad("chain.grpc %q is not host:port", c.Chain.GRPC)
	}
	if r := time.Duration(c.Chain.Refresh); r < 100*time.Millisecond || r > time.Hour {
		bad("chain.refresh %s is not between 100ms and 1h", r)
	}
	if d := time.Duration(c.Chain.Timeout); d < 100*time.Millisecond || d > 5*time.Minute {
		bad("chain.timeout %s is not between 100ms and 5m", d)
	}
	if _, _, err := net.SplitHostPort(c.Explorer.Listen); err != nil {
		bad("explorer.listen %q is not host:port", c.Explorer.Listen)
	}
	if n := c.Explorer.HistoryEpochs; n < 1 || n > 10_000 {
		bad("explorer.history_epochs %d is not in [1, 10000]", n)
	}
	if n := c.Explorer.MaxNodes; n < 1 || n > 1_000_000 {
		bad("explorer.max_nodes %d is not in [1, 1000000]", n)
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		bad("http.listen %q is not host:port", c.HTTP.Listen)
	}
	if c.HTTP.Listen == c.Explorer.Listen {
		bad("http.listen and explorer.listen are both %q", c.HTTP.Listen)
	}
	if err := c.Log.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ParseDaemonConfig decodes config.toml over the defaults and validates it.
func ParseDaemonConfig(b []byte) (DaemonConfig, error) {
	c := DefaultDaemonConfig()
	if err := home.DecodeConfig(b, &c); err != nil {
		return DaemonConfig{}, err
	}
	if err := c.Validate(); err != nil {
		return DaemonConfig{}, fmt.Errorf("invalid config: %w", err)
	}
	return c, nil
}

// LoadDaemonConfig reads and validates dir's config.toml.
func LoadDaemonConfig(dir string) (DaemonConfig, error) {
	c := DefaultDaemonConfig()
	if err := home.ReadConfig(dir, &c); err != nil {
		return DaemonConfig{}, err
	}
	if err := c.Validate(); err != nil {
		return DaemonConfig{}, fmt.Errorf("invalid config: %w", err)
	}
	return c, nil
}

var daemonTemplate = template.Must(template.New("config").Parse(`# nym-explorer config. Every key is written out with its default; remove
# one and the default applies, misspell one and the explorer refuses to start.

[chain]
# nyxd's gRPC endpoint: everything the pages show is read there.
grpc = "{{.Chain.GRPC}}"
# How often the network (epoch, nodes, roles, credential counts) is read
# again; also soon after each epoch is due to end.
refresh = "{{.Chain.Refresh}}"
# How long one read of the chain, or one page's queries, may take.
timeout = "{{.Chain.Timeout}}"

[explorer]
# Where the pages are served. They are public and read-only: put it behind
# your TLS proxy to publish it.
listen = "{{.Explorer.Listen}}"
# Epochs of performance and rewards kept per node (in memory: the chain
# keeps no history, so it starts when the explorer does).
history_epochs = {{.Explorer.HistoryEpochs}}
# The most bonded nodes read (bounds the explorer's memory).
max_nodes = {{.Explorer.MaxNodes}}

[http]
# /metrics (Prometheus: requests by page and status, their timings, the
# chain reads) and /health. Keep it on loopback unless your scraper is
# elsewhere; it must differ from explorer.listen.
listen = "{{.HTTP.Listen}}"

[log]
# debug, info, warn or error.
level = "{{.Log.Level}}"
# text or json.
format = "{{.Log.Format}}"
`))

// Render writes c as a documented config.toml.
func (c DaemonConfig) Render() ([]byte, error) {
	var b bytes.Buffer
	if err := daemonTemplate.Execute(&b, c); err != nil {
		return nil, err
	}
	if _, err := ParseDaemonConfig(b.Bytes()); err != nil {
		return nil, fmt.Errorf("rendered config does not parse: %w", err)
	}
	return b.Bytes(), nil
}

// InitHome writes a new home holding cfg as its config.toml; an existing
// config is never overwritten.
func InitHome(dir string, cfg DaemonConfig) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid config: %w", err)
	}
	b, err := cfg.Render()
	if err != nil {
		return err
	}
	return home.WriteFileOnce(filepath.Join(dir, home.ConfigFile), b, 0o600)
}

// RunDaemon serves the pages and the metrics cfg describes until ctx ends.
// ready, if not nil, gets the two listeners' addresses once both listen.
func RunDaemon(ctx context.Context, cfg DaemonConfig, log *slog.Logger, ready func(pages, metrics net.Addr)) error {
	conn, err := grpc.NewClient(cfg.Chain.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("dial nyxd gRPC %s: %w", cfg.Chain.GRPC, err)
	}
	defer conn.Close()
	pl, err := net.Listen("tcp", cfg.Explorer.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Explorer.Listen, err)
	}
	ml, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		pl.Close()
		return fmt.Errorf("listen on %s: %w", cfg.HTTP.Listen, err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	src := NewSource(conn, Config{
		Refresh: time.Duration(cfg.Chain.Refresh), Timeout: time.Duration(cfg.Chain.Timeout),
		HistoryEpochs: cfg.Explorer.HistoryEpochs, MaxNodes: cfg.Explorer.MaxNodes,
		Logger: log, Metrics: NewMetrics(reg),
	})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go src.Run(ctx)
	health := func() any {
		snap, err, _ := src.Current()
		h := map[string]any{"chain": "ok"}
		if err != nil {
			h["chain"] = err.Error()
		}
		if snap != nil {
			h["height"], h["nodes"] = snap.Height, len(snap.Nodes)
		}
		return h
	}
	done := make(chan error, 1)
	go func() { done <- home.ServeHTTP(ctx, ml, reg, health) }()
	log.Info("explorer serving", "url", "http://"+pl.Addr().String()+"/", "metrics", "http://"+ml.Addr().String()+"/metrics", "grpc", cfg.Chain.GRPC)
	if ready != nil {
		ready(pl.Addr(), ml.Addr())
	}
	err = Serve(ctx, pl, NewHandler(src))
	cancel()
	return errors.Join(err, <-done)
}
