package client

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
)

// Key file names in a client's home directory. Each holds one key in hex
// and is readable only by its owner.
const (
	IdentityKeyFile   = "identity.key"   // ed25519 seed (32 bytes)
	EncryptionKeyFile = "encryption.key" // X25519 private key (32 bytes)
	GatewayKeyFile    = "gateway_shared.key"
)

// Keys are a client's long-term keys: the identity (ed25519) names it to
// its gateway and in its address; the encryption key (X25519) is what
// senders seal messages to.
type Keys struct {
	Identity   ed25519.PrivateKey
	Encryption *ecdh.PrivateKey
}

// GenerateKeys makes new keys from rand.
func GenerateKeys(rand io.Reader) (*Keys, error) {
	_, id, err := ed25519.GenerateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("generate identity key: %w", err)
	}
	enc, err := ecdh.X25519().GenerateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("generate encryption key: %w", err)
	}
	return &Keys{Identity: id, Encryption: enc}, nil
}

// IdentityPublic returns the 32-byte identity public key.
func (k *Keys) IdentityPublic() [32]byte {
	return [32]byte(k.Identity.Public().(ed25519.PublicKey))
}

// Address returns the client's address at the gateway with identity gw.
func (k *Keys) Address(gw [32]byte) Address {
	return Address{Identity: k.IdentityPublic(), Encryption: [32]byte(k.Encryption.PublicKey().Bytes()), Gateway: gw}
}

// Save writes the keys into dir (created owner-only if missing). It refuses
// to overwrite existing key files.
func (k *Keys) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create key directory: %w", err)
	}
	if err := writeKeyFile(filepath.Join(dir, IdentityKeyFile), k.Identity.Seed()); err != nil {
		return err
	}
	return writeKeyFile(filepath.Join(dir, EncryptionKeyFile), k.Encryption.Bytes())
}

// LoadKeys reads the keys Save wrote.
func LoadKeys(dir string) (*Keys, error) {
	seed, err := readKeyFile(filepath.Join(dir, IdentityKeyFile), ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	encb, err := readKeyFile(filepath.Join(dir, EncryptionKeyFile), 32)
	if err != nil {
		return nil, err
	}
	enc, err := ecdh.X25519().NewPrivateKey(encb)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	return &Keys{Identity: ed25519.NewKeyFromSeed(seed), Encryption: enc}, nil
}

// SaveSharedKey writes the key of the registration with the client's
// gateway into dir (replacing an earlier one).
func SaveSharedKey(dir string, k gatewayproto.SharedKey) error {
	path := filepath.Join(dir, GatewayKeyFile)
	os.Remove(path)
	return writeKeyFile(path, k[:])
}

// LoadSharedKey reads the key SaveSharedKey wrote.
func LoadSharedKey(dir string) (gatewayproto.SharedKey, error) {
	b, err := readKeyFile(filepath.Join(dir, GatewayKeyFile), gatewayproto.SharedKeySize)
	return gatewayproto.SharedKey(b), err
}

func writeKeyFile(path string, key []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	if err2 := f.Sync(); err == nil {
		err = err2
	}
	if err2 := f.Close(); err == nil {
		err = err2
	}
	if err != nil {
		return fmt.Errorf("write key file %s: %w", path, err)
	}
	return nil
}

// readKeyFile reads a hex key of size bytes, refusing a file others can
// read.
func readKeyFile(path string, size int) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s has mode %v: others may read it (chmod 600)", path, st.Mode().Perm())
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(b) != size {
		return nil, fmt.Errorf("key file %s: want %d bytes in hex", path, size)
	}
	if allZero(b) {
		return nil, errors.New("key file " + path + " holds an all-zero key")
	}
	return b, nil
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
