package sphinx

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/subtle"
)

// Labels of the per-hop key derivation (HKDF-Expand info strings). SPEC.md
// lists them; changing one changes the format.
const (
	labelHeaderMAC    = "nyx-sphinx-v1 header-mac"
	labelHeaderStream = "nyx-sphinx-v1 header-stream"
	labelPayload      = "nyx-sphinx-v1 payload"
	labelBlinding     = "nyx-sphinx-v1 blinding"
	labelReplayTag    = "nyx-sphinx-v1 replay-tag"
)

// hopKeys are everything one hop derives from its shared secret.
type hopKeys struct {
	headerMAC    [32]byte // HMAC-SHA256 key for the header MAC
	headerStream [16]byte // AES-128 key for the routing-information stream
	payload      [PayloadKeySize]byte
	blinding     [32]byte // X25519 scalar that blinds the group element
	replayTag    ReplayTag
}

// deriveHopKeys computes the hop keys for group element alpha and shared
// secret s:
//
//	prk = HKDF-Extract(salt = alpha, ikm = s)
//	key = HKDF-Expand(prk, label, len)   for each label
//
// alpha is the exact 32 bytes on the wire, so any change to it, even one that
// leaves s unchanged (the ignored top bit, a non-canonical encoding, an added
// low-order component), changes every key and fails the MAC.
func deriveHopKeys(k *hopKeys, alpha, s *[32]byte) {
	var prk [32]byte
	hmacSHA256(&prk, alpha[:], s[:], nil)
	hkdfExpand(k.headerMAC[:], &prk, labelHeaderMAC)
	hkdfExpand(k.headerStream[:], &prk, labelHeaderStream)
	hkdfExpand(k.payload[:], &prk, labelPayload)
	hkdfExpand(k.blinding[:], &prk, labelBlinding)
	hkdfExpand(k.replayTag[:], &prk, labelReplayTag)
}

// hkdfExpand is HKDF-Expand (RFC 5869) with SHA-256 for outputs of at most
// one hash block: T(1) = HMAC(prk, info || 0x01), truncated.
func hkdfExpand(out []byte, prk *[32]byte, info string) {
	var label [64]byte
	n := copy(label[:], info)
	label[n] = 1
	var t [32]byte
	hmacSHA256(&t, prk[:], label[:n+1], nil)
	copy(out, t[:])
}

// hmacSHA256 computes HMAC-SHA256(key, m1 || m2) into out. key is at most
// one block (64 bytes). It is written out rather than taken from crypto/hmac
// because crypto/hmac allocates several times per key, and a key is used
// once per packet; the tests check it against crypto/hmac.
func hmacSHA256(out *[32]byte, key, m1, m2 []byte) {
	var pad [sha256.BlockSize]byte
	copy(pad[:], key)
	for i := range pad {
		pad[i] ^= 0x36
	}
	h := sha256.New()
	h.Write(pad[:])
	h.Write(m1)
	h.Write(m2)
	var inner [32]byte
	h.Sum(inner[:0])
	for i := range pad {
		pad[i] ^= 0x36 ^ 0x5c
	}
	h.Reset()
	h.Write(pad[:])
	h.Write(inner[:])
	h.Sum(out[:0])
}

// headerMAC computes the truncated header MAC of the routing information.
func headerMAC(out *[MACSize]byte, key *[32]byte, beta []byte) {
	var full [32]byte
	hmacSHA256(&full, key[:], beta, nil)
	copy(out[:], full[:MACSize])
}

// macEqual compares a computed MAC with the one on the wire in constant time.
func macEqual(mac *[MACSize]byte, wire []byte) bool {
	return subtle.ConstantTimeCompare(mac[:], wire) == 1
}

// ctrStream is AES-128 in counter mode with an all-zero initial counter
// block, incremented as one big-endian 128-bit integer: the keystream of
// crypto/cipher's CTR with a zero IV. It is written over cipher.Block so that
// a hop costs one allocation (the key schedule) instead of two, and its
// counter and keystream blocks live in 32 bytes of scratch the caller owns
// (a hop uses the group-element field of its output buffer, which it
// overwrites afterwards anyway), because whatever is passed to
// cipher.Block.Encrypt escapes to the heap. The tests check it against
// cipher.NewCTR.
type ctrStream struct {
	block   cipher.Block
	counter []byte // aes.BlockSize bytes of scratch
	ks      []byte // aes.BlockSize bytes of scratch
	used    int    // bytes of ks already consumed
}

// ctrScratchSize is the scratch a ctrStream needs.
const ctrScratchSize = 2 * aes.BlockSize

func newCTRStream(s *ctrStream, key *[16]byte, scratch []byte) {
	b, err := aes.NewCipher(key[:])
	if err != nil {
		// A 16-byte key is always accepted.
		panic("sphinx: aes.NewCipher refused a 16-byte key: " + err.Error())
	}
	scratch = scratch[:ctrScratchSize]
	clear(scratch)
	*s = ctrStream{block: b, counter: scratch[:aes.BlockSize], ks: scratch[aes.BlockSize:], used: aes.BlockSize}
}

// xor sets dst = src XOR the next len(src) keystream bytes. dst and src may
// be the same slice.
func (s *ctrStream) xor(dst, src []byte) {
	dst = dst[:len(src)]
	for len(src) > 0 {
		if s.used == aes.BlockSize {
			s.block.Encrypt(s.ks, s.counter)
			for i := aes.BlockSize - 1; i >= 0; i-- {
				s.counter[i]++
				if s.counter[i] != 0 {
					break
				}
			}
			s.used = 0
		}
		n := subtle.XORBytes(dst, src, s.ks[s.used:])
		s.used += n
		dst, src = dst[n:], src[n:]
	}
}
