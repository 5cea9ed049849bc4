package mixnet_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/testutil/mixnet"
)

// BenchmarkLatency measures the end-to-end latency of one message with zero
// mix delays on loopback: from A's Send to B's Receive, through A's gateway,
// three mix layers and B's gateway, one message at a time. Setting up the
// network (a chain, five bonded nodes, an epoch) takes several seconds
// outside the timer; run it with e.g. -bench Latency -benchtime 200x.
func BenchmarkLatency(b *testing.B) {
	nw := mixnet.Start(b, mixnet.Options{})
	gwB := nw.Nodes[1]
	alice := nw.StartClient(b, mixnet.ClientOptions{Gateway: nw.Nodes[0]})
	bob := nw.StartClient(b, mixnet.ClientOptions{Gateway: gwB})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	msg := []byte("latency probe")
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, err := nw.WaitGateway(ctx, gwB, 500*time.Millisecond); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if _, err := alice.Send(context.Background(), bob.Address(), msg); err != nil {
			if errors.Is(err, client.ErrUnknownGateway) { // the epoch ended just now
				i--
				continue
			}
			b.Fatal(err)
		}
		if _, err := bob.Receive(ctx); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/msg")
}
