package mixnet_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sphinx"
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

// BenchmarkDelivery sends 1,000 messages of 1,000 bytes from A to B, one
// every 40 ms, with Nym's default delays (15 ms per hop, a packet every
// 20 ms on average), at
// 0% and 10% loss at one mix node, and reports the delivery ratio, the
// latency (A's Send to B's Receive) at the 50th and 95th percentile next to
// the floor of the delays the design adds (the mean gap before release and
// four hops' mean delay), as a ratio, and bytes on the wire per message
// byte: with acks as run (every transmission, retransmissions included,
// over its six links and every ack over its five), and without acks as the
// same messages would cost in packets whose payload has no SURB-ACK, sent
// once. Run it with -benchtime 1x: each iteration is the 1,000 messages.
func BenchmarkDelivery(b *testing.B) {
	nw := mixnet.Start(b, mixnet.Options{EpochDuration: 10 * time.Second})
	for _, loss := range []float64{0, 0.1} {
		b.Run(fmt.Sprintf("loss=%.0f%%", loss*100), func(b *testing.B) {
			for range b.N {
				deliveryRun(b, nw, loss)
			}
		})
	}
}

func deliveryRun(b *testing.B, nw *mixnet.Network, loss float64) {
	const count, size = 1000, 1000
	sc := client.DefaultSenderConfig()
	sc.QueueSize = 4 * count
	a := nw.StartClient(b, mixnet.ClientOptions{Gateway: nw.Gateway(0), Sender: sc})
	bc := nw.StartClient(b, mixnet.ClientOptions{Gateway: nw.Gateway(1), Sender: sc})
	lossy := nw.NodeByIdentity(nw.Reader.Current().Layer(2)[0].Identity)
	lossy.SetLoss(loss)
	defer lossy.SetLoss(0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sentAt := make([]time.Time, count)
	var latencies []time.Duration
	done := make(chan struct{})
	seen := map[uint32]bool{}
	go func() {
		defer close(done)
		for len(seen) < count {
			m, err := bc.Receive(ctx)
			if err != nil {
				return
			}
			i := binary.BigEndian.Uint32(m.Data)
			if !seen[i] {
				seen[i] = true
				latencies = append(latencies, time.Since(sentAt[i]))
			}
		}
	}()
	for i := range count {
		m := make([]byte, size)
		binary.BigEndian.PutUint32(m, uint32(i))
		sentAt[i] = time.Now()
		if _, err := a.Send(ctx, bc.Address(), m); err != nil {
			b.Fatal(err)
		}
		// Half the stream's rate (a packet every 20 ms on average): at
		// its full rate the queue would grow without bound and the
		// latency measure the queue, not the network.
		time.Sleep(time.Duration(2 * sc.AverageSendDelay))
	}
	<-done
	slices.Sort(latencies)
	pct := func(p int) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return float64(latencies[(len(latencies)-1)*p/100].Microseconds()) / 1000
	}
	floor := float64(time.Duration(sc.AverageSendDelay+4*sc.AveragePacketDelay).Microseconds()) / 1000
	st := a.Stats()
	packet, ack := float64(sphinx.Regular.PacketSize()), float64(sphinx.Ack.PacketSize())
	withAcks := (float64(st.Sent)*packet*6 + float64(st.Acked+st.OtherAcks)*ack*5) / (count * size)
	chunksNoAck := math.Ceil(float64(size+1) / float64(sphinx.Regular.PayloadSize-48-15))
	withoutAcks := chunksNoAck * packet * 6 / size
	b.ReportMetric(float64(len(seen))/count, "delivered/sent")
	b.ReportMetric(pct(50), "p50-ms")
	b.ReportMetric(pct(95), "p95-ms")
	b.ReportMetric(floor, "floor-ms")
	b.ReportMetric(pct(50)/floor, "p50/floor")
	b.ReportMetric(pct(95)/floor, "p95/floor")
	b.ReportMetric(withAcks, "wire-B/msg-B-acks")
	b.ReportMetric(withoutAcks, "wire-B/msg-B-noacks")
	b.ReportMetric(withAcks/withoutAcks, "acks/noacks")
	b.ReportMetric(float64(st.Retransmitted), "retransmitted")
}
