package gateway

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/nyx-privacy/nyx/sphinx"
)

// BenchmarkDeliverStored measures storing a regular payload for an offline
// client: one bbolt commit (two fsyncs) per call, shared by concurrent calls.
func BenchmarkDeliverStored(b *testing.B) {
	for _, par := range []int{1, 16} {
		b.Run(map[int]string{1: "serial", 16: "parallel16"}[par], func(b *testing.B) {
			g := newBenchGateway(b)
			ids := registerOffline(b, g, par)
			payload := make([]byte, sphinx.Regular.PayloadSize)
			b.SetBytes(int64(len(payload)))
			b.ResetTimer()
			b.SetParallelism(par)
			var next atomic.Uint64
			b.RunParallel(func(pb *testing.PB) {
				id := ids[int(next.Add(1))%len(ids)]
				for pb.Next() {
					if err := g.Deliver(id, payload); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkDeliverLive measures pushing regular payloads to a connected
// client that acknowledges every 64.
func BenchmarkDeliverLive(b *testing.B) {
	g := newBenchGateway(b)
	key := newClientKey(b)
	c, _, err := Register(context.Background(), g.url, g.Identity(), key)
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

// registerOffline registers n clients and disconnects them.
func registerOffline(b *testing.B, g *testGateway, n int) [][32]byte {
	var ids [][32]byte
	for range n {
		k := newClientKey(b)
		c, _, err := Register(context.Background(), g.url, g.Identity(), k)
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
		ids = append(ids, idOf(k))
	}
	waitFor(b, "the sessions to end", func() bool { return value(g.m.connected) == 0 })
	return ids
}
