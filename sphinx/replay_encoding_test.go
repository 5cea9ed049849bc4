package sphinx

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"testing"
	"testing/iotest"
)

func tagOf(i uint64) ReplayTag {
	var t ReplayTag
	h := newDetReader("replay-encoding")
	_, _ = io.ReadFull(h, t[:])
	for j := range 8 {
		t[j] ^= byte(i >> (8 * j))
	}
	return t
}

func filledFilter(t testing.TB, n, add uint64) *ReplayFilter {
	f, err := NewReplayFilterFor(n, 1e-3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range add {
		f.TestAndAdd(tagOf(i))
	}
	return f
}

func TestReplayFilterEncodingRoundTrip(t *testing.T) {
	f := filledFilter(t, 5000, 3000)
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != f.EncodedSize() {
		t.Fatalf("encoding is %d bytes, EncodedSize says %d", len(b), f.EncodedSize())
	}
	var streamed bytes.Buffer
	if n, err := f.WriteTo(&streamed); err != nil || n != int64(len(b)) || !bytes.Equal(streamed.Bytes(), b) {
		t.Fatalf("WriteTo wrote %d bytes (%v), different from MarshalBinary", n, err)
	}
	for name, decode := range map[string]func() (*ReplayFilter, error){
		"unmarshal": func() (*ReplayFilter, error) { return UnmarshalReplayFilter(b) },
		"read":      func() (*ReplayFilter, error) { return ReadReplayFilter(bytes.NewReader(b), int64(len(b))) },
		"read 1 byte at a time": func() (*ReplayFilter, error) {
			return ReadReplayFilter(iotest.OneByteReader(bytes.NewReader(b)), int64(len(b)))
		},
	} {
		g, err := decode()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if g.Bits() != f.Bits() || g.Hashes() != f.Hashes() || g.Capacity() != f.Capacity() || g.Len() != f.Len() {
			t.Fatalf("%s: decoded m=%d k=%d n=%d len=%d, want m=%d k=%d n=%d len=%d", name,
				g.Bits(), g.Hashes(), g.Capacity(), g.Len(), f.Bits(), f.Hashes(), f.Capacity(), f.Len())
		}
		for i := range uint64(3000) {
			if !g.TestAndAdd(tagOf(i)) {
				t.Fatalf("%s: tag %d was forgotten", name, i)
			}
		}
		if g.Len() != f.Len() {
			t.Fatalf("%s: replays were counted as new tags", name)
		}
	}
}

func TestReplayFilterEncodingDamageRefused(t *testing.T) {
	f := filledFilter(t, 100, 60)
	b, _ := f.MarshalBinary()
	check := func(what string, bad []byte) {
		t.Helper()
		if _, err := UnmarshalReplayFilter(bad); !errors.Is(err, ErrReplayEncoding) {
			t.Fatalf("%s: unmarshal gave %v", what, err)
		}
		if _, err := ReadReplayFilter(bytes.NewReader(bad), int64(len(bad))); !errors.Is(err, ErrReplayEncoding) {
			t.Fatalf("%s: read gave %v", what, err)
		}
	}
	// Every single-bit flip anywhere, header, words or checksum.
	for i := range len(b) * 8 {
		bad := bytes.Clone(b)
		bad[i/8] ^= 1 << (i % 8)
		check("bit flip", bad)
	}
	for _, n := range []int{0, 1, replayHeaderSize, replayHeaderSize + 8, len(b) - 1} {
		check("truncated", b[:n])
	}
	check("extended", append(bytes.Clone(b), 0))
	// A reader that gives fewer bytes than the size it was told.
	if _, err := ReadReplayFilter(bytes.NewReader(b[:len(b)-5]), int64(len(b))); !errors.Is(err, ErrReplayEncoding) {
		t.Fatalf("short reader: %v", err)
	}
	// A reader that has more bytes than the size it was told.
	if _, err := ReadReplayFilter(bytes.NewReader(append(bytes.Clone(b), 1, 2)), int64(len(b))); !errors.Is(err, ErrReplayEncoding) {
		t.Fatalf("long reader: %v", err)
	}
}

// Saving while workers add tags gives a filter that holds at least every tag
// added before the save began, and is internally consistent.
func TestReplayFilterEncodingWhileAdding(t *testing.T) {
	f := filledFilter(t, 200_000, 1000)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range uint64(2) {
		wg.Go(func() {
			for i := uint64(1_000_000 * (w + 1)); ; i++ {
				select {
				case <-stop:
					return
				default:
					f.TestAndAdd(tagOf(i))
				}
			}
		})
	}
	var snaps [][]byte
	for range 5 {
		b, err := f.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, b)
	}
	close(stop)
	wg.Wait()
	for _, b := range snaps {
		g, err := UnmarshalReplayFilter(b)
		if err != nil {
			t.Fatal(err)
		}
		for i := range uint64(1000) {
			if !g.Contains(tagOf(i)) {
				t.Fatalf("tag %d, added before the save, is missing", i)
			}
		}
	}
}
