package client

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"fmt"
	"io"
	"path/filepath"

	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	"github.com/nyx-privacy/nyx/sidecar/home"
)

// Key file names in a client's home directory. Each holds one key in
// sidecar/home's format (a label and the key in base64; homes written
// before it, with the key alone in hex, still read) and is readable only by
// its owner.
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

// Labels of the key files.
const (
	identityLabel   = "nyx-client-identity-ed25519"
	encryptionLabel = "nyx-client-encryption-x25519"
	gatewayLabel    = "nyx-client-gateway-shared"
)

// Save writes the keys into dir (created owner-only if missing). It refuses
// to overwrite existing key files.
func (k *Keys) Save(dir string) error {
	if err := home.WriteKey(filepath.Join(dir, IdentityKeyFile), identityLabel, k.Identity.Seed()); err != nil {
		return err
	}
	return home.WriteKey(filepath.Join(dir, EncryptionKeyFile), encryptionLabel, k.Encryption.Bytes())
}

// LoadKeys reads the keys Save wrote.
func LoadKeys(dir string) (*Keys, error) {
	seed, err := home.ReadKey(filepath.Join(dir, IdentityKeyFile), identityLabel, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	encb, err := home.ReadKey(filepath.Join(dir, EncryptionKeyFile), encryptionLabel, 32)
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
// gateway into dir, replacing an earlier one whole.
func SaveSharedKey(dir string, k gatewayproto.SharedKey) error {
	return home.ReplaceKey(filepath.Join(dir, GatewayKeyFile), gatewayLabel, k[:])
}

// LoadSharedKey reads the key SaveSharedKey wrote.
func LoadSharedKey(dir string) (gatewayproto.SharedKey, error) {
	b, err := home.ReadKey(filepath.Join(dir, GatewayKeyFile), gatewayLabel, gatewayproto.SharedKeySize)
	if err != nil {
		return gatewayproto.SharedKey{}, err
	}
	return gatewayproto.SharedKey(b), nil
}
