package types

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/nyx-privacy/nyx/coconut"
)

// IssuerKeyFileName is the file, in a node's config directory beside
// priv_validator_key.json, that holds the validator's share of the issuing key.
const IssuerKeyFileName = "coconut_key.json"

// maxIssuerKeyFile bounds what LoadIssuerKey reads: the file is a few hundred bytes.
const maxIssuerKeyFile = 4096

// IssuerKey is a validator's share of an issuing key: the secret key share,
// the signer index and key id it belongs to, and the consensus address of the
// validator it was dealt to (the key set in genesis maps that address to the
// index). Until the DKG runs on chain, shares come from a trusted dealer at
// genesis (`nyxd init`, `nyxd testnet init-files`): whoever ran the dealer
// saw every share, so this is an interim, single-operator set-up.
type IssuerKey struct {
	KeyID            uint64 `json:"key_id"`
	SignerIndex      uint32 `json:"signer_index"`
	ConsensusAddress []byte `json:"consensus_address"`
	SecretKey        []byte `json:"secret_key"`

	sk *coconut.SecretKey
}

// NewIssuerKey wraps a share for writing.
func NewIssuerKey(keyID uint64, signer uint32, consAddr []byte, sk *coconut.SecretKey) (*IssuerKey, error) {
	b, err := sk.MarshalBinary()
	if err != nil {
		return nil, err
	}
	k := &IssuerKey{KeyID: keyID, SignerIndex: signer, ConsensusAddress: consAddr, SecretKey: b, sk: sk}
	return k, k.check()
}

// Secret returns the decoded secret key share.
func (k *IssuerKey) Secret() *coconut.SecretKey { return k.sk }

func (k *IssuerKey) check() error {
	if k.KeyID == 0 || k.SignerIndex == 0 || k.SignerIndex > coconut.MaxParticipants {
		return fmt.Errorf("key id %d, signer index %d: both must be set", k.KeyID, k.SignerIndex)
	}
	if len(k.ConsensusAddress) != 20 {
		return fmt.Errorf("consensus address of %d bytes, want 20", len(k.ConsensusAddress))
	}
	if len(k.SecretKey) != coconut.SecretKeySize(coconut.BandwidthAttributes) {
		return fmt.Errorf("secret key of %d bytes, want %d", len(k.SecretKey), coconut.SecretKeySize(coconut.BandwidthAttributes))
	}
	sk := new(coconut.SecretKey)
	if err := sk.UnmarshalBinary(k.SecretKey); err != nil {
		return fmt.Errorf("secret key: %w", err)
	}
	k.sk = sk
	return nil
}

// IssuerKeyPath returns the key file's path in a node home.
func IssuerKeyPath(home string) string {
	return filepath.Join(home, "config", IssuerKeyFileName)
}

// Save writes the key file with mode 0600; it refuses to overwrite one.
func (k *IssuerKey) Save(path string) error {
	bz, err := json.MarshalIndent(k, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write issuer key: %w", err)
	}
	if _, err := f.Write(append(bz, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write issuer key %s: %w", path, err)
	}
	return f.Close()
}

// LoadIssuerKey reads and checks a key file.
func LoadIssuerKey(path string) (*IssuerKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("issuer key: %w", err)
	}
	defer f.Close()
	bz, err := io.ReadAll(io.LimitReader(f, maxIssuerKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("issuer key %s: %w", path, err)
	}
	return ParseIssuerKey(bz)
}

// ParseIssuerKey decodes and checks a key file's content.
func ParseIssuerKey(bz []byte) (*IssuerKey, error) {
	if len(bz) > maxIssuerKeyFile {
		return nil, errors.New("issuer key: file larger than 4 KiB")
	}
	dec := json.NewDecoder(bytes.NewReader(bz))
	dec.DisallowUnknownFields()
	var k IssuerKey
	if err := dec.Decode(&k); err != nil {
		return nil, fmt.Errorf("issuer key: %w", err)
	}
	if err := k.check(); err != nil {
		return nil, fmt.Errorf("issuer key: %w", err)
	}
	return &k, nil
}

// MatchKeySet checks that the key file's share is the one ks gives its
// consensus address: same key id, the index ks maps the address to, and a
// secret whose verification key is that index's partial key.
func (k *IssuerKey) MatchKeySet(ks *KeySet) error {
	if ks.KeyId != k.KeyID {
		return fmt.Errorf("issuer key is for key %d, the key set is %d", k.KeyID, ks.KeyId)
	}
	idx, ok := ks.SignerOf(k.ConsensusAddress)
	if !ok || idx != k.SignerIndex {
		return fmt.Errorf("key %d does not give consensus address %X signer index %d", ks.KeyId, k.ConsensusAddress, k.SignerIndex)
	}
	pk, _ := ks.PartialKeyOf(idx)
	vk, err := DecodeVerificationKey(pk.VerificationKey, true)
	if err != nil {
		return err
	}
	if !vk.Equal(k.sk.VerificationKey()) {
		return fmt.Errorf("issuer key's secret is not signer %d's share of key %d", idx, ks.KeyId)
	}
	return nil
}

// DealKeySet plays the trusted dealer for a genesis: it shares a fresh issuing
// key among the validators with these consensus addresses with threshold
// ceil(2n/3) and returns the key set for genesis and each validator's key file
// (signer index i+1 for consAddrs[i]). The dealer sees every share: an interim
// for single-operator networks until the on-chain DKG issues keys.
func DealKeySet(rng io.Reader, keyID uint64, consAddrs [][]byte) (KeySet, []*IssuerKey, error) {
	n := len(consAddrs)
	t := (2*n + 2) / 3
	p := CredentialParams()
	sks, err := coconut.TTPKeyGen(rng, p, t, n)
	if err != nil {
		return KeySet{}, nil, err
	}
	ks := KeySet{KeyId: keyID, Threshold: uint32(t)}
	vks := make([]*coconut.VerificationKey, n)
	idx := make([]uint64, n)
	files := make([]*IssuerKey, n)
	for i, sk := range sks {
		vks[i], idx[i] = sk.VerificationKey(), uint64(i+1)
		b, err := vks[i].MarshalBinary()
		if err != nil {
			return KeySet{}, nil, err
		}
		ks.PartialKeys = append(ks.PartialKeys, PartialKey{SignerIndex: uint32(i + 1), VerificationKey: b, ConsensusAddress: consAddrs[i]})
		if files[i], err = NewIssuerKey(keyID, uint32(i+1), consAddrs[i], sk); err != nil {
			return KeySet{}, nil, err
		}
	}
	master, err := coconut.AggregateVerificationKeys(vks[:t], idx[:t])
	if err != nil {
		return KeySet{}, nil, err
	}
	if ks.MasterKey, err = master.MarshalBinary(); err != nil {
		return KeySet{}, nil, err
	}
	return ks, files, nil
}
