package socks5

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sidecar/streams"
	"github.com/nyx-privacy/nyx/sidecar/tomltime"
	"github.com/nyx-privacy/nyx/sphinx"
)

// ConfigFile is the SOCKS5 client's config, beside the nym-client files
// (config.toml and keys) of the client it runs on.
const ConfigFile = "config/socks5.toml"

// DefaultListen is the SOCKS5 server's default address.
const DefaultListen = "127.0.0.1:1080"

// FileConfig is socks5.toml.
type FileConfig struct {
	SOCKS5  Section       `toml:"socks5"`
	Streams StreamSection `toml:"streams"`
}

// Section is the [socks5] table.
type Section struct {
	Listen           string            `toml:"listen"`
	Provider         string            `toml:"provider"`
	HandshakeTimeout tomltime.Duration `toml:"handshake_timeout"`
	MaxConnections   int               `toml:"max_connections"`
}

// StreamSection is the [streams] table.
type StreamSection struct {
	OpenTimeout  tomltime.Duration `toml:"open_timeout"`
	KeepAlive    tomltime.Duration `toml:"keep_alive"`
	QuietTimeout tomltime.Duration `toml:"quiet_timeout"`
	MaxStreams   int               `toml:"max_streams"`
}

// DefaultFileConfig is what init writes, with the provider to fill in.
func DefaultFileConfig() FileConfig {
	s, c := DefaultConfig(), streams.DefaultClientConfig()
	return FileConfig{
		SOCKS5: Section{Listen: DefaultListen, HandshakeTimeout: tomltime.Duration(s.HandshakeTimeout), MaxConnections: s.MaxConns},
		Streams: StreamSection{OpenTimeout: tomltime.Duration(c.OpenTimeout), KeepAlive: tomltime.Duration(c.KeepAlive),
			QuietTimeout: tomltime.Duration(c.QuietTimeout), MaxStreams: c.MaxStreams},
	}
}

var configTemplate = template.Must(template.New("socks5").Parse(`# nym-socks5-client configuration, written by "nym-socks5-client init".
# The mixnet client it runs on is configured in config.toml beside this file.
# Durations are Go durations ("15s", "2m").

[socks5]
# Address of the SOCKS5 (and SOCKS4a) proxy for the programs of this machine.
# Keep it on 127.0.0.1: whoever reaches it uses your mixnet client.
listen = "{{.SOCKS5.Listen}}"
# Address of the network requester that opens the connections. Empty: at each
# start, pick one at random from the chain's service directory among the
# requesters whose gateway is in the current topology (the log says which).
provider = "{{.SOCKS5.Provider}}"
# Bound on the SOCKS negotiation plus the wait for the requester to connect.
handshake_timeout = "{{.SOCKS5.HandshakeTimeout}}"
# Connections served at once; more are closed at once.
max_connections = {{.SOCKS5.MaxConnections}}

[streams]
# Bound on the wait for the requester's answer to a new connection.
open_timeout = "{{.Streams.OpenTimeout}}"
# A connection quiet this long is pinged, so that a requester that restarted
# and lost it says so (the app then gets an error instead of waiting).
keep_alive = "{{.Streams.KeepAlive}}"
# A connection the requester has not answered about for this long is closed.
quiet_timeout = "{{.Streams.QuietTimeout}}"
# Streams open at once through the requester (it has its own limit too).
max_streams = {{.Streams.MaxStreams}}
`))

// Marshal writes c as a documented socks5.toml.
func (c FileConfig) Marshal() []byte {
	var b bytes.Buffer
	if err := configTemplate.Execute(&b, c); err != nil {
		panic("socks5: config template: " + err.Error())
	}
	return b.Bytes()
}

// ParseConfig reads socks5.toml, refusing unknown keys, and validates it.
func ParseConfig(b []byte) (FileConfig, error) {
	var c FileConfig
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
			return c, fmt.Errorf("parse socks5 config: unknown keys %s", strings.Join(keys, ", "))
		}
		return c, fmt.Errorf("parse socks5 config: %w", err)
	}
	return c, c.Validate()
}

// Validate checks c.
func (c FileConfig) Validate() error {
	var errs []error
	if host, _, err := net.SplitHostPort(c.SOCKS5.Listen); err != nil {
		errs = append(errs, fmt.Errorf("socks5.listen: %v", err))
	} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		errs = append(errs, fmt.Errorf("socks5.listen %q is not a loopback address", c.SOCKS5.Listen))
	}
	if c.SOCKS5.Provider != "" {
		if _, err := client.ParseAddress(c.SOCKS5.Provider); err != nil {
			errs = append(errs, fmt.Errorf("socks5.provider: %v", err))
		}
	}
	if c.SOCKS5.HandshakeTimeout <= 0 || c.SOCKS5.MaxConnections <= 0 {
		errs = append(errs, errors.New("socks5.handshake_timeout and max_connections must be positive"))
	}
	if err := c.StreamConfig().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("[streams]: %v", err))
	}
	return errors.Join(errs...)
}

// StreamConfig is the [streams] table as a streams.ClientConfig.
func (c FileConfig) StreamConfig() streams.ClientConfig {
	s := streams.DefaultClientConfig()
	s.OpenTimeout, s.KeepAlive = time.Duration(c.Streams.OpenTimeout), time.Duration(c.Streams.KeepAlive)
	s.QuietTimeout, s.MaxStreams = time.Duration(c.Streams.QuietTimeout), c.Streams.MaxStreams
	return s
}

// InitHome writes socks5.toml into an initialised nym-client home; an empty
// provider has RunHome pick one from the chain's service directory.
func InitHome(home, listen, provider string) error {
	path := filepath.Join(home, ConfigFile)
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists: this home is initialised already", path)
	}
	c := DefaultFileConfig()
	c.SOCKS5.Listen, c.SOCKS5.Provider = listen, provider
	if err := c.Validate(); err != nil {
		return err
	}
	return os.WriteFile(path, c.Marshal(), 0o600)
}

// LoadFileConfig reads home's socks5.toml.
func LoadFileConfig(home string) (FileConfig, error) {
	p := filepath.Join(home, ConfigFile)
	st, err := os.Stat(p)
	if err != nil {
		return FileConfig{}, fmt.Errorf("read socks5 config (run nym-socks5-client init): %w", err)
	}
	if st.Size() > 1<<20 {
		return FileConfig{}, fmt.Errorf("%s is %d bytes", p, st.Size())
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return FileConfig{}, fmt.Errorf("read socks5 config: %w", err)
	}
	fc, err := ParseConfig(b)
	if err != nil {
		return FileConfig{}, fmt.Errorf("%s: %w", p, err)
	}
	return fc, nil
}

// RunHome runs the SOCKS5 client of an initialised home until ctx ends;
// ready (if not nil) is called with the proxy's address once it listens.
// Without a provider in socks5.toml it first picks one from the chain's
// service directory (PickProvider), waiting while there is none.
func RunHome(ctx context.Context, home string, ready func(addr string)) error {
	h, err := client.LoadHome(home)
	if err != nil {
		return err
	}
	fc, err := LoadFileConfig(home)
	if err != nil {
		return err
	}
	log := h.Config.NewLogger()
	var provider client.Address
	if fc.SOCKS5.Provider != "" {
		provider, _ = client.ParseAddress(fc.SOCKS5.Provider)
	} else {
		p, err := discoverProvider(ctx, h.Config.Chain.GRPC, log.With("service", "directory"))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		provider = p.Address
		log.Info("picked a network requester from the service directory", "provider", provider.String(),
			"service_id", p.Service.ServiceId, "description", p.Service.Description, "candidates", p.Candidates)
	}
	l, err := net.Listen("tcp", fc.SOCKS5.Listen)
	if err != nil {
		return fmt.Errorf("socks5 listener: %w", err)
	}
	defer l.Close()
	return streams.RunHomeClient(ctx, h, sphinx.Regular, log, func(ctx context.Context, c *client.Client) error {
		sc, err := streams.NewClient(streams.NewMixnetClientTransport(c, sphinx.Regular, provider), fc.StreamConfig(), log.With("service", "streams"))
		if err != nil {
			return err
		}
		srv, err := NewServer(StreamDialer(sc), Config{HandshakeTimeout: time.Duration(fc.SOCKS5.HandshakeTimeout),
			MaxConns: fc.SOCKS5.MaxConnections}, log.With("service", "socks5"))
		if err != nil {
			return err
		}
		errc := make(chan error, 1)
		go func() { errc <- sc.Run(ctx) }()
		log.Info("SOCKS5 client running", "listen", l.Addr().String(), "provider", provider.String())
		if ready != nil {
			ready(l.Addr().String())
		}
		err = srv.Serve(ctx, l)
		if err == nil {
			err = ctx.Err()
		}
		<-errc
		return err
	})
}
