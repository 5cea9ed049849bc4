package mixnet

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/monitor"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// newMonitorKeys makes n monitors' keys and their account addresses.
func newMonitorKeys(t testing.TB, n int) ([]monitor.Keys, []string) {
	var keys []monitor.Keys
	var addrs []string
	for range n {
		_, id, _ := ed25519.GenerateKey(rand.Reader)
		k := monitor.Keys{Identity: id, Account: secp256k1.GenPrivKey()}
		a, err := chaintx.Address(k.Account, "")
		if err != nil {
			t.Fatal(err)
		}
		keys, addrs = append(keys, k), append(addrs, a)
	}
	return keys, addrs
}

// fundMonitors sends each monitor account enough unym for its reports.
func (nw *Network) fundMonitors(ctx context.Context, addrs []string) {
	if len(addrs) == 0 {
		return
	}
	alice := nw.Chain.Accounts["alice"].String()
	var msgs []sdk.Msg
	for _, a := range addrs {
		msgs = append(msgs, &banktypes.MsgSend{FromAddress: alice, ToAddress: a,
			Amount: sdk.NewCoins(sdk.NewInt64Coin(mixnettypes.Denom, AccountFunds))})
	}
	if _, err := nw.Chain.BroadcastTx(ctx, "alice", msgs...); err != nil {
		nw.t.Fatalf("fund monitors: %v", err)
	}
}

// MonitorOptions tune a test monitor.
type MonitorOptions struct {
	// Rate is test packets per second; zero gives 150.
	Rate float64
	// Logs sends the monitor's logs to the test log.
	Logs bool
	// GRPC, if set, is where the monitor reaches the chain instead of the
	// chain's own gRPC address (a proxy a test can cut).
	GRPC string
}

// StartMonitor runs monitor i (of Options.Monitors) against the network:
// fast test packets with 1 ms mix delays, a report from 30 % of each
// epoch on, renewed every sixth of an epoch (a report must land in its
// epoch, and a loaded machine can take seconds to include one). It is stopped by t.Cleanup.
func (nw *Network) StartMonitor(t testing.TB, i int, o MonitorOptions) *monitor.Daemon {
	t.Helper()
	if i >= len(nw.MonitorKeys) {
		t.Fatalf("no monitor %d: the network has %d (Options.Monitors)", i, len(nw.MonitorKeys))
	}
	if o.Rate == 0 {
		o.Rate = 150
	}
	cfg := monitor.DefaultConfig()
	cfg.Chain.GRPC, cfg.Chain.ChainID = nw.Chain.GRPCAddr, nw.Chain.ChainID
	if o.GRPC != "" {
		cfg.Chain.GRPC = o.GRPC
	}
	cfg.Chain.TopologyRefresh, cfg.Chain.EpochPoll = monitor.Duration(nw.opts.EpochDuration), monitor.Duration(50*time.Millisecond)
	cfg.Monitor.Rate = o.Rate
	cfg.Monitor.PacketDelay = monitor.Duration(time.Millisecond)
	cfg.Monitor.PacketTimeout = monitor.Duration(time.Second)
	cfg.Monitor.ReportAfter = 0.3
	cfg.Monitor.ReportInterval = monitor.Duration(nw.opts.EpochDuration / 6)
	cfg.Monitor.MinPackets = 10
	cfg.Credentials.Deposit = "" // the harness's gateways take packets without credentials
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := nw.log
	if o.Logs {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	d, err := monitor.Start(t.TempDir(), cfg, nw.MonitorKeys[i], log, l)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}
