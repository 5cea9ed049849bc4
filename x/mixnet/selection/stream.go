package selection

import (
	"crypto/sha256"
	"encoding/binary"
	"math/bits"
)

// streamDomain separates this package's random stream from any other use of
// the same seed.
const streamDomain = "nyx/mixnet/selection/v1"

// Stream is a deterministic stream of random numbers: SHA-256 in counter
// mode keyed by a 32-byte seed. Block i is
//
//	SHA-256("nyx/mixnet/selection/v1" || seed || uint64_be(i))
//
// read as four big-endian uint64 values, blocks in order i = 0, 1, 2, ...
// It is fully specified by that line, so any implementation (in any language)
// reproduces it; it is not safe for concurrent use.
type Stream struct {
	prefix  [len(streamDomain) + SeedSize + 8]byte
	counter uint64
	block   [sha256.Size]byte
	used    int // uint64 values of block already returned
}

// NewStream returns the stream for a seed.
func NewStream(seed [SeedSize]byte) *Stream {
	s := &Stream{used: 4}
	copy(s.prefix[:], streamDomain)
	copy(s.prefix[len(streamDomain):], seed[:])
	return s
}

// Uint64 returns the next 64 random bits.
func (s *Stream) Uint64() uint64 {
	if s.used == 4 {
		binary.BigEndian.PutUint64(s.prefix[len(streamDomain)+SeedSize:], s.counter)
		s.block = sha256.Sum256(s.prefix[:])
		s.counter++
		s.used = 0
	}
	v := binary.BigEndian.Uint64(s.block[8*s.used:])
	s.used++
	return v
}

// Uint64n returns a number uniform in [0, n) by rejection sampling: it
// masks Uint64 to the bit length of n−1 and retries values ≥ n, so at most
// half the draws are wasted on average and the result is exactly uniform.
// It returns 0 for n ≤ 1.
func (s *Stream) Uint64n(n uint64) uint64 {
	if n <= 1 {
		return 0
	}
	mask := uint64(1)<<bits.Len64(n-1) - 1
	for {
		if v := s.Uint64() & mask; v < n {
			return v
		}
	}
}
