package mixnode

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sphinx"
)

// TestProcessQueueBytes floods a node that has one worker with 32 KiB
// packets from four connections at once: the bytes waiting for the worker
// never pass process_queue_bytes, what does not fit is dropped as
// process_queue_bytes (the packet count bound, far larger, takes no part),
// and the queue gives its bytes back once the worker is through.
func TestProcessQueueBytes(t *testing.T) {
	const conns, perConn = 4, 100
	size := int64(sphinx.Extended32.PacketSize())
	bound := 8 * size
	tn := newTestNet(t)
	a := tn.start(Config{Workers: 1, ProcessQueueBytes: bound}, "")
	a.SetPeers([]netip.Addr{netip.MustParseAddr("127.0.0.1")})
	packets := extendedPackets(t, conns*perConn, a.hop(20*time.Second))
	var wg sync.WaitGroup
	for i := range conns {
		s := dial(t, a.addr)
		wg.Go(func() {
			for _, p := range packets[i*perConn : (i+1)*perConn] {
				if err := s.w.WritePacket(p); err != nil {
					t.Error(err)
					return
				}
			}
			if err := s.w.Flush(); err != nil {
				t.Error(err)
			}
		})
	}
	held := func() float64 { return gauge(t, a.reg, "nyx_mixnode_queue_bytes", "queue", "process") }
	eventually(t, "every packet processed or dropped", func() bool {
		if h := held(); h > float64(bound) {
			t.Fatalf("process queue holds %.0f bytes, bound %d", h, bound)
		}
		st := a.Stats()
		return st.Dropped["process_queue_bytes"]+uint64(a.delay.len()) == conns*perConn
	})
	wg.Wait()
	if h := held(); h != 0 {
		t.Fatalf("process queue holds %.0f bytes with no packet waiting", h)
	}
	if st := a.Stats(); st.Dropped["process_queue_bytes"] == 0 || st.DroppedTotal() != st.Dropped["process_queue_bytes"] {
		t.Fatalf("drops %+v", st.Dropped)
	}
}

// stalledInbox is a gateway that takes nothing until released: the node's
// deliver queue fills behind it.
type stalledInbox struct {
	*inbox
	entered chan struct{}
	release chan struct{}
}

func (b *stalledInbox) Deliver(dest [32]byte, payload []byte) error {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	<-b.release
	return b.inbox.Deliver(dest, payload)
}

// TestDeliverQueueBytes floods a final hop with 32 KiB packets while its
// gateway takes nothing: the payloads waiting for the gateway never pass
// deliver_queue_bytes, the rest are dropped as deliver_queue_bytes (the
// packet count bound, far larger, takes no part), and those kept are
// delivered once the gateway takes them.
func TestDeliverQueueBytes(t *testing.T) {
	const total = 100
	size := int64(sphinx.Extended32.PacketSize())
	bound := 8 * size
	tn := newTestNet(t)
	// One deliver worker, so exactly one payload waits inside the stalled
	// gateway (each worker holds one beyond the queue's bound).
	a := tn.start(Config{DeliverQueueBytes: bound, DeliverWorkers: 1}, "")
	a.SetPeers([]netip.Addr{netip.MustParseAddr("127.0.0.1")})
	box := &stalledInbox{inbox: newInbox(), entered: make(chan struct{}, 1), release: make(chan struct{})}
	a.SetDeliverer(box)
	released := false
	defer func() {
		if !released {
			close(box.release)
		}
	}()
	packets := extendedPackets(t, total, a.hop(0))
	dial(t, a.addr).send(t, packets...)
	select {
	case <-box.entered:
	case <-time.After(20 * time.Second):
		t.Fatalf("no payload reached the gateway: %+v", a.Stats())
	}
	held := func() float64 { return gauge(t, a.reg, "nyx_mixnode_queue_bytes", "queue", "deliver") }
	eventually(t, "every payload queued or dropped", func() bool {
		if h := held(); h > float64(bound) {
			t.Fatalf("deliver queue holds %.0f bytes, bound %d", h, bound)
		}
		// One payload is with the stalled gateway.
		return a.Stats().Dropped["deliver_queue_bytes"]+uint64(len(a.deliveries))+1 == total
	})
	queued := len(a.deliveries)
	if h := held(); h != float64(int64(queued)*size) || h > float64(bound) || queued == 0 {
		t.Fatalf("deliver queue holds %.0f bytes in %d payloads (bound %d)", h, queued, bound)
	}
	if st := a.Stats(); st.Dropped["deliver_queue_bytes"] == 0 || st.DroppedTotal() != st.Dropped["deliver_queue_bytes"] {
		t.Fatalf("drops %+v", st.Dropped)
	}
	close(box.release)
	released = true
	box.wait(t, queued+1)
	eventually(t, "deliver queue empty", func() bool { return held() == 0 })
}
