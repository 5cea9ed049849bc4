package explorer

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nyx-privacy/nyx/sidecar/home"
)

// TestDaemonConfig: the written config parses back to the defaults; each
// bad value and unknown key is refused with an error naming it.
func TestDaemonConfig(t *testing.T) {
	b, err := DefaultDaemonConfig().Render()
	require.NoError(t, err)
	c, err := ParseDaemonConfig(b)
	require.NoError(t, err)
	require.Equal(t, DefaultDaemonConfig(), c)
	for _, tc := range []struct{ toml, want string }{
		{"[chain]\ngrpc = \"nyxd\"\n", "chain.grpc"},
		{"[chain]\nrefresh = \"10ms\"\n", "chain.refresh 10ms"},
		{"[chain]\ntimeout = \"1h\"\n", "chain.timeout 1h0m0s"},
		{"[explorer]\nlisten = \"8080\"\n", "explorer.listen"},
		{"[explorer]\nhistory_epochs = 0\n", "explorer.history_epochs 0"},
		{"[explorer]\nmax_nodes = -1\n", "explorer.max_nodes -1"},
		{"[http]\nlisten = \"127.0.0.1:8080\"\n", "both"},
		{"[log]\nlevel = \"loud\"\n", "log.level"},
		{"[explorer]\nlisten_port = 1\n", "listen_port"},
	} {
		_, err := ParseDaemonConfig([]byte(tc.toml))
		require.ErrorContains(t, err, tc.want, tc.toml)
	}
}

// TestRunDaemon: a home written by InitHome runs: pages and /metrics
// listen where the config says, a chain that does not answer shows as such
// on the pages, in /health and in the metrics, and the daemon stops
// cleanly; a second InitHome refuses to overwrite the config.
func TestRunDaemon(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultDaemonConfig()
	dead := deadConn(t)
	cfg.Chain.GRPC = dead.Target()
	cfg.Explorer.Listen, cfg.HTTP.Listen = "127.0.0.1:0", "127.0.0.2:0"
	require.NoError(t, InitHome(dir, cfg))
	require.ErrorContains(t, InitHome(dir, cfg), "exists")
	fi, err := os.Stat(filepath.Join(dir, home.ConfigFile))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	loaded, err := LoadDaemonConfig(dir)
	require.NoError(t, err)
	require.Equal(t, cfg, loaded)

	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan [2]net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- RunDaemon(ctx, loaded, slog.New(slog.DiscardHandler), func(p, m net.Addr) { addrs <- [2]net.Addr{p, m} })
	}()
	a := <-addrs
	pages, metrics := "http://"+a[0].String(), "http://"+a[1].String()
	// The first read of the chain fails at once (nothing listens there).
	require.Eventually(t, func() bool {
		_, text, _ := get(t, metrics+"/metrics")
		return strings.Contains(text, `nyx_explorer_refreshes_total{result="error"}`)
	}, 30*time.Second, 50*time.Millisecond)
	code, body, _ := get(t, pages+"/")
	require.Equal(t, 503, code)
	require.Contains(t, body, "The chain does not answer")
	_, health, _ := get(t, metrics+"/health")
	require.Contains(t, health, `"chain":`)
	require.NotContains(t, health, `"chain":"ok"`)
	_, text, _ := get(t, metrics+"/metrics")
	require.Contains(t, text, `nyx_explorer_requests_total{code="503",page="GET /{$}"} 1`)
	cancel()
	require.NoError(t, <-done)
}
