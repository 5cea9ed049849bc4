package coconut

import (
	"crypto/rand"
	"errors"
	"github.com/nyx-privacy/nyx/coconut/internal/curve"
	"testing"
)

func TestThresholdIssuance(t *testing.T) {
	for _, tc := range []struct{ t, n int }{{1, 1}, {1, 3}, {2, 3}, {3, 3}, {3, 5}, {5, 7}} {
		f := newFixture(t, 3, tc.t, tc.n)
		all := make([]int, tc.n)
		for i := range all {
			all[i] = i
		}
		sigs, idx, attrs := f.issue(t, randomAttrs(t, 2), randomAttrs(t, 1), all)
		var first *Signature
		// Every window of t consecutive authorities (cyclically) aggregates to the same credential.
		for start := 0; start < tc.n; start++ {
			var sub []*Signature
			var subIdx []uint64
			for j := 0; j < tc.t; j++ {
				k := (start + j) % tc.n
				sub, subIdx = append(sub, sigs[k]), append(subIdx, idx[k])
			}
			sig, err := AggregateSignatures(sub, subIdx)
			if err != nil {
				t.Fatal(err)
			}
			if err := VerifySignature(f.p, f.mvk, sig, attrs); err != nil {
				t.Fatalf("t=%d n=%d start=%d: %v", tc.t, tc.n, start, err)
			}
			if first == nil {
				first = sig
			} else if !first.Equal(sig) {
				t.Fatalf("t=%d n=%d: different subsets gave different credentials", tc.t, tc.n)
			}
		}
		// The master key from any other t shares is the same key.
		mvk2, err := AggregateVerificationKeys(f.vks[tc.n-tc.t:], f.idx[tc.n-tc.t:])
		if err != nil || !mvk2.Equal(f.mvk) {
			t.Fatalf("t=%d n=%d: master keys differ (%v)", tc.t, tc.n, err)
		}
		if tc.t > 1 {
			sig, err := AggregateSignatures(sigs[:tc.t-1], idx[:tc.t-1])
			if err != nil {
				t.Fatal(err)
			}
			if VerifySignature(f.p, f.mvk, sig, attrs) == nil {
				t.Fatalf("t=%d n=%d: t-1 partial signatures verified", tc.t, tc.n)
			}
		}
	}
}

func TestIssuanceRefusals(t *testing.T) {
	f := newFixture(t, 3, 2, 3)
	priv, pub := randomAttrs(t, 2), randomAttrs(t, 1)
	req, sec, err := PrepareBlindSign(rand.Reader, f.p, priv, pub)
	if err != nil {
		t.Fatal(err)
	}
	if err := req.Verify(f.p); err != nil {
		t.Fatal(err)
	}
	// A wrong public attribute breaks the proof.
	bad := *req
	bad.public = append([]curve.Scalar{}, req.public...)
	bad.public[0] = bad.public[0].Add(NewScalar(1).s)
	if _, err := BlindSign(f.p, f.sks[0], &bad); !errors.Is(err, ErrProof) {
		t.Fatalf("wrong public attribute: %v", err)
	}
	// A modified response breaks the proof.
	bad = *req
	bad.proof.zm = append([]curve.Scalar{}, req.proof.zm...)
	bad.proof.zm[1] = bad.proof.zm[1].Add(NewScalar(1).s)
	if _, err := BlindSign(f.p, f.sks[0], &bad); !errors.Is(err, ErrProof) {
		t.Fatalf("modified proof: %v", err)
	}
	// A request for another attribute count is refused.
	p4, _ := Setup(4)
	if _, err := BlindSign(p4, f.sks[0], req); err == nil {
		t.Fatal("parameters mismatch accepted")
	}
	// Unblinding with another authority's key gives a signature that fails verification.
	bs, err := BlindSign(f.p, f.sks[0], req)
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := Unblind(f.p, f.vks[1], bs, sec)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifySignature(f.p, f.vks[1], wrong, sec.Attributes()); !errors.Is(err, ErrSignature) {
		t.Fatalf("unblind with wrong key: %v", err)
	}
	// An answer to another request is refused.
	_, sec2, err := PrepareBlindSign(rand.Reader, f.p, priv, pub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Unblind(f.p, f.vks[0], bs, sec2); !errors.Is(err, ErrSignature) {
		t.Fatalf("answer to another request: %v", err)
	}
	// A partial signature checked against wrong attributes fails.
	sig, err := Unblind(f.p, f.vks[0], bs, sec)
	if err != nil {
		t.Fatal(err)
	}
	attrs := sec.Attributes()
	attrs[0] = NewScalar(7)
	if !errors.Is(VerifySignature(f.p, f.vks[0], sig, attrs), ErrSignature) {
		t.Fatal("wrong attribute accepted")
	}
	// No private attribute, or the wrong count, is refused up front.
	if _, _, err := PrepareBlindSign(rand.Reader, f.p, nil, randomAttrs(t, 3)); !errors.Is(err, ErrAttributes) {
		t.Fatalf("no private attribute: %v", err)
	}
	if _, _, err := PrepareBlindSign(rand.Reader, f.p, randomAttrs(t, 1), nil); !errors.Is(err, ErrAttributes) {
		t.Fatalf("too few attributes: %v", err)
	}
}

func TestForeignSignerRefused(t *testing.T) {
	f := newFixture(t, 2, 2, 3)
	g := newFixture(t, 2, 2, 3) // another authority set
	req, sec, err := PrepareBlindSign(rand.Reader, f.p, randomAttrs(t, 1), randomAttrs(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	var sigs []*Signature
	for i, sk := range []*SecretKey{f.sks[0], g.sks[1]} {
		bs, err := BlindSign(f.p, sk, req)
		if err != nil {
			t.Fatal(err)
		}
		vk := []*VerificationKey{f.vks[0], g.vks[1]}[i]
		sig, err := Unblind(f.p, vk, bs, sec)
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, sig)
	}
	agg, err := AggregateSignatures(sigs, []uint64{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	if VerifySignature(f.p, f.mvk, agg, sec.Attributes()) == nil {
		t.Fatal("credential with a signature from outside the set verified")
	}
}

func TestRandomize(t *testing.T) {
	f := newFixture(t, 2, 2, 3)
	sig, attrs := f.credential(t, randomAttrs(t, 1), randomAttrs(t, 1))
	r, err := sig.Randomize(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if r.Equal(sig) {
		t.Fatal("randomize changed nothing")
	}
	if err := VerifySignature(f.p, f.mvk, r, attrs); err != nil {
		t.Fatal(err)
	}
}

func TestAggregateRefusals(t *testing.T) {
	f := newFixture(t, 1, 2, 3)
	sigs, idx, _ := f.issue(t, randomAttrs(t, 1), nil, []int{0, 1})
	if _, err := AggregateSignatures(sigs, []uint64{1, 1}); !errors.Is(err, ErrIndices) {
		t.Fatalf("repeated index: %v", err)
	}
	if _, err := AggregateSignatures(sigs, []uint64{0, 1}); !errors.Is(err, ErrIndices) {
		t.Fatalf("zero index: %v", err)
	}
	if _, err := AggregateSignatures(sigs, idx[:1]); !errors.Is(err, ErrIndices) {
		t.Fatalf("length mismatch: %v", err)
	}
	other, _, _ := f.issue(t, randomAttrs(t, 1), nil, []int{1})
	if _, err := AggregateSignatures([]*Signature{sigs[0], other[0]}, idx); !errors.Is(err, ErrSignature) {
		t.Fatalf("mixed requests: %v", err)
	}
	if _, err := AggregateVerificationKeys(f.vks[:2], []uint64{2, 2}); !errors.Is(err, ErrIndices) {
		t.Fatalf("repeated key index: %v", err)
	}
}
