package sphinx

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// ReplayTag identifies one packet at one hop. ProcessHop returns it; a node
// keeps the tags it has seen under its current key (in a ReplayFilter) and
// drops a packet whose tag it has seen. It is derived from the hop's shared
// secret and the exact group element, so the same packet always gives the
// same tag at the same node, a packet sent again with a modified payload too,
// and packets of different senders or hops give unrelated tags.
type ReplayTag [ReplayTagSize]byte

// String returns the tag in hex.
func (t ReplayTag) String() string { return hex.EncodeToString(t[:]) }

// MaxReplayFilterBits bounds the size of a ReplayFilter (2^35 bits, 4 GiB).
const MaxReplayFilterBits = 1 << 35

// ReplayFilter is a Bloom filter of replay tags: it never forgets a tag it was
// given and wrongly claims to have seen a new one with a small probability.
// A node keeps one per Sphinx key epoch and drops it with the key: tags of
// an old key can no longer arrive, since packets made for that key fail the
// MAC under the new one.
//
// It is safe for concurrent use. Two goroutines offering the same tag at the
// same moment are serialized, so exactly one of them is told the tag is new.
type ReplayFilter struct {
	words   []uint64
	m       uint64 // number of bits
	k       int    // bits per tag
	n       uint64 // tags it was sized for
	added   atomic.Uint64
	stripes [64]sync.Mutex
}

// NewReplayFilter returns a filter sized for packetsPerSecond arriving over
// one key epoch with the given false-positive probability once the filter
// holds that many tags. Nym's nodes use 1e-5.
func NewReplayFilter(packetsPerSecond float64, epoch time.Duration, falsePositive float64) (*ReplayFilter, error) {
	if !(packetsPerSecond > 0) || math.IsInf(packetsPerSecond, 0) {
		return nil, fmt.Errorf("sphinx: replay filter: rate %v must be positive and finite", packetsPerSecond)
	}
	if epoch <= 0 {
		return nil, fmt.Errorf("sphinx: replay filter: epoch %v must be positive", epoch)
	}
	n := math.Ceil(packetsPerSecond * epoch.Seconds())
	if n > MaxReplayFilterBits {
		return nil, fmt.Errorf("sphinx: replay filter: %.0f tags per epoch is too many", n)
	}
	return NewReplayFilterFor(uint64(n), falsePositive)
}

// NewReplayFilterFor returns a filter sized for n tags with the given
// false-positive probability: m = -n ln(p) / ln(2)^2 bits, rounded up to a
// multiple of 64, and k = round(m/n ln 2) bits per tag.
func NewReplayFilterFor(n uint64, falsePositive float64) (*ReplayFilter, error) {
	if n == 0 {
		return nil, errors.New("sphinx: replay filter: expected count must be positive")
	}
	if !(falsePositive > 0 && falsePositive < 1) {
		return nil, fmt.Errorf("sphinx: replay filter: false-positive rate %v is outside (0, 1)", falsePositive)
	}
	bits := math.Ceil(-float64(n) * math.Log(falsePositive) / (math.Ln2 * math.Ln2))
	if bits > MaxReplayFilterBits {
		return nil, fmt.Errorf("sphinx: replay filter: %d tags at %v need %.0f bits, over the limit of %d", n, falsePositive, bits, uint64(MaxReplayFilterBits))
	}
	m := (uint64(bits) + 63) &^ 63
	if m == 0 {
		m = 64
	}
	k := int(math.Round(float64(m) / float64(n) * math.Ln2))
	k = max(1, min(k, 32))
	return &ReplayFilter{words: make([]uint64, m/64), m: m, k: k, n: n}, nil
}

// TestAndAdd adds tag and reports whether it was (probably) there already:
// true means drop the packet.
func (f *ReplayFilter) TestAndAdd(tag ReplayTag) (seen bool) {
	h1, h2 := tagHashes(&tag)
	mu := &f.stripes[h1%uint64(len(f.stripes))]
	mu.Lock()
	seen = true
	for i := 0; i < f.k; i++ {
		bit := (h1 + uint64(i)*h2) % f.m
		mask := uint64(1) << (bit % 64)
		if atomic.OrUint64(&f.words[bit/64], mask)&mask == 0 {
			seen = false
		}
	}
	mu.Unlock()
	if !seen {
		f.added.Add(1)
	}
	return seen
}

// Contains reports whether tag is (probably) in the filter, without adding it.
func (f *ReplayFilter) Contains(tag ReplayTag) bool {
	h1, h2 := tagHashes(&tag)
	for i := 0; i < f.k; i++ {
		bit := (h1 + uint64(i)*h2) % f.m
		if atomic.LoadUint64(&f.words[bit/64])&(uint64(1)<<(bit%64)) == 0 {
			return false
		}
	}
	return true
}

// Len returns how many new tags the filter has taken.
func (f *ReplayFilter) Len() uint64 { return f.added.Load() }

// Bits returns the filter's size in bits (m).
func (f *ReplayFilter) Bits() uint64 { return f.m }

// Hashes returns the number of bits set per tag (k).
func (f *ReplayFilter) Hashes() int { return f.k }

// FalsePositiveRate estimates the probability that a new tag is reported as
// seen, given how many tags the filter holds now: (1 - e^(-k·len/m))^k.
func (f *ReplayFilter) FalsePositiveRate() float64 {
	fill := 1 - math.Exp(-float64(f.k)*float64(f.Len())/float64(f.m))
	return math.Pow(fill, float64(f.k))
}

// Full reports whether the filter holds more tags than it was sized for, so
// its false-positive rate is above the target. A node should then rotate its
// key early or accept the higher rate.
func (f *ReplayFilter) Full() bool { return f.Len() > f.n }

// tagHashes returns the two 64-bit values of double hashing. Tags are HKDF
// outputs, uniformly distributed and unknown to everyone but the packet's
// sender and the node, so they are used directly. h2 is odd and m is a
// multiple of 64, so h2 is never 0 modulo m and the probes never collapse
// onto one bit.
func tagHashes(t *ReplayTag) (h1, h2 uint64) {
	return binary.LittleEndian.Uint64(t[0:8]), binary.LittleEndian.Uint64(t[8:16]) | 1
}
