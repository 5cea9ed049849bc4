package node

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/nyx-privacy/nyx/sphinx"
)

// Keys are a node's private keys.
type Keys struct {
	// Identity is the ed25519 identity key: the node's name in routing and
	// client addresses, and the key that signs its bond.
	Identity ed25519.PrivateKey
	// Sphinx is the X25519 key packets are encrypted to.
	Sphinx *sphinx.PrivateKey
}

// IdentityPublic is the identity public key as a 32-byte array.
func (k Keys) IdentityPublic() [32]byte {
	var id [32]byte
	copy(id[:], k.Identity.Public().(ed25519.PublicKey))
	return id
}

// GenerateKeys makes fresh keys from r.
func GenerateKeys(r io.Reader) (Keys, error) {
	_, id, err := ed25519.GenerateKey(r)
	if err != nil {
		return Keys{}, fmt.Errorf("generate identity key: %w", err)
	}
	sk, err := sphinx.GenerateKey(r)
	if err != nil {
		return Keys{}, fmt.Errorf("generate sphinx key: %w", err)
	}
	return Keys{Identity: id, Sphinx: sk}, nil
}

// Key files hold one line: a label, a colon, a space and the 32-byte private
// key (the ed25519 seed, the X25519 scalar) in standard base64.
const (
	identityLabel = "nyx-node-identity-ed25519"
	sphinxLabel   = "nyx-node-sphinx-x25519"
)

// ErrKeyFile: a key file is malformed or readable by others.
var ErrKeyFile = errors.New("node: bad key file")

func encodeKey(label string, key []byte) []byte {
	return []byte(label + ": " + base64.StdEncoding.EncodeToString(key) + "\n")
}

// parseKey decodes a key file's contents.
func parseKey(label string, b []byte) ([]byte, error) {
	b = bytes.TrimSpace(b)
	prefix := []byte(label + ": ")
	if !bytes.HasPrefix(b, prefix) {
		return nil, fmt.Errorf("%w: does not start with %q", ErrKeyFile, label+":")
	}
	enc := b[len(prefix):]
	if len(enc) != base64.StdEncoding.EncodedLen(32) {
		return nil, fmt.Errorf("%w: key is not 32 bytes in base64", ErrKeyFile)
	}
	key := make([]byte, 32)
	if n, err := base64.StdEncoding.Decode(key, enc); err != nil || n != 32 {
		return nil, fmt.Errorf("%w: key is not 32 bytes in base64", ErrKeyFile)
	}
	return key, nil
}

// ParseIdentityKey decodes an identity key file.
func ParseIdentityKey(b []byte) (ed25519.PrivateKey, error) {
	seed, err := parseKey(identityLabel, b)
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// ParseSphinxKey decodes a sphinx key file.
func ParseSphinxKey(b []byte) (*sphinx.PrivateKey, error) {
	raw, err := parseKey(sphinxLabel, b)
	if err != nil {
		return nil, err
	}
	k, err := sphinx.NewPrivateKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	return k, nil
}

// WriteKeys writes the key files into home with owner-only permissions
// (0600, in a 0700 directory). It refuses to overwrite existing keys.
func WriteKeys(home string, k Keys) error {
	files := []struct {
		path string
		data []byte
	}{
		{filepath.Join(home, IdentityKeyFile), encodeKey(identityLabel, k.Identity.Seed())},
		{filepath.Join(home, SphinxKeyFile), encodeKey(sphinxLabel, k.Sphinx.Bytes())},
	}
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
			return fmt.Errorf("create key directory: %w", err)
		}
		fh, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("write key: %w", err)
		}
		_, err = fh.Write(f.data)
		if err == nil {
			err = fh.Sync()
		}
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write key %s: %w", f.path, err)
		}
	}
	return nil
}

// LoadKeys reads the key files of home. A key file readable or writable by
// anyone but its owner is refused.
func LoadKeys(home string) (Keys, error) {
	read := func(rel string) ([]byte, error) {
		p := filepath.Join(home, rel)
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("read key: %w", err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("%w: %s has permissions %v; it must be readable by its owner only (chmod 600)", ErrKeyFile, p, st.Mode().Perm())
		}
		return os.ReadFile(p)
	}
	b, err := read(IdentityKeyFile)
	if err != nil {
		return Keys{}, err
	}
	id, err := ParseIdentityKey(b)
	if err != nil {
		return Keys{}, fmt.Errorf("%s: %w", IdentityKeyFile, err)
	}
	b, err = read(SphinxKeyFile)
	if err != nil {
		return Keys{}, err
	}
	sk, err := ParseSphinxKey(b)
	if err != nil {
		return Keys{}, fmt.Errorf("%s: %w", SphinxKeyFile, err)
	}
	return Keys{Identity: id, Sphinx: sk}, nil
}

// Init writes a new home directory: fresh keys and cfg as a documented
// config.toml. It refuses a home that already has a config or keys.
func Init(home string, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid config: %w", err)
	}
	cfgPath := filepath.Join(home, ConfigFile)
	if _, err := os.Stat(cfgPath); err == nil {
		return fmt.Errorf("%s exists: this home is already initialised", cfgPath)
	}
	keys, err := GenerateKeys(rand.Reader)
	if err != nil {
		return err
	}
	if err := WriteKeys(home, keys); err != nil {
		return err
	}
	b, err := cfg.Render()
	if err != nil {
		return fmt.Errorf("render config: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(cfgPath), 0o700); err != nil {
		return fmt.Errorf("create config directory: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(home, DataDir), 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}
