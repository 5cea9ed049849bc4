package coconut

import (
	"bytes"
	"crypto/rand"
	"encoding"
	"sync"
	"testing"

	"github.com/nyx-privacy/nyx/coconut/internal/curve"
)

// Every decoder of outside bytes has a fuzz target. Each checks that
// decoding never panics and that whatever decodes re-encodes to the same
// bytes (the encodings are canonical); targets of values that are verified
// next also run the verification on what decoded.

type codec interface {
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

// fuzzWorld is one small instance shared by all fuzz targets, built once.
type fuzzWorld struct {
	f     *fixture
	req   *BlindSignRequest
	sec   *BlindSignSecrets
	bs    *BlindedSignature
	sig   *Signature
	th    *Theta
	thRaw *Theta
	dkg   *DKG
	keys  []*ParticipantKey
	deal  *Dealing
	cmpl  *Complaint
}

var (
	fuzzWorldMu  sync.Mutex
	fuzzWorldVal *fuzzWorld
)

func fuzzWorldOnce(tb testing.TB) *fuzzWorld {
	fuzzWorldMu.Lock()
	defer fuzzWorldMu.Unlock()
	if fuzzWorldVal != nil {
		return fuzzWorldVal
	}
	w := &fuzzWorld{f: newFixture(tb, 3, 2, 3)}
	priv, pub := randomAttrs(tb, 2), randomAttrs(tb, 1)
	w.req, w.sec, _ = PrepareBlindSign(rand.Reader, w.f.p, priv, pub)
	w.bs, _ = BlindSign(w.f.p, w.f.sks[0], w.req)
	w.sig, _ = Unblind(w.f.p, w.f.vks[0], w.bs, w.sec)
	cred, attrs := w.f.credential(tb, priv, pub)
	w.th, _ = Prove(rand.Reader, w.f.p, w.f.mvk, cred, attrs, ShowSpec{Reveal: []int{2}, Tag: true, TagIndex: 0}, []byte("fuzz"))
	w.thRaw, _ = Prove(rand.Reader, w.f.p, w.f.mvk, cred, attrs, ShowSpec{Reveal: []int{0, 1}}, []byte("fuzz"))
	w.dkg, w.keys = newDKG(tb, 1, 2)
	w.deal, _ = w.dkg.deal(rand.Reader, 1, func(r, k int, s curve.Scalar) curve.Scalar {
		if r == 2 {
			return s.Add(s)
		}
		return s
	})
	w.cmpl, _ = w.dkg.Complain(rand.Reader, w.deal, 2, w.keys[1])
	if w.th == nil || w.cmpl == nil || w.sig == nil {
		tb.Fatal("building the fuzz seeds failed")
	}
	fuzzWorldVal = w
	return w
}

func seed(f *testing.F, vs ...codec) {
	for _, v := range vs {
		b, err := v.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		if len(b) > 1 {
			f.Add(b[:len(b)-1])
			f.Add(append(append([]byte{}, b...), 0))
			flip := append([]byte{}, b...)
			flip[len(flip)/2] ^= 1
			f.Add(flip)
		}
	}
	f.Add([]byte{})
}

func roundTrip(t *testing.T, data []byte, v codec) bool {
	if err := v.UnmarshalBinary(data); err != nil {
		return false
	}
	out, err := v.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, data) {
		t.Fatalf("decoded value re-encodes differently:\n in  %x\n out %x", data, out)
	}
	return true
}

func FuzzSecretKey(f *testing.F) {
	w := fuzzWorldOnce(f)
	seed(f, w.f.sks[0])
	f.Fuzz(func(t *testing.T, data []byte) { roundTrip(t, data, &SecretKey{}) })
}

func FuzzVerificationKey(f *testing.F) {
	w := fuzzWorldOnce(f)
	noG1 := *w.f.vks[1]
	noG1.betaG1 = nil
	seed(f, w.f.vks[0], &noG1)
	f.Fuzz(func(t *testing.T, data []byte) {
		var vk VerificationKey
		if roundTrip(t, data, &vk) && vk.HasG1() {
			_ = vk.CheckG1(rand.Reader)
		}
	})
}

func FuzzBlindSignRequest(f *testing.F) {
	w := fuzzWorldOnce(f)
	seed(f, w.req)
	f.Fuzz(func(t *testing.T, data []byte) {
		var req BlindSignRequest
		if roundTrip(t, data, &req) {
			_ = req.Verify(w.f.p)
		}
	})
}

// FuzzBlindSignSecrets decodes secrets and unblinds the seed's answer with
// them: a wrong shape is refused, never a panic.
func FuzzBlindSignSecrets(f *testing.F) {
	w := fuzzWorldOnce(f)
	seed(f, w.sec)
	f.Fuzz(func(t *testing.T, data []byte) {
		var sec BlindSignSecrets
		if roundTrip(t, data, &sec) {
			_, _ = Unblind(w.f.p, w.f.vks[0], w.bs, &sec)
		}
	})
}

func FuzzBlindedSignature(f *testing.F) {
	seed(f, fuzzWorldOnce(f).bs)
	f.Fuzz(func(t *testing.T, data []byte) { roundTrip(t, data, &BlindedSignature{}) })
}

func FuzzSignature(f *testing.F) {
	w := fuzzWorldOnce(f)
	seed(f, w.sig)
	f.Fuzz(func(t *testing.T, data []byte) {
		var sig Signature
		if roundTrip(t, data, &sig) {
			_ = VerifySignature(w.f.p, w.f.mvk, &sig, randomAttrs(t, 3))
		}
	})
}

func FuzzTheta(f *testing.F) {
	w := fuzzWorldOnce(f)
	seed(f, w.th, w.thRaw)
	f.Fuzz(func(t *testing.T, data []byte) {
		var th Theta
		if roundTrip(t, data, &th) {
			if err := Verify(w.f.p, w.f.mvk, &th, []byte("fuzz")); err == nil && !bytes.Equal(data, mustMarshal(t, w.th)) && !bytes.Equal(data, mustMarshal(t, w.thRaw)) {
				t.Fatalf("a proof the fuzzer made up verified: %x", data)
			}
			th.Disclosed()
			th.SpendTag()
		}
	})
}

func mustMarshal(t *testing.T, v codec) []byte {
	b, err := v.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzDealing(f *testing.F) {
	w := fuzzWorldOnce(f)
	seed(f, w.deal)
	f.Fuzz(func(t *testing.T, data []byte) {
		var d Dealing
		if roundTrip(t, data, &d) && w.dkg.Verify(&d) == nil {
			_, _ = w.dkg.DecryptShare(&d, 1, w.keys[0])
			_ = w.dkg.VerifyComplaint(&d, w.cmpl)
		}
	})
}

func FuzzComplaint(f *testing.F) {
	w := fuzzWorldOnce(f)
	seed(f, w.cmpl)
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Complaint
		if roundTrip(t, data, &c) {
			_ = w.dkg.VerifyComplaint(w.deal, &c)
		}
	})
}

func FuzzParticipantPublicKey(f *testing.F) {
	w := fuzzWorldOnce(f)
	seed(f, w.keys[0].Public())
	f.Fuzz(func(t *testing.T, data []byte) { roundTrip(t, data, &ParticipantPublicKey{}) })
}

func FuzzParticipantKey(f *testing.F) {
	w := fuzzWorldOnce(f)
	seed(f, w.keys[0])
	f.Fuzz(func(t *testing.T, data []byte) { roundTrip(t, data, &ParticipantKey{}) })
}

func FuzzScalar(f *testing.F) {
	s := NewScalar(12345).Bytes()
	f.Add(s[:])
	f.Add(bytes.Repeat([]byte{0xff}, 32))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ScalarFromBytes(data)
		if err == nil {
			if b := v.Bytes(); !bytes.Equal(b[:], data) {
				t.Fatal("scalar re-encodes differently")
			}
		}
	})
}

func FuzzCommitments(f *testing.F) {
	w := fuzzWorldOnce(f)
	seed(f, &Commitments{t: w.dkg.Threshold, q: w.dkg.Params.q, c: summedCommitments([]*Dealing{w.deal})})
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Commitments
		if roundTrip(t, data, &c) && c.check(w.dkg) == nil {
			_ = c.MasterVerificationKey()
			if vk, err := c.VerificationKeyShare(1); err == nil {
				_ = w.dkg.VerifyKeyShareAgainst(rand.Reader, &c, 1, vk)
			}
		}
	})
}
