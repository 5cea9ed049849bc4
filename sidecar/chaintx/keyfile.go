package chaintx

import (
	"fmt"
	"math/big"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"

	"github.com/nyx-privacy/nyx/sidecar/home"
)

// keyLabel starts an account key file (sidecar/home's format): the label, a
// colon, a space and the 32-byte secp256k1 private key in base64, on one
// line. Files written before that format, with the key in hex, still read.
const keyLabel = "nyx-chain-account-secp256k1"

// ErrKeyFile: an account key file is malformed or readable by others.
var ErrKeyFile = home.ErrKeyFile

// GenerateKeyFile makes a fresh account key and writes it to path (see
// WriteKeyFile).
func GenerateKeyFile(path string) (*secp256k1.PrivKey, error) {
	key := secp256k1.GenPrivKey()
	if err := WriteKeyFile(path, key); err != nil {
		return nil, err
	}
	return key, nil
}

// WriteKeyFile writes key to path (0600, in a 0700 directory, synced). It
// refuses to overwrite a file.
func WriteKeyFile(path string, key *secp256k1.PrivKey) error {
	if err := home.WriteKey(path, keyLabel, key.Bytes()); err != nil {
		return fmt.Errorf("write account key: %w", err)
	}
	return nil
}

// LoadKeyFile reads an account key file, refusing one that anyone but its
// owner may read or write.
func LoadKeyFile(path string) (*secp256k1.PrivKey, error) {
	raw, err := home.ReadKey(path, keyLabel, secp256k1.PrivKeySize)
	if err != nil {
		return nil, err
	}
	return newKey(raw)
}

// ParseKey decodes an account key file's contents.
func ParseKey(b []byte) (*secp256k1.PrivKey, error) {
	raw, err := home.ParseKey(keyLabel, secp256k1.PrivKeySize, b)
	if err != nil {
		return nil, err
	}
	return newKey(raw)
}

func newKey(raw []byte) (*secp256k1.PrivKey, error) {
	if d := new(big.Int).SetBytes(raw); d.Sign() == 0 || d.Cmp(curveOrder) >= 0 {
		return nil, fmt.Errorf("%w: not a valid secp256k1 private key", ErrKeyFile)
	}
	return &secp256k1.PrivKey{Key: raw}, nil
}

// curveOrder is the order of secp256k1's group: a private key is in
// [1, curveOrder).
var curveOrder, _ = new(big.Int).SetString("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", 16)
