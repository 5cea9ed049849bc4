// Package home is what every Nyx daemon (nym-node, nym-client, nym-monitor)
// keeps in its home directory and how it reads it, written once for all:
//
//   - one layout: config/config.toml, keys/, data/;
//   - one key file format (EncodeKey, ParseKey): a label and the key in
//     base64 on one line, created 0600 in a 0700 directory, fsynced with
//     its directory entry, never overwritten (WriteKey, WriteFileOnce; a
//     registration's key is replaced whole, ReplaceKey), and refused when
//     others may read it (ReadKey). The hex key files of homes written
//     before the daemons shared this format still read;
//   - strict TOML config loading (DecodeConfig, ReadConfig): an unknown
//     key is an error, a missing one keeps its default. Component configs
//     (mixnode.Config, gateway.Config, the client's SenderConfig) carry
//     their own TOML tags, durations as sidecar/tomltime's, and each
//     daemon's init writes every default out with a comment;
//   - the [log] section and the slog logger it describes (LogSection);
//   - the HTTP server (HTTPServer, HTTPLimits, Routes): /metrics, /health
//     and a daemon's own routes, request timeouts, and bounds on pending
//     connections in all and per source (SourceKey), net/http's error log
//     rate-limited;
//   - the command line's habits, cosmos/cometbft's (CLI): --home, else
//     $<PREFIX>_HOME, else ~/.<daemon> (Dir); every flag also from
//     $<PREFIX>_<FLAG>; --grpc-addr with --grpc as a deprecated alias
//     (GRPCFlag); --output text|json on the commands that print (Print).
package home

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
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

// MaxKeyFileSize bounds a key file: it is read whole.
const MaxKeyFileSize = 4096

// EncodeKey is a key file's contents: label, a colon, a space and the key
// in standard base64, one line.
func EncodeKey(label string, key []byte) []byte {
	return []byte(label + ": " + base64.StdEncoding.EncodeToString(key) + "\n")
}

// ParseKey decodes a key file's contents, which must carry label and a
// key of size bytes. It also reads the key files of homes written before
// every daemon shared this format: the key in hex after the label
// (chain account keys) or alone (nym-client's keys). Base64 and hex of the
// same key differ in length, so the two cannot be taken for each other.
// An all-zero key is refused: no generator makes one, a zeroed file does.
func ParseKey(label string, size int, b []byte) ([]byte, error) {
	b = bytes.TrimSpace(b)
	enc, labelled := bytes.CutPrefix(b, []byte(label+": "))
	var k []byte
	var err error
	switch {
	case labelled && len(enc) == base64.StdEncoding.EncodedLen(size):
		k, err = base64.StdEncoding.DecodeString(string(enc))
	case len(enc) == hex.EncodedLen(size):
		k, err = hex.DecodeString(string(enc))
	case !labelled:
		return nil, fmt.Errorf("%w: does not start with %q", ErrKeyFile, label+":")
	default:
		return nil, fmt.Errorf("%w: key is not %d bytes in base64", ErrKeyFile, size)
	}
	if err != nil || len(k) != size {
		return nil, fmt.Errorf("%w: key is not %d bytes in base64", ErrKeyFile, size)
	}
	if allZero(k) {
		return nil, fmt.Errorf("%w: an all-zero key", ErrKeyFile)
	}
	return k, nil
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// WriteKey creates the key file path (0600, in a 0700 directory) holding
// key under label, synced with its directory entry. It refuses to
// overwrite a file: a key once made is the daemon's name.
func WriteKey(path, label string, key []byte) error {
	return WriteFileOnce(path, EncodeKey(label, key), 0o600)
}

// ReplaceKey writes the key file path as WriteKey does, replacing the one
// there in a single rename, so a crash leaves the old key or the new one.
// Only for keys that are not a daemon's name (a registration's key).
func ReplaceKey(path, label string, key []byte) error {
	tmp := path + ".new"
	os.Remove(tmp)
	if err := WriteKey(tmp, label, key); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return SyncDir(filepath.Dir(path))
}

// ReadKey reads the key file path (as ParseKey), refusing one that anyone
// but its owner may read or write.
func ReadKey(path, label string, size int) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has permissions %v: others may read or write it; it must be readable by its owner only (chmod 600)", ErrKeyFile, path, st.Mode().Perm())
	}
	if st.Size() > MaxKeyFileSize {
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
// needed, synced with its directory entry, and refuses to overwrite an
// existing file.
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
	return SyncDir(dir)
}

// SyncDir makes a directory's entries (a created or renamed file) durable.
func SyncDir(dir string) error {
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
