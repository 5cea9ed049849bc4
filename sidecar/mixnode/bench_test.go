package mixnode

import (
	"crypto/rand"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/wire"
	"github.com/nyx-privacy/nyx/sphinx"
)

// floorPPS is the one-hop crypto bound measured by the floor sub-benchmark
// of this run, for the node sub-benchmark's ratio.
var floorPPS atomic.Uint64

// BenchmarkThroughput measures one mix node on loopback with zero delays, in
// packets per second, next to the Sphinx one-hop floor on the same cores:
//
//   - floor: GOMAXPROCS goroutines doing nothing but ProcessHopInto on regular
//     packets, the crypto bound of a node on this machine;
//   - node: a source writes regular packets over TCP to a real Node, which
//     processes them (replay filter included) and forwards each over its link
//     to a sink that reads and counts them. The source keeps at most a window
//     of packets in flight so the node's queues never overflow (the node
//     drops rather than pushing back). It reports floor_ratio, the node's rate
//     over the floor's, when the floor ran first in the same process.
//
// Packets are built before the timer starts; run it with a fixed count, e.g.
// -bench Throughput -benchtime 20000x.
func BenchmarkThroughput(b *testing.B) {
	b.Run("floor", benchFloor)
	b.Run("node", benchNode)
}

func benchFloor(b *testing.B) {
	key, _ := sphinx.GenerateKey(rand.Reader)
	var next [32]byte
	nextKey, _ := sphinx.GenerateKey(rand.Reader)
	p, err := sphinx.Regular.NewPacket(rand.Reader, []sphinx.Hop{
		{Address: [32]byte{1}, PublicKey: key.PublicKey()}, {Address: next, PublicKey: nextKey.PublicKey()},
	}, sphinx.Destination{}, []byte("floor"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(p)))
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		dst := make([]byte, len(p))
		for pb.Next() {
			if _, err := sphinx.Regular.ProcessHopInto(dst, key, p); err != nil {
				b.Error(err)
				return
			}
		}
	})
	pps := float64(b.N) / time.Since(start).Seconds()
	b.ReportMetric(pps, "packets/s")
	floorPPS.Store(uint64(pps))
}

func benchNode(b *testing.B) {
	key, _ := sphinx.GenerateKey(rand.Reader)
	sinkKey, _ := sphinx.GenerateKey(rand.Reader)
	var nodeID, sinkID [32]byte
	rand.Read(nodeID[:])
	rand.Read(sinkID[:])

	sinkL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer sinkL.Close()
	resolve := func(id [32]byte) (string, bool) {
		if id == sinkID {
			return sinkL.Addr().String(), true
		}
		return "", false
	}
	n, err := New(Config{ReplayRate: 100_000, ReplayWindow: time.Minute}, key, resolve, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	nodeL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go n.Serve(nodeL)

	// Unique packets (the replay filter would drop repeats), built on every
	// core before the timer starts.
	packets := make([][]byte, b.N)
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < b.N; i += workers {
				p, err := sphinx.Regular.NewPacket(rand.Reader, []sphinx.Hop{
					{Address: nodeID, PublicKey: key.PublicKey()}, {Address: sinkID, PublicKey: sinkKey.PublicKey()},
				}, sphinx.Destination{}, []byte("bench"))
				if err != nil {
					b.Error(err)
					return
				}
				packets[i] = p
			}
		}()
	}
	wg.Wait()

	const window = 1024 // below DefaultProcessQueue
	tokens := make(chan struct{}, window)
	done := make(chan struct{})
	var sunk atomic.Int64
	go func() {
		c, err := sinkL.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := wire.NewReader(c, wire.StandardSizes())
		buf := make([]byte, wire.StandardSizes().Max())
		for {
			if _, err := r.ReadPacket(func(int) []byte { return buf }); err != nil {
				return
			}
			<-tokens
			if sunk.Add(1) == int64(b.N) {
				close(done)
			}
		}
	}()
	src, err := net.Dial("tcp", nodeL.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	w, err := wire.NewWriter(src)
	if err != nil {
		b.Fatal(err)
	}

	b.SetBytes(int64(sphinx.Regular.PacketSize()))
	b.ResetTimer()
	start := time.Now()
	for i, p := range packets {
		select {
		case tokens <- struct{}{}:
		default: // window full: send what is buffered, then wait
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
			tokens <- struct{}{}
		}
		if err := w.WritePacket(p); err != nil {
			b.Fatal(err)
		}
		if i%64 == 63 {
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(time.Duration(b.N)*time.Millisecond + 10*time.Second):
		b.Fatalf("sink got %d of %d packets; node stats %+v", sunk.Load(), b.N, n.Stats())
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if st := n.Stats(); st.DroppedTotal() != 0 {
		b.Fatalf("node dropped packets: %+v", st)
	}
	pps := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(pps, "packets/s")
	if f := floorPPS.Load(); f > 0 {
		b.ReportMetric(pps/float64(f), "floor_ratio")
	}
}
