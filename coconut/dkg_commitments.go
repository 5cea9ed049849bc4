package coconut

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/nyx-privacy/nyx/coconut/internal/curve"
)

// Commitments are the sums Σ_d C^d_{k,j} of the qualified dealings'
// commitments: everything the key's public side depends on. A chain computes
// them once when the qualified set is known, instead of summing every dealing
// again for each key share it checks.
type Commitments struct {
	t, q int
	c    [][]curve.G2 // [k][j]
}

// SumCommitments returns the summed commitments of the qualified dealings (at
// least t, one per dealer, each made for g).
func (g *DKG) SumCommitments(dealings []*Dealing) (*Commitments, error) {
	if err := g.qualified(dealings); err != nil {
		return nil, err
	}
	return &Commitments{t: g.Threshold, q: g.Params.q, c: summedCommitments(dealings)}, nil
}

func (c *Commitments) check(g *DKG) error {
	if err := g.check(); err != nil {
		return err
	}
	if c.t != g.Threshold || c.q != g.Params.q {
		return fmt.Errorf("%w: commitments for t=%d q=%d", ErrDealing, c.t, c.q)
	}
	return nil
}

// VerificationKeyShare returns participant index's verification key share
// (G2 half): Σ_j index^j·C_{k,j} for each k.
func (c *Commitments) VerificationKeyShare(index int) (*VerificationKey, error) {
	if index < 1 || index > MaxParticipants {
		return nil, fmt.Errorf("%w: %d", ErrIndices, index)
	}
	at := curve.NewScalar(uint64(index))
	pows := make([]curve.Scalar, c.t)
	pows[0] = curve.NewScalar(1)
	for j := 1; j < len(pows); j++ {
		pows[j] = pows[j-1].Mul(at)
	}
	vk := &VerificationKey{alpha: curve.MultiExpG2(c.c[0], pows), beta: make([]curve.G2, c.q)}
	for k := 1; k <= c.q; k++ {
		vk.beta[k-1] = curve.MultiExpG2(c.c[k], pows)
	}
	return vk, nil
}

// MasterVerificationKey returns the master verification key (G2 half).
func (c *Commitments) MasterVerificationKey() *VerificationKey {
	vk := &VerificationKey{alpha: c.c[0][0], beta: make([]curve.G2, c.q)}
	for k := 1; k <= c.q; k++ {
		vk.beta[k-1] = c.c[k][0]
	}
	return vk
}

// VerifyKeyShareAgainst is VerifyVerificationKeyShare with the summed
// commitments of the qualified dealings.
func (g *DKG) VerifyKeyShareAgainst(rng io.Reader, c *Commitments, index int, vk *VerificationKey) error {
	if err := c.check(g); err != nil {
		return err
	}
	if index < 1 || index > len(g.Participants) {
		return fmt.Errorf("%w: %d", ErrIndices, index)
	}
	want, err := c.VerificationKeyShare(index)
	if err != nil {
		return err
	}
	return matchKeyShare(rng, index, want, vk)
}

// CommitmentsSize returns the encoded size of Commitments: 4 + 96(q+1)t.
func CommitmentsSize(t, q int) int { return 4 + G2Size*(q+1)*t }

// MarshalBinary encodes c as t (2 bytes) || q (1) || reserved zero (1) ||
// C_{0,0..t-1} .. C_{q,0..t-1}.
func (c *Commitments) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, CommitmentsSize(c.t, c.q))
	b = binary.BigEndian.AppendUint16(b, uint16(c.t))
	b = append(b, byte(c.q), 0)
	for _, row := range c.c {
		b = appendG2(b, row...)
	}
	return b, nil
}

// UnmarshalBinary decodes the encoding of MarshalBinary strictly.
func (c *Commitments) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	t, q, res := r.u16(), r.u8(), r.u8()
	if r.err != nil {
		return fmt.Errorf("commitments: %w", r.err)
	}
	if err := checkAttrCount(q); err != nil {
		return err
	}
	if res != 0 || t < 1 || t > MaxParticipants {
		return fmt.Errorf("commitments: %w: header", ErrEncoding)
	}
	r.expect(CommitmentsSize(t, q) - 4)
	out := Commitments{t: t, q: q, c: make([][]curve.G2, q+1)}
	for k := range out.c {
		out.c[k] = r.g2s(t)
	}
	if err := r.done(); err != nil {
		return fmt.Errorf("commitments: %w", err)
	}
	*c = out
	return nil
}
