package sphinx

import (
	"bytes"
	"crypto/sha256"
	"io"
	"testing"
)

// benchFilter is a 1-hour filter at 500 packets/s (5.4 MB), a third full.
func benchFilter(b *testing.B) *ReplayFilter {
	f, err := NewReplayFilterFor(1_800_000, 1e-5)
	if err != nil {
		b.Fatal(err)
	}
	for i := range uint64(600_000) {
		f.TestAndAdd(tagOf(i))
	}
	return f
}

// BenchmarkReplayFilterWriteTo is the cost of saving a filter (to a
// discarding writer: the disk is not measured). Its floor is
// BenchmarkFloorSHA256Filter, the checksum over the same bytes.
func BenchmarkReplayFilterWriteTo(b *testing.B) {
	f := benchFilter(b)
	b.SetBytes(f.EncodedSize())
	b.ResetTimer()
	for b.Loop() {
		if _, err := f.WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadReplayFilter is the cost of restoring a filter from its
// encoding; floor BenchmarkFloorSHA256Filter.
func BenchmarkReadReplayFilter(b *testing.B) {
	enc, err := benchFilter(b).MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := ReadReplayFilter(bytes.NewReader(enc), int64(len(enc))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloorSHA256Filter is SHA-256 over a filter's encoding: what any
// checked save or restore must spend.
func BenchmarkFloorSHA256Filter(b *testing.B) {
	enc, err := benchFilter(b).MarshalBinary()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(enc)))
	b.ResetTimer()
	for b.Loop() {
		sha256.Sum256(enc)
	}
}
