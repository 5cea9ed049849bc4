// Package home is what every Nyx daemon (nym-node, nym-client, nym-monitor)
// keeps in its home directory and how it reads it: one layout
// (config/config.toml, keys/, data/), one key file format (a label and the
// key in base64, created 0600 in a 0700 directory, fsynced, never
// overwritten, refused when others may read it), strict TOML config
// loading (an unknown key is an error, a missing one keeps its default),
// the slog logger the [log] section describes, the HTTP server for
// /metrics and /health, and the --home flag's habits (a flag, else an
// environment variable with the daemon's prefix, else ~/.<daemon>).
//
// nym-monitor uses it. nym-node and nym-client keep equivalent code of
// their own until they move onto it; what that move is:
//
//   - sidecar/node/keys.go: encodeKey, parseKey, writeKeyFile, syncDir and
//     readKeyFile become EncodeKey, ParseKey, WriteFileOnce and ReadKey (the
//     file format is the same, so existing homes read unchanged);
//     sidecar/client's key files likewise.
//   - sidecar/node/config.go and sidecar/client/config.go: ParseConfig's
//     strict decoding becomes DecodeConfig/ReadConfig; their [log] sections
//     become LogSection (same keys); the sections that copy mixnode.Config
//     and gateway.Config field by field (MixnodeSection, GatewayConfig)
//     give way to TOML tags on those configs themselves.
//   - sidecar/node/servers.go: /metrics and /health through ServeHTTP, or
//     ServeHTTP grown to take the node's extra routes and connection
//     limits.
//   - cmd/nym-node and cmd/nym-client: --home through Dir (so
//     $NYM_NODE_HOME and $NYM_CLIENT_HOME work), --output json where they
//     print.
package home

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// The layout of a home directory.
const (
	ConfigFile = "config/config.toml"
	KeysDir    = "keys"
	DataDir    = "data"
)

// Dir resolves a daemon's home directory: flag if set, else the
// environment variable <envPrefix>_HOME, else ~/.<name>.
func Dir(flag, envPrefix, name string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	if v := os.Getenv(envPrefix + "_HOME"); v != "" {
		return v, nil
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no --home and no home directory: %w", err)
	}
	return filepath.Join(h, "."+name), nil
}

// ErrKeyFile: a key file is malformed or readable by others.
var ErrKeyFile = errors.New("home: bad key file")

// EncodeKey is a key file's contents: label, a colon, a space and the key
// in standard base64, one line.
func EncodeKey(label string, key []byte) []byte {
	return []byte(label + ": " + base64.StdEncoding.EncodeToString(key) + "\n")
}

// ParseKey decodes a key file's contents, which must carry label and a
// key of size bytes.
func ParseKey(label string, size int, b []byte) ([]byte, error) {
	b = bytes.TrimSpace(b)
	prefix := []byte(label + ": ")
	if !bytes.HasPrefix(b, prefix) {
		return nil, fmt.Errorf("%w: does not start with %q", ErrKeyFile, label+":")
	}
	k, err := base64.StdEncoding.DecodeString(string(b[len(prefix):]))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	if len(k) != size {
		return nil, fmt.Errorf("%w: key of %d bytes, want %d", ErrKeyFile, len(k), size)
	}
	return k, nil
}

// WriteKey creates the key file path (0600, in a 0700 directory) holding
// key under label, synced with its directory entry. It refuses to
// overwrite a file: a key once made is the daemon's name.
func WriteKey(path, label string, key []byte) error {
	return WriteFileOnce(path, EncodeKey(label, key), 0o600)
}

// ReadKey reads the key file path, refusing one that anyone but its owner
// may read or write.
func ReadKey(path, label string, size int) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has permissions %v; it must be readable by its owner only (chmod 600)", ErrKeyFile, path, st.Mode().Perm())
	}
	if st.Size() > 4096 {
		return nil, fmt.Errorf("%w: %s is %d bytes", ErrKeyFile, path, st.Size())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	k, err := ParseKey(label, size, b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// WriteFileOnce creates path with data and mode, its directory (0700) if
// needed, synced, and refuses to overwrite an existing file.
func WriteFileOnce(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = fh.Write(data)
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// DecodeConfig decodes TOML into v, which holds the defaults: a key v has
// no field for is an error (a typo must not silently leave a default in
// place); a missing key keeps its default.
func DecodeConfig(b []byte, v any) error {
	dec := toml.NewDecoder(bytes.NewReader(b)).DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var sme *toml.StrictMissingError
		if errors.As(err, &sme) {
			return fmt.Errorf("parse config: %s", strings.TrimSpace(sme.String()))
		}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return fmt.Errorf("parse config: line %d, column %d: %s", row, col, de.Error())
		}
		return fmt.Errorf("parse config: %w", err)
	}
	return nil
}

// MaxConfigSize bounds a config file: it is read whole.
const MaxConfigSize = 1 << 20

// ReadConfig reads home's config file into v (holding the defaults), as
// DecodeConfig.
func ReadConfig(home string, v any) error {
	p := filepath.Join(home, ConfigFile)
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	if st.Size() > MaxConfigSize {
		return fmt.Errorf("read config: %s is %d bytes", p, st.Size())
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	if err := DecodeConfig(b, v); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}
