package types

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/nyx-privacy/nyx/coconut"
)

// DKGKeyFileName is the file, in a node's config directory beside
// coconut_key.json, that holds the validator's DKG key: the key pair the
// dealers of a DKG round encrypt its shares to. It is not an issuing key; it
// lets the validator receive one.
const DKGKeyFileName = "coconut_dkg_key.json"

// maxDKGKeyFile bounds what LoadDKGKey reads: the file is about 150 bytes.
const maxDKGKeyFile = 1024

// DKGKey is a validator's DKG key and the consensus address it takes part in
// the DKG with (the address whose vote extensions carry its DKG messages).
type DKGKey struct {
	ConsensusAddress []byte `json:"consensus_address"`
	SecretKey        []byte `json:"secret_key"`

	key *coconut.ParticipantKey
}

// NewDKGKey wraps a DKG key for writing.
func NewDKGKey(consAddr []byte, key *coconut.ParticipantKey) (*DKGKey, error) {
	b, err := key.MarshalBinary()
	if err != nil {
		return nil, err
	}
	k := &DKGKey{ConsensusAddress: consAddr, SecretKey: b}
	return k, k.check()
}

// GenerateDKGKey draws a fresh DKG key for the validator with consAddr.
func GenerateDKGKey(rng io.Reader, consAddr []byte) (*DKGKey, error) {
	key, err := coconut.NewParticipantKey(rng)
	if err != nil {
		return nil, err
	}
	return NewDKGKey(consAddr, key)
}

// Key returns the decoded key pair.
func (k *DKGKey) Key() *coconut.ParticipantKey { return k.key }

func (k *DKGKey) check() error {
	if len(k.ConsensusAddress) != 20 {
		return fmt.Errorf("consensus address of %d bytes, want 20", len(k.ConsensusAddress))
	}
	key := new(coconut.ParticipantKey)
	if err := key.UnmarshalBinary(k.SecretKey); err != nil {
		return err
	}
	k.key = key
	return nil
}

// DKGKeyPath returns the DKG key file's path in a node home.
func DKGKeyPath(home string) string {
	return filepath.Join(home, "config", DKGKeyFileName)
}

// Save writes the key file with mode 0600; it refuses to overwrite one.
func (k *DKGKey) Save(path string) error { return writeKeyFile(path, k, false) }

// LoadDKGKey reads and checks a DKG key file.
func LoadDKGKey(path string) (*DKGKey, error) {
	bz, err := readKeyFile(path, maxDKGKeyFile)
	if err != nil {
		return nil, fmt.Errorf("DKG key: %w", err)
	}
	return ParseDKGKey(bz)
}

// ParseDKGKey decodes and checks a DKG key file's content.
func ParseDKGKey(bz []byte) (*DKGKey, error) {
	if len(bz) > maxDKGKeyFile {
		return nil, fmt.Errorf("DKG key: file larger than %d bytes", maxDKGKeyFile)
	}
	dec := json.NewDecoder(bytes.NewReader(bz))
	dec.DisallowUnknownFields()
	var k DKGKey
	if err := dec.Decode(&k); err != nil {
		return nil, fmt.Errorf("DKG key: %w", err)
	}
	if dec.More() {
		return nil, errors.New("DKG key: data after the key file")
	}
	if err := k.check(); err != nil {
		return nil, fmt.Errorf("DKG key: %w", err)
	}
	return &k, nil
}
