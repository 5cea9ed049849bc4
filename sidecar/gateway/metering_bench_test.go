package gateway

import (
	"context"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/nyx-privacy/nyx/sidecar/gatewayclient"
	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	"github.com/nyx-privacy/nyx/sphinx"
)

// countForwarder counts forwarded packets and signals when a target is
// reached.
type countForwarder struct {
	n      atomic.Int64
	target atomic.Int64
	done   chan struct{}
}

func (f *countForwarder) Forward([32]byte, []byte) error {
	if f.n.Add(1) == f.target.Load() {
		f.done <- struct{}{}
	}
	return nil
}

// BenchmarkForwardMetering measures a gateway forwarding a client's
// regular packets from its websocket to layer 1, with credentials enforced
// (every packet charged to a balance) and without, in alternating rounds of
// the same run so both see the same machine load. It reports each one's
// packets/s and the median over rounds of metered/unmetered throughput
// (the issue bounds the cost of metering at 3%: a ratio of at least 0.97).
func BenchmarkForwardMetering(b *testing.B) {
	const round = 500
	type side struct {
		g    *Gateway
		fwd  *countForwarder
		conn *gatewayclient.Conn
		id   [32]byte
	}
	mk := func(enforce bool) side {
		cfg := DefaultConfig(b.TempDir())
		cfg.EnforceCredentials = enforce
		fwd := &countForwarder{done: make(chan struct{}, 1)}
		tg := newTestGateway(b, cfg, nil)
		tg.fwd = nil
		g := tg.Gateway
		g.fwd = fwd
		key := newClientKey(b)
		reg, shared, err := gatewayclient.Register(context.Background(), tg.url, g.Identity(), key)
		if err != nil {
			b.Fatal(err)
		}
		reg.Close()
		if enforce {
			if err := g.st.saveBalances(map[[32]byte]int64{idOf(key): 1 << 60}); err != nil {
				b.Fatal(err)
			}
		}
		c, err := gatewayclient.Dial(context.Background(), tg.url, g.Identity(), key, shared)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		return side{g, fwd, c, idOf(key)}
	}
	on, off := mk(true), mk(false)
	frame := gatewayproto.ForwardFrame([32]byte{1}, make([]byte, sphinx.Regular.PacketSize()))
	send := func(s side) time.Duration {
		s.fwd.target.Store(s.fwd.n.Load() + round)
		t0 := time.Now()
		for range round {
			if err := s.conn.WriteFrame(websocket.BinaryMessage, frame); err != nil {
				b.Fatal(err)
			}
		}
		select {
		case <-s.fwd.done:
		case <-time.After(30 * time.Second):
			b.Fatal("packets not forwarded")
		}
		return time.Since(t0)
	}
	send(on)
	send(off)
	var ratios, onRate, offRate []float64
	i := 0
	for b.Loop() {
		// Alternate which side goes first, so neither always runs on a
		// machine the other just warmed or loaded.
		var tOn, tOff time.Duration
		if i%2 == 0 {
			tOff, tOn = send(off), send(on)
		} else {
			tOn, tOff = send(on), send(off)
		}
		i++
		ratios = append(ratios, tOff.Seconds()/tOn.Seconds())
		onRate = append(onRate, round/tOn.Seconds())
		offRate = append(offRate, round/tOff.Seconds())
	}
	if bal, _ := on.g.Balance(on.id); bal >= 1<<60 {
		b.Fatal("the metered side charged nothing")
	}
	b.ReportMetric(medianOf(onRate), "metered-pkts/s")
	b.ReportMetric(medianOf(offRate), "unmetered-pkts/s")
	b.ReportMetric(medianOf(ratios), "metered/unmetered")
}

func medianOf(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
