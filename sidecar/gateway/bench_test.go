package gateway

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/gatewayclient"
	"github.com/nyx-privacy/nyx/sphinx"
)

// BenchmarkDeliverStored measures storing regular payloads for offline
// clients, called by one goroutine (serial: each delivery waits for its own
// commit) and by 64 goroutines over 256 clients (concurrent: the committer
// puts all the deliveries waiting at a time into one commit). Each reports
// deliveries/s next to the floor measured in the same run and the same
// directory: fsyncs/s of a write of the same size followed by fdatasync
// (what one durable delivery at a time could at best do), and their ratio.
func BenchmarkDeliverStored(b *testing.B) {
	for _, c := range []struct {
		name             string
		workers, clients int
	}{{"serial", 1, 1}, {"concurrent64", 64, 256}, {"concurrent64-4clients", 64, 4}, {"concurrent256", 256, 256}} {
		b.Run(c.name, func(b *testing.B) {
			dir := b.TempDir()
			g := newTestGateway(b, Config{StoreDir: filepath.Join(dir, "store")}, nil)
			ids := registerOffline(b, g, c.clients)
			payload := make([]byte, sphinx.Regular.PayloadSize)
			floor := fsyncFloor(b, dir, messageHeaderSize+len(payload))
			b.SetBytes(int64(len(payload)))
			b.ResetTimer()
			start := time.Now()
			var next, done atomic.Int64
			work := make(chan struct{})
			close(work)
			b.SetParallelism(max(1, c.workers/runtime.GOMAXPROCS(0)))
			if c.workers == 1 {
				for i := 0; i < b.N; i++ {
					if err := g.Deliver(ids[0], payload); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						id := ids[int(next.Add(1))%len(ids)]
						if err := g.Deliver(id, payload); err != nil {
							b.Error(err)
							return
						}
						done.Add(1)
					}
				})
			}
			el := time.Since(start)
			b.StopTimer()
			perSec := float64(b.N) / el.Seconds()
			b.ReportMetric(perSec, "deliveries/s")
			b.ReportMetric(1/floor.Seconds(), "floor-fsyncs/s")
			b.ReportMetric(perSec*floor.Seconds(), "x-floor")
			commits, ops := g.st.commitStats()
			b.ReportMetric(float64(ops)/float64(max(commits, 1)), "ops/commit")
		})
	}
}

// fsyncFloor returns the mean time of writing size bytes to a file in dir
// and fdatasyncing it.
func fsyncFloor(b *testing.B, dir string, size int) time.Duration {
	f, err := os.Create(filepath.Join(dir, "floor"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, size)
	const n = 100
	start := time.Now()
	for i := range n {
		if _, err := f.WriteAt(buf, int64(i*size)); err != nil {
			b.Fatal(err)
		}
		if err := fdatasync(f); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start) / n
}

// BenchmarkDeliverLive measures pushing regular payloads to a connected
// client that acknowledges every 64.
func BenchmarkDeliverLive(b *testing.B) {
	g := newBenchGateway(b)
	key := newClientKey(b)
	c, _, err := gatewayclient.Register(context.Background(), g.url, g.Identity(), key)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < b.N; i++ {
			m, err := c.Receive(context.Background())
			if err != nil {
				b.Error(err)
				return
			}
			if i%64 == 63 || i == b.N-1 {
				c.Ack(m.ID)
			}
		}
	}()
	payload := make([]byte, sphinx.Regular.PayloadSize)
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := g.Deliver(idOf(key), payload); err != nil {
			b.Fatal(err)
		}
	}
	<-done
}

func newBenchGateway(b *testing.B) *testGateway { return newTestGateway(b, Config{}, nil) }

// registerOffline registers n clients (straight into the store: the
// handshake is tested elsewhere) that are not connected.
func registerOffline(b *testing.B, g *testGateway, n int) [][32]byte {
	var ids [][32]byte
	for range n {
		id := idOf(newClientKey(b))
		if err := g.st.putClient(id, clientRecord{RegisteredAt: time.Now(), LastSeen: time.Now()}); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}
