package coconut

import (
	"crypto/rand"
	"testing"
)

// fixture is a threshold issuance set-up: parameters, n key shares and their keys.
type fixture struct {
	p    *Params
	sks  []*SecretKey
	vks  []*VerificationKey
	idx  []uint64
	mvk  *VerificationKey
	t, n int
}

func newFixture(tb testing.TB, q, t, n int) *fixture {
	tb.Helper()
	p, err := Setup(q)
	if err != nil {
		tb.Fatal(err)
	}
	sks, err := TTPKeyGen(rand.Reader, p, t, n)
	if err != nil {
		tb.Fatal(err)
	}
	f := &fixture{p: p, sks: sks, t: t, n: n}
	for i, sk := range sks {
		f.vks = append(f.vks, sk.VerificationKey())
		f.idx = append(f.idx, uint64(i+1))
	}
	f.mvk, err = AggregateVerificationKeys(f.vks[:t], f.idx[:t])
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

func randomAttrs(tb testing.TB, n int) []Scalar {
	tb.Helper()
	out := make([]Scalar, n)
	for i := range out {
		s, err := RandomScalar(rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		out[i] = s
	}
	return out
}

// issue runs the blind issuance with the authorities at positions who
// (0-based) and returns their partial signatures and the attributes.
func (f *fixture) issue(tb testing.TB, private, public []Scalar, who []int) ([]*Signature, []uint64, []Scalar) {
	tb.Helper()
	req, sec, err := PrepareBlindSign(rand.Reader, f.p, private, public)
	if err != nil {
		tb.Fatal(err)
	}
	var sigs []*Signature
	var idx []uint64
	for _, i := range who {
		bs, err := BlindSign(f.p, f.sks[i], req)
		if err != nil {
			tb.Fatal(err)
		}
		sig, err := Unblind(f.p, f.vks[i], bs, sec)
		if err != nil {
			tb.Fatal(err)
		}
		if err := VerifySignature(f.p, f.vks[i], sig, sec.Attributes()); err != nil {
			tb.Fatalf("partial signature of authority %d: %v", i+1, err)
		}
		sigs, idx = append(sigs, sig), append(idx, f.idx[i])
	}
	return sigs, idx, sec.Attributes()
}

func (f *fixture) credential(tb testing.TB, private, public []Scalar) (*Signature, []Scalar) {
	tb.Helper()
	who := make([]int, f.t)
	for i := range who {
		who[i] = i
	}
	sigs, idx, attrs := f.issue(tb, private, public, who)
	sig, err := AggregateSignatures(sigs, idx)
	if err != nil {
		tb.Fatal(err)
	}
	return sig, attrs
}
