//go:build linux

package sphinx

import (
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/cloudflare/circl/dh/x25519"
)

// threadCPU returns the CPU time the calling OS thread has used. Time spent
// waiting for a core is not counted, so figures taken with it hold on a
// machine shared with other work.
func threadCPU(b *testing.B) time.Duration {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkProcessHopVsFloorCPU is BenchmarkProcessHopVsFloor in thread CPU
// time: batches of hops (ProcessHopInto, regular packet) alternate with
// batches of the floor (two circl X25519 multiplications) on one locked OS
// thread, and each batch is charged the CPU time it used. It reports the
// CPU cost of each and their ratio, the figure to hold against the target.
func BenchmarkProcessHopVsFloorCPU(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	nodes, packet := benchPacket(b, 4)
	dst := make([]byte, len(packet))
	var secret, blind, point, shared, next x25519.Key
	_, _ = newDetReader("floor").Read(secret[:])
	_, _ = newDetReader("floor2").Read(blind[:])
	x25519.KeyGen(&point, &secret)
	const batch = 100
	var hop, floor time.Duration
	ops := 0
	b.ReportAllocs()
	for b.Loop() {
		t0 := threadCPU(b)
		for range batch {
			if _, err := Regular.ProcessHopInto(dst, nodes[0].key, packet); err != nil {
				b.Fatal(err)
			}
		}
		t1 := threadCPU(b)
		for range batch {
			x25519.Shared(&shared, &secret, &point)
			x25519.Shared(&next, &blind, &point)
		}
		t2 := threadCPU(b)
		hop += t1 - t0
		floor += t2 - t1
		ops += batch
	}
	b.ReportMetric(float64(hop.Nanoseconds())/float64(ops), "hop-cpu-ns")
	b.ReportMetric(float64(floor.Nanoseconds())/float64(ops), "floor-cpu-ns")
	b.ReportMetric(float64(hop)/float64(floor), "hop/floor")
	b.ReportMetric(float64((hop-floor).Nanoseconds())/float64(ops), "symmetric-cpu-ns")
}
