package mixnode

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/tomltime"
	"github.com/nyx-privacy/nyx/sidecar/wire"
	"github.com/nyx-privacy/nyx/sphinx"
)

// BenchmarkThroughput measures one mix node on loopback with zero delays, in
// packets per second, next to the Sphinx one-hop floor on the same cores.
// Both are measured in alternating rounds, so load from elsewhere on the
// machine affects them alike:
//
//   - floor: GOMAXPROCS goroutines doing nothing but ProcessHopInto on regular
//     packets, the crypto bound of a node on this machine;
//   - node: a source writes regular packets over TCP to a real Node, which
//     processes them (replay filter included) and forwards each over its link
//     to a sink that reads and counts them. The source keeps at most a window
//     of packets in flight so the node's queues never overflow (the node
//     drops rather than pushing back).
//
// It reports packets/s (the node), floor_packets/s and floor_ratio (node
// over floor). b.N packets go through the node and b.N hops through the
// floor. Packets are built before the timer starts; run it with a fixed
// count, e.g. -bench Throughput -benchtime 20000x.
func BenchmarkThroughput(b *testing.B) {
	const rounds = 4
	h := newBenchNode(b, b.N, true)
	floor := newBenchFloor(b)
	b.SetBytes(int64(sphinx.Regular.PacketSize()))
	b.ResetTimer()
	var nodeTime, floorTime time.Duration
	for r := range rounds {
		lo, hi := r*b.N/rounds, (r+1)*b.N/rounds
		floorTime += floor.run(hi - lo)
		nodeTime += h.run(b, lo, hi)
	}
	b.StopTimer()
	if st := h.n.Stats(); st.DroppedTotal() != 0 {
		b.Fatalf("node dropped packets: %+v", st)
	}
	nodePPS := float64(b.N) / nodeTime.Seconds()
	floorPPS := float64(b.N) / floorTime.Seconds()
	b.ReportMetric(nodePPS, "packets/s")
	b.ReportMetric(floorPPS, "floor_packets/s")
	b.ReportMetric(nodePPS/floorPPS, "floor_ratio")
}

// BenchmarkThroughputNoise measures what link encryption costs a mix
// node: two nodes on loopback, each between its own source and sink, one
// with every link encrypted (Noise, as deployed) and one with plaintext
// links, in alternating rounds of the same run. Each packet is decrypted
// once coming in and encrypted once going out. It reports packets/s (the
// encrypted node), plaintext_packets/s and noise_ratio (encrypted over
// plaintext; the cost of the link cipher is 1 - noise_ratio). Run it with a
// fixed count, e.g. -bench ThroughputNoise -benchtime 20000x.
func BenchmarkThroughputNoise(b *testing.B) {
	const rounds = 20
	secure := newBenchNode(b, b.N, true)
	plain := newBenchNode(b, b.N, false)
	b.SetBytes(int64(sphinx.Regular.PacketSize()))
	b.ResetTimer()
	var secureTime, plainTime time.Duration
	for r := range rounds {
		lo, hi := r*b.N/rounds, (r+1)*b.N/rounds
		if r%2 == 0 {
			plainTime += plain.run(b, lo, hi)
			secureTime += secure.run(b, lo, hi)
		} else {
			secureTime += secure.run(b, lo, hi)
			plainTime += plain.run(b, lo, hi)
		}
	}
	b.StopTimer()
	for _, h := range []*benchNode{secure, plain} {
		if st := h.n.Stats(); st.DroppedTotal() != 0 {
			b.Fatalf("node dropped packets: %+v", st)
		}
	}
	securePPS := float64(b.N) / secureTime.Seconds()
	plainPPS := float64(b.N) / plainTime.Seconds()
	b.ReportMetric(securePPS, "packets/s")
	b.ReportMetric(plainPPS, "plaintext_packets/s")
	b.ReportMetric(securePPS/plainPPS, "noise_ratio")
}

type benchFloor struct {
	key    *sphinx.PrivateKey
	packet []byte
}

func newBenchFloor(b *testing.B) *benchFloor {
	key, _ := sphinx.GenerateKey(rand.Reader)
	nextKey, _ := sphinx.GenerateKey(rand.Reader)
	p, err := sphinx.Regular.NewPacket(rand.Reader, []sphinx.Hop{
		{Address: [32]byte{1}, PublicKey: key.PublicKey()}, {Address: [32]byte{2}, PublicKey: nextKey.PublicKey()},
	}, sphinx.Destination{}, []byte("floor"))
	if err != nil {
		b.Fatal(err)
	}
	return &benchFloor{key: key, packet: p}
}

// run processes n hops on every core and returns the wall time.
func (f *benchFloor) run(n int) time.Duration {
	workers := runtime.GOMAXPROCS(0)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst := make([]byte, len(f.packet))
			for next.Add(1) <= int64(n) {
				if _, err := sphinx.Regular.ProcessHopInto(dst, f.key, f.packet); err != nil {
					panic(err)
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

type benchNode struct {
	n       *Node
	packets [][]byte
	w       *wire.Writer
	connect func() // sets w
	tokens  chan struct{}
	sunk    chan struct{} // one per packet the sink read
}

// newBenchNode starts a node between a source and a sink on loopback, all
// three on encrypted links (or all on plaintext ones, with secure false).
func newBenchNode(b *testing.B, count int, secure bool) *benchNode {
	key, _ := sphinx.GenerateKey(rand.Reader)
	sinkKey, _ := sphinx.GenerateKey(rand.Reader)
	_, nodeIdent, _ := ed25519.GenerateKey(rand.Reader)
	_, sinkIdent, _ := ed25519.GenerateKey(rand.Reader)
	nodeID := [32]byte(nodeIdent.Public().(ed25519.PublicKey))
	sinkID := [32]byte(sinkIdent.Public().(ed25519.PublicKey))

	sinkL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sinkL.Close() })
	resolve := func(id [32]byte) (string, bool) {
		if id == sinkID {
			return sinkL.Addr().String(), true
		}
		return "", false
	}
	cfg := Config{ReplayRate: 100_000, ReplayWindow: tomltime.Duration(time.Minute), Identity: nodeIdent, PlaintextLinks: !secure}
	n, err := New(cfg, key, resolve, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Close() })
	nodeL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go n.Serve(nodeL)

	// Unique packets (the replay filter would drop repeats), built on every
	// core before the timer starts.
	packets := make([][]byte, count)
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < count; i += workers {
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
	h := &benchNode{n: n, packets: packets, tokens: make(chan struct{}, window), sunk: make(chan struct{}, count)}
	go func() {
		c, err := sinkL.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := wire.NewReader(c, wire.StandardSizes())
		if secure {
			sk, _ := wire.NewLinkKey(sinkIdent)
			s, err := wire.Respond(c, sk)
			if err != nil {
				b.Error(err)
				return
			}
			r, _ = wire.NewSecureReader(c, wire.StandardSizes(), s)
		}
		buf := make([]byte, wire.StandardSizes().Max())
		for {
			if _, err := r.ReadPacket(func(int) []byte { return buf }); err != nil {
				return
			}
			<-h.tokens
			h.sunk <- struct{}{}
		}
	}()
	// The source connects at its first run: a connection that brings no
	// frame within PrefaceTimeout is closed, and building another node's
	// packets can take longer.
	h.connect = func() {
		src, err := net.Dial("tcp", nodeL.Addr().String())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { src.Close() })
		if !secure {
			if h.w, err = wire.NewWriter(src); err != nil {
				b.Fatal(err)
			}
			return
		}
		_, srcIdent, _ := ed25519.GenerateKey(rand.Reader)
		srcKey, _ := wire.NewLinkKey(srcIdent)
		s, err := wire.Initiate(src, srcKey, nodeID)
		if err != nil {
			b.Fatal(err)
		}
		if h.w, err = wire.NewSecureWriter(src, s); err != nil {
			b.Fatal(err)
		}
	}
	return h
}

// run sends packets[lo:hi] through the node and waits until the sink has
// them all; it returns the wall time.
func (h *benchNode) run(b *testing.B, lo, hi int) time.Duration {
	if h.w == nil {
		h.connect()
	}
	start := time.Now()
	for i, p := range h.packets[lo:hi] {
		select {
		case h.tokens <- struct{}{}:
		default: // window full: send what is buffered, then wait
			if err := h.w.Flush(); err != nil {
				b.Fatal(err)
			}
			h.tokens <- struct{}{}
		}
		if err := h.w.WritePacket(p); err != nil {
			b.Fatal(err)
		}
		if i%64 == 63 {
			if err := h.w.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := h.w.Flush(); err != nil {
		b.Fatal(err)
	}
	timeout := time.After(time.Duration(hi-lo)*time.Millisecond + 10*time.Second)
	for range hi - lo {
		select {
		case <-h.sunk:
		case <-timeout:
			b.Fatalf("sink did not get every packet; node stats %+v", h.n.Stats())
		}
	}
	return time.Since(start)
}

// BenchmarkLinkCipher measures the link encryption's CPU per packet at a
// node, one open (the frame coming in) and one seal (going out), next to
// one Sphinx hop (ProcessHopInto) in alternating rounds of the same run:
// what a node does per packet besides the cipher. It reports cipher_ns,
// hop_ns and cipher_share (cipher over hop): the share of a node's
// per-packet work the links add, less exposed to load from elsewhere than
// the whole-node throughput pair of BenchmarkThroughputNoise.
func BenchmarkLinkCipher(b *testing.B) {
	_, ia, _ := ed25519.GenerateKey(rand.Reader)
	_, ib, _ := ed25519.GenerateKey(rand.Reader)
	ka, _ := wire.NewLinkKey(ia)
	kb, _ := wire.NewLinkKey(ib)
	c1, c2 := net.Pipe()
	done := make(chan *wire.Session, 1)
	go func() {
		s, err := wire.Respond(c2, kb)
		if err != nil {
			b.Error(err)
		}
		done <- s
	}()
	sa, err := wire.Initiate(c1, ka, kb.Identity())
	if err != nil {
		b.Fatal(err)
	}
	sb := <-done
	c1.Close()
	c2.Close()
	floor := newBenchFloor(b)
	const batch = 256
	var buf bytes.Buffer
	w, _ := wire.NewSecureWriter(&buf, sa)
	r, _ := wire.NewSecureReader(&buf, wire.StandardSizes(), sb)
	pkt := make([]byte, len(floor.packet))
	dst := make([]byte, len(floor.packet))
	var cipherTime, hopTime time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		n := min(batch, b.N-done)
		start := time.Now()
		for range n {
			if err := w.WritePacket(pkt); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		for range n {
			if _, err := r.ReadPacket(func(int) []byte { return dst }); err != nil {
				b.Fatal(err)
			}
		}
		cipherTime += time.Since(start)
		start = time.Now()
		for range n {
			if _, err := sphinx.Regular.ProcessHopInto(dst, floor.key, floor.packet); err != nil {
				b.Fatal(err)
			}
		}
		hopTime += time.Since(start)
	}
	b.StopTimer()
	c := float64(cipherTime.Nanoseconds()) / float64(b.N)
	h := float64(hopTime.Nanoseconds()) / float64(b.N)
	b.ReportMetric(c, "cipher_ns")
	b.ReportMetric(h, "hop_ns")
	b.ReportMetric(c/h, "cipher_share")
}
