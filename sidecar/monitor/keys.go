package monitor

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"

	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/home"
)

// Files of the monitor's home.
const (
	IdentityKeyFile     = "keys/identity_ed25519.key"
	ChainAccountKeyFile = "keys/chain_account.key"
	identityLabel       = "nyx-monitor-identity-ed25519"
)

// Keys are the monitor's keys: the identity it registers with gateways
// under (its test packets are addressed to it) and the chain account that
// signs its reports.
type Keys struct {
	Identity ed25519.PrivateKey
	Account  *secp256k1.PrivKey
}

// Init writes a new home: keys (owner-only) and cfg as a documented
// config.toml. It refuses a home that has a config or keys already.
func Init(dir string, cfg Config) (Keys, error) {
	if err := cfg.Validate(); err != nil {
		return Keys{}, fmt.Errorf("invalid config: %w", err)
	}
	b, err := cfg.Render()
	if err != nil {
		return Keys{}, err
	}
	_, id, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Keys{}, err
	}
	if err := home.WriteKey(filepath.Join(dir, IdentityKeyFile), identityLabel, id.Seed()); err != nil {
		return Keys{}, err
	}
	acct, err := chaintx.GenerateKeyFile(filepath.Join(dir, ChainAccountKeyFile))
	if err != nil {
		return Keys{}, err
	}
	if err := home.WriteFileOnce(filepath.Join(dir, home.ConfigFile), b, 0o600); err != nil {
		return Keys{}, err
	}
	return Keys{Identity: id, Account: acct}, nil
}

// LoadKeys reads the monitor's keys from its home.
func LoadKeys(dir string) (Keys, error) {
	seed, err := home.ReadKey(filepath.Join(dir, IdentityKeyFile), identityLabel, ed25519.SeedSize)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Keys{}, fmt.Errorf("%w (run nym-monitor init first)", err)
		}
		return Keys{}, err
	}
	acct, err := chaintx.LoadKeyFile(filepath.Join(dir, ChainAccountKeyFile))
	if err != nil {
		return Keys{}, err
	}
	return Keys{Identity: ed25519.NewKeyFromSeed(seed), Account: acct}, nil
}
