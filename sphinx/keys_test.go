package sphinx

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"math/big"
	"testing"

	"github.com/cloudflare/circl/dh/x25519"
)

// leU encodes a non-negative integer as 32 little-endian bytes.
func leU(v *big.Int) []byte {
	be := v.FillBytes(make([]byte, 32))
	for i, j := 0, 31; i < j; i, j = i+1, j-1 {
		be[i], be[j] = be[j], be[i]
	}
	return be
}

// lowOrderPoints returns encodings of the points of low order on Curve25519
// and its twist (u = 0, 1, -1 and the two u of order 8), in canonical and
// non-canonical forms.
func lowOrderPoints(t *testing.T) [][]byte {
	t.Helper()
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	var us []*big.Int
	for _, s := range []string{
		"0", "1",
		"325606250916557431795983626356110631294008115727848805560023387167927233504",
		"39382357235489614581723060781553021112529911719440698176882885853963445705823",
	} {
		u, ok := new(big.Int).SetString(s, 10)
		if !ok {
			t.Fatal(s)
		}
		us = append(us, u)
	}
	us = append(us, new(big.Int).Sub(p, big.NewInt(1)))
	var out [][]byte
	for _, u := range us {
		out = append(out, leU(u))
		if nc := new(big.Int).Add(u, p); nc.BitLen() <= 255 {
			out = append(out, leU(nc)) // non-canonical: u + p
		}
		high := leU(u)
		high[31] |= 0x80 // the ignored top bit set
		out = append(out, high)
	}
	return out
}

func TestPublicKeyValidation(t *testing.T) {
	k, err := GenerateKey(newDetReader("pk"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := NewPublicKey(k.PublicKey().Bytes())
	if err != nil {
		t.Fatalf("a generated public key was refused: %v", err)
	}
	if !pub.Equal(k.PublicKey()) {
		t.Fatal("parsed public key differs")
	}
	for _, p := range lowOrderPoints(t) {
		if _, err := NewPublicKey(p); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("low-order point %x accepted: %v", p, err)
		}
	}
	// u = 2 is on the twist: u^3 + A u^2 + u = 1946658 is not a square mod p.
	two := make([]byte, 32)
	two[0] = 2
	if _, err := NewPublicKey(two); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("twist point u=2 accepted: %v", err)
	}
	// u = 9 is the base point.
	nine := make([]byte, 32)
	nine[0] = 9
	if _, err := NewPublicKey(nine); err != nil {
		t.Errorf("base point refused: %v", err)
	}
	// Non-canonical encoding of the base point (9 + p).
	p := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	if _, err := NewPublicKey(leU(new(big.Int).Add(p, big.NewInt(9)))); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("non-canonical base point accepted: %v", err)
	}
	for _, n := range []int{0, 31, 33} {
		if _, err := NewPublicKey(make([]byte, n)); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("%d-byte public key accepted", n)
		}
	}
}

func TestPrivateKeyEncoding(t *testing.T) {
	k, err := GenerateKey(newDetReader("sk"))
	if err != nil {
		t.Fatal(err)
	}
	k2, err := NewPrivateKey(k.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !k.Equal(k2) || !k.PublicKey().Equal(k2.PublicKey()) {
		t.Fatal("private key did not round-trip")
	}
	// The public key is X25519(k, 9), as every X25519 implementation computes it.
	var base, want x25519.Key
	base[0] = 9
	x25519.Shared(&want, (*x25519.Key)(k.Bytes()), &base)
	if !bytes.Equal(k.PublicKey().Bytes(), want[:]) {
		t.Fatal("public key is not X25519(k, 9)")
	}
	if _, err := NewPrivateKey(make([]byte, 32)); !errors.Is(err, ErrInvalidKey) {
		t.Error("all-zero private key accepted")
	}
	if _, err := NewPrivateKey(make([]byte, 31)); !errors.Is(err, ErrInvalidKey) {
		t.Error("31-byte private key accepted")
	}
	if _, err := GenerateKey(&shortReader{n: 10}); err == nil {
		t.Error("GenerateKey succeeded on short randomness")
	}
}

func TestHMACMatchesStdlib(t *testing.T) {
	r := newDetReader("hmac")
	for _, n := range []int{0, 1, 55, 56, 63, 64, 65, 285, 1000} {
		key := make([]byte, 32)
		msg := make([]byte, n)
		_, _ = r.Read(key)
		_, _ = r.Read(msg)
		var got [32]byte
		hmacSHA256(&got, key, msg[:n/2], msg[n/2:])
		m := hmac.New(sha256.New, key)
		m.Write(msg)
		if !bytes.Equal(got[:], m.Sum(nil)) {
			t.Fatalf("HMAC of %d bytes differs from crypto/hmac", n)
		}
	}
}

func TestHKDFMatchesStdlib(t *testing.T) {
	var alpha, s [32]byte
	_, _ = newDetReader("hkdf-a").Read(alpha[:])
	_, _ = newDetReader("hkdf-s").Read(s[:])
	var k hopKeys
	deriveHopKeys(&k, &alpha, &s)
	for _, c := range []struct {
		label string
		got   []byte
	}{
		{labelHeaderMAC, k.headerMAC[:]},
		{labelHeaderStream, k.headerStream[:]},
		{labelPayload, k.payload[:]},
		{labelBlinding, k.blinding[:]},
		{labelReplayTag, k.replayTag[:]},
	} {
		want, err := hkdf.Key(sha256.New, s[:], alpha[:], c.label, len(c.got))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(c.got, want) {
			t.Errorf("%q differs from crypto/hkdf", c.label)
		}
	}
}

func TestCTRStreamMatchesStdlib(t *testing.T) {
	var key [16]byte
	_, _ = newDetReader("ctr").Read(key[:])
	src := make([]byte, 1000)
	_, _ = newDetReader("ctr-src").Read(src)
	want := make([]byte, len(src))
	b, _ := aes.NewCipher(key[:])
	cipher.NewCTR(b, make([]byte, aes.BlockSize)).XORKeyStream(want, src)
	var s ctrStream
	newCTRStream(&s, &key, make([]byte, ctrScratchSize))
	got := make([]byte, len(src))
	// Uneven pieces, as a hop uses it (one record, then the rest).
	off := 0
	for _, n := range []int{57, 1, 15, 16, 17, 300, 594} {
		s.xor(got[off:off+n], src[off:off+n])
		off += n
	}
	if off != len(src) || !bytes.Equal(got, want) {
		t.Fatal("ctrStream differs from crypto/cipher CTR")
	}
	// The counter carries across bytes.
	var c ctrStream
	newCTRStream(&c, &key, make([]byte, ctrScratchSize))
	binary.BigEndian.PutUint64(c.counter[8:], ^uint64(0))
	one := make([]byte, 32)
	c.xor(one, one)
	if c.counter[7] != 1 {
		t.Fatal("counter did not carry into the next byte")
	}
}

func TestLIONESS(t *testing.T) {
	var key, other [PayloadKeySize]byte
	_, _ = newDetReader("lioness-k").Read(key[:])
	_, _ = newDetReader("lioness-o").Read(other[:])
	for _, n := range []int{33, 48, 64, 2064} {
		pt := make([]byte, n)
		_, _ = newDetReader("lioness-pt").Read(pt)
		ct := bytes.Clone(pt)
		lionessEncrypt(&key, ct)
		if bytes.Equal(ct, pt) {
			t.Fatalf("n=%d: encryption changed nothing", n)
		}
		back := bytes.Clone(ct)
		lionessDecrypt(&key, back)
		if !bytes.Equal(back, pt) {
			t.Fatalf("n=%d: decrypt(encrypt(x)) != x", n)
		}
		wrong := bytes.Clone(ct)
		lionessDecrypt(&other, wrong)
		if bytes.Equal(wrong, pt) {
			t.Fatalf("n=%d: the wrong key decrypted", n)
		}
		// A flipped bit anywhere turns both halves of the plaintext into noise.
		for _, bit := range []int{0, 255, 256, n*8 - 1} {
			bad := bytes.Clone(ct)
			bad[bit/8] ^= 1 << (bit % 8)
			lionessDecrypt(&key, bad)
			if bytes.Equal(bad[:16], pt[:16]) || bytes.Equal(bad[n-1:], pt[n-1:]) && bytes.Equal(bad[32:48], pt[32:48]) {
				t.Fatalf("n=%d: flipping bit %d left part of the plaintext intact", n, bit)
			}
		}
	}
}

// craftOneHop builds a one-hop packet by hand from the primitives, with any
// flag and delay in the record, so the tests can reach the checks that only
// a wrongly built packet trips.
func craftOneHop(t *testing.T, g Geometry, pub *PublicKey, flag byte, delay uint64) []byte {
	t.Helper()
	r := newDetReader("craft")
	var x, alpha, s x25519.Key
	_, _ = r.Read(x[:])
	x25519.KeyGen(&alpha, &x)
	if !dh(&s, &x, &pub.point) {
		t.Fatal("dh failed")
	}
	var k hopKeys
	deriveHopKeys(&k, (*[32]byte)(&alpha), (*[32]byte)(&s))
	packet := make([]byte, g.PacketSize())
	copy(packet, alpha[:])
	beta := packet[g.betaStart():g.gammaStart()]
	beta[0] = flag
	binary.BigEndian.PutUint64(beta[recDelay:recTail], delay)
	_, _ = r.Read(beta[RoutingRecordSize:])
	var c ctrStream
	newCTRStream(&c, &k.headerStream, make([]byte, ctrScratchSize))
	c.xor(beta, beta)
	var mac [MACSize]byte
	headerMAC(&mac, &k.headerMAC, beta)
	copy(packet[g.gammaStart():], mac[:])
	lionessEncrypt(&k.payload, packet[g.HeaderSize():])
	return packet
}
