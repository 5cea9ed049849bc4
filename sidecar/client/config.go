package client

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"text/template"

	"github.com/mr-tron/base58"

	"github.com/nyx-privacy/nyx/sidecar/gatewayclient"
	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	"github.com/nyx-privacy/nyx/sidecar/home"
	"github.com/nyx-privacy/nyx/sidecar/tomltime"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/sphinx"
)

// Files of a client's home directory.
const (
	ConfigFile = home.ConfigFile
	KeysDir    = home.KeysDir
	// StateFile keeps what a stopped client held (state.go).
	StateFile = "data/state.json"
)

// DefaultListen is the local API's default address (Nym's port).
const DefaultListen = "127.0.0.1:1977"

// Duration is a time.Duration written in TOML as a Go duration string.
type Duration = tomltime.Duration

// FileConfig is a client's config.toml.
type FileConfig struct {
	Client  ClientSection   `toml:"client"`
	Gateway GatewaySection  `toml:"gateway"`
	Chain   ChainSection    `toml:"chain"`
	Traffic TrafficSection  `toml:"traffic"`
	Replies ReplyConfig     `toml:"replies"`
	Log     home.LogSection `toml:"log"`
	// Credentials is the buying of bandwidth credentials (bandwidth.go).
	Credentials CredentialsSection `toml:"credentials"`
}

// ClientSection is the local API.
type ClientSection struct {
	Listen        string `toml:"listen"`
	ReceiveBuffer int    `toml:"receive_buffer"`
}

// GatewaySection names the gateway the client registered with.
type GatewaySection struct {
	Identity string `toml:"identity"`
	URL      string `toml:"url"`
}

// ChainSection is how the client reads the topology.
type ChainSection struct {
	GRPC    string   `toml:"grpc"`
	Refresh Duration `toml:"topology_refresh"`
}

// TrafficSection is the sender's config (its own TOML tags) and whether
// the client sends loop cover.
type TrafficSection struct {
	SenderConfig
	LoopCover bool `toml:"loop_cover_traffic"`
}

// DefaultFileConfig is the config Init writes before it fills in the gateway.
func DefaultFileConfig() FileConfig {
	s := DefaultSenderConfig()
	// The geometry is not a setting, the replies are their own section,
	// and the low-water mark follows reply_surbs (ClientConfig).
	r := s.Replies
	s.Geometry, s.Replies, r.LowWater = sphinx.Geometry{}, ReplyConfig{}, 0
	return FileConfig{
		Client:  ClientSection{Listen: DefaultListen, ReceiveBuffer: 1024},
		Chain:   ChainSection{GRPC: "127.0.0.1:9090", Refresh: Duration(topology.DefaultRefresh)},
		Traffic: TrafficSection{SenderConfig: s, LoopCover: true},
		Replies: r,
		Log:     home.DefaultLog(),

		Credentials: DefaultCredentialsSection(),
	}
}

var configTemplate = template.Must(template.New("config").Parse(`# nym-client configuration, written by "nym-client init".
# Every setting is spelled out; durations are Go durations ("15ms", "5m").

[client]
# Address of the local websocket API for apps (see sidecar/client/README.md).
# Keep it on 127.0.0.1: whoever reaches it can read and send your messages.
listen = "{{.Client.Listen}}"
# Received messages held for apps; when full, the client stops taking
# messages from its gateway, which keeps them.
receive_buffer = {{.Client.ReceiveBuffer}}

[gateway]
# The gateway this client registered with: its ed25519 identity (base58)
# and its websocket URL. The shared key is in keys/gateway_shared.key.
identity = "{{.Gateway.Identity}}"
url = "{{.Gateway.URL}}"

[chain]
# nyxd's gRPC endpoint, for the mixnet topology.
grpc = "{{.Chain.GRPC}}"
# Longest time between two topology queries (also re-read at each epoch end).
topology_refresh = "{{.Chain.Refresh}}"

[traffic]
# Mean of the exponential delay each hop holds a packet (Nym: 15ms).
average_packet_delay = "{{.Traffic.AveragePacketDelay}}"
# Mean gap between packets of the Poisson release stream (Nym: 20ms).
average_send_delay = "{{.Traffic.AverageSendDelay}}"
# Messages waiting for a release slot; beyond it, sends are refused.
send_queue = {{.Traffic.QueueSize}}
# Fill every slot of the release stream that no message takes with a loop
# cover packet (through the mixnet back to this client, which drops it), so
# the client sends at the same rate whether it has something to say or not.
# Needs a positive average_send_delay. Turning it off tells an observer of
# the client's link when it sends.
loop_cover_traffic = {{.Traffic.LoopCover}}
# Every packet carries an acknowledgement its recipient's gateway sends back.
# A packet not acknowledged within 1.5 x the sampled delays of its route and
# of its ack's route, plus ack_wait, is sent again over a fresh route; the
# wait doubles at each retransmission up to max_ack_wait, and after
# max_retransmissions the message is reported failed to the app.
ack_wait = "{{.Traffic.AckWait}}"
max_ack_wait = "{{.Traffic.MaxAckWait}}"
max_retransmissions = {{.Traffic.MaxRetransmissions}}

[replies]
# Reply SURBs an anonymous message carries when the app does not say (at
# most 50), and how many a top-up gives.
reply_surbs = {{.Replies.SURBs}}
# Longest a reply SURB is used (shorter when a node on its route has
# announced a new key: then until the epoch ends). Its reply key is kept as
# long, so a reply can still be opened.
surb_lifetime = "{{.Replies.Lifetime}}"
# Bounds: SURBs held for one sender tag (and outstanding with one
# recipient), sender tags whose SURBs are held (the least recently used goes
# first), reply keys kept for SURBs given out.
max_surbs_per_tag = {{.Replies.MaxPerTag}}
max_sender_tags = {{.Replies.MaxTags}}
max_reply_keys = {{.Replies.MaxReplyKeys}}
# How long a reply waits for more SURBs (asked for when too few are held)
# before it is reported failed.
reply_wait = "{{.Replies.Wait}}"

[log]
# debug, info, warn or error.
level = "{{.Log.Level}}"
# text or json.
format = "{{.Log.Format}}"

[credentials]
# Gateways that enforce bandwidth credentials charge every packet sent
# (cover included) and received. The client presents the credentials in
# credentials/ (bought with "nym-client credential buy", paid from the chain
# key keys/chain_account.key) when its balance runs out. With auto_buy, the
# running client buys the next credential itself, for auto_buy_deposit,
# whenever it holds no unshown one (the key must be funded).
auto_buy = {{.Credentials.AutoBuy}}
auto_buy_deposit = "{{.Credentials.AutoBuyDeposit}}"
# Gas price of the purchase transaction (at least the validators' minimum).
gas_price = "{{.Credentials.GasPrice}}"
`))

// Marshal writes c as a documented config.toml.
func (c FileConfig) Marshal() []byte {
	var b bytes.Buffer
	if err := configTemplate.Execute(&b, c); err != nil {
		panic("client: config template: " + err.Error())
	}
	return b.Bytes()
}

// ParseConfig reads a config.toml: unknown keys are refused (a typo would
// otherwise silently keep a default), and the result is validated.
func ParseConfig(b []byte) (FileConfig, error) {
	c := DefaultFileConfig()
	if err := home.DecodeConfig(b, &c); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Validate checks that c can run a client.
func (c FileConfig) Validate() error {
	var errs []error
	if host, _, err := net.SplitHostPort(c.Client.Listen); err != nil {
		errs = append(errs, fmt.Errorf("client.listen: %v", err))
	} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		errs = append(errs, fmt.Errorf("client.listen %q is not a loopback address", c.Client.Listen))
	}
	if c.Client.ReceiveBuffer <= 0 {
		errs = append(errs, errors.New("client.receive_buffer must be positive"))
	}
	if _, err := c.GatewayIdentity(); err != nil {
		errs = append(errs, err)
	}
	if u, err := url.Parse(c.Gateway.URL); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		errs = append(errs, fmt.Errorf("gateway.url %q is not a ws:// or wss:// URL", c.Gateway.URL))
	}
	if _, _, err := net.SplitHostPort(c.Chain.GRPC); err != nil {
		errs = append(errs, fmt.Errorf("chain.grpc: %v", err))
	}
	if c.Chain.Refresh < 0 || c.Traffic.AveragePacketDelay < 0 || c.Traffic.AverageSendDelay < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	if c.Traffic.QueueSize <= 0 {
		errs = append(errs, errors.New("traffic.send_queue must be positive"))
	}
	if c.Traffic.AckWait <= 0 || c.Traffic.MaxAckWait < c.Traffic.AckWait {
		errs = append(errs, errors.New("traffic.ack_wait must be positive and at most traffic.max_ack_wait"))
	}
	if c.Traffic.MaxRetransmissions <= 0 {
		errs = append(errs, errors.New("traffic.max_retransmissions must be positive"))
	}
	r := c.Replies
	if r.SURBs <= 0 || r.SURBs > MaxSURBsPerMessage {
		errs = append(errs, fmt.Errorf("replies.reply_surbs must be 1 to %d", MaxSURBsPerMessage))
	}
	if r.Lifetime <= 0 || r.Wait <= 0 {
		errs = append(errs, errors.New("replies.surb_lifetime and replies.reply_wait must be positive"))
	}
	if r.MaxPerTag < r.SURBs || r.MaxTags <= 0 || r.MaxReplyKeys < r.SURBs {
		errs = append(errs, errors.New("replies: max_surbs_per_tag and max_reply_keys must be at least reply_surbs, max_sender_tags positive"))
	}
	if c.Traffic.LoopCover && c.Traffic.AverageSendDelay <= 0 {
		errs = append(errs, errors.New("traffic.loop_cover_traffic needs a positive traffic.average_send_delay (every slot of the stream sends a packet)"))
	}
	if err := c.Log.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Credentials.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// GatewayIdentity decodes gateway.identity.
func (c FileConfig) GatewayIdentity() ([32]byte, error) {
	b, err := base58.Decode(c.Gateway.Identity)
	if err != nil || len(b) != 32 {
		return [32]byte{}, fmt.Errorf("gateway.identity %q is not a 32-byte base58 key", c.Gateway.Identity)
	}
	return [32]byte(b), nil
}

// NewLogger returns the logger the config's [log] section asks for,
// writing to stderr.
func (c FileConfig) NewLogger() *slog.Logger {
	l, err := c.Log.Logger(os.Stderr)
	if err != nil {
		// Validate refused such a config; a caller that skipped it still
		// gets its logs.
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return l
}

// ClientConfig turns the file config into the engine's Config.
func (c FileConfig) ClientConfig() (Config, error) {
	id, err := c.GatewayIdentity()
	if err != nil {
		return Config{}, err
	}
	sc := c.Traffic.SenderConfig
	sc.Geometry, sc.Replies = sphinx.Regular, c.Replies
	sc.Replies.LowWater = min(5, c.Replies.SURBs)
	return Config{
		GatewayURL:      c.Gateway.URL,
		GatewayIdentity: id,
		Sender:          sc,
		ReceiveBuffer:   c.Client.ReceiveBuffer,
		LoopCover:       c.Traffic.LoopCover,
	}, nil
}

// LoadConfig reads dir's config.toml (sidecar/home's ReadConfig) and
// validates it.
func LoadConfig(dir string) (FileConfig, error) {
	c := DefaultFileConfig()
	if err := home.ReadConfig(dir, &c); err != nil {
		return c, err
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	return c, nil
}

// PickGateway returns the gateway named by identity (base58), or a random
// gateway of the topology if identity is empty, with its websocket URL.
func PickGateway(t *topology.Topology, identity string) (topology.Node, string, error) {
	var gw topology.Node
	if identity != "" {
		b, err := base58.Decode(identity)
		if err != nil || len(b) != 32 {
			return gw, "", fmt.Errorf("gateway %q is not a 32-byte base58 key", identity)
		}
		n, ok := t.ByIdentity([32]byte(b))
		if !ok || !n.Role.IsGateway() {
			return gw, "", fmt.Errorf("%s is not a gateway in epoch %d", identity, t.Epoch)
		}
		gw = n
	} else {
		all := t.Gateways()
		if len(all) == 0 {
			return gw, "", fmt.Errorf("no gateway in epoch %d", t.Epoch)
		}
		gw = all[mrand.IntN(len(all))]
	}
	return gw, "ws://" + gw.ClientsAddr() + "/", nil
}

// Init writes a new home: keys, a registration with the gateway (named, or
// picked from t) and config.toml. cfg gives the settings other than the
// gateway (DefaultFileConfig and flags). It refuses a home that has a
// config already.
func Init(ctx context.Context, dir string, cfg FileConfig, t *topology.Topology, gatewayIdentity string) (Address, error) {
	path := filepath.Join(dir, ConfigFile)
	if _, err := os.Stat(path); err == nil {
		return Address{}, fmt.Errorf("%s exists: this dir is initialised already", path)
	}
	gw, wsURL, err := PickGateway(t, gatewayIdentity)
	if err != nil {
		return Address{}, err
	}
	cfg.Gateway = GatewaySection{Identity: base58.Encode(gw.Identity[:]), URL: wsURL}
	if err := cfg.Validate(); err != nil {
		return Address{}, err
	}
	keys, err := GenerateKeys(crand.Reader)
	if err != nil {
		return Address{}, err
	}
	keyDir := filepath.Join(dir, KeysDir)
	if err := keys.Save(keyDir); err != nil {
		return Address{}, err
	}
	shared, err := Register(ctx, wsURL, gw.Identity, keys)
	if err != nil {
		return Address{}, err
	}
	if err := SaveSharedKey(keyDir, shared); err != nil {
		return Address{}, err
	}
	if err := home.WriteFileOnce(path, cfg.Marshal(), 0o600); err != nil {
		return Address{}, err
	}
	return keys.Address(gw.Identity), nil
}

// Home is a loaded home directory.
type Home struct {
	Dir    string
	Config FileConfig
	Keys   *Keys
	Shared gatewayproto.SharedKey
}

// Address is the client's address: its keys at the gateway of its config
// (which LoadHome validated).
func (h *Home) Address() Address {
	id, _ := h.Config.GatewayIdentity()
	return h.Keys.Address(id)
}

// LoadHome reads the config and keys of an initialised home.
func LoadHome(dir string) (*Home, error) {
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	keys, err := LoadKeys(filepath.Join(dir, KeysDir))
	if err != nil {
		return nil, err
	}
	shared, err := LoadSharedKey(filepath.Join(dir, KeysDir))
	if err != nil {
		return nil, err
	}
	return &Home{Dir: dir, Config: cfg, Keys: keys, Shared: shared}, nil
}

// NewClient returns the client of the home, configured by its config.toml;
// Run connects it. topo supplies the topology (a topology.Reader's Current);
// bw the credentials it presents to gateways that charge for bandwidth (nil:
// none; Home.Bandwidth gives the home's wallet).
func (h *Home) NewClient(topo func() *topology.Topology, bw gatewayclient.Bandwidth, log *slog.Logger) (*Client, error) {
	cc, err := h.Config.ClientConfig()
	if err != nil {
		return nil, err
	}
	cc.StateFile = filepath.Join(h.Dir, StateFile)
	cc.Bandwidth = bw
	return New(cc, h.Keys, h.Shared, topo, log)
}

// Serve runs the client of home with its local API on listener l until ctx
// ends; topo supplies the topology (a Reader's Current).
func Serve(ctx context.Context, h *Home, l net.Listener, topo func() *topology.Topology, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	bw, stopBW, err := h.Bandwidth(ctx, log)
	if err != nil {
		return err
	}
	defer stopBW()
	c, err := h.NewClient(topo, bw, log)
	if err != nil {
		return err
	}
	api := NewAPI(c, log)
	errc := make(chan error, 3)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { errc <- c.Run(ctx) }()
	go func() { errc <- api.Run(ctx) }()
	go func() { errc <- serveHTTP(ctx, l, api.Handler()) }()
	log.Info("nym-client running", "address", c.Address().String(), "api", "ws://"+l.Addr().String()+"/")
	err = <-errc
	cancel()
	<-errc
	<-errc
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// serveHTTP serves h on l until ctx ends, through sidecar/home's server:
// its limits bound a connection until it is a websocket session.
func serveHTTP(ctx context.Context, l net.Listener, h http.Handler) error {
	if err := (home.HTTPServer{Handler: h, Limits: home.DefaultHTTPLimits(), Name: "api"}).Serve(ctx, l); err != nil {
		return err
	}
	return ctx.Err()
}
