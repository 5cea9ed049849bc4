// Package clientcred is the client's side of bandwidth credentials: buying
// one through the chain (a deposit signed with the client's chain key, the
// validators' partial signatures unblinded, aggregated and verified against
// the chain's master key), keeping the credentials in the client's home
// (one file each, 0600, fsynced before Buy returns), listing them, and
// showing one to a gateway, bound to the chain, the gateway's operator,
// its identity and its nonce (gatewayclient.Bandwidth).
//
// The credential's private binding attribute is derived from the client's
// identity key, so only the holder of that key could have asked for it.
// What a gateway learns from a show: the credential's value and type and
// its spend tag, nothing that links it to the deposit or to another show.
package clientcred

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
)

// Dir is the wallet's directory in a client's home.
const Dir = "credentials"

// maxRecordSize bounds what is read from a credential file.
const maxRecordSize = 16 << 10

// Record states.
const (
	// StatePending: the deposit may have been paid; the credential is not
	// assembled yet (Resume finishes it).
	StatePending = "pending"
	// StateReady: assembled and verified, not shown yet.
	StateReady = "ready"
)

// Record is one credential as kept on disk.
type Record struct {
	Version   int       `json:"version"`
	State     string    `json:"state"`
	ChainID   string    `json:"chain_id"`
	RequestID uint64    `json:"request_id,omitempty"`
	KeyID     uint64    `json:"key_id,omitempty"`
	Value     uint64    `json:"value"`
	Type      string    `json:"type"`
	Deposit   string    `json:"deposit"`
	Secrets   string    `json:"secrets"`              // hex of coconut.BlindSignSecrets
	Signature string    `json:"signature,omitempty"`  // hex of the aggregated coconut.Signature
	MasterKey string    `json:"master_key,omitempty"` // hex of the key it verifies under
	Created   time.Time `json:"created"`

	name string
}

// Name is the record's file name in the wallet.
func (r *Record) Name() string { return r.name }

// ParseRecord decodes and checks a credential file.
func ParseRecord(b []byte) (*Record, error) {
	if len(b) > maxRecordSize {
		return nil, fmt.Errorf("credential file of %d bytes", len(b))
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("credential file: %w", err)
	}
	if r.Version != 1 {
		return nil, fmt.Errorf("credential file version %d", r.Version)
	}
	if _, err := r.secrets(); err != nil {
		return nil, err
	}
	switch r.State {
	case StatePending:
	case StateReady:
		if _, err := r.credential(); err != nil {
			return nil, err
		}
		if _, err := r.masterKey(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("credential file state %q", r.State)
	}
	return &r, nil
}

func (r *Record) secrets() (*coconut.BlindSignSecrets, error) {
	bz, err := hex.DecodeString(r.Secrets)
	if err != nil {
		return nil, fmt.Errorf("credential secrets: %w", err)
	}
	s := new(coconut.BlindSignSecrets)
	if err := s.UnmarshalBinary(bz); err != nil {
		return nil, fmt.Errorf("credential secrets: %w", err)
	}
	if len(s.Attributes()) != coconut.BandwidthAttributes {
		return nil, fmt.Errorf("credential secrets of %d attributes", len(s.Attributes()))
	}
	return s, nil
}

func (r *Record) credential() (*coconut.Signature, error) {
	bz, err := hex.DecodeString(r.Signature)
	if err != nil {
		return nil, fmt.Errorf("credential signature: %w", err)
	}
	s := new(coconut.Signature)
	if err := s.UnmarshalBinary(bz); err != nil {
		return nil, fmt.Errorf("credential signature: %w", err)
	}
	return s, nil
}

func (r *Record) masterKey() (*coconut.VerificationKey, error) {
	bz, err := hex.DecodeString(r.MasterKey)
	if err != nil {
		return nil, fmt.Errorf("credential master key: %w", err)
	}
	return coconuttypes.DecodeVerificationKey(bz, false)
}

// Wallet is the credentials in one client's home.
type Wallet struct {
	dir      string
	identity ed25519.PrivateKey

	mu        sync.Mutex
	presented map[string]bool // shown and not answered yet
}

// Open opens (creating) the wallet in home for the client's identity key.
func Open(home string, identity ed25519.PrivateKey) (*Wallet, error) {
	dir := filepath.Join(home, Dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("credential wallet: %w", err)
	}
	return &Wallet{dir: dir, identity: identity, presented: map[string]bool{}}, nil
}

// Binding is the private attribute that ties a credential to the client's
// identity key: a hash of the key's seed, which only its holder knows.
func Binding(identity ed25519.PrivateKey) coconut.Scalar {
	return coconut.HashToScalar(append([]byte("nyx-credential-binding-v1"), identity.Seed()...))
}

// List returns the wallet's credentials, oldest first. Files that do not
// parse are skipped and reported in bad.
func (w *Wallet) List() (recs []*Record, bad []string, err error) {
	ents, err := os.ReadDir(w.dir)
	if err != nil {
		return nil, nil, fmt.Errorf("credential wallet: %w", err)
	}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		r, err := w.read(e.Name())
		if err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", e.Name(), err))
			continue
		}
		recs = append(recs, r)
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].name < recs[j].name })
	return recs, bad, nil
}

func (w *Wallet) read(name string) (*Record, error) {
	f, err := os.Open(filepath.Join(w.dir, name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRecordSize+1))
	if err != nil {
		return nil, err
	}
	r, err := ParseRecord(b)
	if err != nil {
		return nil, err
	}
	r.name = name
	return r, nil
}

// Balance is the value of the ready credentials, in bytes.
func (w *Wallet) Balance() (uint64, int, error) {
	recs, _, err := w.List()
	var sum uint64
	n := 0
	for _, r := range recs {
		if r.State == StateReady {
			sum += r.Value
			n++
		}
	}
	return sum, n, err
}

// save writes r durably: a temporary file fsynced, renamed over the
// record, and the directory fsynced.
func (w *Wallet) save(r *Record) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(w.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("save credential: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("save credential: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save credential: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(w.dir, r.name)); err != nil {
		return fmt.Errorf("save credential: %w", err)
	}
	return syncDir(w.dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (w *Wallet) remove(name string) error {
	if err := os.Remove(filepath.Join(w.dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return syncDir(w.dir)
}

// Show implements gatewayclient.Bandwidth: it proves the oldest ready
// credential that is not being presented, bound to the credential's chain,
// the gateway's operator and identity, and the gateway's nonce.
func (w *Wallet) Show(gateway [gatewayproto.IdentitySize]byte, operator string, nonce [gatewayproto.CredentialNonceSize]byte) (string, []byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	recs, _, err := w.List()
	if err != nil {
		return "", nil, err
	}
	for _, r := range recs {
		if r.State != StateReady || w.presented[r.name] {
			continue
		}
		theta, err := r.Show(operator, gateway[:], nonce[:])
		if err != nil {
			return "", nil, fmt.Errorf("show credential %s: %w", r.name, err)
		}
		w.presented[r.name] = true
		return r.name, theta, nil
	}
	return "", nil, errors.New("no credential left in the wallet: buy one with 'nym-client credential buy'")
}

// Show proves r bound to the spend context of its chain, operator, gateway
// and nonce.
func (r *Record) Show(operator string, gateway, nonce []byte) ([]byte, error) {
	sec, err := r.secrets()
	if err != nil {
		return nil, err
	}
	cred, err := r.credential()
	if err != nil {
		return nil, err
	}
	vk, err := r.masterKey()
	if err != nil {
		return nil, err
	}
	th, err := coconut.Prove(rand.Reader, coconuttypes.CredentialParams(), vk, cred, sec.Attributes(), coconut.BandwidthShowSpec,
		coconuttypes.SpendContext(r.ChainID, operator, gateway, nonce))
	if err != nil {
		return nil, err
	}
	return th.MarshalBinary()
}

// Result implements gatewayclient.Bandwidth: an accepted credential, and
// one the gateway says is spent, expired, foreign or malformed, leaves the
// wallet; one the gateway could not check stays for the next try.
func (w *Wallet) Result(id, code, message string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.presented, id)
	switch code {
	case "", gatewayproto.CodeCredentialSpent, gatewayproto.CodeCredentialExpired, gatewayproto.CodeCredentialForeignKey,
		gatewayproto.CodeCredentialMalformed:
		_ = w.remove(id)
	}
}
