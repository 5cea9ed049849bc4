package coconut

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

// The summed commitments give the same keys as the dealings, check key
// shares the same way and survive their encoding; a bad encoding is refused.
func TestCommitments(t *testing.T) {
	g, keys := newDKG(t, BandwidthAttributes, 4)
	ds := make([]*Dealing, 4)
	for i := range ds {
		d, err := g.Deal(rand.Reader, i+1)
		if err != nil {
			t.Fatal(err)
		}
		ds[i] = d
	}
	c, err := g.SumCommitments(ds[:3])
	if err != nil {
		t.Fatal(err)
	}
	bz, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if len(bz) != CommitmentsSize(g.Threshold, BandwidthAttributes) {
		t.Fatalf("%d bytes", len(bz))
	}
	var c2 Commitments
	if err := c2.UnmarshalBinary(bz); err != nil {
		t.Fatal(err)
	}
	master, err := g.DeriveMasterVerificationKey(ds[:3])
	if err != nil {
		t.Fatal(err)
	}
	if !c2.MasterVerificationKey().Equal(master) {
		t.Fatal("master keys differ")
	}
	for i := 1; i <= 4; i++ {
		sk, err := g.DeriveSecretKey(ds[:3], i, keys[i-1])
		if err != nil {
			t.Fatal(err)
		}
		if err := g.VerifyKeyShareAgainst(rand.Reader, &c2, i, sk.VerificationKey()); err != nil {
			t.Fatalf("share %d: %v", i, err)
		}
		other := i%4 + 1
		if err := g.VerifyKeyShareAgainst(rand.Reader, &c2, other, sk.VerificationKey()); !errors.Is(err, ErrSignature) {
			t.Fatalf("share %d as %d: %v", i, other, err)
		}
	}
	if _, err := g.SumCommitments(ds[:2]); !errors.Is(err, ErrNotEnoughKey) {
		t.Fatalf("two of threshold three: %v", err)
	}
	for name, bad := range map[string][]byte{
		"empty":     nil,
		"truncated": bz[:len(bz)-1],
		"trailing":  append(bytes.Clone(bz), 0),
		"reserved":  append(append(bytes.Clone(bz[:3]), 1), bz[4:]...),
		"point":     append(bytes.Clone(bz[:4]), bytes.Repeat([]byte{0xff}, len(bz)-4)...),
	} {
		if err := new(Commitments).UnmarshalBinary(bad); err == nil {
			t.Fatalf("%s: decoded", name)
		}
	}
}
