package node

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/nyx-privacy/nyx/sphinx"
)

// TestRotationReason: on schedule in the epoch before each boundary, early
// when the current key's replay filter is full or lost, never without a
// schedule.
func TestRotationReason(t *testing.T) {
	key, err := sphinx.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f, err := sphinx.NewReplayFilterFor(2, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{sphinxKey: key, filters: map[string]*keyFilter{
		hex.EncodeToString(key.PublicKey().Bytes()): {pub: key.PublicKey(), f: f}}}
	if r := s.rotationReason(23); r != "" {
		t.Fatalf("no schedule, yet %q", r)
	}
	s.rotationEpochs.Store(24)
	for epoch, due := range map[uint64]bool{0: false, 22: false, 23: true, 24: false, 46: false, 47: true} {
		if r := s.rotationReason(epoch); (r == "schedule") != due {
			t.Fatalf("epoch %d: %q", epoch, r)
		}
	}
	for i := range 3 {
		f.TestAndAdd(sphinx.ReplayTag{byte(i), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, byte(i)})
	}
	if !f.Full() {
		t.Fatal("the filter is not full")
	}
	if r := s.rotationReason(5); !strings.Contains(r, "full") {
		t.Fatalf("a full filter gives %q", r)
	}
	s.filters[hex.EncodeToString(key.PublicKey().Bytes())].f = nil
	if r := s.rotationReason(5); !strings.Contains(r, "lost") {
		t.Fatalf("a lost filter gives %q", r)
	}
	if keyLifetime(3600e9, 24, 1) != 26*3600e9 || keyLifetime(3600e9, 0, 7) != 7 {
		t.Fatal("keyLifetime")
	}
}
