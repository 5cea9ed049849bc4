package coconut

import (
	"fmt"
	"io"

	"github.com/nyx-privacy/nyx/coconut/internal/curve"
)

// Signature is a Coconut (Pointcheval-Sanders) signature σ = (h, s) with
// s = (x + Σ y_i m_i)·h: a partial signature of one authority or the
// aggregated credential.
type Signature struct {
	h, s curve.G1
}

// BlindedSignature is an authority's answer to a BlindSignRequest:
// (h, c̃) with c̃ = x·h + Σ_private y_i·c_i + Σ_public y_j m_j·h.
type BlindedSignature struct {
	h, c curve.G1
}

// BlindSignRequest asks the authorities to sign k private attributes they do
// not see and p public ones they do (k + p = q, private attributes first).
// It carries the commitment cm = o·g1 + Σ m_i·h_i over all attributes, one
// Pedersen commitment c_i = o_i·g1 + m_i·h per private attribute (h =
// HashToG1(cm)), the public attributes in clear, and a proof of knowledge
// π_s of (o, o_i, m_i) binding them together.
type BlindSignRequest struct {
	cm     curve.G1
	c      []curve.G1
	public []curve.Scalar
	proof  issueProof
}

// issueProof is a Fiat-Shamir proof in challenge form: the challenge and one
// response per witness.
type issueProof struct {
	ch curve.Scalar
	zo curve.Scalar
	zc []curve.Scalar // for o_i
	zm []curve.Scalar // for m_i
}

// BlindSignSecrets is what the client keeps between PrepareBlindSign and
// Unblind: the attributes and the openings of its commitments. It has an
// exact encoding (MarshalBinary) for a client that must keep it across a
// restart; the encoding is secret.
type BlindSignSecrets struct {
	h       curve.G1
	private []curve.Scalar
	public  []curve.Scalar
	o       []curve.Scalar
}

// Attributes returns all q attributes, private first, in signing order.
func (s *BlindSignSecrets) Attributes() []Scalar {
	out := make([]Scalar, 0, len(s.private)+len(s.public))
	for _, m := range s.private {
		out = append(out, Scalar{m})
	}
	for _, m := range s.public {
		out = append(out, Scalar{m})
	}
	return out
}

// PrepareBlindSign builds the request for a credential on the given private
// and public attributes (len(private)+len(public) = q, at least one private).
func PrepareBlindSign(rng io.Reader, p *Params, private, public []Scalar) (*BlindSignRequest, *BlindSignSecrets, error) {
	k := len(private)
	if k < 1 || k+len(public) != p.q {
		return nil, nil, fmt.Errorf("%w: %d private + %d public, want %d with at least one private", ErrAttributes, k, len(public), p.q)
	}
	priv, pub := unwrap(private), unwrap(public)
	r, err := randomScalars(rng, 2+3*k) // o, o_1..o_k, w_o, w_o1..w_ok, w_m1..w_mk
	if err != nil {
		return nil, nil, err
	}
	o, os, wo, wc, wm := r[0], r[1:1+k], r[1+k], r[2+k:2+2*k], r[2+2*k:]
	g1 := curve.G1GeneratorTable()

	tabs := p.tables() // g1, h_0..h_{q-1}
	cm := curve.FixedMultiExpG1(curve.G1{}, tabs, append(append([]curve.Scalar{o}, priv...), pub...))
	h := curve.HashToG1(appendG1(nil, cm), []byte(DSTCommitment))
	c := make([]curve.G1, k)
	ac := make([]curve.G1, k)
	for i := range c {
		c[i] = g1.Mul(os[i]).Add(h.Mul(priv[i]))
		ac[i] = g1.Mul(wc[i]).Add(h.Mul(wm[i]))
	}
	acm := curve.FixedMultiExpG1(curve.G1{}, tabs[:1+k], append([]curve.Scalar{wo}, wm...))
	req := &BlindSignRequest{cm: cm, c: c, public: pub}
	ch := req.challenge(p, h, acm, ac)
	req.proof = issueProof{ch: ch, zo: wo.Sub(ch.Mul(o)), zc: make([]curve.Scalar, k), zm: make([]curve.Scalar, k)}
	for i := 0; i < k; i++ {
		req.proof.zc[i] = wc[i].Sub(ch.Mul(os[i]))
		req.proof.zm[i] = wm[i].Sub(ch.Mul(priv[i]))
	}
	return req, &BlindSignSecrets{h: h, private: priv, public: pub, o: os}, nil
}

func (req *BlindSignRequest) challenge(p *Params, h, acm curve.G1, ac []curve.G1) curve.Scalar {
	var t transcript
	t.u32(uint32(p.q))
	t.u32(uint32(len(req.c)))
	t.b = append(t.b, p.hsDigest[:]...)
	t.g1(req.cm, h)
	t.g1(req.c...)
	t.scalars(req.public...)
	t.g1(acm)
	t.g1(ac...)
	return t.challenge(DSTIssue)
}

// Verify checks the request's shape against p and its proof π_s. BlindSign
// calls it; it is exported so a chain can reject a bad request before any
// authority works on it.
func (req *BlindSignRequest) Verify(p *Params) error {
	_, err := req.verify(p)
	return err
}

// verify checks the request and returns h = HashToG1(cm).
func (req *BlindSignRequest) verify(p *Params) (curve.G1, error) {
	k := len(req.c)
	if k < 1 || k+len(req.public) != p.q || len(req.proof.zc) != k || len(req.proof.zm) != k {
		return curve.G1{}, fmt.Errorf("%w: request for %d+%d attributes, parameters for %d", ErrAttributes, k, len(req.public), p.q)
	}
	g1 := curve.G1GeneratorTable()
	h := curve.HashToG1(appendG1(nil, req.cm), []byte(DSTCommitment))
	pf := &req.proof
	// A_cm = z_o·g1 + Σ_private z_mi·h_i + ch·(cm - Σ_public m_j·h_j)
	sc := append([]curve.Scalar{pf.zo}, pf.zm...)
	for _, m := range req.public {
		sc = append(sc, pf.ch.Mul(m).Neg())
	}
	acm := curve.FixedMultiExpG1(req.cm.Mul(pf.ch), p.tables(), sc)
	ac := make([]curve.G1, k)
	for i := range ac {
		// A_i = z_oi·g1 + z_mi·h + ch·c_i
		ac[i] = curve.FixedMultiExpG1(curve.MultiExpG1([]curve.G1{h, req.c[i]}, []curve.Scalar{pf.zm[i], pf.ch}), []*curve.G1Table{g1}, []curve.Scalar{pf.zc[i]})
	}
	if !req.challenge(p, h, acm, ac).Equal(pf.ch) {
		return curve.G1{}, fmt.Errorf("blind sign request: %w", ErrProof)
	}
	return h, nil
}

// BlindSign verifies the request and signs it with sk. The authority never
// learns the private attributes.
func BlindSign(p *Params, sk *SecretKey, req *BlindSignRequest) (*BlindedSignature, error) {
	if len(sk.y) != p.q {
		return nil, fmt.Errorf("%w: key for %d attributes, parameters for %d", ErrParams, len(sk.y), p.q)
	}
	h, err := req.verify(p)
	if err != nil {
		return nil, err
	}
	k := len(req.c)
	// c̃ = (x + Σ_public y_j m_j)·h + Σ_private y_i·c_i
	e := sk.x
	for j, m := range req.public {
		e = e.Add(sk.y[k+j].Mul(m))
	}
	pts := append([]curve.G1{h}, req.c...)
	sc := append([]curve.Scalar{e}, sk.y[:k]...)
	return &BlindedSignature{h: h, c: curve.MultiExpG1(pts, sc)}, nil
}

// Unblind removes the blinding from an authority's answer using that
// authority's verification key (with its G1 half). It does not verify the
// result: a client aggregates t partial signatures and verifies the
// credential once (VerifySignature); only if that fails does it verify each
// partial signature to find the authority that misbehaved.
func Unblind(p *Params, vk *VerificationKey, bs *BlindedSignature, sec *BlindSignSecrets) (*Signature, error) {
	if len(vk.beta) != p.q || !vk.HasG1() {
		return nil, fmt.Errorf("%w: unblinding needs a %d-attribute key with its G1 half", ErrParams, p.q)
	}
	if len(sec.o) != len(sec.private) || len(sec.private)+len(sec.public) != p.q {
		return nil, fmt.Errorf("%w: secrets for %d private + %d public attributes, parameters for %d", ErrAttributes, len(sec.private), len(sec.public), p.q)
	}
	if !bs.h.Equal(sec.h) {
		return nil, fmt.Errorf("%w: blinded signature is for another request", ErrSignature)
	}
	k := len(sec.o)
	// s = c̃ - Σ o_i·β'_i
	s := bs.c.Sub(curve.MultiExpG1(vk.betaG1[:k], sec.o))
	return &Signature{h: bs.h, s: s}, nil
}

// VerifyBlindedSignature checks an authority's answer to req against that
// authority's verification key, without the client's openings, so that a
// third party (a chain collecting partial signatures) can refuse a wrong one
// before any client unblinds it: h = HashToG1(cm), h ≠ 1 and
//
//	e(c̃, g2) = e(h, α) · Π_private e(c_i, β_i) · Π_public e(m_j·h, β_j).
//
// It does not check req's proof (Verify does, once per request): a partial
// signature that verifies here on an invalid request is still worthless.
// The public attributes go to G1 (m_j·h) rather than G2 (α + Σ m_j·β_j)
// because a G1 multiplication costs half a G2 one and the extra Miller loops
// share the one final exponentiation.
func VerifyBlindedSignature(p *Params, vk *VerificationKey, req *BlindSignRequest, bs *BlindedSignature) error {
	k := len(req.c)
	if k < 1 || k+len(req.public) != p.q || len(vk.beta) != p.q {
		return fmt.Errorf("%w: request for %d+%d attributes, key for %d, parameters for %d", ErrAttributes, k, len(req.public), len(vk.beta), p.q)
	}
	if bs.h.IsIdentity() || !bs.h.Equal(curve.HashToG1(appendG1(nil, req.cm), []byte(DSTCommitment))) {
		return fmt.Errorf("%w: blinded signature is for another request", ErrSignature)
	}
	g1s := make([]curve.G1, 0, 2+p.q)
	g2s := make([]curve.G2, 0, 2+p.q)
	g1s = append(g1s, bs.c, bs.h.Neg())
	g2s = append(g2s, curve.G2Generator(), vk.alpha)
	for i, c := range req.c {
		g1s = append(g1s, c.Neg())
		g2s = append(g2s, vk.beta[i])
	}
	for j, m := range req.public {
		g1s = append(g1s, bs.h.Mul(m.Neg()))
		g2s = append(g2s, vk.beta[k+j])
	}
	if !curve.PairingCheck(g1s, g2s) {
		return fmt.Errorf("%w: blinded signature", ErrSignature)
	}
	return nil
}

// VerifySignature checks a partial or aggregated signature on all q
// attributes in clear: h ≠ 1 and e(h, α + Σ m_i·β_i) = e(s, g2).
func VerifySignature(p *Params, vk *VerificationKey, sig *Signature, attrs []Scalar) error {
	if len(attrs) != p.q || len(vk.beta) != p.q {
		return fmt.Errorf("%w: %d attributes, key for %d, parameters for %d", ErrAttributes, len(attrs), len(vk.beta), p.q)
	}
	if sig.h.IsIdentity() {
		return ErrSignature
	}
	k := vk.alpha.Add(curve.MultiExpG2(vk.beta, unwrap(attrs)))
	if !curve.PairingCheck([]curve.G1{sig.h, sig.s.Neg()}, []curve.G2{k, curve.G2Generator()}) {
		return ErrSignature
	}
	return nil
}

// AggregateSignatures interpolates the credential from partial signatures of
// the authorities with the given indices: s = Σ λ_i s_i. With fewer than t
// distinct partial signatures the result does not verify.
func AggregateSignatures(sigs []*Signature, indices []uint64) (*Signature, error) {
	if len(sigs) == 0 || len(sigs) != len(indices) {
		return nil, fmt.Errorf("%w: %d signatures, %d indices", ErrIndices, len(sigs), len(indices))
	}
	l, err := lagrangeAtZero(indices)
	if err != nil {
		return nil, err
	}
	ss := make([]curve.G1, len(sigs))
	for i, sg := range sigs {
		if !sg.h.Equal(sigs[0].h) {
			return nil, fmt.Errorf("%w: partial signatures on different requests", ErrSignature)
		}
		ss[i] = sg.s
	}
	return &Signature{h: sigs[0].h, s: curve.MultiExpG1(ss, l)}, nil
}

// Randomize returns (t·h, t·s) for a fresh random t: a signature on the same
// attributes that cannot be linked to sig.
func (sig *Signature) Randomize(rng io.Reader) (*Signature, error) {
	t, err := curve.RandomScalar(rng)
	if err != nil {
		return nil, err
	}
	return &Signature{h: sig.h.Mul(t), s: sig.s.Mul(t)}, nil
}

// Equal reports whether two signatures are identical.
func (sig *Signature) Equal(o *Signature) bool { return sig.h.Equal(o.h) && sig.s.Equal(o.s) }

// SignatureSize is the encoded size of a Signature and of a BlindedSignature.
const SignatureSize = 2 * G1Size

// MarshalBinary encodes sig as h || s (96 bytes).
func (sig *Signature) MarshalBinary() ([]byte, error) { return appendG1(nil, sig.h, sig.s), nil }

// UnmarshalBinary decodes exactly SignatureSize bytes.
func (sig *Signature) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	r.expect(SignatureSize)
	h, s := r.g1(), r.g1()
	if err := r.done(); err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	sig.h, sig.s = h, s
	return nil
}

// MarshalBinary encodes bs as h || c̃ (96 bytes).
func (bs *BlindedSignature) MarshalBinary() ([]byte, error) { return appendG1(nil, bs.h, bs.c), nil }

// UnmarshalBinary decodes exactly SignatureSize bytes.
func (bs *BlindedSignature) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	r.expect(SignatureSize)
	h, c := r.g1(), r.g1()
	if err := r.done(); err != nil {
		return fmt.Errorf("blinded signature: %w", err)
	}
	bs.h, bs.c = h, c
	return nil
}

// BlindSignRequestSize returns the encoded size of a request with k private
// and p public attributes: 2 + 48(1+k) + 32(2+2k) + 32p.
func BlindSignRequestSize(k, p int) int {
	return 2 + G1Size*(1+k) + ScalarSize*(2+2*k) + ScalarSize*p
}

// MarshalBinary encodes req as k (1 byte) || p (1 byte) || cm || c_1..c_k ||
// ch || z_o || z_o1..z_ok || z_m1..z_mk || public_1..public_p.
func (req *BlindSignRequest) MarshalBinary() ([]byte, error) {
	k := len(req.c)
	b := make([]byte, 0, BlindSignRequestSize(k, len(req.public)))
	b = append(b, byte(k), byte(len(req.public)))
	b = appendG1(b, req.cm)
	b = appendG1(b, req.c...)
	b = appendScalars(b, req.proof.ch, req.proof.zo)
	b = appendScalars(b, req.proof.zc...)
	b = appendScalars(b, req.proof.zm...)
	return appendScalars(b, req.public...), nil
}

// UnmarshalBinary decodes the encoding of MarshalBinary strictly.
func (req *BlindSignRequest) UnmarshalBinary(data []byte) error {
	r := &reader{b: data}
	k, np := r.u8(), r.u8()
	if r.err == nil && (k < 1 || k+np > MaxAttributes) {
		return fmt.Errorf("%w: request for %d+%d attributes", ErrEncoding, k, np)
	}
	r.expect(BlindSignRequestSize(k, np) - 2)
	cm := r.g1()
	c := r.g1s(k)
	ch, zo := r.scalar(), r.scalar()
	zc, zm := r.scalars(k), r.scalars(k)
	pub := r.scalars(np)
	if err := r.done(); err != nil {
		return fmt.Errorf("blind sign request: %w", err)
	}
	*req = BlindSignRequest{cm: cm, c: c, public: pub, proof: issueProof{ch: ch, zo: zo, zc: zc, zm: zm}}
	return nil
}
