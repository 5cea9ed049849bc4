package monitor

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"text/template"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/home"
	"github.com/nyx-privacy/nyx/sidecar/tomltime"
)

// Duration is a time.Duration written in TOML as a Go duration string.
type Duration = tomltime.Duration

// Config is nym-monitor's config.toml. Each section carries its own TOML
// tags; DefaultConfig holds every default and Render writes them all out.
type Config struct {
	Chain   ChainSection    `toml:"chain"`
	Monitor MonitorSection  `toml:"monitor"`
	HTTP    HTTPSection     `toml:"http"`
	Log     home.LogSection `toml:"log"`
	// Credentials is how the monitor pays gateways that enforce bandwidth
	// credentials, as any client does.
	Credentials CredentialsSection `toml:"credentials"`
}

// CredentialsSection is the monitor's bandwidth credentials (kept in its
// home's credentials/ by sidecar/clientcred, bought with its chain
// account).
type CredentialsSection struct {
	// Deposit is what one credential is bought for; empty: the monitor
	// buys none and uses only those already in its home.
	Deposit string `toml:"deposit"`
	// Keep is how many unused credentials the monitor holds: a credential
	// is spent at one gateway, so about one per gateway it uses.
	Keep int `toml:"keep"`
}

// ChainSection is how the monitor reaches nyxd and pays for its reports.
type ChainSection struct {
	GRPC            string   `toml:"grpc"`
	ChainID         string   `toml:"chain_id"`
	GasPrice        string   `toml:"gas_price"`
	TopologyRefresh Duration `toml:"topology_refresh"`
	EpochPoll       Duration `toml:"epoch_poll"`
}

// MonitorSection is how the monitor measures and reports.
type MonitorSection struct {
	// Rate is the mean test packets per second (Poisson, as a client's).
	Rate float64 `toml:"rate"`
	// PacketDelay is the mean delay each hop holds a test packet
	// (exponential, as a client's).
	PacketDelay Duration `toml:"packet_delay"`
	// PacketTimeout is how long a test packet may take to come back
	// before it counts as lost (at most a quarter of the epoch).
	PacketTimeout Duration `toml:"packet_timeout"`
	// ReportAfter is the share of an epoch measured before the first
	// report on it; the report is then renewed every ReportInterval until
	// the epoch ends (the chain keeps a monitor's latest).
	ReportAfter    float64  `toml:"report_after"`
	ReportInterval Duration `toml:"report_interval"`
	// MinPackets is the fewest test packets through a node for a report
	// on it.
	MinPackets int `toml:"min_packets"`
	// MaxGateways bounds the gateways the monitor registers with (each
	// is measured as entry and exit).
	MaxGateways int `toml:"max_gateways"`
}

// HTTPSection is where /metrics and /health are served, and the limits
// on what a connection to them may cost (sidecar/home's).
type HTTPSection struct {
	Listen string `toml:"listen"`
	home.HTTPLimits
}

// Defaults.
const (
	DefaultRate           = 20
	DefaultPacketDelay    = 15 * time.Millisecond
	DefaultPacketTimeout  = 10 * time.Second
	DefaultReportAfter    = 0.5
	DefaultReportInterval = time.Minute
	DefaultMinPackets     = 20
	DefaultMaxGateways    = 64
	DefaultHTTPListen     = "127.0.0.1:8001"
)

// DefaultConfig is the config with every default.
func DefaultConfig() Config {
	return Config{
		Chain: ChainSection{GRPC: "127.0.0.1:9090", GasPrice: chaintx.DefaultGasPrice,
			TopologyRefresh: Duration(time.Minute), EpochPoll: Duration(2 * time.Second)},
		Monitor: MonitorSection{Rate: DefaultRate, PacketDelay: Duration(DefaultPacketDelay),
			PacketTimeout: Duration(DefaultPacketTimeout), ReportAfter: DefaultReportAfter,
			ReportInterval: Duration(DefaultReportInterval), MinPackets: DefaultMinPackets, MaxGateways: DefaultMaxGateways},
		HTTP:        HTTPSection{Listen: DefaultHTTPListen, HTTPLimits: home.DefaultHTTPLimits()},
		Log:         home.DefaultLog(),
		Credentials: CredentialsSection{Deposit: "1000000unym", Keep: 4},
	}
}

// Validate checks every field, all errors at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, _, err := net.SplitHostPort(c.Chain.GRPC); err != nil {
		bad("chain.grpc %q is not host:port", c.Chain.GRPC)
	}
	if c.Chain.ChainID == "" {
		bad("chain.chain_id is empty")
	}
	if _, err := chaintx.ParseGasPrice(c.Chain.GasPrice); err != nil {
		bad("chain.gas_price: %v", err)
	}
	if c.Chain.TopologyRefresh <= 0 || c.Chain.EpochPoll <= 0 {
		bad("chain.topology_refresh and chain.epoch_poll must be positive")
	}
	m := c.Monitor
	if !(m.Rate > 0 && m.Rate <= 10_000) {
		bad("monitor.rate %v is not in (0, 10000] packets per second", m.Rate)
	}
	if m.PacketDelay < 0 || time.Duration(m.PacketDelay) > time.Minute {
		bad("monitor.packet_delay %v is not in [0, 1m]", time.Duration(m.PacketDelay))
	}
	if m.PacketTimeout <= 0 {
		bad("monitor.packet_timeout must be positive")
	}
	if !(m.ReportAfter > 0 && m.ReportAfter < 1) {
		bad("monitor.report_after %v is not in (0, 1)", m.ReportAfter)
	}
	if m.ReportInterval <= 0 {
		bad("monitor.report_interval must be positive")
	}
	if m.MinPackets < 1 {
		bad("monitor.min_packets must be at least 1")
	}
	if m.MaxGateways < 1 {
		bad("monitor.max_gateways must be at least 1")
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		bad("http.listen %q is not host:port", c.HTTP.Listen)
	}
	if err := c.HTTP.HTTPLimits.Validate("http"); err != nil {
		errs = append(errs, err)
	}
	if err := c.Log.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Credentials.Deposit != "" {
		if coin, err := sdk.ParseCoinNormalized(c.Credentials.Deposit); err != nil || !coin.IsPositive() {
			bad("credentials.deposit %q is not a positive amount such as 1000000unym", c.Credentials.Deposit)
		}
	}
	if c.Credentials.Keep < 0 || c.Credentials.Keep > 1000 {
		bad("credentials.keep %d is not in [0, 1000]", c.Credentials.Keep)
	}
	return errors.Join(errs...)
}

// ParseConfig decodes config.toml over the defaults and validates it.
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
		return Config{}, fmt.Errorf("invalid config: %w", err)
	}
	return c, nil
}

var configTemplate = home.AddTemplates(template.Must(template.New("config").Parse(`# nym-monitor config. Every key is written out with its default; remove
# one and the default applies, misspell one and the monitor refuses to start.

[chain]
# nyxd's gRPC endpoint: the topology is read and reports are sent there.
grpc = "{{.Chain.GRPC}}"
chain_id = "{{.Chain.ChainID}}"
# What a unit of gas costs the monitor's account (keys/chain_account.key,
# whose address must be in x/mixnet's network_monitors param and funded).
gas_price = "{{.Chain.GasPrice}}"
# How often the topology is read again, and how often the chain is asked
# whether the epoch ended once it is due.
topology_refresh = "{{.Chain.TopologyRefresh}}"
epoch_poll = "{{.Chain.EpochPoll}}"

[monitor]
# Mean test packets per second, sent as a client sends (Poisson gaps), each
# a loop cover packet through one node per layer, from one gateway to
# another: nodes cannot tell them from clients' packets.
rate = {{.Monitor.Rate}}
# Mean delay each hop holds a test packet (exponential), as clients use.
packet_delay = "{{.Monitor.PacketDelay}}"
# A test packet not back after this (or after a quarter of the epoch, if
# that is shorter) counts as lost.
packet_timeout = "{{.Monitor.PacketTimeout}}"
# Share of an epoch measured before the first report on it (0 to 1); the
# report is renewed every report_interval until the epoch ends. The chain
# takes reports on the current epoch only and keeps each monitor's latest.
report_after = {{.Monitor.ReportAfter}}
report_interval = "{{.Monitor.ReportInterval}}"
# A node is reported once this many test packets went through it.
min_packets = {{.Monitor.MinPackets}}
# The most gateways the monitor registers with.
max_gateways = {{.Monitor.MaxGateways}}

[http]
# /metrics (Prometheus) and /health. The per-node figures are public on
# chain anyway; keep it on loopback unless your scraper is elsewhere.
listen = "{{.HTTP.Listen}}"
{{template "http_limits" .HTTP.HTTPLimits}}
[log]
# debug, info, warn or error.
level = "{{.Log.Level}}"
# text or json.
format = "{{.Log.Format}}"

[credentials]
# Gateways that enforce bandwidth credentials take test packets, like any
# client's, only against one. The monitor keeps this many unused
# credentials (one is spent at each gateway it uses), buying each for
# deposit from its chain account; an empty deposit buys none.
deposit = "{{.Credentials.Deposit}}"
keep = {{.Credentials.Keep}}
`)))

// Render writes c as a documented config.toml.
func (c Config) Render() ([]byte, error) {
	var b bytes.Buffer
	if err := configTemplate.Execute(&b, c); err != nil {
		return nil, err
	}
	if _, err := ParseConfig(b.Bytes()); err != nil {
		return nil, fmt.Errorf("rendered config does not parse: %w", err)
	}
	return b.Bytes(), nil
}
