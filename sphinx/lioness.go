package sphinx

import (
	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20"
)

// LIONESS (Anderson and Biham, 1996) over ChaCha20 and BLAKE2b-256: a
// wide-block cipher, so changing any bit of a ciphertext turns the whole
// plaintext into noise. The block is split into L (the first 32 bytes) and R
// (the rest, at least one byte):
//
//	encrypt: R ^= S(L^K1); L ^= H(K2,R); R ^= S(L^K3); L ^= H(K4,R)
//	decrypt: L ^= H(K4,R); R ^= S(L^K3); L ^= H(K2,R); R ^= S(L^K1)
//
// S(k) is the ChaCha20 keystream (RFC 8439) with key k, nonce zero, counter
// zero. H(K,R) is BLAKE2b-256 of K||R (the key as a 32-byte prefix: BLAKE2b
// has no length extension, so a prefix key makes it a PRF). K1..K4 are the
// first 128 bytes of S(payload key).
const lionessHalf = chacha20.KeySize // |L| = 32

type lionessKeys [4][32]byte

func expandLionessKeys(k *lionessKeys, key *[PayloadKeySize]byte) {
	var zeroNonce [chacha20.NonceSize]byte
	c, err := chacha20.NewUnauthenticatedCipher(key[:], zeroNonce[:])
	if err != nil {
		panic("sphinx: chacha20 refused a 32-byte key: " + err.Error())
	}
	*k = lionessKeys{}
	for i := range k {
		c.XORKeyStream(k[i][:], k[i][:])
	}
}

// lionessEncrypt encrypts block in place. len(block) must exceed 32.
func lionessEncrypt(key *[PayloadKeySize]byte, block []byte) {
	var k lionessKeys
	expandLionessKeys(&k, key)
	lionessStream(block, &k[0])
	lionessHash(block, &k[1])
	lionessStream(block, &k[2])
	lionessHash(block, &k[3])
}

// lionessDecrypt decrypts block in place. len(block) must exceed 32.
func lionessDecrypt(key *[PayloadKeySize]byte, block []byte) {
	var k lionessKeys
	expandLionessKeys(&k, key)
	lionessHash(block, &k[3])
	lionessStream(block, &k[2])
	lionessHash(block, &k[1])
	lionessStream(block, &k[0])
}

// lionessStream: R ^= ChaCha20(L ^ k).
func lionessStream(block []byte, k *[32]byte) {
	var key [32]byte
	for i := range key {
		key[i] = block[i] ^ k[i]
	}
	var zeroNonce [chacha20.NonceSize]byte
	c, err := chacha20.NewUnauthenticatedCipher(key[:], zeroNonce[:])
	if err != nil {
		panic("sphinx: chacha20 refused a 32-byte key: " + err.Error())
	}
	r := block[lionessHalf:]
	c.XORKeyStream(r, r)
}

// lionessHash: L ^= BLAKE2b-256(k || R). The key is written over L for the
// duration of the hash, so k||R is one contiguous slice and no buffer or
// hash object is allocated; L is restored before it is updated.
func lionessHash(block []byte, k *[32]byte) {
	var l [lionessHalf]byte
	copy(l[:], block[:lionessHalf])
	copy(block[:lionessHalf], k[:])
	d := blake2b.Sum256(block)
	for i := range l {
		block[i] = l[i] ^ d[i]
	}
}
