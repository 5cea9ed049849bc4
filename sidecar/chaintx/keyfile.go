package chaintx

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
)

// keyLabel starts an account key file: the label, a colon, a space and the
// 32-byte secp256k1 private key in hex, on one line.
const keyLabel = "nyx-chain-account-secp256k1"

// ErrKeyFile: an account key file is malformed or readable by others.
var ErrKeyFile = errors.New("chaintx: bad account key file")

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
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create key directory: %w", err)
	}
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write account key: %w", err)
	}
	_, err = fh.WriteString(keyLabel + ": " + hex.EncodeToString(key.Bytes()) + "\n")
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write account key %s: %w", path, err)
	}
	return nil
}

// LoadKeyFile reads an account key file, refusing one that anyone but its
// owner may read or write.
func LoadKeyFile(path string) (*secp256k1.PrivKey, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read account key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has permissions %v; it must be readable by its owner only (chmod 600)", ErrKeyFile, path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read account key: %w", err)
	}
	return ParseKey(b)
}

// ParseKey decodes an account key file's contents.
func ParseKey(b []byte) (*secp256k1.PrivKey, error) {
	b = bytes.TrimSpace(b)
	enc, ok := bytes.CutPrefix(b, []byte(keyLabel+": "))
	if !ok {
		return nil, fmt.Errorf("%w: does not start with %q", ErrKeyFile, keyLabel+":")
	}
	if len(enc) != 2*secp256k1.PrivKeySize {
		return nil, fmt.Errorf("%w: key is not %d bytes in hex", ErrKeyFile, secp256k1.PrivKeySize)
	}
	raw := make([]byte, secp256k1.PrivKeySize)
	if _, err := hex.Decode(raw, enc); err != nil {
		return nil, fmt.Errorf("%w: key is not %d bytes in hex", ErrKeyFile, secp256k1.PrivKeySize)
	}
	if d := new(big.Int).SetBytes(raw); d.Sign() == 0 || d.Cmp(curveOrder) >= 0 {
		return nil, fmt.Errorf("%w: not a valid secp256k1 private key", ErrKeyFile)
	}
	return &secp256k1.PrivKey{Key: raw}, nil
}

// curveOrder is the order of secp256k1's group: a private key is in
// [1, curveOrder).
var curveOrder, _ = new(big.Int).SetString("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141", 16)
