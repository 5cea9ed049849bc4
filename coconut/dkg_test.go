package coconut

import (
	"crypto/rand"
	"errors"
	"testing"

	"github.com/nyx-privacy/nyx/coconut/internal/curve"
)

func newDKG(t testing.TB, q, n int) (*DKG, []*ParticipantKey) {
	t.Helper()
	p, err := Setup(q)
	if err != nil {
		t.Fatal(err)
	}
	g := &DKG{Params: p, Threshold: DefaultThreshold(n), Context: []byte("nyx-test/dkg-epoch-1")}
	var keys []*ParticipantKey
	for i := 0; i < n; i++ {
		k, err := NewParticipantKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
		g.Participants = append(g.Participants, k.Public())
	}
	return g, keys
}

func TestDefaultThreshold(t *testing.T) {
	for n, want := range map[int]int{1: 1, 2: 2, 3: 2, 4: 3, 6: 4, 7: 5, 10: 7, 100: 67} {
		if got := DefaultThreshold(n); got != want {
			t.Errorf("DefaultThreshold(%d) = %d, want %d", n, got, want)
		}
	}
}

// TestDKGWithCheaters runs a DKG among 10 participants (t = 7) in which
// dealer 2 gives participant 4 a wrong share, dealer 5 sends participant 1
// an undecryptable share and dealer 6 publishes a dealing for another
// threshold. Every cheat is detected (by public verification or by a
// complaint anyone can check), the cheaters' dealings are excluded, false
// complaints are rejected, and the remaining dealings give a key that issues
// credentials.
func TestDKGWithCheaters(t *testing.T) {
	const n = 10
	g, keys := newDKG(t, 2, n)
	dealings := make([]*Dealing, n)
	for i := 1; i <= n; i++ {
		var err error
		switch i {
		case 2:
			dealings[i-1], err = g.deal(rand.Reader, i, func(r, k int, s curve.Scalar) curve.Scalar {
				if r == 4 && k == 1 {
					return s.Add(curve.NewScalar(1))
				}
				return s
			})
		case 6:
			g6 := *g
			g6.Threshold = g.Threshold - 1
			dealings[i-1], err = g6.Deal(rand.Reader, i)
		default:
			dealings[i-1], err = g.Deal(rand.Reader, i)
		}
		if err != nil {
			t.Fatal(err)
		}
		// Every dealing travels as bytes.
		b, _ := dealings[i-1].MarshalBinary()
		var d Dealing
		if err := d.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		dealings[i-1] = &d
	}
	dealings[4].ciphertexts[0][5] ^= 0x40 // dealer 5 to participant 1

	// Public check: dealer 6's dealing is for another DKG.
	excluded := map[int]bool{}
	var complaints []*Complaint
	for _, d := range dealings {
		if err := g.Verify(d); err != nil {
			if !errors.Is(err, ErrDealing) {
				t.Fatalf("dealing %d: %v", d.Dealer(), err)
			}
			excluded[d.Dealer()] = true
			continue
		}
		// Each participant checks its own shares and complains.
		for i := 1; i <= n; i++ {
			if _, err := g.DecryptShare(d, i, keys[i-1]); err != nil {
				if !errors.Is(err, ErrShare) {
					t.Fatalf("dealer %d participant %d: %v", d.Dealer(), i, err)
				}
				c, err := g.Complain(rand.Reader, d, i, keys[i-1])
				if err != nil {
					t.Fatal(err)
				}
				b, _ := c.MarshalBinary()
				var c2 Complaint
				if err := c2.UnmarshalBinary(b); err != nil {
					t.Fatal(err)
				}
				complaints = append(complaints, &c2)
			}
		}
	}
	if !excluded[6] || len(excluded) != 1 {
		t.Fatalf("publicly excluded %v, want dealer 6 only", excluded)
	}
	if len(complaints) != 2 {
		t.Fatalf("%d complaints, want 2", len(complaints))
	}
	// Anyone verifies the complaints.
	for _, c := range complaints {
		if err := g.VerifyComplaint(dealings[c.dealer-1], c); err != nil {
			t.Fatalf("valid complaint against dealer %d rejected: %v", c.dealer, err)
		}
		excluded[c.dealer] = true
	}
	if !excluded[2] || !excluded[5] {
		t.Fatalf("excluded %v, want 2, 5 and 6", excluded)
	}
	// A false complaint against an honest dealer, and a forged one, are rejected.
	honest := dealings[0]
	fc, err := g.Complain(rand.Reader, honest, 3, keys[2])
	if err != nil {
		t.Fatal(err)
	}
	if err := g.VerifyComplaint(honest, fc); !errors.Is(err, ErrProof) {
		t.Fatalf("false complaint: %v", err)
	}
	if fc.Dealer() != honest.Dealer() || fc.Complainer() != 3 {
		t.Fatalf("complaint names dealer %d, complainer %d", fc.Dealer(), fc.Complainer())
	}
	forged := *complaints[0]
	forged.shared = forged.shared.Add(curve.G1Generator())
	if err := g.VerifyComplaint(dealings[forged.dealer-1], &forged); !errors.Is(err, ErrProof) {
		t.Fatalf("forged complaint: %v", err)
	}
	// A participant cannot complain with someone else's key.
	if _, err := g.Complain(rand.Reader, honest, 3, keys[3]); !errors.Is(err, ErrIndices) {
		t.Fatalf("complaint with another key: %v", err)
	}

	var qualified []*Dealing
	for _, d := range dealings {
		if !excluded[d.Dealer()] {
			qualified = append(qualified, d)
		}
	}
	if len(qualified) != 7 {
		t.Fatalf("%d qualified dealings", len(qualified))
	}
	// With fewer than t qualified dealings no key is derived.
	if _, err := g.DeriveMasterVerificationKey(qualified[:g.Threshold-2]); !errors.Is(err, ErrNotEnoughKey) {
		t.Fatalf("too few dealings: %v", err)
	}
	// Including a cheater's dealing makes derivation fail for its victim.
	if _, err := g.DeriveSecretKey(append(append([]*Dealing{}, qualified...), dealings[1]), 4, keys[3]); !errors.Is(err, ErrShare) {
		t.Fatalf("cheater's dealing: %v", err)
	}

	// The honest dealings give a working key.
	mvk, err := g.DeriveMasterVerificationKey(qualified)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{p: g.Params, t: g.Threshold, n: n}
	for i := 1; i <= n; i++ {
		sk, err := g.DeriveSecretKey(qualified, i, keys[i-1])
		if err != nil {
			t.Fatalf("participant %d: %v", i, err)
		}
		f.sks, f.vks, f.idx = append(f.sks, sk), append(f.vks, sk.VerificationKey()), append(f.idx, uint64(i))
	}
	f.mvk = mvk
	sig, attrs := f.credential(t, randomAttrs(t, 1), randomAttrs(t, 1))
	if err := VerifySignature(g.Params, mvk, sig, attrs); err != nil {
		t.Fatalf("credential from the DKG key: %v", err)
	}
}

// TestDKGKeyIssues runs an honest DKG and checks the derived key end to end.
func TestDKGKeyIssues(t *testing.T) {
	const n = 5
	g, keys := newDKG(t, 3, n) // t = 4
	var dealings []*Dealing
	for i := 1; i <= n; i++ {
		if i == 3 { // dealer 3 cheats and is excluded after a complaint
			d, err := g.deal(rand.Reader, i, func(r, k int, s curve.Scalar) curve.Scalar {
				if r == 1 {
					return s.Add(curve.NewScalar(5))
				}
				return s
			})
			if err != nil {
				t.Fatal(err)
			}
			c, err := g.Complain(rand.Reader, d, 1, keys[0])
			if err != nil {
				t.Fatal(err)
			}
			if err := g.VerifyComplaint(d, c); err != nil {
				t.Fatalf("complaint rejected: %v", err)
			}
			continue
		}
		d, err := g.Deal(rand.Reader, i)
		if err != nil {
			t.Fatal(err)
		}
		dealings = append(dealings, d)
	}
	mvk, err := g.DeriveMasterVerificationKey(dealings)
	if err != nil {
		t.Fatal(err)
	}
	sks := make([]*SecretKey, n)
	vks := make([]*VerificationKey, n)
	idx := make([]uint64, n)
	for i := 1; i <= n; i++ {
		sk, err := g.DeriveSecretKey(dealings, i, keys[i-1])
		if err != nil {
			t.Fatal(err)
		}
		sks[i-1], vks[i-1], idx[i-1] = sk, sk.VerificationKey(), uint64(i)
		if err := g.VerifyVerificationKeyShare(rand.Reader, dealings, i, vks[i-1]); err != nil {
			t.Fatalf("participant %d key share: %v", i, err)
		}
		pub, err := g.DeriveVerificationKeyShare(dealings, i)
		if err != nil || pub.HasG1() || !pub.Equal(vks[i-1]) {
			t.Fatalf("public key share %d differs (%v)", i, err)
		}
	}
	// A key share published with a wrong G1 half, or another participant's, is refused.
	bad := *vks[0]
	bad.betaG1 = append([]curve.G1{}, vks[0].betaG1...)
	bad.betaG1[1] = bad.betaG1[1].Add(curve.G1Generator())
	if err := g.VerifyVerificationKeyShare(rand.Reader, dealings, 1, &bad); err == nil {
		t.Fatal("key share with a wrong G1 half accepted")
	}
	if err := g.VerifyVerificationKeyShare(rand.Reader, dealings, 2, vks[0]); err == nil {
		t.Fatal("another participant's key share accepted")
	}
	// Any t key shares interpolate to the master key.
	agg, err := AggregateVerificationKeys(vks[1:], idx[1:])
	if err != nil || !agg.Equal(mvk) {
		t.Fatalf("aggregated key differs from the master key (%v)", err)
	}
	f := &fixture{p: g.Params, sks: sks, vks: vks, idx: idx, mvk: agg, t: g.Threshold, n: n}
	sig, attrs := f.credential(t, randomAttrs(t, 2), randomAttrs(t, 1))
	if err := VerifySignature(g.Params, mvk, sig, attrs); err != nil {
		t.Fatal(err)
	}
	th, err := Prove(rand.Reader, g.Params, mvk, sig, attrs, ShowSpec{Reveal: []int{2}, Tag: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(g.Params, mvk, th, nil); err != nil {
		t.Fatal(err)
	}
}
