package coconut

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/nyx-privacy/nyx/coconut/internal/curve"
)

// Domain separation tags. Every hash in the scheme is RFC 9380 (hash_to_curve
// for points, hash_to_field for scalars, both expand_message_xmd with SHA-256;
// the 128-bit show challenge is 16 bytes of expand_message_xmd) under one of
// these tags, so no output of one use can be replayed in another.
const (
	DSTGenerators = "NYX-COCONUT-V1-GENERATORS_BLS12381G1_XMD:SHA-256_SSWU_RO_"
	DSTCommitment = "NYX-COCONUT-V1-COMMITMENT_BLS12381G1_XMD:SHA-256_SSWU_RO_"
	DSTAttribute  = "NYX-COCONUT-V1-ATTRIBUTE_XMD:SHA-256"
	DSTIssue      = "NYX-COCONUT-V1-ISSUE-CHALLENGE_XMD:SHA-256"
	DSTShow       = "NYX-COCONUT-V1-SHOW-CHALLENGE-128_XMD:SHA-256"
	DSTDealing    = "NYX-COCONUT-V1-DKG-SHARE-KEY_XMD:SHA-256"
	DSTComplaint  = "NYX-COCONUT-V1-DKG-COMPLAINT-CHALLENGE_XMD:SHA-256"
)

// Params are the public parameters of a Coconut instance with q attributes:
// the generators g1, g2 of the pairing groups and q further G1 generators
// h_0..h_{q-1} used in the issuance commitment. They are derived
// deterministically, so every party that calls Setup(q) holds the same value.
type Params struct {
	q        int
	hs       []curve.G1
	hsDigest [32]byte // SHA-256 of the h_i, hashed into issuance challenges

	tablesOnce sync.Once
	hsTables   []*curve.G1Table // fixed-base tables of the h_i, built on first issuance use
}

// Setup returns the parameters for credentials of q attributes,
// 1 <= q <= MaxAttributes. h_i = HashToG1("h" || uint32be(i)) under DSTGenerators.
func Setup(q int) (*Params, error) {
	if q < 1 || q > MaxAttributes {
		return nil, fmt.Errorf("%w: %d attributes (want 1..%d)", ErrParams, q, MaxAttributes)
	}
	p := &Params{q: q, hs: make([]curve.G1, q)}
	for i := range p.hs {
		msg := binary.BigEndian.AppendUint32([]byte("h"), uint32(i))
		p.hs[i] = curve.HashToG1(msg, []byte(DSTGenerators))
	}
	p.hsDigest = sha256.Sum256(appendG1(nil, p.hs...))
	return p, nil
}

// tables returns the fixed-base tables of g1 followed by those of h_0..h_{q-1}
// (about 0.4 MB each, built once per Params: verifiers that never issue
// never build them).
func (p *Params) tables() []*curve.G1Table {
	p.tablesOnce.Do(func() {
		p.hsTables = make([]*curve.G1Table, 0, p.q+1)
		p.hsTables = append(p.hsTables, curve.G1GeneratorTable())
		for _, h := range p.hs {
			p.hsTables = append(p.hsTables, curve.NewG1Table(h))
		}
	})
	return p.hsTables
}

// Attributes returns q, the number of attributes of the credentials.
func (p *Params) Attributes() int { return p.q }

// transcript accumulates the fixed-size encodings hashed into a Fiat-Shamir challenge.
type transcript struct{ b []byte }

func (t *transcript) g1(ps ...curve.G1) {
	for _, p := range ps {
		b := p.Bytes()
		t.b = append(t.b, b[:]...)
	}
}

func (t *transcript) g2(ps ...curve.G2) {
	for _, p := range ps {
		b := p.Bytes()
		t.b = append(t.b, b[:]...)
	}
}

func (t *transcript) scalars(ss ...curve.Scalar) {
	for _, s := range ss {
		b := s.Bytes()
		t.b = append(t.b, b[:]...)
	}
}

// bytes appends a length-prefixed byte string.
func (t *transcript) bytes(b []byte) {
	t.b = binary.BigEndian.AppendUint64(t.b, uint64(len(b)))
	t.b = append(t.b, b...)
}

func (t *transcript) u32(v uint32) { t.b = binary.BigEndian.AppendUint32(t.b, v) }

func (t *transcript) challenge(dst string) curve.Scalar {
	return curve.HashToScalar(t.b, []byte(dst))
}
