package requester

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sidecar/exitpolicy"
	"github.com/nyx-privacy/nyx/sidecar/streams"
	"github.com/nyx-privacy/nyx/sidecar/tomltime"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/sphinx"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// Files of a requester's home, beside the nym-client files (config.toml
// and keys) of the client it runs on.
const (
	ConfigFile = "config/requester.toml"
	// PolicyFile is the default exit policy file, relative to the home.
	PolicyFile = "exit-policy.txt"
	// AddressFile holds the requester's address (the chain's service
	// directory is where clients find it: [directory] announce).
	AddressFile = "requester.address"
)

// FileConfig is requester.toml.
type FileConfig struct {
	Requester Section          `toml:"requester"`
	Directory DirectorySection `toml:"directory"`
}

// DirectorySection is the [directory] table: the requester's entry in the
// chain's service directory.
type DirectorySection struct {
	Announce    bool   `toml:"announce"`
	Description string `toml:"description"`
	GasPrice    string `toml:"gas_price"`
}

// Section is the [requester] table.
type Section struct {
	ExitPolicyFile      string            `toml:"exit_policy_file"`
	MaxStreamsPerClient int               `toml:"max_streams_per_client"`
	MaxStreams          int               `toml:"max_streams"`
	QuietTimeout        tomltime.Duration `toml:"quiet_timeout"`
	DialTimeout         tomltime.Duration `toml:"dial_timeout"`
	PacketSize          string            `toml:"packet_size"`
}

// PacketSizes names the packet geometries packet_size may choose.
var PacketSizes = map[string]sphinx.Geometry{
	"regular": sphinx.Regular, "extended8": sphinx.Extended8,
	"extended16": sphinx.Extended16, "extended32": sphinx.Extended32,
}

// DefaultPacketSize is the packet_size init writes.
const DefaultPacketSize = "extended8"

// DefaultFileConfig is what init writes.
func DefaultFileConfig() FileConfig {
	d := DefaultConfig()
	return FileConfig{Requester: Section{ExitPolicyFile: PolicyFile, MaxStreamsPerClient: d.MaxStreamsPerClient,
		MaxStreams: d.MaxStreams, QuietTimeout: tomltime.Duration(d.QuietTimeout), DialTimeout: tomltime.Duration(d.DialTimeout),
		PacketSize: DefaultPacketSize},
		Directory: DirectorySection{GasPrice: chaintx.DefaultGasPrice}}
}

var configTemplate = template.Must(template.New("requester").Parse(`# nym-network-requester configuration, written by "nym-network-requester init".
# The mixnet client it runs on is configured in config.toml beside this file.
# Durations are Go durations ("15s", "2m").

[requester]
# The exit policy, in Tor's torrc ExitPolicy syntax (see sidecar/exitpolicy):
# which hosts and ports the requester connects to for its clients. A relative
# path is relative to the home directory. The first rule that matches decides;
# a destination no rule matches is refused.
exit_policy_file = "{{.Requester.ExitPolicyFile}}"
# Streams one client may have open at once, and all clients together. A
# stream counts from its first frame; more are refused with "too many streams".
max_streams_per_client = {{.Requester.MaxStreamsPerClient}}
max_streams = {{.Requester.MaxStreams}}
# A stream its client has sent nothing about (clients ping quiet streams every
# 10s) for this long is closed.
quiet_timeout = "{{.Requester.QuietTimeout}}"
# Bound on resolving a host name and connecting to it.
dial_timeout = "{{.Requester.DialTimeout}}"
# Size of the packets that carry data back to clients: regular (2 KiB),
# extended8, extended16 or extended32 (KiB). One packet leaves per release slot
# (config.toml's average_send_delay, 20ms), so this sets the requester's
# throughput, shared by all its clients: about 95 KB/s with regular packets,
# 400 KB/s with extended8, 1.6 MB/s with extended32. Loop cover traffic, if on,
# is sent at the same size: an idle requester sends that much cover too.
packet_size = "{{.Requester.PacketSize}}"

[directory]
# Announce this requester in the chain's service directory when it starts, if
# its address is not listed yet, so that SOCKS5 clients started without a
# provider can find it (nym-socks5-client picks among the listed requesters).
# The chain account of keys/chain_account.key pays: the directory's deposit
# (the service_deposit param of x/mixnet, 100 NYM by default; returned by
# "nym-network-requester withdraw") and the fee. "nym-network-requester
# chain-address" prints the account; "nym-network-requester announce" does the
# same once, by hand.
announce = {{.Directory.Announce}}
# A short text shown with the entry (at most 256 bytes, printable).
description = {{printf "%q" .Directory.Description}}
# What the announcement pays per unit of gas.
gas_price = "{{.Directory.GasPrice}}"
`))

// Marshal writes c as a documented requester.toml.
func (c FileConfig) Marshal() []byte {
	var b bytes.Buffer
	if err := configTemplate.Execute(&b, c); err != nil {
		panic("requester: config template: " + err.Error())
	}
	return b.Bytes()
}

// ParseConfig reads requester.toml, refusing unknown keys, and validates it.
// A missing key keeps its default (a requester.toml written before a key
// existed still loads).
func ParseConfig(b []byte) (FileConfig, error) {
	c := DefaultFileConfig()
	d := toml.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		var sm *toml.StrictMissingError
		if errors.As(err, &sm) {
			// Name the unknown keys: the default message does not.
			var keys []string
			for _, e := range sm.Errors {
				keys = append(keys, strings.Join(e.Key(), "."))
			}
			return c, fmt.Errorf("parse requester config: unknown keys %s", strings.Join(keys, ", "))
		}
		return c, fmt.Errorf("parse requester config: %w", err)
	}
	return c, c.Validate()
}

// Validate checks c.
func (c FileConfig) Validate() error {
	s := c.Requester
	var errs []error
	if s.ExitPolicyFile == "" {
		errs = append(errs, errors.New("requester.exit_policy_file is empty"))
	}
	if s.MaxStreamsPerClient <= 0 || s.MaxStreams <= 0 || s.MaxStreamsPerClient > s.MaxStreams {
		errs = append(errs, fmt.Errorf("requester.max_streams_per_client (%d) and max_streams (%d) must be positive, per client at most the total", s.MaxStreamsPerClient, s.MaxStreams))
	}
	if s.QuietTimeout <= 0 || s.DialTimeout <= 0 {
		errs = append(errs, errors.New("requester.quiet_timeout and dial_timeout must be positive"))
	}
	if _, ok := PacketSizes[s.PacketSize]; !ok {
		errs = append(errs, fmt.Errorf("requester.packet_size %q is not regular, extended8, extended16 or extended32", s.PacketSize))
	}
	if err := mixnettypes.ValidateServiceDescription(c.Directory.Description); err != nil {
		errs = append(errs, fmt.Errorf("directory.description: %v", err))
	}
	if _, err := chaintx.ParseGasPrice(c.Directory.GasPrice); err != nil {
		errs = append(errs, fmt.Errorf("directory.gas_price: %v", err))
	}
	return errors.Join(errs...)
}

// LoadPolicy reads an exit policy file (at most exitpolicy.MaxPolicyBytes).
func LoadPolicy(path string) (*exitpolicy.Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("exit policy: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, exitpolicy.MaxPolicyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("exit policy: %w", err)
	}
	p, err := exitpolicy.Parse(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Config turns the file config of home into a Config, reading the policy.
func (c FileConfig) Config(home string) (Config, error) {
	path := c.Requester.ExitPolicyFile
	if !filepath.IsAbs(path) {
		path = filepath.Join(home, path)
	}
	p, err := LoadPolicy(path)
	if err != nil {
		return Config{}, err
	}
	cfg := DefaultConfig()
	cfg.Policy = p
	cfg.MaxStreamsPerClient, cfg.MaxStreams = c.Requester.MaxStreamsPerClient, c.Requester.MaxStreams
	cfg.QuietTimeout, cfg.DialTimeout = time.Duration(c.Requester.QuietTimeout), time.Duration(c.Requester.DialTimeout)
	return cfg, cfg.Validate()
}

// InitHome writes requester.toml, with dir as its [directory] table, and,
// unless one exists, the exit policy (policy, or the default one if empty)
// into an initialised nym-client home.
func InitHome(home, policy string, dir DirectorySection) error {
	path := filepath.Join(home, ConfigFile)
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists: this home is initialised already", path)
	}
	if policy == "" {
		policy = exitpolicy.DefaultText
	}
	if _, err := exitpolicy.Parse(policy); err != nil {
		return err
	}
	fc := DefaultFileConfig()
	fc.Directory = dir
	if err := fc.Validate(); err != nil {
		return err
	}
	pp := filepath.Join(home, PolicyFile)
	if _, err := os.Stat(pp); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(pp, []byte(policy), 0o600); err != nil {
			return err
		}
	}
	return os.WriteFile(path, fc.Marshal(), 0o600)
}

// Hooks are told what RunHome does; any may be nil.
type Hooks struct {
	// Ready is called with the requester's address once it runs.
	Ready func(client.Address)
	// Announced is called with the requester's service id once it is in the
	// chain's service directory ([directory] announce).
	Announced func(id uint64)
}

// LoadFileConfig reads home's requester.toml.
func LoadFileConfig(home string) (FileConfig, error) {
	p := filepath.Join(home, ConfigFile)
	st, err := os.Stat(p)
	if err != nil {
		return FileConfig{}, fmt.Errorf("read requester config (run nym-network-requester init): %w", err)
	}
	if st.Size() > 1<<20 {
		return FileConfig{}, fmt.Errorf("%s is %d bytes", p, st.Size())
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return FileConfig{}, fmt.Errorf("read requester config: %w", err)
	}
	fc, err := ParseConfig(b)
	if err != nil {
		return FileConfig{}, fmt.Errorf("%s: %w", p, err)
	}
	return fc, nil
}

// RunHome runs the requester of an initialised home until ctx ends. The
// address is written to AddressFile; with [directory] announce, the
// requester is announced in the chain's service directory once it runs,
// unless it is listed already.
func RunHome(ctx context.Context, home string, hooks Hooks) error {
	h, err := client.LoadHome(home)
	if err != nil {
		return err
	}
	fc, err := LoadFileConfig(home)
	if err != nil {
		return err
	}
	cfg, err := fc.Config(home)
	if err != nil {
		return err
	}
	log := h.Config.NewLogger()
	addr := h.Address()
	if err := os.WriteFile(filepath.Join(home, AddressFile), []byte(addr.String()+"\n"), 0o644); err != nil {
		return err
	}
	g := PacketSizes[fc.Requester.PacketSize]
	return streams.RunHomeClient(ctx, h, g, log, func(ctx context.Context, c *client.Client) error {
		r, err := New(streams.NewMixnetServiceTransport(c, g), cfg, log.With("service", "requester"))
		if err != nil {
			return err
		}
		log.Info("network requester running", "address", addr.String(), "exit_policy_rules", len(cfg.Policy.Rules))
		if hooks.Ready != nil {
			hooks.Ready(addr)
		}
		if fc.Directory.Announce {
			conn, err := topology.Dial(h.Config.Chain.GRPC)
			if err != nil {
				return fmt.Errorf("connect to nyxd at %s: %w", h.Config.Chain.GRPC, err)
			}
			defer conn.Close()
			actx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			defer func() { cancel(); <-done }()
			signer := func() (*chaintx.Signer, error) {
				s, _, err := client.ChainSigner(actx, home, conn, fc.Directory.GasPrice, false)
				return s, err
			}
			go func() {
				defer close(done)
				announceUntil(actx, conn, signer, h.Keys, addr, fc.Directory.Description, log.With("service", "directory"), hooks.Announced)
			}()
		}
		return r.Run(ctx)
	})
}
