package node

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"

	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/gateway"
	"github.com/nyx-privacy/nyx/sidecar/gatewaycred"
	"github.com/nyx-privacy/nyx/sidecar/mixnode"
	"github.com/nyx-privacy/nyx/sidecar/ratelog"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/sphinx"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// Options are what Start takes beyond the config and keys.
type Options struct {
	// Logger gets the node's logs; nil builds one from the config's [log]
	// section, on stderr.
	Logger *slog.Logger
	// MixListener, ClientsListener and HTTPListener, when set, are used
	// instead of listening on the config's addresses (tests bind port 0 first
	// to learn the ports they bond).
	MixListener, ClientsListener, HTTPListener net.Listener
	// MixObserve and GatewayObserve, when set, tap the packets the node
	// sends on (mixnode.Config.Observe, gateway.Config.Observe).
	MixObserve     func(next [32]byte, size int)
	GatewayObserve func(client, next [32]byte, size int)
}

// Server is a running nym-node.
type Server struct {
	cfg Config
	id  [32]byte
	log *slog.Logger
	reg *prometheus.Registry

	conn   *grpc.ClientConn
	reader *topology.Reader
	mix    *mixnode.Node
	gw     *gateway.Gateway
	// redeemer checks and redeems the gateway's credentials (credentials.go).
	redeemer *gatewaycred.Redeemer

	mixL        net.Listener
	clientsSrv  *http.Server
	httpSrv     *http.Server
	mixAddr     string
	clientsAddr string
	httpAddr    string

	role     atomic.Int64
	epoch    atomic.Uint64
	previous atomic.Pointer[topology.Topology] // the epoch before the current one

	home string
	// The sphinx keys: the one the chain has for this node, the next one
	// (from NextSphinxKeyFile), and the one it replaced, kept until
	// prevUntil's epoch ends for packets made before the switch.
	keyMu                 sync.Mutex
	sphinxKey, next, prev *sphinx.PrivateKey
	prevUntil             uint64
	nextFileErr           string // the last next-key-file error logged
	// retired are keys the node held and let go: never taken up again (their
	// replay filters are gone, so their old packets could be replayed).
	retired []*sphinx.PublicKey
	// filters are the replay filters of the keys held, by public key in
	// hex (filters.go); saveMu serializes writing and deleting their files.
	filters map[string]*keyFilter
	saveMu  sync.Mutex
	// chainEpoch (a time.Duration) and rotationEpochs are the chain's
	// params that size a new key's replay filter; zero until read.
	chainEpoch     atomic.Int64
	rotationEpochs atomic.Uint32

	// Automatic rotation (rotation.go): the identity key signs the
	// announcement, signer pays for it. The rest belongs to the rotation
	// goroutine.
	identity       ed25519.PrivateKey
	signer         *chaintx.Signer
	announced      *sphinx.PublicKey // the last next key announced, in announcedEpoch
	announcedEpoch uint64
	announceLog    *ratelog.Logger

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Run loads home's config and keys, starts the node and serves until ctx
// ends.
func Run(ctx context.Context, home string, opts Options) error {
	cfg, err := LoadConfig(home)
	if err != nil {
		return err
	}
	keys, err := LoadKeys(home)
	if err != nil {
		return err
	}
	s, err := Start(ctx, home, cfg, keys, opts)
	if err != nil {
		return err
	}
	<-ctx.Done()
	return s.Close()
}

// Start starts a node: the topology reader, the mix engine on the mix port,
// the gateway on the clients port (if enabled) and metrics and health on the
// HTTP port. Stop it with Close.
func Start(ctx context.Context, home string, cfg Config, keys Keys, opts Options) (_ *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid config: %w", err)
	}
	var clientsTLS *tls.Config
	if cfg.Gateway.Enabled && cfg.ClientsTLS.Enabled() {
		if clientsTLS, err = cfg.ClientsTLS.load(home); err != nil {
			return nil, err
		}
	}
	log := opts.Logger
	if log == nil {
		if log, err = cfg.Log.Logger(os.Stderr); err != nil {
			return nil, err
		}
	}
	s := &Server{cfg: cfg, id: keys.IdentityPublic(), reg: prometheus.NewRegistry(),
		home: home, sphinxKey: keys.Sphinx, next: keys.NextSphinx, identity: keys.Identity}
	s.log = log.With("node", hex.EncodeToString(s.id[:6]))
	s.role.Store(int64(topology.None))
	var closers []func()
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
		}
	}()
	listen := func(given net.Listener, addr, what string) (net.Listener, error) {
		if given != nil {
			return given, nil
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("listen for %s on %s: %w", what, addr, err)
		}
		return l, nil
	}
	mixL, err := listen(opts.MixListener, cfg.Node.MixListen, "mix packets")
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { mixL.Close() })
	httpL, err := listen(opts.HTTPListener, cfg.Node.HTTPListen, "HTTP")
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { httpL.Close() })
	var clientsL net.Listener
	if cfg.Gateway.Enabled {
		if clientsL, err = listen(opts.ClientsListener, cfg.Node.ClientsListen, "clients"); err != nil {
			return nil, err
		}
		closers = append(closers, func() { clientsL.Close() })
	} else if opts.ClientsListener != nil {
		opts.ClientsListener.Close()
	}

	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "nyx", Subsystem: "node", Name: "role",
			Help: "This epoch's role: 0 none, 1 entry gateway, 2-4 mix layer 1-3, 5 exit gateway, 6 standby."},
			func() float64 { return float64(s.role.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "nyx", Subsystem: "node", Name: "epoch",
			Help: "The epoch of the topology in use."}, func() float64 { return float64(s.epoch.Load()) }),
	)

	if s.conn, err = topology.Dial(cfg.Chain.GRPC); err != nil {
		return nil, err
	}
	closers = append(closers, func() { s.conn.Close() })
	s.reader = topology.NewReader(mixnettypes.NewQueryClient(s.conn), topology.ReaderConfig{
		Refresh: time.Duration(cfg.Chain.Refresh), EpochPoll: time.Duration(cfg.Chain.EpochPoll), Logger: s.log})

	s.readParams(ctx)
	if err := s.newSigner(keys); err != nil {
		return nil, err
	}
	mixCfg := cfg.MixnodeConfig()
	mixCfg.Observe = opts.MixObserve
	// Links are Noise sessions keyed by the identity bonded on chain.
	mixCfg.Identity = keys.Identity
	if s.mix, err = mixnode.New(mixCfg, keys.Sphinx, s.resolve, s.log, s.reg); err != nil {
		return nil, err
	}
	closers = append(closers, func() { s.mix.Close() })
	removeStrayFilters(home, keys.Sphinx, keys.NextSphinx)
	if err := s.applyKeys(); err != nil {
		return nil, err
	}
	if cfg.Gateway.Enabled {
		gcfg := cfg.GatewayConfig(home)
		gcfg.Observe = opts.GatewayObserve
		if s.gw, err = gateway.New(gcfg, keys.Identity, keys.Sphinx, s.mix, s.log, s.reg); err != nil {
			return nil, fmt.Errorf("start gateway: %w", err)
		}
		closers = append(closers, func() { s.gw.Close() })
		s.mix.SetDeliverer(s.gw)
		if err := s.startRedeemer(cfg); err != nil {
			return nil, err
		}
		if s.redeemer != nil {
			closers = append(closers, s.redeemer.Close)
		}
	}

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	updates, unsubscribe := s.reader.Subscribe()
	s.followPeers(runCtx)
	s.wg.Add(5)
	go func() {
		defer s.wg.Done()
		s.rotateEvery(runCtx)
	}()
	go func() {
		defer s.wg.Done()
		s.watchNextKeyFile(runCtx, time.Second)
	}()
	go func() {
		defer s.wg.Done()
		s.saveFiltersEvery(runCtx, time.Duration(cfg.Keys.ReplaySaveInterval))
	}()
	go func() {
		defer s.wg.Done()
		_ = s.reader.Run(runCtx)
	}()
	go func() {
		defer s.wg.Done()
		defer unsubscribe()
		for {
			select {
			case <-runCtx.Done():
				return
			case u := <-updates:
				s.onTopology(u)
			}
		}
	}()

	s.mixL, s.mixAddr = mixL, mixL.Addr().String()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.mix.Serve(mixL); err != nil && !errors.Is(err, mixnode.ErrClosed) {
			s.log.Error("mix listener stopped", "err", err)
		}
	}()
	s.startServers(clientsL, httpL, clientsTLS)

	s.log.Info("nym-node started", "identity", hex.EncodeToString(s.id[:]), "mix", s.mixAddr,
		"clients", s.clientsAddr, "http", s.httpAddr, "chain", cfg.Chain.GRPC, "gateway", s.gw != nil)
	return s, nil
}

// resolve finds a next hop's mix address in the current topology, or in the
// previous epoch's for packets sent just before the change.
func (s *Server) resolve(id [32]byte) (string, bool) {
	if n, ok := s.reader.Current().ByIdentity(id); ok {
		return n.MixAddr(), true
	}
	if n, ok := s.previous.Load().ByIdentity(id); ok {
		return n.MixAddr(), true
	}
	return "", false
}

// onTopology follows the chain: the role of this node in the new epoch, and
// whether the chain still has this node's sphinx key.
func (s *Server) onTopology(u topology.Update) {
	t := u.Topology
	if u.Previous != nil && u.Previous.Epoch != t.Epoch {
		s.previous.Store(u.Previous)
	}
	s.epoch.Store(t.Epoch)
	me, in := t.ByIdentity(s.id)
	role := topology.None
	if in {
		role = me.Role
	}
	if old := topology.Role(s.role.Swap(int64(role))); old != role || u.Diff.EpochChanged {
		s.log.Info("role for epoch", "epoch", t.Epoch, "role", role.String(), "previous", old.String(), "epoch_end", t.EpochEnd)
	}
	s.followKeys(t, me, in)
}

// followKeys keeps the node's sphinx keys in step with the chain's record
// of it: it switches to the next key when the chain does (and moves its
// file over the old key file), and drops the old key one epoch later.
func (s *Server) followKeys(t *topology.Topology, me topology.Node, in bool) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	changed := s.syncNextKeyFile()
	if s.prev != nil && t.Epoch > s.prevUntil {
		s.log.Info("previous sphinx key dropped", "epoch", t.Epoch)
		s.retired = append(s.retired, s.prev.PublicKey())
		s.prev, changed = nil, true
	}
	if in && s.next != nil && me.SphinxKey.Equal(s.next.PublicKey()) {
		if err := promoteNextSphinxKey(s.home); err != nil {
			// The node runs on the new key; on a restart it loads the
			// pair again and switches at the first topology.
			s.log.Error("switched to the next sphinx key, but could not move its file", "err", err)
		}
		s.prev, s.sphinxKey, s.next = s.sphinxKey, s.next, nil
		s.prevUntil = t.Epoch
		s.saveFilterOf(s.prev.PublicKey())
		changed = true
		s.log.Info("sphinx key rotated: the chain now has the next key", "epoch", t.Epoch,
			"sphinx_key", hex.EncodeToString(s.sphinxKey.PublicKey().Bytes()))
	}
	if changed {
		s.applyKeysLogged()
	}
	if !in {
		return
	}
	if !me.SphinxKey.Equal(s.sphinxKey.PublicKey()) {
		s.log.Error("the chain has another sphinx key for this node: packets made for it will fail here",
			"chain", hex.EncodeToString(me.SphinxKey.Bytes()), "ours", hex.EncodeToString(s.sphinxKey.PublicKey().Bytes()))
	}
	if me.NextSphinxKey != nil && (s.next == nil || !s.next.PublicKey().Equal(me.NextSphinxKey)) {
		s.log.Error("the chain announces a next sphinx key this node does not hold in "+NextSphinxKeyFile+
			": packets made for it will fail here from the next epoch", "announced", hex.EncodeToString(me.NextSphinxKey.Bytes()))
	}
}

// syncNextKeyFile takes up the key in NextSphinxKeyFile (written by
// rotate-sphinx-key, possibly while the node runs) as the next key, so that
// the node accepts packets for it before the chain switches: clients that
// see the switch first use it at once. It reports whether the next key
// changed. Held by keyMu.
func (s *Server) syncNextKeyFile() bool {
	if s.home == "" {
		return false
	}
	k, err := LoadNextSphinxKey(s.home)
	if err == nil && k != nil && slices.ContainsFunc(s.retired, k.PublicKey().Equal) {
		err = fmt.Errorf("%s holds a key this node used before and let go; make a fresh one (delete the file, run rotate-sphinx-key)", NextSphinxKeyFile)
	}
	if err != nil {
		if msg := err.Error(); msg != s.nextFileErr {
			s.nextFileErr = msg
			s.log.Error("unusable next sphinx key file", "err", err)
		}
		return false
	}
	s.nextFileErr = ""
	switch {
	case k == nil || k.Equal(s.sphinxKey):
		// None, or a file a failed promotion left behind.
		if s.next == nil {
			return false
		}
		s.retired = append(s.retired, s.next.PublicKey())
		s.next = nil
		s.log.Info("next sphinx key file gone; packets for that key are no longer accepted")
		return true
	case s.next != nil && s.next.Equal(k):
		return false
	case s.next != nil:
		s.retired = append(s.retired, s.next.PublicKey())
	}
	s.next = k
	s.log.Info("next sphinx key taken up; packets for it are accepted from now (until announced on chain, they are few)",
		"next_sphinx_key", hex.EncodeToString(k.PublicKey().Bytes()))
	return true
}

func (s *Server) applyKeysLogged() {
	if err := s.applyKeys(); err != nil {
		s.log.Error("set sphinx keys", "err", err)
	}
}

// watchNextKeyFile looks for a next key file every interval.
func (s *Server) watchNextKeyFile(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.keyMu.Lock()
			if s.syncNextKeyFile() {
				s.applyKeysLogged()
			}
			s.keyMu.Unlock()
		}
	}
}

// applyKeys gives the mix engine the keys to accept packets for, the
// chain's current one first, each with its replay filter. Held by keyMu
// (or before the node runs).
func (s *Server) applyKeys() error {
	keys := []*sphinx.PrivateKey{s.sphinxKey}
	for _, k := range []*sphinx.PrivateKey{s.next, s.prev} {
		if k != nil {
			keys = append(keys, k)
		}
	}
	return s.keyFilters(keys)
}

// SphinxKeys returns the node's sphinx public keys: the one in use, and the
// announced next one (nil if none).
func (s *Server) SphinxKeys() (current, next *sphinx.PublicKey) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.next != nil {
		next = s.next.PublicKey()
	}
	return s.sphinxKey.PublicKey(), next
}

// Status is what /health reports.
type Status struct {
	Status   string `json:"status"`
	Identity string `json:"identity"`
	Epoch    uint64 `json:"epoch"`
	Role     string `json:"role"`
	Gateway  bool   `json:"gateway"`
	// SphinxKey is the sphinx public key in use (hex); NextSphinxKey the
	// announced next one, once the node holds it.
	SphinxKey     string `json:"sphinx_key"`
	NextSphinxKey string `json:"next_sphinx_key,omitempty"`
	// Chain is empty while the chain answers, else the last error.
	Chain string `json:"chain,omitempty"`
	// ChainAccount is the address the node pays its transactions from.
	ChainAccount string `json:"chain_account,omitempty"`
}

// Status reports the node's state.
func (s *Server) Status() Status {
	st := Status{Status: "ok", Identity: hex.EncodeToString(s.id[:]), Epoch: s.epoch.Load(),
		Role: topology.Role(s.role.Load()).String(), Gateway: s.gw != nil}
	cur, next := s.SphinxKeys()
	st.SphinxKey = hex.EncodeToString(cur.Bytes())
	if next != nil {
		st.NextSphinxKey = hex.EncodeToString(next.Bytes())
	}
	if err := s.reader.Err(); err != nil {
		st.Chain = err.Error()
	}
	if s.signer != nil {
		st.ChainAccount = s.signer.Address()
	}
	return st
}

// Identity is the node's identity public key.
func (s *Server) Identity() [32]byte { return s.id }

// Role is the node's role in the topology in use.
func (s *Server) Role() topology.Role { return topology.Role(s.role.Load()) }

// Topology is the node's topology reader.
func (s *Server) Topology() *topology.Reader { return s.reader }

// Mix is the node's mix engine.
func (s *Server) Mix() *mixnode.Node { return s.mix }

// Gateway is the node's gateway, or nil if it is disabled.
func (s *Server) Gateway() *gateway.Gateway { return s.gw }

// Registry is the node's metrics registry.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// MixAddr, ClientsAddr and HTTPAddr are the addresses the node listens on.
func (s *Server) MixAddr() string     { return s.mixAddr }
func (s *Server) ClientsAddr() string { return s.clientsAddr }
func (s *Server) HTTPAddr() string    { return s.httpAddr }

// Close stops the node: listeners first, then the mix engine, the gateway
// (which syncs its store) and the topology reader.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var errs []error
		if s.clientsSrv != nil {
			if err := s.clientsSrv.Shutdown(ctx); err != nil {
				s.clientsSrv.Close()
			}
		}
		if err := s.httpSrv.Shutdown(ctx); err != nil {
			s.httpSrv.Close()
		}
		if err := s.mix.Close(); err != nil {
			errs = append(errs, fmt.Errorf("mix: %w", err))
		}
		if s.gw != nil {
			if err := s.gw.Close(); err != nil {
				errs = append(errs, fmt.Errorf("gateway: %w", err))
			}
		}
		if s.redeemer != nil {
			s.redeemer.Close()
		}
		s.cancel()
		s.wg.Wait()
		// The engine has stopped: this save holds every tag it took.
		s.saveAllFilters()
		if err := s.conn.Close(); err != nil {
			errs = append(errs, fmt.Errorf("grpc: %w", err))
		}
		s.closeErr = errors.Join(errs...)
		s.log.Info("nym-node stopped")
	})
	return s.closeErr
}
