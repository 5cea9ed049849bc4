// Package chain starts a real one-validator Nyx chain inside a test: CometBFT
// with the Nyx app, its gRPC server and its REST gateway, all on 127.0.0.1,
// with named, funded accounts in a test keyring. Its genesis is devnet's:
// vote extensions on from height 1 and a 1-of-1 x/coconut issuing key whose
// share is in the node's config/coconut_key.json, so the validator issues
// credentials. Everything stops and is removed by t.Cleanup.
//
//	c := chain.Start(t)
//	res, err := c.BroadcastTx(ctx, "alice", banktypes.NewMsgSend(...))
//	conn := c.GRPC(t)   // any gRPC query client
//	resp, _ := http.Get(c.REST + "/cosmos/bank/v1beta1/balances/" + addr)
package chain

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	pvm "github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	"github.com/cometbft/cometbft/rpc/client/local"
	cmttypes "github.com/cometbft/cometbft/types"
	dbm "github.com/cosmos/cosmos-db"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"cosmossdk.io/log/v2"

	"github.com/cosmos/cosmos-sdk/baseapp"
	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	"github.com/cosmos/cosmos-sdk/server"
	"github.com/cosmos/cosmos-sdk/server/api"
	servergrpc "github.com/cosmos/cosmos-sdk/server/grpc"
	servercmtlog "github.com/cosmos/cosmos-sdk/server/log"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	genutiltypes "github.com/cosmos/cosmos-sdk/x/genutil/types"

	"github.com/nyx-privacy/nyx/app"
	"github.com/nyx-privacy/nyx/internal/devnet"
)

// Options change the chain Start builds. The zero value is a sensible chain.
type Options struct {
	// Accounts are the names of funded accounts; nil gives alice, bob and carol.
	Accounts []string
	// Genesis edits the app state before the chain starts (module params,
	// extra state).
	Genesis func(cdc codec.Codec, state app.GenesisState) error
	// BlockTime is CometBFT's timeout_commit; zero gives 200 ms.
	BlockTime time.Duration
	// Logs sends the node's logs to the test log.
	Logs bool
}

// Chain is a running in-process chain.
type Chain struct {
	ChainID string
	Home    string
	// GRPCAddr is the gRPC server's host:port; REST the gateway's base URL;
	// RPC CometBFT's RPC address (tcp://host:port).
	GRPCAddr, REST, RPC string

	App       *app.NyxApp
	Keyring   keyring.Keyring
	Accounts  map[string]sdk.AccAddress
	Validator sdk.AccAddress
	ClientCtx client.Context

	node     *node.Node
	grpcSrv  *grpc.Server
	httpSrv  *http.Server
	stopped  bool
	stopErrs []error
}

// Start starts a chain and registers its shutdown with t.Cleanup. It fails
// the test if the chain does not produce a first block. A port taken between
// choosing it and binding it is retried with new ports.
func Start(t testing.TB, opts ...Options) *Chain {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.Accounts == nil {
		o.Accounts = []string{"alice", "bob", "carol"}
	}
	if o.BlockTime == 0 {
		o.BlockTime = 200 * time.Millisecond
	}
	base := t.TempDir()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		c, err := start(t, filepath.Join(base, fmt.Sprintf("try%d", attempt)), o)
		if err == nil {
			t.Cleanup(func() {
				if err := c.Stop(); err != nil {
					t.Errorf("stop chain: %v", err)
				}
			})
			return c
		}
		lastErr = err
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	t.Fatalf("start chain: %v", lastErr)
	return nil
}

func start(t testing.TB, dir string, o Options) (_ *Chain, err error) {
	rpcPort, p2pPort, err := freePorts2()
	if err != nil {
		return nil, err
	}
	grpcL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	apiL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		grpcL.Close()
		return nil, err
	}
	// Until the chain is up, every error path releases what was started.
	var cmtNode *node.Node
	started := false
	defer func() {
		if started {
			return
		}
		grpcL.Close()
		apiL.Close()
		if cmtNode != nil && cmtNode.IsRunning() {
			_ = cmtNode.Stop()
		}
	}()
	ports := devnet.Ports{P2P: p2pPort, RPC: rpcPort,
		GRPC: grpcL.Addr().(*net.TCPAddr).Port, API: apiL.Addr().(*net.TCPAddr).Port}

	const chainID = "nyx-test"
	netw, err := devnet.Write(devnet.Config{
		Dir: dir, ChainID: chainID, Validators: 1,
		Ports:         func(int) devnet.Ports { return ports },
		Accounts:      o.Accounts,
		TimeoutCommit: o.BlockTime,
		Genesis:       o.Genesis,
	})
	if err != nil {
		return nil, err
	}
	n := netw.Nodes[0]

	cmtCfg := cmtcfg.DefaultConfig()
	cmtCfg.SetRoot(n.Home)
	cmtCfg.Moniker = n.Moniker
	cmtCfg.P2P.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", ports.P2P)
	cmtCfg.RPC.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", ports.RPC)
	cmtCfg.Consensus.TimeoutCommit = o.BlockTime
	cmtCfg.Instrumentation.Prometheus = false
	// One validator has no peers to exchange: no address book, no PEX.
	cmtCfg.P2P.PexReactor = false

	logger := log.NewNopLogger()
	if o.Logs {
		logger = log.NewLogger(testWriter{t})
	}

	appCfg := app.DefaultAppConfig()
	appCfg.GRPC.Address = grpcL.Addr().String()
	appCfg.API.Address = "tcp://" + apiL.Addr().String()
	appOpts := simtestutil.AppOptionsMap{
		flags.FlagHome:          n.Home,
		server.FlagMinGasPrices: appCfg.MinGasPrices,
	}
	nyx := app.New(logger, dbm.NewMemDB(), true, appOpts, nil,
		baseapp.SetChainID(chainID),
		baseapp.SetMinGasPrices(appCfg.MinGasPrices),
	)

	nodeKey, err := p2p.LoadOrGenNodeKey(cmtCfg.NodeKeyFile())
	if err != nil {
		return nil, err
	}
	cmtNode, err = node.NewNode(cmtCfg,
		pvm.LoadOrGenFilePV(cmtCfg.PrivValidatorKeyFile(), cmtCfg.PrivValidatorStateFile()),
		nodeKey,
		proxy.NewLocalClientCreator(server.NewCometABCIWrapper(nyx)),
		func() (*cmttypes.GenesisDoc, error) {
			g, err := genutiltypes.AppGenesisFromFile(cmtCfg.GenesisFile())
			if err != nil {
				return nil, err
			}
			return g.ToGenesisDoc()
		},
		cmtcfg.DefaultDBProvider,
		node.DefaultMetricsProvider(cmtCfg.Instrumentation),
		servercmtlog.CometLoggerWrapper{Logger: logger.With("module", "comet")},
	)
	if err != nil {
		return nil, fmt.Errorf("new cometbft node: %w", err)
	}
	if err := cmtNode.Start(); err != nil {
		return nil, fmt.Errorf("start cometbft node: %w", err)
	}

	kb, err := keyring.New(sdk.KeyringServiceName(), keyring.BackendTest, n.Home, nil, nyx.AppCodec())
	if err != nil {
		return nil, err
	}
	clientCtx := client.Context{}.
		WithCodec(nyx.AppCodec()).
		WithInterfaceRegistry(nyx.InterfaceRegistry()).
		WithTxConfig(nyx.TxConfig()).
		WithLegacyAmino(nyx.LegacyAmino()).
		WithAccountRetriever(authtypes.AccountRetriever{}).
		WithChainID(chainID).
		WithHomeDir(n.Home).
		WithKeyring(kb).
		WithClient(local.New(cmtNode)).
		WithBroadcastMode(flags.BroadcastSync)

	nyx.RegisterTxService(clientCtx)
	nyx.RegisterTendermintService(clientCtx)
	nyx.RegisterNodeService(clientCtx, appCfg.Config)

	grpcSrv, clientCtx, err := servergrpc.NewGRPCServerAndContext(clientCtx, nyx, appCfg.GRPC, logger)
	if err != nil {
		return nil, err
	}
	go func() { _ = grpcSrv.Serve(grpcL) }()

	apiSrv := api.New(clientCtx, logger.With("module", "api"), grpcSrv)
	nyx.RegisterAPIRoutes(apiSrv, appCfg.API)
	apiSrv.Router.PathPrefix("/").Handler(apiSrv.GRPCGatewayRouter)
	httpSrv := &http.Server{Handler: apiSrv.Router, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = httpSrv.Serve(apiL) }()

	started = true // from here on, c.Stop releases everything
	c := &Chain{
		ChainID:   chainID,
		Home:      n.Home,
		GRPCAddr:  grpcL.Addr().String(),
		REST:      "http://" + apiL.Addr().String(),
		RPC:       cmtCfg.RPC.ListenAddress,
		App:       nyx,
		Keyring:   kb,
		Accounts:  map[string]sdk.AccAddress{},
		Validator: n.Operator,
		ClientCtx: clientCtx,
		node:      cmtNode,
		grpcSrv:   grpcSrv,
		httpSrv:   httpSrv,
	}
	for _, a := range netw.Accounts {
		c.Accounts[a.Name] = a.Address
	}
	ctx, cancelWait := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelWait()
	if err := c.WaitForHeight(ctx, 1); err != nil {
		_ = c.Stop()
		return nil, fmt.Errorf("first block: %w", err)
	}
	return c, nil
}

// StopAndExport stops block production and exports the app's final state
// as a genesis (as `nyxd export` does), then stops the rest of the chain.
func (c *Chain) StopAndExport() (servertypes.ExportedApp, error) {
	if c.stopped {
		return servertypes.ExportedApp{}, errors.New("chain already stopped")
	}
	if err := c.node.Stop(); err != nil {
		return servertypes.ExportedApp{}, fmt.Errorf("stop cometbft: %w", err)
	}
	c.node.Wait()
	exported, err := c.App.ExportAppStateAndValidators(false, nil, nil)
	if stopErr := c.Stop(); err == nil {
		err = stopErr
	}
	return exported, err
}

// Stop shuts the chain down: REST, gRPC, CometBFT, then the app. It is safe
// to call more than once.
func (c *Chain) Stop() error {
	if c.stopped {
		return errors.Join(c.stopErrs...)
	}
	c.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	if err := c.httpSrv.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("rest: %w", err))
	}
	c.grpcSrv.Stop()
	if c.node.IsRunning() {
		if err := c.node.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("cometbft: %w", err))
		}
		c.node.Wait()
	}
	if err := c.App.Close(); err != nil {
		errs = append(errs, fmt.Errorf("app: %w", err))
	}
	c.stopErrs = errs
	return errors.Join(errs...)
}

// GRPC returns a client connection to the chain's gRPC server, closed at
// the end of the test.
func (c *Chain) GRPC(t testing.TB) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(c.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial gRPC %s: %v", c.GRPCAddr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// Height returns the latest height the app has committed (and can answer
// queries at).
func (c *Chain) Height() int64 {
	return c.App.LastBlockHeight()
}

// WaitForHeight waits until the chain has committed height h.
func (c *Chain) WaitForHeight(ctx context.Context, h int64) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if c.Height() >= h {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for height %d (at %d): %w", h, c.Height(), ctx.Err())
		case <-tick.C:
		}
	}
}

// WaitForBlocks waits until n more blocks are committed.
func (c *Chain) WaitForBlocks(ctx context.Context, n int64) error {
	return c.WaitForHeight(ctx, c.Height()+n)
}

func freePorts2() (int, int, error) {
	var ports [2]int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, 0, err
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports[0], ports[1], nil
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
