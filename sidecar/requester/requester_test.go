package requester

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/exitpolicy"
	"github.com/nyx-privacy/nyx/sidecar/streams"
	"github.com/nyx-privacy/nyx/sidecar/streams/streamstest"
)

// echoServer echoes each connection on 127.0.0.1 until the client's EOF,
// then half-closes.
func echoServer(t *testing.T) uint16 {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
				c.(*net.TCPConn).CloseWrite()
			}()
		}
	}()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

type setup struct {
	pipe   *streamstest.Pipe
	client *streams.Client
	req    *Requester
	stop   func()
}

func start(t *testing.T, cfg Config, ccfg streams.ClientConfig) *setup {
	t.Helper()
	p := streamstest.New(true)
	s := &setup{pipe: p}
	c, err := streams.NewClient(p.Client("alice"), ccfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.client = c
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	s.stop = s.startRequester(t, cfg)
	return s
}

// startRequester runs a requester on the pipe and returns its stop.
func (s *setup) startRequester(t *testing.T, cfg Config) func() {
	r, err := New(s.pipe.Service(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.req = r
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func localPolicy(t *testing.T, extra string) Config {
	cfg := DefaultConfig()
	cfg.Policy = exitpolicy.MustParse(extra + "\naccept 127.0.0.1:*\n" + exitpolicy.DefaultText)
	return cfg
}

func fastClient() streams.ClientConfig {
	c := streams.DefaultClientConfig()
	c.OpenTimeout, c.KeepAlive, c.QuietTimeout = 10*time.Second, 200*time.Millisecond, 5*time.Second
	return c
}

func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func echo(t *testing.T, s *streams.Stream, n int) {
	want := make([]byte, n)
	rand.Read(want)
	errc := make(chan error, 1)
	go func() {
		_, err := s.Write(want)
		if err == nil {
			err = s.CloseWrite()
		}
		errc <- err
	}()
	got, err := io.ReadAll(s)
	if err != nil {
		t.Fatalf("read back %d of %d bytes: %v", len(got), n, err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("echoed %d bytes differ from the %d sent", len(got), n)
	}
}

// TestRelay: twenty concurrent streams through a requester to a real TCP
// echo server, over a transport that reorders, each gets its bytes back in
// order and ends cleanly both ways; then the requester holds no streams.
func TestRelay(t *testing.T) {
	port := echoServer(t)
	s := start(t, localPolicy(t, ""), fastClient())
	ctx := timeout(t)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := s.client.Dial(ctx, "127.0.0.1", port)
			if err != nil {
				t.Error(err)
				return
			}
			echo(t, st, 1000+i*10_000)
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for s.req.Stats().Active != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if st := s.req.Stats(); st.Active != 0 || st.Connected != 20 {
		t.Fatalf("requester after 20 streams: %+v", st)
	}
	if n := s.client.Stats().Open; n != 0 {
		t.Fatalf("client holds %d streams", n)
	}
}

func wantReason(t *testing.T, err error, r streams.Reason) {
	t.Helper()
	var e *streams.Error
	if !errors.As(err, &e) || e.Reason != r {
		t.Fatalf("error %v, want %q", err, r)
	}
}

// TestRefusals: each refusal reaches the client with its reason, and the
// requester counts it.
func TestRefusals(t *testing.T) {
	port := echoServer(t)
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := uint16(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	s := start(t, localPolicy(t, "reject 127.0.0.1:"+strconv.Itoa(int(port))), fastClient())
	ctx := timeout(t)
	for _, tc := range []struct {
		host   string
		port   uint16
		reason streams.Reason
	}{
		{"127.0.0.1", port, streams.ReasonPolicy},    // rejected by the first rule
		{"localhost", port, streams.ReasonPolicy},    // resolved here, then rejected
		{"10.0.0.1", 443, streams.ReasonPolicy},      // private
		{"127.0.0.1", closed, streams.ReasonRefused}, // nothing listens
		{"no-such-host.invalid", 443, streams.ReasonHostNotFound},
	} {
		_, err := s.client.Dial(ctx, tc.host, tc.port)
		wantReason(t, err, tc.reason)
	}
	if n := s.req.Stats().Refused[streams.ReasonPolicy]; n != 3 {
		t.Fatalf("%d policy refusals counted, want 3", n)
	}
}

// holdServer accepts connections and holds them open until the test ends.
func holdServer(t *testing.T) uint16 {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

// TestLimits: a client cannot hold more than MaxStreamsPerClient streams,
// nor all clients more than MaxStreams; a stream that ends frees its place.
func TestLimits(t *testing.T) {
	port := holdServer(t)
	cfg := localPolicy(t, "")
	cfg.MaxStreamsPerClient, cfg.MaxStreams = 3, 4
	s := start(t, cfg, fastClient())
	ctx := timeout(t)
	var open []*streams.Stream
	for range 3 {
		st, err := s.client.Dial(ctx, "127.0.0.1", port)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, st)
	}
	_, err := s.client.Dial(ctx, "127.0.0.1", port)
	wantReason(t, err, streams.ReasonLimit)

	// Another client takes the last place of the total; its second stream
	// is refused (the refusal goes to bob, whom this pipe does not serve).
	s.pipe.Inject("bob", streams.Frame{Kind: streams.KindOpen, Stream: 1, Host: "127.0.0.1", Port: port}.Marshal())
	s.pipe.Inject("bob", streams.Frame{Kind: streams.KindOpen, Stream: 2, Host: "127.0.0.1", Port: port}.Marshal())
	deadline := time.Now().Add(5 * time.Second)
	for s.req.Stats().Refused[streams.ReasonLimit] < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st := s.req.Stats(); st.Refused[streams.ReasonLimit] != 2 || st.Active != 4 {
		t.Fatalf("after bob's two opens: %+v", st)
	}
	open[0].Close()
	for s.req.Stats().Active != 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := s.client.Dial(ctx, "127.0.0.1", port); err != nil {
		t.Fatalf("a place was freed, but: %v", err)
	}
}

// TestQuietAndMalformed: garbage is counted and dropped; a stream whose
// client goes quiet (here: data for a stream whose open never comes) is
// ended after the quiet timeout.
func TestQuietAndMalformed(t *testing.T) {
	cfg := localPolicy(t, "")
	cfg.QuietTimeout = 300 * time.Millisecond
	s := start(t, cfg, fastClient())
	s.pipe.Inject("mallory", []byte("not a frame"))
	s.pipe.Inject("mallory", streams.Frame{Kind: 42, Stream: 1}.Marshal())
	s.pipe.Inject("mallory", streams.Frame{Kind: streams.KindData, Stream: 5, Seq: 3, Data: []byte("x")}.Marshal())
	deadline := time.Now().Add(5 * time.Second)
	for s.req.Stats().Active != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	for s.req.Stats().TimedOut != 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if st := s.req.Stats(); st.Malformed != 2 || st.TimedOut != 1 || st.Active != 0 {
		t.Fatalf("requester: %+v, want 2 malformed, 1 timed out, none active", st)
	}
	// A frame far beyond the reorder window ends its stream as a protocol
	// violation.
	s.pipe.Inject("mallory", streams.Frame{Kind: streams.KindData, Stream: 6, Seq: 1 << 30, Data: []byte("x")}.Marshal())
	for s.req.Stats().Malformed != 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if st := s.req.Stats(); st.Malformed != 3 || st.Active != 0 {
		t.Fatalf("after a frame beyond the window: %+v", st)
	}
}

// TestRequesterRestart: a requester that dies mid-stream (its last words
// lost) and comes back has lost the stream; the client's ping gets an
// unknown-stream error and the reader gets it, instead of waiting for ever.
func TestRequesterRestart(t *testing.T) {
	port := holdServer(t)
	cfg := localPolicy(t, "")
	s := start(t, cfg, fastClient())
	ctx := timeout(t)
	st, err := s.client.Dial(ctx, "127.0.0.1", port)
	if err != nil {
		t.Fatal(err)
	}
	s.pipe.Cut(true)
	s.stop()
	s.pipe.Cut(false)
	s.startRequester(t, cfg)
	errc := make(chan error, 1)
	go func() { _, err := st.Read(make([]byte, 1)); errc <- err }()
	select {
	case err := <-errc:
		wantReason(t, err, streams.ReasonUnknownStream)
	case <-ctx.Done():
		t.Fatal("the read still waits after the requester restarted")
	}
}

// TestPingAfterEnd: a ping about a stream that ended here a moment ago
// (its last frames may still be on their way) is not answered with
// "unknown stream", which would make the client drop those frames; a ping
// about a stream never seen is.
func TestPingAfterEnd(t *testing.T) {
	port := echoServer(t)
	p := streamstest.New(false)
	r, err := New(p.Service(), localPolicy(t, ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	rx := p.Client("carol")
	recv := func() streams.Frame {
		t.Helper()
		rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		b, err := rx.Receive(rctx)
		if err != nil {
			t.Fatal(err)
		}
		f, err := streams.ParseFrame(b)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	p.Inject("carol", streams.Frame{Kind: streams.KindOpen, Stream: 1, Host: "127.0.0.1", Port: port}.Marshal())
	p.Inject("carol", streams.Frame{Kind: streams.KindEOF, Stream: 1, Seq: 1}.Marshal())
	if f := recv(); f.Kind != streams.KindConnected {
		t.Fatalf("got %s, want connected", f.Kind)
	}
	if f := recv(); f.Kind != streams.KindEOF {
		t.Fatalf("got %s, want eof", f.Kind)
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.Stats().Active != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	wait := func(unknown uint64) Stats {
		t.Helper()
		for r.Stats().Unknown < unknown && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		return r.Stats()
	}
	p.Inject("carol", streams.Frame{Kind: streams.KindPing, Stream: 1}.Marshal())
	if st := wait(1); st.Unknown != 1 || st.UnknownPings != 0 || st.Active != 0 {
		t.Fatalf("a ping about a stream just ended: %+v, want it dropped without an answer", st)
	}
	p.Inject("carol", streams.Frame{Kind: streams.KindPing, Stream: 2}.Marshal())
	if st := wait(2); st.UnknownPings != 1 {
		t.Fatalf("a ping about a stream never seen: %+v, want an unknown-stream answer", st)
	}
	if f := recv(); f.Stream != 2 || f.Kind != streams.KindError || f.Reason != streams.ReasonUnknownStream {
		t.Fatalf("answer %+v, want unknown stream 2", f)
	}
}
