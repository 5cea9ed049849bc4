package types

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/nyx-privacy/nyx/coconut"
)

// IssuerKeyFileName is the file, in a node's config directory beside
// priv_validator_key.json, that holds the validator's share of the issuing key.
const IssuerKeyFileName = "coconut_key.json"

// maxIssuerKeyFile bounds what LoadIssuerKeys reads: a share takes about
// 400 bytes of JSON, and a file holds at most MaxIssuerKeys of them.
const maxIssuerKeyFile = 16 << 10

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

// Save writes a key file holding k alone with mode 0600; it refuses to
// overwrite one.
func (k *IssuerKey) Save(path string) error {
	return writeKeyFile(path, &IssuerKeys{Keys: []*IssuerKey{k}}, false)
}

// IssuerKeys is the content of coconut_key.json: the validator's shares, one
// per key id, in increasing key id order. A share from the genesis dealer and
// the shares the DKG rounds gave it live side by side, so the validator keeps
// signing the requests under a replaced key while they are pending.
type IssuerKeys struct {
	Keys []*IssuerKey `json:"keys"`
}

// MaxIssuerKeys bounds the shares one key file holds: the current key and
// the replaced ones still in their grace period.
const MaxIssuerKeys = 8

// Get returns the share of key id, or nil.
func (ks *IssuerKeys) Get(id uint64) *IssuerKey {
	for _, k := range ks.Keys {
		if k.KeyID == id {
			return k
		}
	}
	return nil
}

// With returns the set with k added (replacing a share of the same key id)
// and, beyond MaxIssuerKeys, the oldest keys dropped.
func (ks *IssuerKeys) With(k *IssuerKey) *IssuerKeys {
	out := &IssuerKeys{}
	for _, old := range ks.Keys {
		if old.KeyID != k.KeyID {
			out.Keys = append(out.Keys, old)
		}
	}
	out.Keys = append(out.Keys, k)
	sort.Slice(out.Keys, func(i, j int) bool { return out.Keys[i].KeyID < out.Keys[j].KeyID })
	if len(out.Keys) > MaxIssuerKeys {
		out.Keys = out.Keys[len(out.Keys)-MaxIssuerKeys:]
	}
	return out
}

// Replace writes the key file with mode 0600, replacing the one at path
// atomically (a crash leaves the old file or the new one, never half).
func (ks *IssuerKeys) Replace(path string) error { return writeKeyFile(path, ks, true) }

func writeKeyFile(path string, v any, replace bool) error {
	bz, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	bz = append(bz, '\n')
	if !replace {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("write key file: %w", err)
		}
		if _, err := f.Write(bz); err != nil {
			f.Close()
			return fmt.Errorf("write key file %s: %w", path, err)
		}
		return f.Close()
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write key file %s: %w", path, err)
	}
	if _, err := f.Write(bz); err != nil {
		f.Close()
		return fmt.Errorf("write key file %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write key file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write key file %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write key file %s: %w", path, err)
	}
	return nil
}

func readKeyFile(path string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	bz, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return bz, nil
}

// LoadIssuerKeys reads and checks a key file.
func LoadIssuerKeys(path string) (*IssuerKeys, error) {
	bz, err := readKeyFile(path, maxIssuerKeyFile)
	if err != nil {
		return nil, fmt.Errorf("issuer key: %w", err)
	}
	return ParseIssuerKeys(bz)
}

// ParseIssuerKeys decodes and checks a key file's content: 1 to
// MaxIssuerKeys shares in strictly increasing key id order, all for the same
// consensus address.
func ParseIssuerKeys(bz []byte) (*IssuerKeys, error) {
	if len(bz) > maxIssuerKeyFile {
		return nil, fmt.Errorf("issuer key: file larger than %d bytes", maxIssuerKeyFile)
	}
	dec := json.NewDecoder(bytes.NewReader(bz))
	dec.DisallowUnknownFields()
	var ks IssuerKeys
	if err := dec.Decode(&ks); err != nil {
		return nil, fmt.Errorf("issuer key: %w", err)
	}
	if dec.More() {
		return nil, errors.New("issuer key: data after the key file")
	}
	if len(ks.Keys) == 0 || len(ks.Keys) > MaxIssuerKeys {
		return nil, fmt.Errorf("issuer key: %d keys, want 1..%d", len(ks.Keys), MaxIssuerKeys)
	}
	for i, k := range ks.Keys {
		if k == nil {
			return nil, fmt.Errorf("issuer key: key %d is null", i)
		}
		if err := k.check(); err != nil {
			return nil, fmt.Errorf("issuer key %d: %w", k.KeyID, err)
		}
		if i > 0 && k.KeyID <= ks.Keys[i-1].KeyID {
			return nil, fmt.Errorf("issuer key: key ids not strictly increasing at %d", k.KeyID)
		}
		if !bytes.Equal(k.ConsensusAddress, ks.Keys[0].ConsensusAddress) {
			return nil, fmt.Errorf("issuer key %d: for another consensus address", k.KeyID)
		}
	}
	return &ks, nil
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
