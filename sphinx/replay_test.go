package sphinx

import (
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestReplayFilterSizing(t *testing.T) {
	f, err := NewReplayFilter(1000, time.Hour, 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	// n = 3.6e6; m/n = -ln(1e-5)/ln(2)^2 = 23.96 bits; k = 16.6 -> 17.
	perTag := float64(f.Bits()) / 3.6e6
	if math.Abs(perTag-23.96) > 0.01 || f.Hashes() != 17 {
		t.Fatalf("sized %d bits (%.2f per tag), %d hashes; want 23.96 per tag, 17 hashes", f.Bits(), perTag, f.Hashes())
	}
	for _, bad := range []struct {
		rate  float64
		epoch time.Duration
		fp    float64
	}{
		{0, time.Hour, 1e-5}, {-1, time.Hour, 1e-5}, {math.NaN(), time.Hour, 1e-5}, {math.Inf(1), time.Hour, 1e-5},
		{1000, 0, 1e-5}, {1000, time.Hour, 0}, {1000, time.Hour, 1}, {1000, time.Hour, math.NaN()},
		{1e9, 24 * time.Hour, 1e-9}, // far beyond MaxReplayFilterBits
	} {
		if _, err := NewReplayFilter(bad.rate, bad.epoch, bad.fp); err == nil {
			t.Errorf("NewReplayFilter(%v, %v, %v) accepted", bad.rate, bad.epoch, bad.fp)
		}
	}
}

func TestReplayFilterNoFalseNegativesAndTargetRate(t *testing.T) {
	const n = 20000
	const target = 0.01
	f, err := NewReplayFilterFor(n, target)
	if err != nil {
		t.Fatal(err)
	}
	r := newDetReader("filter")
	tags := make([]ReplayTag, n)
	for i := range tags {
		_, _ = r.Read(tags[i][:])
		if f.TestAndAdd(tags[i]) {
			// A false positive while filling is allowed, but rare.
			continue
		}
	}
	for i := range tags {
		if !f.Contains(tags[i]) || !f.TestAndAdd(tags[i]) {
			t.Fatalf("tag %d forgotten", i)
		}
	}
	if f.Full() {
		t.Fatal("filter claims to be over capacity at capacity")
	}
	const probes = 50000
	fp := 0
	for i := 0; i < probes; i++ {
		var tag ReplayTag
		_, _ = r.Read(tag[:])
		if f.Contains(tag) {
			fp++
		}
	}
	rate := float64(fp) / probes
	// Expected about 1%; allow generous slack, still catching a broken filter.
	if rate > 3*target || rate < target/5 {
		t.Fatalf("false-positive rate %.4f, target %.4f", rate, target)
	}
	if est := f.FalsePositiveRate(); est > 2*target || est < target/2 {
		t.Fatalf("estimated false-positive rate %.4f, target %.4f", est, target)
	}
}

func TestReplayFilterConcurrentSameTag(t *testing.T) {
	f, err := NewReplayFilterFor(1000, 1e-5)
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 50; round++ {
		var tag ReplayTag
		_, _ = newDetReader("conc").Read(tag[:])
		tag[0] = byte(round)
		var fresh atomic.Int32
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if !f.TestAndAdd(tag) {
					fresh.Add(1)
				}
			}()
		}
		wg.Wait()
		if fresh.Load() != 1 {
			t.Fatalf("round %d: %d goroutines were told the tag was new, want exactly 1", round, fresh.Load())
		}
	}
}
