package coconut

import (
	"crypto/sha256"
	"fmt"
	"io"
	"math/bits"
	"sync"

	"github.com/nyx-privacy/nyx/coconut/internal/curve"
)

// SpendTag is the tag ζ = m_τ·g1 a shown credential reveals for its tagged
// attribute (the serial number of a bandwidth credential), in compressed
// form. It is the same every time the credential is shown and unlinkable to
// its issuance, so a verifier detects a second spend by looking it up.
type SpendTag [G1Size]byte

// ShowSpec says what a proof of possession reveals.
type ShowSpec struct {
	// Reveal lists the indices of the attributes disclosed in clear.
	Reveal []int
	// Tag, if true, makes the proof reveal the spend tag of attribute TagIndex,
	// which must stay hidden.
	Tag      bool
	TagIndex int
}

// Theta is a proof of possession of a credential (the paper's Θ), shown
// with selective disclosure. Following Pointcheval-Sanders (CT-RSA 2016,
// §6.2) the holder sends a re-randomised signature
//
//	h' = t·h,  s'' = t·s + r·h'   (t, r fresh)
//
// and a proof of knowledge of r and of the hidden attributes m_i with
//
//	e(s'', g2) = e(h', α + Σ_revealed m_j·β_j) · e(h', g2)^r · Π_hidden e(h', β_i)^{m_i}
//
// whose Schnorr commitment e(h', A) is sent as the G2 point A. With a spend
// tag, the same response for m_τ also proves ζ = m_τ·g1.
type Theta struct {
	q      int
	reveal uint32 // bit i: attribute i disclosed
	tag    int    // tagged attribute, -1 for none
	hp, sp curve.G1
	a      curve.G2
	zeta   curve.G1
	az     curve.G1
	zr     curve.Scalar
	z      []curve.Scalar // responses for the hidden attributes, by index
	m      []curve.Scalar // disclosed attributes, by index
}

func (spec ShowSpec) mask(q int) (uint32, int, error) {
	var mask uint32
	for _, i := range spec.Reveal {
		if i < 0 || i >= q || mask&(1<<i) != 0 {
			return 0, 0, fmt.Errorf("%w: attribute %d", ErrDisclosure, i)
		}
		mask |= 1 << i
	}
	tag := -1
	if spec.Tag {
		if spec.TagIndex < 0 || spec.TagIndex >= q || mask&(1<<spec.TagIndex) != 0 {
			return 0, 0, fmt.Errorf("%w: tag on attribute %d must be hidden", ErrDisclosure, spec.TagIndex)
		}
		tag = spec.TagIndex
	}
	return mask, tag, nil
}

// Prove shows the credential sig on attrs (all q of them, in signing order)
// under vk, disclosing what spec says. The proof is bound to context: a
// verifier should require a context naming itself and the occasion (e.g.
// its identity key and a fresh nonce or epoch), so a proof shown to one
// verifier cannot be replayed to another.
func Prove(rng io.Reader, p *Params, vk *VerificationKey, sig *Signature, attrs []Scalar, spec ShowSpec, context []byte) (*Theta, error) {
	q := p.q
	if len(attrs) != q || len(vk.beta) != q {
		return nil, fmt.Errorf("%w: %d attributes, key for %d, parameters for %d", ErrAttributes, len(attrs), len(vk.beta), q)
	}
	mask, tag, err := spec.mask(q)
	if err != nil {
		return nil, err
	}
	if sig.h.IsIdentity() {
		return nil, ErrSignature
	}
	m := unwrap(attrs)
	hidden := q - bits.OnesCount32(mask)
	rs, err := randomScalars(rng, 3+hidden) // t, r, ρ_r, ρ_i
	if err != nil {
		return nil, err
	}
	t, r, rhoR, rho := rs[0], rs[1], rs[2], rs[3:]
	g1, g2 := curve.G1GeneratorTable(), curve.G2GeneratorTable()

	th := &Theta{q: q, reveal: mask, tag: tag}
	th.hp = sig.h.Mul(t)
	th.sp = curve.MultiExpG1([]curve.G1{sig.s, th.hp}, []curve.Scalar{t, r})
	var hb []curve.G2
	var hidx []int
	for i := 0; i < q; i++ {
		if mask&(1<<i) != 0 {
			th.m = append(th.m, m[i])
		} else {
			hb, hidx = append(hb, vk.beta[i]), append(hidx, i)
		}
	}
	th.a = curve.FixedMultiExpG2(curve.MultiExpG2(hb, rho), []*curve.G2Table{g2}, []curve.Scalar{rhoR})
	var rhoTag curve.Scalar
	if tag >= 0 {
		for j, i := range hidx {
			if i == tag {
				rhoTag = rho[j]
			}
		}
		th.zeta = g1.Mul(m[tag])
		th.az = g1.Mul(rhoTag)
	}
	c := th.challenge(vkDigest(vk), context).Scalar()
	th.zr = rhoR.Add(c.Mul(r))
	th.z = make([]curve.Scalar, len(hidx))
	for j, i := range hidx {
		th.z[j] = rho[j].Add(c.Mul(m[i]))
	}
	return th, nil
}

func vkDigest(vk *VerificationKey) [32]byte {
	h := sha256.New()
	h.Write(appendG2(nil, vk.alpha))
	h.Write(appendG2(nil, vk.beta...))
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// challenge is the 128-bit Fiat-Shamir challenge of a show (see README.md,
// "Challenge size"): c = lo + hi·λ with lo, hi < 2^64, hashed from the
// statement and the commitments.
func (th *Theta) challenge(digest [32]byte, context []byte) curve.Challenge {
	var t transcript
	t.b = append(t.b, digest[:]...)
	t.bytes(context)
	t.u32(uint32(th.q))
	t.u32(th.reveal)
	t.u32(uint32(int32(th.tag)))
	t.g1(th.hp, th.sp)
	t.g2(th.a)
	if th.tag >= 0 {
		t.g1(th.zeta, th.az)
	}
	t.scalars(th.m...)
	return curve.HashToChallenge(t.b, []byte(DSTShow))
}

// PreparedVerificationKey is a verification key with fixed-base tables for
// α and every β_i (about 0.8 MB per G2 point), for a verifier that checks
// many credentials under one key, such as a gateway: verification then
// does no variable-base multiplication in G2. Building one takes about 16 ms
// per G2 point. It is safe for concurrent use.
type PreparedVerificationKey struct {
	vk     *VerificationKey
	alpha  *curve.G2Table
	beta   []*curve.G2Table
	digest [32]byte

	mu        sync.RWMutex
	disclosed map[string]*curve.G2Table // K_D tables by disclosure key
}

// Prepare builds the fixed-base tables of vk.
func (vk *VerificationKey) Prepare() *PreparedVerificationKey {
	pk := &PreparedVerificationKey{vk: vk, alpha: curve.NewG2Table(vk.alpha), beta: make([]*curve.G2Table, len(vk.beta)), digest: vkDigest(vk)}
	for i, b := range vk.beta {
		pk.beta[i] = curve.NewG2Table(b)
	}
	return pk
}

// Key returns the verification key pk was prepared from.
func (pk *PreparedVerificationKey) Key() *VerificationKey { return pk.vk }

// disclosureKey names a set of disclosed attribute values.
func disclosureKey(mask uint32, values []curve.Scalar) string {
	b := []byte{byte(mask >> 24), byte(mask >> 16), byte(mask >> 8), byte(mask)}
	return string(appendScalars(b, values...))
}

// PrepareDisclosed speeds up the verification of proofs that disclose
// exactly the given attribute values (index to value), such as the value and
// type of a standard bandwidth voucher: it precomputes the table of
// K = α + Σ m_j·β_j (about 16 ms and 0.8 MB), which replaces one table
// lookup per disclosed attribute in every later Verify with such values.
// Proofs disclosing anything else are verified as before.
func (pk *PreparedVerificationKey) PrepareDisclosed(values map[int]Scalar) error {
	q := len(pk.vk.beta)
	var mask uint32
	for i := range values {
		if i < 0 || i >= q {
			return fmt.Errorf("%w: attribute %d", ErrDisclosure, i)
		}
		mask |= 1 << i
	}
	ms := make([]curve.Scalar, 0, len(values))
	bs := make([]curve.G2, 0, len(values))
	for i := 0; i < q; i++ {
		if mask&(1<<i) != 0 {
			ms, bs = append(ms, values[i].s), append(bs, pk.vk.beta[i])
		}
	}
	k := pk.vk.alpha.Add(curve.MultiExpG2(bs, ms))
	t := curve.NewG2Table(k)
	pk.mu.Lock()
	defer pk.mu.Unlock()
	if pk.disclosed == nil {
		pk.disclosed = map[string]*curve.G2Table{}
	}
	pk.disclosed[disclosureKey(mask, ms)] = t
	return nil
}

// PrepareBandwidth is PrepareDisclosed for bandwidth vouchers of the given value and type.
func (pk *PreparedVerificationKey) PrepareBandwidth(value uint64, typ string) error {
	return pk.PrepareDisclosed(map[int]Scalar{BandwidthValue: NewScalar(value), BandwidthType: HashToScalar([]byte(typ))})
}

func (pk *PreparedVerificationKey) disclosedTable(th *Theta) *curve.G2Table {
	pk.mu.RLock()
	defer pk.mu.RUnlock()
	if pk.disclosed == nil {
		return nil
	}
	return pk.disclosed[disclosureKey(th.reveal, th.m)]
}

// Verify checks a shown credential against a prepared key: the same result
// as the package-level Verify, faster.
func (pk *PreparedVerificationKey) Verify(p *Params, th *Theta, context []byte) error {
	return verify(p, pk.vk, pk, pk.digest, th, context)
}

// Verify checks a shown credential θ under vk and context. On success the
// disclosed attributes (θ.Disclosed) and the spend tag (θ.SpendTag) are
// those of a credential the authorities issued; the caller still checks
// that θ discloses what its policy requires and that the tag is unspent.
func Verify(p *Params, vk *VerificationKey, th *Theta, context []byte) error {
	return verify(p, vk, nil, vkDigest(vk), th, context)
}

func verify(p *Params, vk *VerificationKey, pk *PreparedVerificationKey, digest [32]byte, th *Theta, context []byte) error {
	q := p.q
	if th.q != q || len(vk.beta) != q {
		return fmt.Errorf("%w: proof for %d attributes, key for %d, parameters for %d", ErrAttributes, th.q, len(vk.beta), q)
	}
	if err := th.wellFormed(); err != nil {
		return err
	}
	// Decoding never yields the identity; a Theta built in memory might.
	if th.hp.IsIdentity() || th.sp.IsIdentity() {
		return fmt.Errorf("%w: identity in the signature", ErrCredential)
	}
	c := th.challenge(digest, context)
	g1, g2 := curve.G1GeneratorTable(), curve.G2GeneratorTable()

	if th.tag >= 0 {
		// z_τ·g1 = A_ζ + c·ζ
		zt := th.z[th.hiddenPos(th.tag)]
		if !g1.SchnorrCheck(zt, th.az, c, th.zeta) {
			return fmt.Errorf("%w: spend tag proof", ErrCredential)
		}
	}
	// Q1 = A - (c·α + z_r·g2 + Σ_hidden z_i·β_i + Σ_revealed c·m_j·β_j), Q2 = c·g2,
	// and e(h', Q1)·e(s'', Q2) = 1 is the Schnorr check
	// e(h', z_r·g2 + Σ z_i β_i) = e(h', A)·X^c with X = e(s'', g2)/e(h', α + Σ m_j β_j).
	cs := c.Scalar()
	sc := make([]curve.Scalar, 0, q+1)
	sc = append(sc, cs)
	hi, di := 0, 0
	for i := 0; i < q; i++ {
		if th.reveal&(1<<i) != 0 {
			sc = append(sc, cs.Mul(th.m[di]))
			di++
		} else {
			sc = append(sc, th.z[hi])
			hi++
		}
	}
	var q1, q2 curve.G2
	if pk != nil {
		// Q1 = A + Σ (-scalar)·base over tables, Q2 = c·g2, summed together;
		// the challenge terms take half the table entries of the others.
		var tables []*curve.G2Table
		var neg []curve.Scalar
		ctab := pk.alpha
		if k := pk.disclosedTable(th); k != nil {
			ctab = k
			tables = append(tables, g2)
			neg = append(neg, th.zr.Neg())
			for i := 0; i < q; i++ {
				if th.reveal&(1<<i) == 0 {
					tables = append(tables, pk.beta[i])
				}
			}
			for _, z := range th.z {
				neg = append(neg, z.Neg())
			}
		} else {
			tables = append(append(tables, pk.beta...), g2)
			for _, s := range append(sc[1:], th.zr) {
				neg = append(neg, s.Neg())
			}
		}
		r := curve.FixedMultiExpG2Batch(
			curve.FixedSum{Start: th.a, Tables: tables, Scalars: neg,
				ChallengeTables: []*curve.G2Table{ctab}, Challenges: []curve.Challenge{c.Neg()}},
			curve.FixedSum{ChallengeTables: []*curve.G2Table{g2}, Challenges: []curve.Challenge{c}},
		)
		q1, q2 = r[0], r[1]
	} else {
		sum := curve.FixedMultiExpG2(curve.MultiExpG2(append([]curve.G2{vk.alpha}, vk.beta...), sc), []*curve.G2Table{g2}, []curve.Scalar{th.zr})
		q1, q2 = th.a.Sub(sum), g2.Mul(cs)
	}
	if !curve.PairingCheck([]curve.G1{th.hp, th.sp}, []curve.G2{q1, q2}) {
		return ErrCredential
	}
	return nil
}

func (th *Theta) hiddenPos(i int) int {
	return i - bits.OnesCount32(th.reveal&(1<<i-1))
}

func (th *Theta) wellFormed() error {
	if th.q < 1 || th.q > MaxAttributes || th.reveal>>th.q != 0 {
		return fmt.Errorf("%w: disclosure mask", ErrEncoding)
	}
	nr := bits.OnesCount32(th.reveal)
	if len(th.m) != nr || len(th.z) != th.q-nr {
		return fmt.Errorf("%w: response count", ErrEncoding)
	}
	if th.tag >= th.q || th.tag < -1 || (th.tag >= 0 && th.reveal&(1<<th.tag) != 0) {
		return fmt.Errorf("%w: tag index", ErrEncoding)
	}
	return nil
}

// Disclosed returns the disclosed attributes by index.
func (th *Theta) Disclosed() map[int]Scalar {
	out := make(map[int]Scalar, len(th.m))
	j := 0
	for i := 0; i < th.q; i++ {
		if th.reveal&(1<<i) != 0 {
			out[i] = Scalar{th.m[j]}
			j++
		}
	}
	return out
}

// SpendTag returns the spend tag and the index of the attribute it is
// derived from, if θ carries one.
func (th *Theta) SpendTag() (SpendTag, int, bool) {
	if th.tag < 0 {
		return SpendTag{}, -1, false
	}
	return SpendTag(th.zeta.Bytes()), th.tag, true
}

// ThetaSize returns the encoded size of a proof for q attributes of which
// with or without a spend tag (the count of disclosed attributes does not
// change it: each attribute costs one 32-byte response or value):
// 8 + 2·48 + 96 + 32 + 32·q, plus 2·48 with a tag.
func ThetaSize(q int, withTag bool) int {
	n := 8 + 2*G1Size + G2Size + ScalarSize*(1+q)
	if withTag {
		n += 2 * G1Size
	}
	return n
}

// MarshalBinary encodes θ as q (1 byte) || tag index (1 byte, 0xff: none) ||
// reserved zero (2 bytes) || disclosure mask (4 bytes, big-endian) || h' || s”
// || A || [ζ || A_ζ] || z_r || z_i for each hidden attribute || m_j for each
// disclosed attribute.
func (th *Theta) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, ThetaSize(th.q, th.tag >= 0))
	b = append(b, byte(th.q), byte(th.tag), 0, 0,
		byte(th.reveal>>24), byte(th.reveal>>16), byte(th.reveal>>8), byte(th.reveal))
	b = appendG1(b, th.hp, th.sp)
	b = appendG2(b, th.a)
	if th.tag >= 0 {
		b = appendG1(b, th.zeta, th.az)
	}
	b = appendScalars(b, th.zr)
	b = appendScalars(b, th.z...)
	return appendScalars(b, th.m...), nil
}

// UnmarshalBinary decodes the encoding of MarshalBinary strictly.
func (th *Theta) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	q, tag, res := r.u8(), r.u8(), r.u16()
	mask := r.u32()
	if r.err != nil {
		return fmt.Errorf("theta: %w", r.err)
	}
	if err := checkAttrCount(q); err != nil {
		return err
	}
	t := &Theta{q: q, reveal: mask, tag: tag}
	if tag == 0xff {
		t.tag = -1
	}
	nr := bits.OnesCount32(mask)
	if res != 0 || mask>>q != 0 || (t.tag >= 0 && (t.tag >= q || mask&(1<<t.tag) != 0)) {
		return fmt.Errorf("theta: %w: header", ErrEncoding)
	}
	r.expect(ThetaSize(q, t.tag >= 0) - 8)
	t.hp, t.sp = r.g1(), r.g1()
	t.a = r.g2()
	if t.tag >= 0 {
		t.zeta, t.az = r.g1(), r.g1()
	}
	t.zr = r.scalar()
	t.z = r.scalars(q - nr)
	t.m = r.scalars(nr)
	if err := r.done(); err != nil {
		return fmt.Errorf("theta: %w", err)
	}
	*th = *t
	return nil
}
