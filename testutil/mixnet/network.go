// Package mixnet starts a whole Nyx network inside a test: an in-process
// chain with short epochs, nym-nodes created and bonded through real
// transactions (enough for every role), started on loopback once the epoch
// that assigns them has begun, and clients registered with their gateways.
// Everything is stopped by t.Cleanup.
//
//	net := mixnet.Start(t, mixnet.Options{})
//	alice, bob := net.StartClient(t, mixnet.ClientOptions{}), net.StartClient(t, mixnet.ClientOptions{})
//	alice.Send(bob.Address(), []byte("hi"))
//	msg, _ := bob.Receive(ctx)
//
// A node can also run as a separate process (the test binary re-executed; see
// RunNodeProcess), so a test can SIGKILL it. StartRequester and StartProxy
// run a network requester and a SOCKS5 client on clients of the network.
package mixnet

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/monitor"
	"github.com/nyx-privacy/nyx/sidecar/node"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/testutil/chain"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// Options shape the network.
type Options struct {
	// Nodes is how many nodes are bonded; zero gives Entry+Exit+Mixnodes.
	Nodes int
	// Entry, Exit and Mixnodes are the rewarded set's sizes; zero gives 1,
	// 1 and 3 (one per layer).
	Entry, Exit, Mixnodes uint32
	// EpochDuration is the chain's epoch; zero gives 2 s.
	EpochDuration time.Duration
	// Logs sends the nodes' logs to the test log.
	Logs bool
	// Process lists the indexes of nodes to run as separate processes
	// (needs RunNodeProcess in the test binary's TestMain).
	Process []int
	// SphinxKeyRotationEpochs is the chain's rotation schedule; zero means
	// none (see GenesisParams).
	SphinxKeyRotationEpochs uint32
	// Monitors is how many network monitor accounts the chain lists (and
	// the harness funds); StartMonitor runs a monitor on each.
	Monitors int
	// MinimumPerformance is the chain's minimum_performance param (see
	// GenesisParams); empty keeps the default.
	MinimumPerformance string
	// FaultyPorts fronts every in-process node's mix port with a port that
	// holds the node's identity key and passes on what it reads, dropping
	// a share of packets that SetDropRate sets (none at first): a real
	// node, as the network sees it, that loses packets (faulty.go).
	FaultyPorts bool
	// EnforceCredentials makes the gateways require bandwidth credentials
	// (credentials.go); off, clients send freely.
	EnforceCredentials bool
	// CredentialBytesPerUnym and CredentialMinDeposit price credentials
	// (GenesisParams); zero keeps the chain's defaults.
	CredentialBytesPerUnym uint64
	CredentialMinDeposit   int64
	// MixObserve and GatewayObserve, when set, tap the packets every
	// in-process node sends on (node.Options), with the node's identity:
	// what a passive observer of the links sees (package anonymity).
	MixObserve     func(from, next [32]byte, size int)
	GatewayObserve func(gateway, client, next [32]byte, size int)
}

// AccountFunds is what each node's chain account gets when the node is
// bonded: enough for many announcements at the default gas price.
const AccountFunds = 10_000_000

// Network is a running local network.
type Network struct {
	Chain *chain.Chain
	Query mixnettypes.QueryClient
	// Reader follows the chain's topology for the harness and its clients.
	Reader *topology.Reader
	Nodes  []*Node
	// MonitorKeys are the keys of the monitor accounts (Options.Monitors).
	MonitorKeys []monitor.Keys

	t      testing.TB
	faulty map[int]*faultyPort
	opts   Options
	log    *slog.Logger
}

// Node is one bonded node of the network.
type Node struct {
	Index int
	Home  string
	Owner string
	ID    uint64
	// Keys are the keys the node was made and bonded with; after a
	// rotation its home holds newer sphinx keys (RestartNode reads them).
	Keys node.Keys
	Cfg  node.Config

	mu     sync.Mutex
	server *node.Server // in-process, or nil
	proc   *process     // separate process, or nil
}

// Start brings a network up and waits until the chain has given every
// bonded node its role and every node has read that topology.
func Start(t testing.TB, o Options) *Network {
	t.Helper()
	if o.Entry == 0 && o.Exit == 0 && o.Mixnodes == 0 {
		o.Entry, o.Exit, o.Mixnodes = 1, 1, 3
	}
	if o.Nodes == 0 {
		o.Nodes = int(o.Entry + o.Exit + o.Mixnodes)
	}
	if o.EpochDuration == 0 {
		o.EpochDuration = 2 * time.Second
	}
	owners := make([]string, o.Nodes)
	for i := range owners {
		owners[i] = fmt.Sprintf("operator%d", i)
	}
	accounts := append([]string{"alice", "bob"}, owners...)
	monitorKeys, monitorAddrs := newMonitorKeys(t, o.Monitors)
	c := chain.Start(t, chain.Options{Accounts: accounts, Genesis: Genesis(GenesisParams{
		EpochDuration: o.EpochDuration, Entry: o.Entry, Exit: o.Exit, Mixnodes: o.Mixnodes,
		SphinxKeyRotationEpochs: o.SphinxKeyRotationEpochs, Monitors: monitorAddrs,
		MinimumPerformance:     o.MinimumPerformance,
		CredentialBytesPerUnym: o.CredentialBytesPerUnym, CredentialMinDeposit: o.CredentialMinDeposit})})
	nw := &Network{Chain: c, t: t, opts: o, log: slog.New(slog.DiscardHandler), MonitorKeys: monitorKeys, faulty: map[int]*faultyPort{}}
	if o.Logs {
		nw.log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	nw.Query = mixnettypes.NewQueryClient(c.GRPC(t))
	nw.Reader = topology.NewReader(nw.Query, topology.ReaderConfig{
		Refresh: o.EpochDuration, EpochPoll: 50 * time.Millisecond, RetryMax: time.Second, Logger: nw.log})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = nw.Reader.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	wctx, wcancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer wcancel()
	nw.fundMonitors(wctx, monitorAddrs)
	process := map[int]bool{}
	for _, i := range o.Process {
		process[i] = true
	}
	for i := range o.Nodes {
		n, ls, err := nw.newNode(wctx, i, owners[i])
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		nw.Nodes = append(nw.Nodes, n)
		if process[i] {
			for _, l := range ls {
				l.Close()
			}
			if err := nw.StartProcess(n); err != nil {
				t.Fatalf("node %d: %v", i, err)
			}
		} else {
			if o.FaultyPorts {
				if ls[0], err = nw.frontWithFaultyPort(n, ls[0]); err != nil {
					t.Fatalf("node %d: %v", i, err)
				}
			}
			if err := nw.startInProcess(n, n.Keys, ls); err != nil {
				t.Fatalf("node %d: %v", i, err)
			}
		}
	}
	t.Cleanup(func() {
		for _, n := range nw.Nodes {
			nw.StopNode(n)
		}
	})
	want := int(o.Entry + o.Exit + o.Mixnodes)
	topo, err := nw.Reader.Wait(wctx, func(t *topology.Topology) bool { return len(t.All()) >= min(want, o.Nodes) })
	if err != nil {
		t.Fatalf("no epoch assigned the bonded nodes: %v", err)
	}
	if err := nw.WaitNodesAt(wctx, topo.Epoch); err != nil {
		t.Fatal(err)
	}
	return nw
}

// newNode creates a node's home with ports bound on loopback, and bonds it.
func (nw *Network) newNode(ctx context.Context, i int, owner string) (*Node, []net.Listener, error) {
	var ls []net.Listener
	var ports []uint16
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		ls = append(ls, l)
		ports = append(ports, uint16(l.Addr().(*net.TCPAddr).Port))
	}
	keys, err := node.GenerateKeys(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	home := filepath.Join(tempDir(nw.t), fmt.Sprintf("node%d", i))
	cfg := node.DefaultConfig()
	cfg.Node.Host, cfg.Node.MixPort, cfg.Node.ClientsPort, cfg.Node.HTTPPort = "127.0.0.1", ports[0], ports[1], ports[2]
	cfg.Node.MixListen = "127.0.0.1:" + strconv.Itoa(int(ports[0]))
	cfg.Node.ClientsListen = "127.0.0.1:" + strconv.Itoa(int(ports[1]))
	cfg.Node.HTTPListen = "127.0.0.1:" + strconv.Itoa(int(ports[2]))
	cfg.Chain.GRPC, cfg.Chain.ChainID = nw.Chain.GRPCAddr, nw.Chain.ChainID
	cfg.Chain.Refresh, cfg.Chain.EpochPoll = node.Duration(nw.opts.EpochDuration), node.Duration(50*time.Millisecond)
	cfg.Mixnode.ReconnectMin, cfg.Mixnode.ReconnectMax = node.Duration(20*time.Millisecond), node.Duration(500*time.Millisecond)
	cfg.Mixnode.ReplayRate, cfg.Mixnode.ReplayWindow = 200, node.Duration(time.Hour)
	cfg.Log.Level = "debug"
	cfg.Gateway.EnforceCredentials = nw.opts.EnforceCredentials
	cfg.Gateway.SpendBatchInterval = node.Duration(100 * time.Millisecond)
	if err := node.WriteKeys(home, keys); err != nil {
		return nil, nil, err
	}
	b, err := cfg.Render()
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(home, node.ConfigFile), b, 0o600); err != nil {
		return nil, nil, err
	}
	addr := nw.Chain.Accounts[owner].String()
	nonce, err := nw.Query.SigningNonce(ctx, &mixnettypes.QuerySigningNonceRequest{Address: addr})
	if err != nil {
		return nil, nil, fmt.Errorf("signing nonce: %w", err)
	}
	msg, err := node.BondMsg(keys, cfg, addr, nonce.Nonce, strconv.Itoa(Pledge)+mixnettypes.Denom)
	if err != nil {
		return nil, nil, err
	}
	account, err := chaintx.Address(keys.Account, "")
	if err != nil {
		return nil, nil, err
	}
	// The owner funds the node's chain account in the bonding transaction.
	fund := &banktypes.MsgSend{FromAddress: addr, ToAddress: account,
		Amount: sdk.NewCoins(sdk.NewInt64Coin(mixnettypes.Denom, AccountFunds))}
	if _, err := nw.Chain.BroadcastTx(ctx, owner, msg, fund); err != nil {
		return nil, nil, fmt.Errorf("bond: %w", err)
	}
	got, err := nw.Query.NodeByOwner(ctx, &mixnettypes.QueryNodeByOwnerRequest{Owner: addr})
	if err != nil {
		return nil, nil, err
	}
	return &Node{Index: i, Home: home, Owner: owner, ID: got.Node.NodeId, Keys: keys, Cfg: cfg}, ls, nil
}

func (nw *Network) startInProcess(n *Node, keys node.Keys, ls []net.Listener) error {
	opts := node.Options{Logger: nw.log.With("index", n.Index), MixListener: ls[0], ClientsListener: ls[1], HTTPListener: ls[2]}
	id := keys.IdentityPublic()
	if f := nw.opts.MixObserve; f != nil {
		opts.MixObserve = func(next [32]byte, size int) { f(id, next, size) }
	}
	if f := nw.opts.GatewayObserve; f != nil {
		opts.GatewayObserve = func(client, next [32]byte, size int) { f(id, client, next, size) }
	}
	s, err := node.Start(context.Background(), n.Home, n.Cfg, keys, opts)
	if err != nil {
		for _, l := range ls {
			l.Close()
		}
		return err
	}
	n.mu.Lock()
	n.server = s
	n.mu.Unlock()
	return nil
}

// Server is the node's in-process server, or nil (stopped, or a process).
func (n *Node) Server() *node.Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.server
}

// SetLoss makes the running in-process node drop share (0 to 1) of the
// packets it receives, at random: a real fault in every path through it.
func (n *Node) SetLoss(share float64) {
	if s := n.Server(); s != nil {
		s.Mix().SetLoss(share)
	}
}

// Identity is the node's identity public key.
func (n *Node) Identity() [32]byte { return n.Keys.IdentityPublic() }

// ClientsURL is the node's gateway websocket URL.
func (n *Node) ClientsURL() string {
	return "ws://" + net.JoinHostPort(n.Cfg.Node.Host, strconv.Itoa(int(n.Cfg.Node.ClientsPort))) + "/"
}

// MixAddr is the node's mix address.
func (n *Node) MixAddr() string {
	return net.JoinHostPort(n.Cfg.Node.Host, strconv.Itoa(int(n.Cfg.Node.MixPort)))
}

// HTTPURL is the base URL of the node's HTTP port.
func (n *Node) HTTPURL() string {
	return "http://" + net.JoinHostPort(n.Cfg.Node.Host, strconv.Itoa(int(n.Cfg.Node.HTTPPort)))
}

// StopNode stops a node (in-process: Close; process: SIGTERM and wait).
func (nw *Network) StopNode(n *Node) {
	n.mu.Lock()
	s, p := n.server, n.proc
	n.server, n.proc = nil, nil
	n.mu.Unlock()
	if s != nil {
		if err := s.Close(); err != nil {
			nw.t.Errorf("stop node %d: %v", n.Index, err)
		}
	}
	if p != nil {
		p.stop()
	}
}

// RestartNode starts a stopped in-process node again on its own ports, with
// the keys its home holds now (a rotation may have replaced them).
func (nw *Network) RestartNode(n *Node) error {
	keys, err := node.LoadKeys(n.Home)
	if err != nil {
		return err
	}
	var ls []net.Listener
	for _, a := range []string{n.Cfg.Node.MixListen, n.Cfg.Node.ClientsListen, n.Cfg.Node.HTTPListen} {
		l, err := listenRetry(a)
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return err
		}
		ls = append(ls, l)
	}
	return nw.startInProcess(n, keys, ls)
}

// listenRetry listens on addr, retrying briefly while the port is still held
// by a closing listener.
func listenRetry(addr string) (net.Listener, error) {
	var err error
	for range 50 {
		var l net.Listener
		if l, err = net.Listen("tcp", addr); err == nil {
			return l, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, err
}

// WaitNodesAt waits until every running in-process node uses a topology of
// at least the given epoch.
func (nw *Network) WaitNodesAt(ctx context.Context, epoch uint64) error {
	for _, n := range nw.Nodes {
		s := n.Server()
		if s == nil {
			continue
		}
		if _, err := s.Topology().Wait(ctx, func(t *topology.Topology) bool { return t.Epoch >= epoch }); err != nil {
			return fmt.Errorf("node %d did not reach epoch %d: %w", n.Index, epoch, err)
		}
	}
	return nil
}

// NodeByIdentity finds a node of the network.
func (nw *Network) NodeByIdentity(id [32]byte) *Node {
	for _, n := range nw.Nodes {
		if n.Identity() == id {
			return n
		}
	}
	return nil
}

// Gateway returns the i-th gateway (entry, then exit) of the current
// topology.
func (nw *Network) Gateway(i int) *Node {
	gws := nw.Reader.Current().Gateways()
	return nw.NodeByIdentity(gws[i%len(gws)].Identity)
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}

// tempDir is a temporary directory removed at cleanup, with a short path
// (bbolt and socket paths are happier short).
func tempDir(t testing.TB) string {
	d, err := os.MkdirTemp("", "nyxnet")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// WaitGateway waits for an epoch in which n holds a gateway role with at
// least margin of the epoch left, and returns that epoch's topology. The
// chain draws every role again at each epoch boundary; clients reach a
// recipient at its gateway whatever that node's role, but tests that are
// about gateways as such wait for an epoch in which n is one.
func (nw *Network) WaitGateway(ctx context.Context, n *Node, margin time.Duration) (*topology.Topology, error) {
	id := n.Identity()
	t, err := nw.Reader.Wait(ctx, func(t *topology.Topology) bool {
		return t.RoleOf(id).IsGateway() && time.Until(t.EpochEnd) > margin
	})
	if err != nil {
		return nil, fmt.Errorf("wait for node %d to be a gateway: %w", n.Index, err)
	}
	return t, nil
}
