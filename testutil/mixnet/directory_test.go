package mixnet_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sidecar/exitpolicy"
	"github.com/nyx-privacy/nyx/sidecar/requester"
	"github.com/nyx-privacy/nyx/sidecar/socks5"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// fund sends amount unym from alice to addr.
func fund(ctx context.Context, t *testing.T, s *proxySetup, addr string, amount int64) {
	t.Helper()
	coins := sdk.NewCoins(sdk.NewInt64Coin(mixnettypes.Denom, amount))
	res, err := s.nw.Chain.BroadcastTx(ctx, "alice", &banktypes.MsgSend{FromAddress: s.nw.Chain.Accounts["alice"].String(), ToAddress: addr, Amount: coins})
	if err != nil || res.Code != 0 {
		t.Fatalf("fund %s: %v %v", addr, err, res)
	}
}

// announcer is a chain account funded by alice with enough for two
// directory deposits and their fees.
func announcer(ctx context.Context, t *testing.T, s *proxySetup) *chaintx.Signer {
	t.Helper()
	key, err := chaintx.GenerateKeyFile(filepath.Join(t.TempDir(), "chain.key"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := chaintx.New(s.nw.Chain.GRPC(t), key, chaintx.Config{ChainID: s.nw.Chain.ChainID, Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	fund(ctx, t, s, signer.Address(), 2*mixnettypes.DefaultServiceDeposit+10_000_000)
	return signer
}

// homeConfig is a client config for homes on the test network: its chain,
// zero mix delays, no cover.
func homeConfig(s *proxySetup) client.FileConfig {
	cfg := client.DefaultFileConfig()
	cfg.Chain.GRPC = s.nw.Chain.GRPCAddr
	cfg.Client.Listen = "127.0.0.1:0"
	cfg.Traffic.AveragePacketDelay, cfg.Traffic.AverageSendDelay, cfg.Traffic.LoopCover = 0, client.Duration(time.Millisecond), false
	cfg.Log.Level = "warn"
	return cfg
}

// startHomeRequester runs a network requester from a home (requester.RunHome,
// as nym-network-requester run) with [directory] announce on and its chain
// account funded, and returns its service id once it has announced itself.
func startHomeRequester(ctx context.Context, t *testing.T, s *proxySetup) uint64 {
	t.Helper()
	home := t.TempDir()
	if _, err := client.Init(ctx, home, homeConfig(s), s.nw.Reader.Current(), ""); err != nil {
		t.Fatal(err)
	}
	policy := fmt.Sprintf("accept 127.0.0.1:%d\n%s", s.files.port, exitpolicy.DefaultText)
	dir := requester.DefaultFileConfig().Directory
	dir.Announce, dir.Description = true, "the test's home requester"
	if err := requester.InitHome(home, policy, dir); err != nil {
		t.Fatal(err)
	}
	key, err := client.LoadChainKey(home, true)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := chaintx.Address(key, "")
	if err != nil {
		t.Fatal(err)
	}
	fund(ctx, t, s, addr, mixnettypes.DefaultServiceDeposit+10_000_000)
	runCtx, stop := context.WithCancel(context.Background())
	announced := make(chan uint64, 1)
	done := make(chan error, 1)
	go func() {
		done <- requester.RunHome(runCtx, home, requester.Hooks{Announced: func(id uint64) { announced <- id }})
	}()
	t.Cleanup(func() { stop(); <-done })
	select {
	case id := <-announced:
		return id
	case err := <-done:
		t.Fatalf("the requester stopped: %v", err)
	case <-ctx.Done():
		t.Fatal("the requester did not announce itself")
	}
	return 0
}

// testDirectory: a requester run from a home with [directory] announce
// announces itself; another is announced by hand in the chain's service
// directory (once: a second announcement finds it listed); a SOCKS5 client
// picks only requesters whose gateway is in its topology; one started from
// a home without a provider (socks5.RunHome, as nym-socks5-client run)
// finds the requester through the chain and fetches through it.
func testDirectory(t *testing.T, s *proxySetup) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conn := s.nw.Chain.GRPC(t)
	signer := announcer(ctx, t, s)
	homeID := startHomeRequester(ctx, t, s)
	if homeID == 0 {
		t.Fatal("service id 0")
	}

	id, existing, err := requester.Announce(ctx, conn, signer, s.req.Keys, s.req.Address(), "the test's exit")
	if err != nil {
		t.Fatalf("announce: %v", err)
	}
	if existing || id == 0 {
		t.Fatalf("first announcement: id %d, existing %v", id, existing)
	}
	again, existing, err := requester.Announce(ctx, conn, signer, s.req.Keys, s.req.Address(), "the test's exit")
	if err != nil || !existing || again != id {
		t.Fatalf("second announcement: id %d, existing %v, %v; want %d listed already", again, existing, err, id)
	}

	// A decoy at another bonded node: the chain takes it; a client whose
	// topology lacks that node never picks it.
	decoyKeys, err := client.GenerateKeys(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	reqGW := s.req.Gateway.Identity()
	var other [32]byte
	for _, n := range s.nw.Nodes {
		if n.Identity() != reqGW {
			other = n.Identity()
			break
		}
	}
	decoy := decoyKeys.Address(other)
	decoyID, _, err := requester.Announce(ctx, conn, signer, decoyKeys, decoy, "")
	if err != nil {
		t.Fatalf("announce the decoy: %v", err)
	}
	q := mixnettypes.NewQueryClient(conn)
	all, err := socks5.PickProvider(ctx, q, s.nw.Reader.Current())
	if err != nil || all.Candidates != 3 {
		t.Fatalf("with every node in the topology: %+v, %v; want 3 candidates (two requesters, the decoy)", all, err)
	}
	gwNode, ok := s.nw.Reader.Current().ByIdentity(reqGW)
	if !ok {
		t.Fatal("the requester's gateway is not in the topology")
	}
	only := &topology.Topology{Exit: []topology.Node{gwNode}}
	for range 10 {
		p, err := socks5.PickProvider(ctx, q, only)
		if err != nil || p.Address.Gateway != reqGW || p.Candidates < 1 || p.Candidates > 2 {
			t.Fatalf("with only the requester's gateway: %+v, %v", p, err)
		}
	}
	if _, err := socks5.PickProvider(ctx, q, &topology.Topology{}); err == nil {
		t.Fatal("a topology without the gateways gave a provider")
	}

	// Withdrawn, the decoy is gone and its deposit back.
	before := balance(ctx, t, s, signer.Address())
	if err := requester.Withdraw(ctx, signer, decoyID); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := requester.FindAnnounced(ctx, q, decoy); err != nil || ok {
		t.Fatalf("the withdrawn decoy is still listed (%v)", err)
	}
	if got := balance(ctx, t, s, signer.Address()); got-before < mixnettypes.DefaultServiceDeposit-1_000_000 {
		t.Fatalf("withdrawing returned %d unym (less fees), not the deposit of %d", got-before, mixnettypes.DefaultServiceDeposit)
	}

	// A SOCKS5 client from a home without a provider: either requester
	// serves it.
	home := t.TempDir()
	if _, err := client.Init(ctx, home, homeConfig(s), s.nw.Reader.Current(), ""); err != nil {
		t.Fatal(err)
	}
	if err := socks5.InitHome(home, "127.0.0.1:0", ""); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- socks5.RunHome(runCtx, home, func(addr string) { ready <- addr }) }()
	t.Cleanup(func() { stop(); <-done })
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("the SOCKS5 client stopped: %v", err)
	case <-ctx.Done():
		t.Fatal("the SOCKS5 client did not start")
	}
	hc := httpVia(t, addr)
	hc.Timeout = time.Minute
	for _, name := range []string{"1k", "100k"} {
		got, err := getRetry(ctx, hc, s.files.url("127.0.0.1", name))
		if err != nil {
			t.Fatalf("%s through the discovered requester: %v", name, err)
		}
		if string(got) != string(s.files.files[name]) {
			t.Fatalf("fetched %d bytes for %s, not the %d of the file", len(got), name, len(s.files.files[name]))
		}
	}
}

// getRetry fetches url, trying again while the proxy's client is still
// connecting to its gateway (its first stream may find it not yet there).
func getRetry(ctx context.Context, hc *http.Client, url string) ([]byte, error) {
	for {
		b, err := get(hc, url)
		if err == nil || ctx.Err() != nil {
			return b, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(time.Second):
		}
	}
}

func balance(ctx context.Context, t *testing.T, s *proxySetup, addr string) int64 {
	t.Helper()
	resp, err := banktypes.NewQueryClient(s.nw.Chain.GRPC(t)).Balance(ctx, &banktypes.QueryBalanceRequest{Address: addr, Denom: mixnettypes.Denom})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Balance.Amount.Int64()
}
