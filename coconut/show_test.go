package coconut

import (
	"bytes"
	"crypto/rand"
	"errors"
	"github.com/nyx-privacy/nyx/coconut/internal/curve"
	"testing"
)

// TestShowEveryMix issues credentials for every split of q = 4 attributes
// into private and public and shows each under every disclosure pattern,
// with and without a spend tag.
func TestShowEveryMix(t *testing.T) {
	const q = 4
	f := newFixture(t, q, 2, 3)
	pk := f.mvk.Prepare()
	ctx := []byte("gateway-1/nonce-42")
	for k := 1; k <= q; k++ {
		sig, attrs := f.credential(t, randomAttrs(t, k), randomAttrs(t, q-k))
		for mask := 0; mask < 1<<q; mask++ {
			var spec ShowSpec
			for i := 0; i < q; i++ {
				if mask&(1<<i) != 0 {
					spec.Reveal = append(spec.Reveal, i)
				}
			}
			for tagIdx := -1; tagIdx < q; tagIdx++ {
				if tagIdx >= 0 && mask&(1<<tagIdx) != 0 {
					continue
				}
				s := spec
				s.Tag, s.TagIndex = tagIdx >= 0, tagIdx
				th, err := Prove(rand.Reader, f.p, f.mvk, sig, attrs, s, ctx)
				if err != nil {
					t.Fatal(err)
				}
				if err := Verify(f.p, f.mvk, th, ctx); err != nil {
					t.Fatalf("k=%d mask=%b tag=%d: %v", k, mask, tagIdx, err)
				}
				if err := pk.Verify(f.p, th, ctx); err != nil {
					t.Fatalf("prepared k=%d mask=%b tag=%d: %v", k, mask, tagIdx, err)
				}
				d := th.Disclosed()
				if len(d) != len(spec.Reveal) {
					t.Fatalf("disclosed %d attributes, want %d", len(d), len(spec.Reveal))
				}
				for _, i := range spec.Reveal {
					if !d[i].Equal(attrs[i]) {
						t.Fatalf("disclosed attribute %d wrong", i)
					}
				}
				if _, _, ok := th.SpendTag(); ok != (tagIdx >= 0) {
					t.Fatal("spend tag presence wrong")
				}
				// Round trip through the encoding.
				b, _ := th.MarshalBinary()
				if len(b) != ThetaSize(q, tagIdx >= 0) {
					t.Fatalf("encoded %d bytes, ThetaSize says %d", len(b), ThetaSize(q, tagIdx >= 0))
				}
				var th2 Theta
				if err := th2.UnmarshalBinary(b); err != nil {
					t.Fatal(err)
				}
				if err := pk.Verify(f.p, &th2, ctx); err != nil {
					t.Fatalf("decoded proof: %v", err)
				}
			}
		}
	}
}

func TestShowTwiceUnlinkableSameTag(t *testing.T) {
	p, err := Setup(BandwidthAttributes)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, BandwidthAttributes, 2, 3)
	f.p = p
	v, err := NewBandwidthVoucher(rand.Reader, HashToScalar([]byte("client key")), 1<<30, "bandwidth")
	if err != nil {
		t.Fatal(err)
	}
	sig, attrs := f.credential(t, v.Private(), v.Public())
	pk := f.mvk.Prepare()
	if err := pk.PrepareBandwidth(1<<30, "bandwidth"); err != nil {
		t.Fatal(err)
	}
	if err := pk.PrepareDisclosed(map[int]Scalar{4: NewScalar(1)}); !errors.Is(err, ErrDisclosure) {
		t.Fatalf("disclosure of a missing attribute prepared: %v", err)
	}
	ctx := []byte("gateway-7")
	th1, err := Prove(rand.Reader, p, f.mvk, sig, attrs, BandwidthShowSpec, ctx)
	if err != nil {
		t.Fatal(err)
	}
	th2, err := Prove(rand.Reader, p, f.mvk, sig, attrs, BandwidthShowSpec, ctx)
	if err != nil {
		t.Fatal(err)
	}
	s1, err := VerifyBandwidth(p, pk, th1, ctx)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := VerifyBandwidth(p, pk, th2, ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s1.Tag != s2.Tag {
		t.Fatal("two shows of one credential gave different spend tags")
	}
	if s1.Value != 1<<30 || !s1.Type.Equal(HashToScalar([]byte("bandwidth"))) {
		t.Fatal("disclosed value or type wrong")
	}
	// Unlinkable: no group element or response is shared between the two shows.
	b1, _ := th1.MarshalBinary()
	b2, _ := th2.MarshalBinary()
	h1, h2 := th1.hp.Bytes(), th2.hp.Bytes()
	s1b, s2b := th1.sp.Bytes(), th2.sp.Bytes()
	a1, a2 := th1.a.Bytes(), th2.a.Bytes()
	if h1 == h2 || s1b == s2b || a1 == a2 || th1.az.Equal(th2.az) || th1.zr.Equal(th2.zr) {
		t.Fatal("two shows share a component")
	}
	if bytes.Equal(b1, b2) {
		t.Fatal("two shows are identical")
	}
	// A different credential gives a different tag.
	v2, _ := NewBandwidthVoucher(rand.Reader, v.Binding, v.Value, v.Type)
	sig2, attrs2 := f.credential(t, v2.Private(), v2.Public())
	th3, err := Prove(rand.Reader, p, f.mvk, sig2, attrs2, BandwidthShowSpec, ctx)
	if err != nil {
		t.Fatal(err)
	}
	s3, err := VerifyBandwidth(p, pk, th3, ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s3.Tag == s1.Tag {
		t.Fatal("two credentials share a spend tag")
	}
	// A voucher of a value the key was not prepared for verifies too (generic path).
	v3, _ := NewBandwidthVoucher(rand.Reader, v.Binding, 12345, "bandwidth")
	sig3, attrs3 := f.credential(t, v3.Private(), v3.Public())
	th7, err := Prove(rand.Reader, p, f.mvk, sig3, attrs3, BandwidthShowSpec, ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s7, err := VerifyBandwidth(p, pk, th7, ctx); err != nil || s7.Value != 12345 {
		t.Fatalf("unprepared value: %v", err)
	}
	// The verifier insists on the bandwidth shape.
	th4, err := Prove(rand.Reader, p, f.mvk, sig, attrs, ShowSpec{Reveal: []int{BandwidthValue, BandwidthType}}, ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyBandwidth(p, pk, th4, ctx); !errors.Is(err, ErrDisclosure) {
		t.Fatalf("proof without tag accepted as bandwidth: %v", err)
	}
}

func TestShowTampering(t *testing.T) {
	f := newFixture(t, BandwidthAttributes, 2, 3)
	v, _ := NewBandwidthVoucher(rand.Reader, NewScalar(9), 1000, "bandwidth")
	sig, attrs := f.credential(t, v.Private(), v.Public())
	ctx := []byte("ctx")
	th, err := Prove(rand.Reader, f.p, f.mvk, sig, attrs, BandwidthShowSpec, ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(f.p, f.mvk, th, ctx); err != nil {
		t.Fatal(err)
	}
	mutate := func(fn func(*Theta)) *Theta {
		c := *th
		c.z = append([]curve.Scalar{}, th.z...)
		c.m = append([]curve.Scalar{}, th.m...)
		fn(&c)
		return &c
	}
	one := NewScalar(1).s
	cases := map[string]*Theta{
		"disclosed value":  mutate(func(c *Theta) { c.m[0] = c.m[0].Add(one) }),
		"disclosed type":   mutate(func(c *Theta) { c.m[1] = HashToScalar([]byte("premium")).s }),
		"response z_r":     mutate(func(c *Theta) { c.zr = c.zr.Add(one) }),
		"response serial":  mutate(func(c *Theta) { c.z[0] = c.z[0].Add(one) }),
		"response binding": mutate(func(c *Theta) { c.z[1] = c.z[1].Add(one) }),
		"commitment A":     mutate(func(c *Theta) { c.a = c.a.Add(c.a) }),
		"h'":               mutate(func(c *Theta) { c.hp = c.hp.Add(c.hp) }),
		"s''":              mutate(func(c *Theta) { c.sp = c.sp.Add(c.hp) }),
		"spend tag":        mutate(func(c *Theta) { c.zeta = c.zeta.Add(c.az) }),
		"tag commitment":   mutate(func(c *Theta) { c.az = c.az.Add(c.zeta) }),
		"tag moved":        mutate(func(c *Theta) { c.tag = BandwidthBinding }),
		"no tag":           mutate(func(c *Theta) { c.tag = -1 }),
		"identity h', s''": mutate(func(c *Theta) { c.hp, c.sp = curve.G1{}, curve.G1{} }),
	}
	pk := f.mvk.Prepare()
	if err := pk.PrepareBandwidth(1000, "bandwidth"); err != nil {
		t.Fatal(err)
	}
	if err := pk.Verify(f.p, th, ctx); err != nil {
		t.Fatal(err)
	}
	for name, c := range cases {
		if err := Verify(f.p, f.mvk, c, ctx); err == nil {
			t.Errorf("%s: tampered proof verified", name)
		}
		if err := pk.Verify(f.p, c, ctx); err == nil {
			t.Errorf("%s: tampered proof verified under the prepared key", name)
		}
	}
	if err := Verify(f.p, f.mvk, th, []byte("other ctx")); !errors.Is(err, ErrCredential) {
		t.Errorf("proof replayed under another context: %v", err)
	}
	// Under another authority set's key.
	g := newFixture(t, BandwidthAttributes, 2, 3)
	if err := Verify(f.p, g.mvk, th, ctx); err == nil {
		t.Error("proof verified under a foreign key")
	}
	// A credential from a foreign signer cannot be shown.
	sigs, idx, _ := f.issue(t, v.Private(), v.Public(), []int{0})
	gs, gidx, _ := g.issue(t, v.Private(), v.Public(), []int{1})
	_ = gidx
	mixed, err := AggregateSignatures([]*Signature{sigs[0], {h: sigs[0].h, s: gs[0].s}}, []uint64{idx[0], 2})
	if err != nil {
		t.Fatal(err)
	}
	th5, err := Prove(rand.Reader, f.p, f.mvk, mixed, attrs, BandwidthShowSpec, ctx)
	if err != nil {
		t.Fatal(err)
	}
	if Verify(f.p, f.mvk, th5, ctx) == nil {
		t.Error("credential with a foreign partial signature verified")
	}
	// A wrong attribute at show time.
	bad := append([]Scalar{}, attrs...)
	bad[BandwidthBinding] = NewScalar(10)
	th6, err := Prove(rand.Reader, f.p, f.mvk, sig, bad, BandwidthShowSpec, ctx)
	if err != nil {
		t.Fatal(err)
	}
	if Verify(f.p, f.mvk, th6, ctx) == nil {
		t.Error("show with a wrong hidden attribute verified")
	}
	// Invalid specs are refused by the prover.
	for _, s := range []ShowSpec{
		{Reveal: []int{4}},
		{Reveal: []int{1, 1}},
		{Reveal: []int{0}, Tag: true, TagIndex: 0},
		{Tag: true, TagIndex: 5},
	} {
		if _, err := Prove(rand.Reader, f.p, f.mvk, sig, attrs, s, ctx); !errors.Is(err, ErrDisclosure) {
			t.Errorf("spec %+v: %v", s, err)
		}
	}
}
