package coconut

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/nyx-privacy/nyx/coconut/internal/curve"
)

// Distributed key generation (Pedersen's DKG with Feldman commitments, one
// sharing per key component).
//
// Every participant (validator) holds a ParticipantKey, a BLS12-381 G1 key
// pair used only to receive shares. Each dealer d draws q+1 random
// polynomials f_k of degree t-1 (k = 0 for x, k = 1..q for y_{k-1}),
// publishes a Dealing with the commitments C_{k,j} = a_{k,j}·g2 to their
// coefficients and, for every participant i, f_k(i) encrypted to i's key.
// After the dealing phase every participant decrypts and checks its shares
// against the commitments; a participant that finds a bad share publishes a
// Complaint, which anyone can verify. The qualified dealings (well formed and
// without a valid complaint) define the key: participant i's secret share is
// Σ_d f^d_k(i), its verification key share Σ_d Σ_j i^j·C^d_{k,j}, and the
// master verification key Σ_d C^d_{k,0}.

// DefaultThreshold returns ceil(2n/3).
func DefaultThreshold(n int) int { return (2*n + 2) / 3 }

// ParticipantKey is a DKG participant's decryption key pair (sk, sk·g1).
type ParticipantKey struct {
	sk curve.Scalar
	pk ParticipantPublicKey
}

// ParticipantPublicKey is the key dealers encrypt a participant's shares to.
type ParticipantPublicKey struct{ p curve.G1 }

// NewParticipantKey draws a fresh participant key pair.
func NewParticipantKey(rng io.Reader) (*ParticipantKey, error) {
	sk, err := curve.RandomScalar(rng)
	if err != nil {
		return nil, err
	}
	return &ParticipantKey{sk: sk, pk: ParticipantPublicKey{curve.G1GeneratorTable().Mul(sk)}}, nil
}

// Public returns the public half of k.
func (k *ParticipantKey) Public() *ParticipantPublicKey { return &k.pk }

// MarshalBinary encodes the public key as a compressed G1 point (48 bytes).
func (pk *ParticipantPublicKey) MarshalBinary() ([]byte, error) { return appendG1(nil, pk.p), nil }

// UnmarshalBinary decodes exactly 48 bytes strictly.
func (pk *ParticipantPublicKey) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	r.expect(G1Size)
	p := r.g1()
	if err := r.done(); err != nil {
		return fmt.Errorf("participant key: %w", err)
	}
	pk.p = p
	return nil
}

// MarshalBinary encodes the secret key as a 32-byte scalar.
func (k *ParticipantKey) MarshalBinary() ([]byte, error) { return appendScalars(nil, k.sk), nil }

// UnmarshalBinary decodes exactly 32 bytes holding a nonzero scalar.
func (k *ParticipantKey) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	r.expect(ScalarSize)
	sk := r.scalar()
	if err := r.done(); err != nil {
		return fmt.Errorf("participant key: %w", err)
	}
	if sk.IsZero() {
		return fmt.Errorf("participant key: %w: zero", ErrEncoding)
	}
	k.sk, k.pk = sk, ParticipantPublicKey{curve.G1GeneratorTable().Mul(sk)}
	return nil
}

// DKG describes one key generation: the credential parameters, the
// threshold, the participants' public keys in index order (participant i
// has index i+1 and is also dealer i+1) and a context that binds every
// dealing and complaint to this run (e.g. chain id and DKG epoch).
type DKG struct {
	Params       *Params
	Threshold    int
	Participants []*ParticipantPublicKey
	Context      []byte
}

func (g *DKG) check() error {
	n := len(g.Participants)
	if g.Params == nil || n < 1 || n > MaxParticipants || g.Threshold < 1 || g.Threshold > n {
		return fmt.Errorf("%w: t=%d n=%d", ErrThreshold, g.Threshold, n)
	}
	return nil
}

func (g *DKG) shareSize() int { return ScalarSize * (g.Params.q + 1) }

// Dealing is one dealer's contribution: Feldman commitments in G2 to q+1
// polynomials of degree t-1, an ephemeral key E = e·g1 and, for each
// participant i, the q+1 shares f_k(i) encrypted with hashed ElGamal under
// the key HKDF(e·PK_i).
type Dealing struct {
	dealer      int
	t, n, q     int
	commitments [][]curve.G2 // [k][j]
	eph         curve.G1
	ciphertexts [][]byte // [i-1], 32(q+1) bytes each
}

// Dealer returns the index of the dealer.
func (d *Dealing) Dealer() int { return d.dealer }

// Deal produces the dealing of the participant with the given index (1-based).
func (g *DKG) Deal(rng io.Reader, dealer int) (*Dealing, error) {
	return g.deal(rng, dealer, nil)
}

// deal is Deal with a hook that can alter a share before encryption (tests
// use it to play a cheating dealer).
func (g *DKG) deal(rng io.Reader, dealer int, alter func(recipient, k int, s curve.Scalar) curve.Scalar) (*Dealing, error) {
	if err := g.check(); err != nil {
		return nil, err
	}
	n, t, q := len(g.Participants), g.Threshold, g.Params.q
	if dealer < 1 || dealer > n {
		return nil, fmt.Errorf("%w: dealer %d", ErrIndices, dealer)
	}
	g2 := curve.G2GeneratorTable()
	d := &Dealing{dealer: dealer, t: t, n: n, q: q, commitments: make([][]curve.G2, q+1), ciphertexts: make([][]byte, n)}
	polys := make([][]curve.Scalar, q+1)
	for k := range polys {
		c, err := randomScalars(rng, t)
		if err != nil {
			return nil, err
		}
		polys[k] = c
		d.commitments[k] = make([]curve.G2, t)
		for j, a := range c {
			d.commitments[k][j] = g2.Mul(a)
		}
	}
	e, err := curve.RandomScalar(rng)
	if err != nil {
		return nil, err
	}
	d.eph = curve.G1GeneratorTable().Mul(e)
	for i := 1; i <= n; i++ {
		pk := g.Participants[i-1].p
		stream := g.keystream(pk.Mul(e), d.eph, pk, dealer, i)
		at := curve.NewScalar(uint64(i))
		ct := make([]byte, 0, g.shareSize())
		for k := range polys {
			s := evalPoly(polys[k], at)
			if alter != nil {
				s = alter(i, k, s)
			}
			ct = appendScalars(ct, s)
		}
		for b := range ct {
			ct[b] ^= stream[b]
		}
		d.ciphertexts[i-1] = ct
	}
	return d, nil
}

// keystream derives the pad for the shares dealer sends to recipient.
func (g *DKG) keystream(shared, eph, pk curve.G1, dealer, recipient int) []byte {
	info := appendG1([]byte(DSTDealing), eph, pk)
	info = binary.BigEndian.AppendUint32(info, uint32(dealer))
	info = binary.BigEndian.AppendUint32(info, uint32(recipient))
	info = binary.BigEndian.AppendUint64(info, uint64(len(g.Context)))
	info = append(info, g.Context...)
	out, err := hkdf.Key(sha256.New, appendG1(nil, shared), nil, string(info), g.shareSize())
	if err != nil {
		panic("coconut: hkdf: " + err.Error()) // only for lengths above 255·32 bytes
	}
	return out
}

// Verify checks what anyone can check of a dealing: that it was made for
// this DKG (threshold, participant count, attribute count, dealer index).
// Decoding has already checked every point. Whether the encrypted shares
// match the commitments is checked by their recipients (DecryptShare) and
// made public by complaints.
func (g *DKG) Verify(d *Dealing) error {
	if err := g.check(); err != nil {
		return err
	}
	if d.t != g.Threshold || d.n != len(g.Participants) || d.q != g.Params.q {
		return fmt.Errorf("%w: dealing for t=%d n=%d q=%d", ErrDealing, d.t, d.n, d.q)
	}
	if d.dealer < 1 || d.dealer > d.n || len(d.commitments) != d.q+1 || len(d.ciphertexts) != d.n {
		return fmt.Errorf("%w: shape", ErrDealing)
	}
	for _, c := range d.commitments {
		if len(c) != d.t {
			return fmt.Errorf("%w: shape", ErrDealing)
		}
	}
	for _, c := range d.ciphertexts {
		if len(c) != g.shareSize() {
			return fmt.Errorf("%w: shape", ErrDealing)
		}
	}
	return nil
}

// DecryptShare decrypts the shares of participant index (1-based, holding
// key) in d and checks them against d's commitments. ErrShare means the
// dealer cheated: the participant should publish a Complaint.
func (g *DKG) DecryptShare(d *Dealing, index int, key *ParticipantKey) ([]Scalar, error) {
	if err := g.Verify(d); err != nil {
		return nil, err
	}
	if index < 1 || index > d.n || !g.Participants[index-1].p.Equal(key.pk.p) {
		return nil, fmt.Errorf("%w: participant %d does not hold this key", ErrIndices, index)
	}
	shares, err := g.openShares(d, index, d.eph.Mul(key.sk))
	if err != nil {
		return nil, err
	}
	out := make([]Scalar, len(shares))
	for i, s := range shares {
		out[i] = Scalar{s}
	}
	return out, nil
}

// openShares decrypts recipient's shares with the DH value shared and checks them.
func (g *DKG) openShares(d *Dealing, recipient int, shared curve.G1) ([]curve.Scalar, error) {
	stream := g.keystream(shared, d.eph, g.Participants[recipient-1].p, d.dealer, recipient)
	pt := make([]byte, len(stream))
	for b := range pt {
		pt[b] = d.ciphertexts[recipient-1][b] ^ stream[b]
	}
	shares := make([]curve.Scalar, d.q+1)
	for k := range shares {
		if err := shares[k].SetBytes(pt[k*ScalarSize : (k+1)*ScalarSize]); err != nil {
			return nil, fmt.Errorf("%w: dealer %d to participant %d: share out of range", ErrShare, d.dealer, recipient)
		}
	}
	if !feldmanCheck(d, recipient, shares) {
		return nil, fmt.Errorf("%w: dealer %d to participant %d", ErrShare, d.dealer, recipient)
	}
	return shares, nil
}

// feldmanCheck verifies s_k·g2 = Σ_j i^j·C_{k,j} for every k at once with
// coefficients ρ_k derived by hashing the dealing and the shares (so a dealer
// cannot aim for a cancellation): (Σ ρ_k s_k)·g2 = Σ_k Σ_j ρ_k i^j·C_{k,j}.
func feldmanCheck(d *Dealing, recipient int, shares []curve.Scalar) bool {
	var t transcript
	t.u32(uint32(d.dealer))
	t.u32(uint32(recipient))
	t.g1(d.eph)
	for _, c := range d.commitments {
		t.g2(c...)
	}
	t.scalars(shares...)
	seed := sha256.Sum256(t.b)
	at := curve.NewScalar(uint64(recipient))
	pts := make([]curve.G2, 0, (d.q+1)*d.t)
	sc := make([]curve.Scalar, 0, (d.q+1)*d.t)
	var lhs curve.Scalar
	for k, s := range shares {
		rho := curve.HashToScalar(binary.BigEndian.AppendUint32(seed[:], uint32(k)), []byte(DSTDealing))
		lhs = lhs.Add(rho.Mul(s))
		pw := rho
		for j := 0; j < d.t; j++ {
			pts, sc = append(pts, d.commitments[k][j]), append(sc, pw)
			pw = pw.Mul(at)
		}
	}
	return curve.G2GeneratorTable().Mul(lhs).Equal(curve.MultiExpG2(pts, sc))
}

// Complaint is a participant's public accusation that a dealing gave it a
// bad share: it reveals the Diffie-Hellman value K = sk·E for that dealing
// with a Chaum-Pedersen proof that log_g1(PK) = log_E(K), so anyone can
// decrypt that one share and check it. It reveals nothing else.
type Complaint struct {
	dealer, complainer int
	shared             curve.G1
	ch, z              curve.Scalar
}

// Complain builds participant index's complaint against d.
func (g *DKG) Complain(rng io.Reader, d *Dealing, index int, key *ParticipantKey) (*Complaint, error) {
	if err := g.Verify(d); err != nil {
		return nil, err
	}
	if index < 1 || index > d.n || !g.Participants[index-1].p.Equal(key.pk.p) {
		return nil, fmt.Errorf("%w: participant %d does not hold this key", ErrIndices, index)
	}
	w, err := curve.RandomScalar(rng)
	if err != nil {
		return nil, err
	}
	c := &Complaint{dealer: d.dealer, complainer: index, shared: d.eph.Mul(key.sk)}
	ch := g.complaintChallenge(c, d, curve.G1GeneratorTable().Mul(w), d.eph.Mul(w))
	c.ch, c.z = ch, w.Sub(ch.Mul(key.sk))
	return c, nil
}

func (g *DKG) complaintChallenge(c *Complaint, d *Dealing, a1, a2 curve.G1) curve.Scalar {
	var t transcript
	t.bytes(g.Context)
	t.u32(uint32(c.dealer))
	t.u32(uint32(c.complainer))
	t.g1(curve.G1Generator(), g.Participants[c.complainer-1].p, d.eph, c.shared, a1, a2)
	return t.challenge(DSTComplaint)
}

// VerifyComplaint returns nil if c proves that d's dealer cheated, so d must
// be excluded, and an error if the complaint is false or malformed (then d
// stands).
func (g *DKG) VerifyComplaint(d *Dealing, c *Complaint) error {
	if err := g.Verify(d); err != nil {
		return err // a malformed dealing is excluded without any complaint
	}
	if c.dealer != d.dealer || c.complainer < 1 || c.complainer > d.n {
		return fmt.Errorf("%w: complaint is about another dealing", ErrProof)
	}
	pk := g.Participants[c.complainer-1].p
	g1 := curve.G1GeneratorTable()
	a1 := curve.FixedMultiExpG1(pk.Mul(c.ch), []*curve.G1Table{g1}, []curve.Scalar{c.z})
	a2 := curve.MultiExpG1([]curve.G1{d.eph, c.shared}, []curve.Scalar{c.z, c.ch})
	if !g.complaintChallenge(c, d, a1, a2).Equal(c.ch) {
		return fmt.Errorf("complaint: %w", ErrProof)
	}
	if _, err := g.openShares(d, c.complainer, c.shared); err == nil {
		return fmt.Errorf("complaint: %w: the share is valid", ErrProof)
	}
	return nil
}

func (g *DKG) qualified(dealings []*Dealing) error {
	if len(dealings) < g.Threshold {
		return fmt.Errorf("%w: %d dealings, threshold %d", ErrNotEnoughKey, len(dealings), g.Threshold)
	}
	seen := map[int]bool{}
	for _, d := range dealings {
		if err := g.Verify(d); err != nil {
			return err
		}
		if seen[d.dealer] {
			return fmt.Errorf("%w: two dealings from dealer %d", ErrDealing, d.dealer)
		}
		seen[d.dealer] = true
	}
	return nil
}

// DeriveSecretKey returns participant index's share of the signing key from
// the qualified dealings (at least t, one per dealer, none with a valid
// complaint). It fails if any of its own shares is bad.
func (g *DKG) DeriveSecretKey(dealings []*Dealing, index int, key *ParticipantKey) (*SecretKey, error) {
	if err := g.qualified(dealings); err != nil {
		return nil, err
	}
	sum := make([]curve.Scalar, g.Params.q+1)
	for _, d := range dealings {
		s, err := g.DecryptShare(d, index, key)
		if err != nil {
			return nil, err
		}
		for k := range sum {
			sum[k] = sum[k].Add(s[k].s)
		}
	}
	return &SecretKey{x: sum[0], y: sum[1:]}, nil
}

// summedCommitments returns Σ_d C^d_{k,j}.
func summedCommitments(dealings []*Dealing) [][]curve.G2 {
	d0 := dealings[0]
	out := make([][]curve.G2, d0.q+1)
	for k := range out {
		out[k] = make([]curve.G2, d0.t)
		for j := range out[k] {
			acc := d0.commitments[k][j]
			for _, d := range dealings[1:] {
				acc = acc.Add(d.commitments[k][j])
			}
			out[k][j] = acc
		}
	}
	return out
}

// DeriveVerificationKeyShare returns participant index's verification key
// share (G2 half only) from the qualified dealings: anyone can compute it.
func (g *DKG) DeriveVerificationKeyShare(dealings []*Dealing, index int) (*VerificationKey, error) {
	if err := g.qualified(dealings); err != nil {
		return nil, err
	}
	if index < 1 || index > len(g.Participants) {
		return nil, fmt.Errorf("%w: %d", ErrIndices, index)
	}
	c := summedCommitments(dealings)
	at := curve.NewScalar(uint64(index))
	pows := make([]curve.Scalar, g.Threshold)
	pows[0] = curve.NewScalar(1)
	for j := 1; j < len(pows); j++ {
		pows[j] = pows[j-1].Mul(at)
	}
	vk := &VerificationKey{alpha: curve.MultiExpG2(c[0], pows), beta: make([]curve.G2, g.Params.q)}
	for k := 1; k <= g.Params.q; k++ {
		vk.beta[k-1] = curve.MultiExpG2(c[k], pows)
	}
	return vk, nil
}

// DeriveMasterVerificationKey returns the master verification key (G2 half)
// from the qualified dealings.
func (g *DKG) DeriveMasterVerificationKey(dealings []*Dealing) (*VerificationKey, error) {
	if err := g.qualified(dealings); err != nil {
		return nil, err
	}
	c := summedCommitments(dealings)
	vk := &VerificationKey{alpha: c[0][0], beta: make([]curve.G2, g.Params.q)}
	for k := 1; k <= g.Params.q; k++ {
		vk.beta[k-1] = c[k][0]
	}
	return vk, nil
}

// VerifyVerificationKeyShare checks a key share published by participant
// index (with its G1 half, needed by clients to unblind): its G2 half must
// be the one the dealings imply and its G1 half must match it.
func (g *DKG) VerifyVerificationKeyShare(rng io.Reader, dealings []*Dealing, index int, vk *VerificationKey) error {
	want, err := g.DeriveVerificationKeyShare(dealings, index)
	if err != nil {
		return err
	}
	return matchKeyShare(rng, index, want, vk)
}

// matchKeyShare checks a published key share vk against want, the G2 half
// the dealings imply for participant index (want has no G1 half, so Equal
// compares the G2 halves), and that vk's G1 half matches its G2 half.
func matchKeyShare(rng io.Reader, index int, want, vk *VerificationKey) error {
	if !vk.Equal(want) {
		return fmt.Errorf("%w: key share %d differs from the dealings", ErrSignature, index)
	}
	return vk.CheckG1(rng)
}

// DealingSize returns the encoded size of a dealing:
// 8 + 48 + 96(q+1)t + 32(q+1)n.
func DealingSize(t, n, q int) int { return 8 + G1Size + G2Size*(q+1)*t + ScalarSize*(q+1)*n }

// MarshalBinary encodes d as dealer (2 bytes) || t (2) || n (2) || q (1) ||
// reserved zero (1) || E || C_{0,0..t-1} .. C_{q,0..t-1} || ciphertext_1 ..
// ciphertext_n (each 32(q+1) bytes). Integers are big-endian.
func (d *Dealing) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, DealingSize(d.t, d.n, d.q))
	b = binary.BigEndian.AppendUint16(b, uint16(d.dealer))
	b = binary.BigEndian.AppendUint16(b, uint16(d.t))
	b = binary.BigEndian.AppendUint16(b, uint16(d.n))
	b = append(b, byte(d.q), 0)
	b = appendG1(b, d.eph)
	for _, c := range d.commitments {
		b = appendG2(b, c...)
	}
	for _, c := range d.ciphertexts {
		b = append(b, c...)
	}
	return b, nil
}

// UnmarshalBinary decodes the encoding of MarshalBinary strictly.
func (d *Dealing) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	dealer, t, n := r.u16(), r.u16(), r.u16()
	q, res := r.u8(), r.u8()
	if r.err != nil {
		return fmt.Errorf("dealing: %w", r.err)
	}
	if err := checkAttrCount(q); err != nil {
		return err
	}
	if res != 0 || n < 1 || n > MaxParticipants || t < 1 || t > n || dealer < 1 || dealer > n {
		return fmt.Errorf("dealing: %w: header", ErrEncoding)
	}
	r.expect(DealingSize(t, n, q) - 8)
	out := Dealing{dealer: dealer, t: t, n: n, q: q, eph: r.g1(), commitments: make([][]curve.G2, q+1), ciphertexts: make([][]byte, n)}
	for k := range out.commitments {
		out.commitments[k] = r.g2s(t)
	}
	for i := range out.ciphertexts {
		out.ciphertexts[i] = append([]byte(nil), r.take(ScalarSize*(q+1))...)
	}
	if err := r.done(); err != nil {
		return fmt.Errorf("dealing: %w", err)
	}
	*d = out
	return nil
}

// ComplaintSize is the encoded size of a Complaint.
const ComplaintSize = 4 + G1Size + 2*ScalarSize

// MarshalBinary encodes c as dealer (2 bytes) || complainer (2) || K || ch || z.
func (c *Complaint) MarshalBinary() ([]byte, error) {
	b := binary.BigEndian.AppendUint16(nil, uint16(c.dealer))
	b = binary.BigEndian.AppendUint16(b, uint16(c.complainer))
	b = appendG1(b, c.shared)
	return appendScalars(b, c.ch, c.z), nil
}

// UnmarshalBinary decodes exactly ComplaintSize bytes.
func (c *Complaint) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	r.expect(ComplaintSize)
	dealer, complainer := r.u16(), r.u16()
	shared := r.g1()
	ch, z := r.scalar(), r.scalar()
	if err := r.done(); err != nil {
		return fmt.Errorf("complaint: %w", err)
	}
	if dealer < 1 || complainer < 1 {
		return fmt.Errorf("complaint: %w: index", ErrEncoding)
	}
	*c = Complaint{dealer: dealer, complainer: complainer, shared: shared, ch: ch, z: z}
	return nil
}
