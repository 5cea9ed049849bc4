package node

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"

	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sphinx"
)

// Keys are a node's private keys.
type Keys struct {
	// Identity is the ed25519 identity key: the node's name in routing and
	// client addresses, and the key that signs its bond.
	Identity ed25519.PrivateKey
	// Sphinx is the X25519 key packets are encrypted to.
	Sphinx *sphinx.PrivateKey
	// NextSphinx, if not nil, is the key made to replace Sphinx at a
	// rotation (NextSphinxKeyFile), not yet in use on the chain.
	NextSphinx *sphinx.PrivateKey
	// Account is the chain account key (ChainAccountKeyFile) the node pays
	// its own transactions with (announcing its next sphinx key); nil in a
	// home made before there was one (Start then makes it).
	Account *secp256k1.PrivKey
}

// ChainAccountKeyFile holds the node's chain account key (secp256k1, see
// sidecar/chaintx): its operator funds the account's address.
const ChainAccountKeyFile = "keys/chain_account.key"

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
	return Keys{Identity: id, Sphinx: sk, Account: secp256k1.GenPrivKey()}, nil
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
// (0600, in a 0700 directory). It refuses to overwrite existing keys. The
// sphinx keys are marked new (ReplayDir), so the node starts them with
// empty replay filters.
func WriteKeys(home string, k Keys) error {
	for _, sk := range []*sphinx.PrivateKey{k.Sphinx, k.NextSphinx} {
		if sk == nil {
			continue
		}
		if err := markFreshKey(home, sk.PublicKey()); err != nil {
			return err
		}
	}
	if err := writeKeyFile(filepath.Join(home, IdentityKeyFile), encodeKey(identityLabel, k.Identity.Seed())); err != nil {
		return err
	}
	if err := writeKeyFile(filepath.Join(home, SphinxKeyFile), encodeKey(sphinxLabel, k.Sphinx.Bytes())); err != nil {
		return err
	}
	if k.NextSphinx != nil {
		if err := writeKeyFile(filepath.Join(home, NextSphinxKeyFile), encodeKey(sphinxLabel, k.NextSphinx.Bytes())); err != nil {
			return err
		}
	}
	if k.Account != nil {
		return chaintx.WriteKeyFile(filepath.Join(home, ChainAccountKeyFile), k.Account)
	}
	return nil
}

// writeKeyFile creates path (0600, in a 0700 directory) with data, synced,
// and refuses to overwrite an existing file.
func writeKeyFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create key directory: %w", err)
	}
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write key: %w", err)
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
		return fmt.Errorf("write key %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// syncDir makes a directory's entries (a created or renamed file) durable.
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

// readKeyFile reads home's key file rel, refusing one that anyone but its
// owner may read or write.
func readKeyFile(home, rel string) ([]byte, error) {
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

// LoadKeys reads the key files of home (the next sphinx key if there is
// one). A key file readable or writable by anyone but its owner is refused.
func LoadKeys(home string) (Keys, error) {
	b, err := readKeyFile(home, IdentityKeyFile)
	if err != nil {
		return Keys{}, err
	}
	id, err := ParseIdentityKey(b)
	if err != nil {
		return Keys{}, fmt.Errorf("%s: %w", IdentityKeyFile, err)
	}
	b, err = readKeyFile(home, SphinxKeyFile)
	if err != nil {
		return Keys{}, err
	}
	sk, err := ParseSphinxKey(b)
	if err != nil {
		return Keys{}, fmt.Errorf("%s: %w", SphinxKeyFile, err)
	}
	next, err := LoadNextSphinxKey(home)
	if err != nil {
		return Keys{}, err
	}
	if next != nil && next.Equal(sk) {
		return Keys{}, fmt.Errorf("%w: %s holds the current sphinx key; delete it", ErrKeyFile, NextSphinxKeyFile)
	}
	account, err := chaintx.LoadKeyFile(filepath.Join(home, ChainAccountKeyFile))
	if errors.Is(err, fs.ErrNotExist) {
		account, err = nil, nil
	}
	if err != nil {
		return Keys{}, fmt.Errorf("%s: %w", ChainAccountKeyFile, err)
	}
	return Keys{Identity: id, Sphinx: sk, NextSphinx: next, Account: account}, nil
}

// LoadNextSphinxKey reads home's next sphinx key: nil (and no error) if
// there is none.
func LoadNextSphinxKey(home string) (*sphinx.PrivateKey, error) {
	b, err := readKeyFile(home, NextSphinxKeyFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	k, err := ParseSphinxKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", NextSphinxKeyFile, err)
	}
	return k, nil
}

// GenerateNextSphinxKey makes the key that is to replace home's sphinx key
// and writes it to NextSphinxKeyFile (0600). The owner announces its public
// half on the chain (MsgUpdateNodeConfig's next_sphinx_key); the chain
// switches to it at the next epoch, and a running node follows. It refuses
// to replace a next key that is already waiting.
func GenerateNextSphinxKey(home string) (*sphinx.PrivateKey, error) {
	if _, err := readKeyFile(home, SphinxKeyFile); err != nil {
		return nil, fmt.Errorf("no node here: %w", err)
	}
	p := filepath.Join(home, NextSphinxKeyFile)
	if _, err := os.Stat(p); err == nil {
		return nil, fmt.Errorf("a next sphinx key is already waiting in %s: announce it, or delete the file to make another", p)
	}
	k, err := sphinx.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate sphinx key: %w", err)
	}
	// The mark goes first: a running node takes the key up as soon as its
	// file appears, and without the mark it would take it for a used key
	// whose replay filter was lost.
	if err := markFreshKey(home, k.PublicKey()); err != nil {
		return nil, err
	}
	if err := writeKeyFile(p, encodeKey(sphinxLabel, k.Bytes())); err != nil {
		return nil, err
	}
	return k, nil
}

// promoteNextSphinxKey makes home's next sphinx key its sphinx key: the
// file replaces the old one in a single rename, so the old private key
// leaves the disk (forward secrecy) and a crash leaves either the old pair
// or the new key alone.
func promoteNextSphinxKey(home string) error {
	cur, next := filepath.Join(home, SphinxKeyFile), filepath.Join(home, NextSphinxKeyFile)
	if err := os.Rename(next, cur); err != nil {
		return fmt.Errorf("move %s over %s: %w", next, cur, err)
	}
	return syncDir(filepath.Dir(cur))
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
