package node

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"

	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/home"
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

// Key files (sidecar/home's format) hold one line: a label, a colon, a
// space and the 32-byte private key (the ed25519 seed, the X25519 scalar)
// in standard base64.
const (
	identityLabel = "nyx-node-identity-ed25519"
	sphinxLabel   = "nyx-node-sphinx-x25519"
)

// ErrKeyFile: a key file is malformed or readable by others.
var ErrKeyFile = home.ErrKeyFile

// ParseIdentityKey decodes an identity key file.
func ParseIdentityKey(b []byte) (ed25519.PrivateKey, error) {
	seed, err := home.ParseKey(identityLabel, ed25519.SeedSize, b)
	if err != nil {
		return nil, err
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// ParseSphinxKey decodes a sphinx key file.
func ParseSphinxKey(b []byte) (*sphinx.PrivateKey, error) {
	raw, err := home.ParseKey(sphinxLabel, 32, b)
	if err != nil {
		return nil, err
	}
	return newSphinxKey(raw)
}

func newSphinxKey(raw []byte) (*sphinx.PrivateKey, error) {
	k, err := sphinx.NewPrivateKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFile, err)
	}
	return k, nil
}

// WriteKeys writes the key files into dir with owner-only permissions
// (0600, in a 0700 directory). It refuses to overwrite existing keys. The
// sphinx keys are marked new (ReplayDir), so the node starts them with
// empty replay filters.
func WriteKeys(dir string, k Keys) error {
	for _, sk := range []*sphinx.PrivateKey{k.Sphinx, k.NextSphinx} {
		if sk == nil {
			continue
		}
		if err := markFreshKey(dir, sk.PublicKey()); err != nil {
			return err
		}
	}
	if err := home.WriteKey(filepath.Join(dir, IdentityKeyFile), identityLabel, k.Identity.Seed()); err != nil {
		return err
	}
	if err := home.WriteKey(filepath.Join(dir, SphinxKeyFile), sphinxLabel, k.Sphinx.Bytes()); err != nil {
		return err
	}
	if k.NextSphinx != nil {
		if err := home.WriteKey(filepath.Join(dir, NextSphinxKeyFile), sphinxLabel, k.NextSphinx.Bytes()); err != nil {
			return err
		}
	}
	if k.Account != nil {
		return chaintx.WriteKeyFile(filepath.Join(dir, ChainAccountKeyFile), k.Account)
	}
	return nil
}

func readSphinxKey(dir, rel string) (*sphinx.PrivateKey, error) {
	raw, err := home.ReadKey(filepath.Join(dir, rel), sphinxLabel, 32)
	if err != nil {
		return nil, err
	}
	return newSphinxKey(raw)
}

// LoadKeys reads the key files of home (the next sphinx key if there is
// one). A key file readable or writable by anyone but its owner is refused.
func LoadKeys(dir string) (Keys, error) {
	seed, err := home.ReadKey(filepath.Join(dir, IdentityKeyFile), identityLabel, ed25519.SeedSize)
	if err != nil {
		return Keys{}, err
	}
	sk, err := readSphinxKey(dir, SphinxKeyFile)
	if err != nil {
		return Keys{}, err
	}
	next, err := LoadNextSphinxKey(dir)
	if err != nil {
		return Keys{}, err
	}
	if next != nil && next.Equal(sk) {
		return Keys{}, fmt.Errorf("%w: %s holds the current sphinx key; delete it", ErrKeyFile, NextSphinxKeyFile)
	}
	account, err := chaintx.LoadKeyFile(filepath.Join(dir, ChainAccountKeyFile))
	if errors.Is(err, fs.ErrNotExist) {
		account, err = nil, nil
	}
	if err != nil {
		return Keys{}, fmt.Errorf("%s: %w", ChainAccountKeyFile, err)
	}
	return Keys{Identity: ed25519.NewKeyFromSeed(seed), Sphinx: sk, NextSphinx: next, Account: account}, nil
}

// LoadNextSphinxKey reads dir's next sphinx key: nil (and no error) if
// there is none.
func LoadNextSphinxKey(dir string) (*sphinx.PrivateKey, error) {
	k, err := readSphinxKey(dir, NextSphinxKeyFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return k, err
}

// GenerateNextSphinxKey makes the key that is to replace dir's sphinx key
// and writes it to NextSphinxKeyFile (0600). The owner announces its public
// half on the chain (MsgUpdateNodeConfig's next_sphinx_key); the chain
// switches to it at the next epoch, and a running node follows. It refuses
// to replace a next key that is already waiting.
func GenerateNextSphinxKey(dir string) (*sphinx.PrivateKey, error) {
	if _, err := readSphinxKey(dir, SphinxKeyFile); err != nil {
		return nil, fmt.Errorf("no node here: %w", err)
	}
	p := filepath.Join(dir, NextSphinxKeyFile)
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
	if err := markFreshKey(dir, k.PublicKey()); err != nil {
		return nil, err
	}
	if err := home.WriteKey(p, sphinxLabel, k.Bytes()); err != nil {
		return nil, err
	}
	return k, nil
}

// promoteNextSphinxKey makes dir's next sphinx key its sphinx key: the
// file replaces the old one in a single rename, so the old private key
// leaves the disk (forward secrecy) and a crash leaves either the old pair
// or the new key alone.
func promoteNextSphinxKey(dir string) error {
	cur, next := filepath.Join(dir, SphinxKeyFile), filepath.Join(dir, NextSphinxKeyFile)
	if err := os.Rename(next, cur); err != nil {
		return fmt.Errorf("move %s over %s: %w", next, cur, err)
	}
	return home.SyncDir(filepath.Dir(cur))
}

// Init writes a new home directory: fresh keys and cfg as a documented
// config.toml. It refuses a home that already has a config or keys.
func Init(dir string, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid config: %w", err)
	}
	cfgPath := filepath.Join(dir, ConfigFile)
	if _, err := os.Stat(cfgPath); err == nil {
		return fmt.Errorf("%s exists: this home is already initialised", cfgPath)
	}
	keys, err := GenerateKeys(rand.Reader)
	if err != nil {
		return err
	}
	if err := WriteKeys(dir, keys); err != nil {
		return err
	}
	b, err := cfg.Render()
	if err != nil {
		return fmt.Errorf("render config: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, DataDir), 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	return home.WriteFileOnce(cfgPath, b, 0o600)
}
