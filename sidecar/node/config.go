// Package node is the nym-node daemon: its home directory (a documented TOML
// config and key files, written by Init), what its owner needs to bond it
// (BondingInfo), and its run loop (Run): it follows the chain's topology,
// finds its own role each epoch, and runs the mix engine (sidecar/mixnode)
// and the gateway (sidecar/gateway) on their ports, with metrics and health
// on the HTTP port. It keeps each sphinx key's replay filter on disk across
// restarts (replay.go, filters.go) and rotates the sphinx key on the chain's
// schedule, announcing the next key itself from its own chain account
// (rotation.go, sidecar/chaintx).
package node

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/gateway"
	"github.com/nyx-privacy/nyx/sidecar/home"
	"github.com/nyx-privacy/nyx/sidecar/mixnode"
	"github.com/nyx-privacy/nyx/sidecar/tomltime"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// Files of a node's home directory.
const (
	ConfigFile      = home.ConfigFile
	IdentityKeyFile = "keys/identity_ed25519.key"
	SphinxKeyFile   = "keys/sphinx_x25519.key"
	// NextSphinxKeyFile holds the key made by rotate-sphinx-key until the
	// chain switches to it; the node then moves it over SphinxKeyFile.
	NextSphinxKeyFile = "keys/sphinx_x25519.next.key"
	DataDir           = home.DataDir
)

// Default ports, as Nym's.
const (
	DefaultMixPort     = 1789
	DefaultClientsPort = 9000
	DefaultHTTPPort    = 8000
)

// Duration is a time.Duration written in TOML as a Go duration string.
type Duration = tomltime.Duration

// Config is a node's config.toml.
type Config struct {
	Node    NodeSection     `toml:"node"`
	Chain   ChainSection    `toml:"chain"`
	Mixnode mixnode.Config  `toml:"mixnode"`
	Gateway GatewaySection  `toml:"gateway"`
	HTTP    HTTPSection     `toml:"http"`
	Keys    KeysSection     `toml:"keys"`
	Log     home.LogSection `toml:"log"`
	// ClientsTLS, when set, serves the clients port over TLS (tls.go).
	ClientsTLS ClientsTLSSection `toml:"clients_tls"`
}

// KeysSection is the keeping of the sphinx keys: their replay filters on
// disk.
type KeysSection struct {
	ReplaySaveInterval Duration `toml:"replay_save_interval"`
}

// DefaultReplaySaveInterval is how often the replay filters are saved.
const DefaultReplaySaveInterval = time.Minute

// NodeSection is what the node announces on chain and where it listens.
type NodeSection struct {
	Host          string `toml:"host"`
	MixPort       uint16 `toml:"mix_port"`
	ClientsPort   uint16 `toml:"clients_port"`
	HTTPPort      uint16 `toml:"http_port"`
	MixListen     string `toml:"mix_listen"`
	ClientsListen string `toml:"clients_listen"`
	HTTPListen    string `toml:"http_listen"`
}

// ChainSection is how the node reaches nyxd.
type ChainSection struct {
	GRPC      string   `toml:"grpc"`
	ChainID   string   `toml:"chain_id"`
	Refresh   Duration `toml:"topology_refresh"`
	EpochPoll Duration `toml:"epoch_poll"`
	GasPrice  string   `toml:"gas_price"`
}

// HTTPSection bounds what a connection may cost the node's two HTTP
// servers (the clients port, the HTTP port) before it is a websocket
// session (then the gateway's own limits apply): sidecar/home's limits.
type HTTPSection = home.HTTPLimits

// GatewaySection is the gateway's config (its own TOML tags) and what the
// node adds to it: whether to serve clients at all, and the batching of
// credential spends.
type GatewaySection struct {
	Enabled            bool     `toml:"enabled"`
	SpendBatchInterval Duration `toml:"spend_batch_interval"`
	gateway.Config
}

// DefaultConfig is the config Init writes, with every default spelled out.
func DefaultConfig() Config {
	m := mixnode.Config{}.WithDefaults()
	// Zero workers: one per CPU of the machine the node runs on, not of
	// the one that wrote the config. The accepted geometries and the
	// largest payload follow from the packet formats: not settings.
	m.Workers, m.Geometries = 0, nil
	g := gateway.DefaultConfig(filepath.Join(DataDir, "inbox"))
	g.EnforceCredentials = true
	g.MaxPayloadSize = 0
	return Config{
		Node: NodeSection{
			Host: "127.0.0.1", MixPort: DefaultMixPort, ClientsPort: DefaultClientsPort, HTTPPort: DefaultHTTPPort,
			MixListen:     net.JoinHostPort("0.0.0.0", strconv.Itoa(DefaultMixPort)),
			ClientsListen: net.JoinHostPort("0.0.0.0", strconv.Itoa(DefaultClientsPort)),
			// Loopback: the HTTP port serves per-packet counters, for the
			// operator only.
			HTTPListen: net.JoinHostPort("127.0.0.1", strconv.Itoa(DefaultHTTPPort)),
		},
		Chain: ChainSection{GRPC: "127.0.0.1:9090", ChainID: "nyx-1",
			Refresh: Duration(topology.DefaultRefresh), EpochPoll: Duration(topology.DefaultEpochPoll),
			GasPrice: chaintx.DefaultGasPrice},
		Mixnode: m,
		Gateway: GatewaySection{Enabled: true, SpendBatchInterval: Duration(time.Second), Config: g},
		HTTP:    DefaultHTTPSection(),
		Keys:    KeysSection{ReplaySaveInterval: Duration(DefaultReplaySaveInterval)},
		Log:     home.DefaultLog(),
	}
}

// Validate checks the config can run a node.
func (c Config) Validate() error {
	var errs []error
	if err := mixnettypes.ValidateHost(c.Node.Host); err != nil {
		errs = append(errs, fmt.Errorf("node.host: %v", err))
	}
	if err := mixnettypes.ValidatePorts(uint32(c.Node.MixPort), uint32(c.Node.ClientsPort), uint32(c.Node.HTTPPort)); err != nil {
		errs = append(errs, fmt.Errorf("node ports: %v", err))
	}
	for name, a := range map[string]string{"node.mix_listen": c.Node.MixListen, "node.clients_listen": c.Node.ClientsListen, "node.http_listen": c.Node.HTTPListen} {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("%s: %v", name, err))
		}
	}
	if _, _, err := net.SplitHostPort(c.Chain.GRPC); err != nil {
		errs = append(errs, fmt.Errorf("chain.grpc: %v", err))
	}
	if c.Chain.ChainID == "" {
		errs = append(errs, errors.New("chain.chain_id is empty"))
	}
	if _, err := chaintx.ParseGasPrice(c.Chain.GasPrice); err != nil {
		errs = append(errs, fmt.Errorf("chain.gas_price: %v", err))
	}
	if c.Mixnode.Workers < 0 || c.Mixnode.ProcessQueue < 0 || c.Mixnode.DelayQueue < 0 || c.Mixnode.LinkQueue < 0 ||
		c.Mixnode.DeliverQueue < 0 || c.Mixnode.DeliverWorkers < 0 || c.Mixnode.MaxConns < 0 {
		errs = append(errs, errors.New("mixnode: counts must not be negative"))
	}
	if c.Mixnode.ReplayFalsePositive < 0 || c.Mixnode.ReplayFalsePositive >= 1 {
		errs = append(errs, errors.New("mixnode.replay_false_positive must be in [0, 1)"))
	}
	errs = append(errs, c.validateLimits()...)
	errs = append(errs, c.ClientsTLS.validate()...)
	if time.Duration(c.Keys.ReplaySaveInterval) < time.Second {
		errs = append(errs, fmt.Errorf("keys.replay_save_interval %v is under one second", time.Duration(c.Keys.ReplaySaveInterval)))
	}
	if c.Gateway.Enabled && c.Gateway.StoreDir == "" {
		errs = append(errs, errors.New("gateway.store_dir is empty"))
	} else if err := c.GatewayConfig("/").Validate(); c.Gateway.Enabled && err != nil {
		errs = append(errs, fmt.Errorf("gateway: %v", err))
	}
	if c.Gateway.Enabled && c.Gateway.EnforceCredentials {
		if d := time.Duration(c.Gateway.SpendBatchInterval); d < 10*time.Millisecond || d > time.Minute {
			errs = append(errs, fmt.Errorf("gateway.spend_batch_interval %v is not between 10ms and 1m", d))
		}
		if time.Duration(c.Gateway.BalanceFlushInterval) < 0 || c.Gateway.HoldBytes < 0 {
			errs = append(errs, errors.New("gateway: balance_flush_interval and hold_bytes must not be negative"))
		}
	}
	if err := c.Log.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ParseConfig decodes config.toml (strictly, sidecar/home's
// DecodeConfig: an unknown key is an error, a missing one keeps its
// default) and validates it.
func ParseConfig(b []byte) (Config, error) {
	c := DefaultConfig()
	if err := home.DecodeConfig(b, &c); err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("invalid config: %w", err)
	}
	return c, nil
}

// LoadConfig reads and validates dir's config.toml.
func LoadConfig(dir string) (Config, error) {
	c := DefaultConfig()
	if err := home.ReadConfig(dir, &c); err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: invalid config: %w", filepath.Join(dir, ConfigFile), err)
	}
	return c, nil
}

// MixnodeConfig is the mix engine's config.
func (c Config) MixnodeConfig() mixnode.Config { return c.Mixnode }

// GatewayConfig is the gateway's config, its store directory resolved
// against dir.
func (c Config) GatewayConfig(dir string) gateway.Config {
	g := c.Gateway.Config
	if !filepath.IsAbs(g.StoreDir) {
		g.StoreDir = filepath.Join(dir, g.StoreDir)
	}
	return g
}

// Render writes c as a documented config.toml: every setting with a comment.
func (c Config) Render() ([]byte, error) {
	var b bytes.Buffer
	if err := configTemplate.Execute(&b, c); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var configTemplate = home.AddTemplates(template.Must(template.New("config").Funcs(template.FuncMap{
	"q": strconv.Quote,
	"f": tomlFloat,
}).Parse(`# nym-node configuration, written by "nym-node init".
# Every setting is shown with its default; a missing setting keeps its default,
# an unknown one is an error. Durations are Go durations ("250ms", "1h").

[node]
# Host (IP address or DNS name) other nodes and clients reach this node at.
# It is bonded on chain: after changing it, update the bond
# ("nyxd tx mixnet update-node-config").
host = {{q .Node.Host}}
# Ports bonded on chain: mix packets (TCP), clients (websocket), HTTP
# (metrics at /metrics, health at /health). Distinct, 1..65535.
mix_port = {{.Node.MixPort}}
clients_port = {{.Node.ClientsPort}}
http_port = {{.Node.HTTPPort}}
# Addresses the node listens on (host:port); normally the bonded ports, the
# mix and clients ports on every interface.
mix_listen = {{q .Node.MixListen}}
clients_listen = {{q .Node.ClientsListen}}
# The HTTP port serves /metrics (per-packet counters, queue depths) and
# /health: what the operator watches, not the world, so it listens on
# loopback by default. To scrape it from another host, listen on an address
# only your monitoring reaches (or behind a proxy with access control).
http_listen = {{q .Node.HTTPListen}}

[chain]
# nyxd's gRPC address (host:port), where the topology is read.
grpc = {{q .Chain.GRPC}}
# The chain id, which bond signatures cover.
chain_id = {{q .Chain.ChainID}}
# Longest time between two topology reads; the node also reads when the epoch
# is due to end.
topology_refresh = {{q .Chain.Refresh.String}}
# How often to ask again once the epoch's end has passed but the chain has not
# yet ended it.
epoch_poll = {{q .Chain.EpochPoll.String}}
# The price per unit of gas of the node's own transactions (announcing its next
# sphinx key), paid from its chain account (keys/chain_account.key; its address
# is shown by "nym-node chain-address"). At least the validators' minimum.
gas_price = {{q .Chain.GasPrice}}

[mixnode]
# Sphinx processing goroutines; 0 means one per CPU.
workers = {{.Mixnode.Workers}}
# Bounded queues; a packet that finds its queue full is dropped and counted
# (nyx_mixnode_packets_dropped_total{reason=...}).
# Packets read and waiting for a worker.
process_queue = {{.Mixnode.ProcessQueue}}
# Packets held for their per-hop delay.
delay_queue = {{.Mixnode.DelayQueue}}
# Packets waiting for one next hop's connection.
link_queue = {{.Mixnode.LinkQueue}}
# Final-hop payloads waiting for the gateway.
deliver_queue = {{.Mixnode.DeliverQueue}}
# Goroutines handing final-hop payloads to the gateway; a payload for an
# offline client waits for its fsync, and the gateway commits the ones
# waiting together, so more workers store more per second.
deliver_workers = {{.Mixnode.DeliverWorkers}}
# Longest per-hop delay honoured; a packet asking for more is dropped.
max_delay = {{q .Mixnode.MaxDelay.String}}
# Incoming mix connections at most.
max_connections = {{.Mixnode.MaxConns}}
# Bound on a dial to a next hop, and on one batch of writes to it.
dial_timeout = {{q .Mixnode.DialTimeout.String}}
write_timeout = {{q .Mixnode.WriteTimeout.String}}
# Backoff between dials to an unreachable next hop.
reconnect_min = {{q .Mixnode.ReconnectMin.String}}
reconnect_max = {{q .Mixnode.ReconnectMax.String}}
# An outgoing link unused this long is closed; an incoming connection silent
# this long is closed.
link_idle = {{q .Mixnode.LinkIdle.String}}
read_idle = {{q .Mixnode.ReadIdle.String}}
# The replay filter (one per sphinx key) is sized for replay_rate packets per
# second over the key's whole life with this false-positive rate: with the
# chain's rotation schedule (x/mixnet sphinx_key_rotation_epochs = N), N + 2
# epochs (one as the announced next key, N in use, one as the previous key);
# with rotation by hand only (N = 0), replay_window. At 500 packets/s, 1e-5,
# 1-hour epochs and N = 24 a filter takes 140 MB (in memory and on disk), and
# a node holds two around each rotation. A key whose filter passes that count
# is rotated early.
replay_rate = {{f .Mixnode.ReplayRate}}
replay_window = {{q .Mixnode.ReplayWindow.String}}
replay_false_positive = {{f .Mixnode.ReplayFalsePositive}}
# Admission on the mix port. Every link is encrypted and authenticated
# (Noise, keyed by the identity keys bonded on chain); a new connection must
# bring its preface, the link handshake and its first packet within
# preface_timeout, or it is closed (read_idle, or stranger_idle for a
# stranger, applies after that).
preface_timeout = {{q .Mixnode.PrefaceTimeout.String}}
# Incoming connections one source IP may hold.
max_connections_per_ip = {{.Mixnode.MaxConnsPerIP}}
# The share of max_connections kept for the nodes of the topology (known by
# the IP their bonded host resolves to); other sources share the rest.
reserved_connections = {{.Mixnode.ReservedConns}}
# Strangers (sources that are not nodes of the topology) are held to less:
# a stranger's connection silent this long between packets is closed (at
# most read_idle), and so is one that sends stranger_failures packets in a
# row that all fail (bad MAC, replay, ...). Neither applies to the nodes of
# the topology, whose packets may fail for what clients put in them.
stranger_idle = {{q .Mixnode.StrangerIdle.String}}
stranger_failures = {{.Mixnode.StrangerFailures}}
# Memory bounds in bytes of packet buffers (extended packets are up to 32 KiB,
# so a packet count alone bounds nothing): the packets waiting for a worker,
# held for their delay, waiting for the gateway, in one next hop's queue, in
# all next hops' queues. Over a bound packets are dropped (reason
# process_queue_bytes, delay_queue_bytes, deliver_queue_bytes,
# link_queue_bytes, links_bytes).
process_queue_bytes = {{.Mixnode.ProcessQueueBytes}}
delay_queue_bytes = {{.Mixnode.DelayQueueBytes}}
deliver_queue_bytes = {{.Mixnode.DeliverQueueBytes}}
link_queue_bytes = {{.Mixnode.LinkQueueBytes}}
links_bytes = {{.Mixnode.LinksBytes}}

[gateway]
# Serve clients on the clients port and deliver final-hop packets to them.
# The chain may make any node a gateway in any epoch, and clients registered
# here keep this gateway in their address, so leave it on.
enabled = {{.Gateway.Enabled}}
# The inbox store of offline clients' messages (relative to the home
# directory unless absolute).
store_dir = {{q .Gateway.StoreDir}}
# Stored messages older than this are deleted, checked every sweep_interval.
max_message_age = {{q .Gateway.MaxMessageAge.String}}
sweep_interval = {{q .Gateway.SweepInterval.String}}
# Pushed messages a client may leave unacknowledged.
window = {{.Gateway.Window}}
# Bound from the websocket upgrade to a completed handshake.
handshake_timeout = {{q .Gateway.HandshakeTimeout.String}}
# Bound on one websocket write.
write_timeout = {{q .Gateway.WriteTimeout.String}}
# Idle clients are pinged this often, and dropped after two silent intervals.
ping_interval = {{q .Gateway.PingInterval.String}}
# Open websocket connections at most.
max_connections = {{.Gateway.MaxConnections}}
# Bytes of accepted, unacknowledged messages (stored, or pushed and not yet
# acknowledged; each counts its payload and 33 bytes) per client and for all
# clients. A delivery beyond either is refused before it is accepted
# (nyx_gateway_refused_total{reason="inbox_full" or "store_full"}), so an
# accepted message is never dropped later for want of room.
max_stored_bytes_per_client = {{.Gateway.MaxStoredBytesPerClient}}
max_stored_bytes = {{.Gateway.MaxStoredBytes}}
# A registration not used to authenticate for this long is forgotten, and
# its inbox with it.
max_client_idle = {{q .Gateway.MaxClientIdle.String}}
# Registered client identities at most (anyone may register, and each takes
# room on disk); a new identity beyond it is refused (too_many_clients).
max_clients = {{.Gateway.MaxClients}}
# Payload bytes of pushed, unacknowledged messages held in memory, per
# session (at least the largest payload, 32768) and for all sessions; a
# session over either pushes nothing more until acknowledgements come.
max_session_pushed_bytes = {{.Gateway.MaxSessionPushedBytes}}
max_pushed_bytes = {{.Gateway.MaxPushedBytes}}
# Bandwidth credentials (sidecar/gateway/PROTOCOL.md §6). With
# enforce_credentials, clients pay: each presents a Coconut credential bought
# on chain, this node checks it against the chain's key and spend tags,
# redeems it on chain with its chain account (keys/chain_account.key, which
# must hold a little for fees; it is paid the credential's deposit), and
# charges every packet the client sends (cover included) and every payload
# pushed to it to the client's balance, kept in the inbox store. A node that
# cannot reach the chain refuses new credentials and keeps serving balances.
# Off, anyone registered may send without limit.
enforce_credentials = {{.Gateway.EnforceCredentials}}
# Grant a credential's bandwidth as soon as it verifies and the chain says
# its tag is unspent, without waiting for the spend to be committed (about a
# block). The risk: a client that shows one credential at several gateways
# within that window is served by each, and only the first spend is paid.
serve_optimistically = {{.Gateway.Optimistic}}
# How long a spend waits for others to share its transaction (MsgSpendCredentials).
spend_batch_interval = {{q .Gateway.SpendBatchInterval.String}}
# Longest wait for one credential's check and spend on chain; a credential
# not through by then is refused (the client may present it again).
credential_timeout = {{q .Gateway.CredentialTimeout.String}}
# Metered balances are written to the store this often (and at the end of
# each session and at shutdown); a crash loses at most this much metering.
balance_flush_interval = {{q .Gateway.BalanceFlushInterval.String}}
# Bytes of packets a client's session holds, in order, once its balance ran
# out, until its next credential is accepted; beyond them packets are refused.
hold_bytes = {{.Gateway.HoldBytes}}

[http]
# Bounds on the clients port and the HTTP port, for a connection until it
# becomes a websocket session (the gateway's limits apply then).
{{template "http_limits" .HTTP}}
[keys]
# Each sphinx key's replay filter (the tags of the packets taken under it) is
# saved in data/replay/ this often, when the key is retired and at shutdown,
# and restored at start: a packet taken before a restart is still refused as
# a replay after it. A crash loses at most this interval's tags.
replay_save_interval = {{q .Keys.ReplaySaveInterval.String}}

[log]
# debug, info, warn or error.
level = {{q .Log.Level}}
# text or json.
format = {{q .Log.Format}}

[clients_tls]
# A certificate and its key (PEM files, relative to the home directory
# unless absolute) make the clients port serve websockets over TLS
# (wss://): clients then check the gateway's certificate on top of its
# identity key. Both empty: plain ws://, the Sphinx layers and the
# client-gateway handshake being the only protection.
cert_file = {{q .ClientsTLS.CertFile}}
key_file = {{q .ClientsTLS.KeyFile}}
`)))

// tomlFloat writes v as a TOML float (always with a fraction or exponent).
func tomlFloat(v float64) string {
	s := strconv.FormatFloat(v, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}
