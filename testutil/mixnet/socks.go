package mixnet

import (
	"context"
	"net"
	"sync"
	"testing"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sidecar/requester"
	"github.com/nyx-privacy/nyx/sidecar/socks5"
	"github.com/nyx-privacy/nyx/sidecar/streams"
	"github.com/nyx-privacy/nyx/sphinx"
)

// Requester is a network requester running on a client of the network.
type Requester struct {
	*Client
	cfg      requester.Config
	geometry sphinx.Geometry

	mu       sync.Mutex
	r        *requester.Requester
	stop     func()
	received []Received
}

// Received is a message the requester's transport handed it: the tag it
// names its sender by, and the frame.
type Received struct {
	Tag   string
	Frame []byte
}

// maxReceived bounds the messages a Requester keeps for Received.
const maxReceived = 1000

// Received returns the first messages (up to 1,000) the requester got
// from its transport, in order: all it learnt of its clients.
func (r *Requester) Received() []Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Received(nil), r.received...)
}

// recorder keeps what a transport hands the requester.
type recorder struct {
	streams.ServiceTransport
	r *Requester
}

func (t recorder) Receive(ctx context.Context) (string, []byte, error) {
	tag, msg, err := t.ServiceTransport.Receive(ctx)
	if err == nil {
		t.r.mu.Lock()
		if len(t.r.received) < maxReceived {
			t.r.received = append(t.r.received, Received{Tag: tag, Frame: append([]byte(nil), msg...)})
		}
		t.r.mu.Unlock()
	}
	return tag, msg, err
}

// StartRequester starts a client and a network requester on it with cfg
// (requester.DefaultConfig with the policy a test needs).
func (nw *Network) StartRequester(t testing.TB, cfg requester.Config, o ClientOptions) *Requester {
	t.Helper()
	r := &Requester{Client: nw.StartClient(t, o), cfg: cfg, geometry: o.Sender.Geometry}
	if err := r.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

func (r *Requester) start() error {
	q, err := requester.New(recorder{streams.NewMixnetServiceTransport(r.Client.Client, r.geometry), r}, r.cfg, r.nw.log.With("service", "requester"))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = q.Run(ctx) }()
	r.mu.Lock()
	r.r, r.stop = q, func() { cancel(); <-done }
	r.mu.Unlock()
	return nil
}

// Service is the running requester.
func (r *Requester) Service() *requester.Requester {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.r
}

// Stop stops the requester and its client.
func (r *Requester) Stop() {
	r.mu.Lock()
	stop := r.stop
	r.stop = nil
	r.mu.Unlock()
	if stop != nil {
		stop()
	}
	r.Disconnect()
}

// Restart stops the requester and its client, and starts both again with
// the same keys (so the same address): every stream is lost, and the
// clients are told so as the requester stops.
func (r *Requester) Restart() error {
	r.Stop()
	if err := r.Connect(); err != nil {
		return err
	}
	return r.start()
}

// Crash restarts the requester as if it had died: its client goes first,
// with the packets in its queue, so the requester's last words (closing
// its streams) never leave; clients find out by pinging.
func (r *Requester) Crash() error {
	r.Disconnect()
	r.Stop()
	if err := r.Connect(); err != nil {
		return err
	}
	return r.start()
}

// Proxy is a SOCKS5 client: a client of the network, a stream client to a
// requester, and a SOCKS5 server on 127.0.0.1.
type Proxy struct {
	*Client
	Streams *streams.Client
	Server  *socks5.Server
	// Addr is the SOCKS5 server's host:port.
	Addr string
}

// StartProxy starts a SOCKS5 client whose streams go to the requester at
// to.
func (nw *Network) StartProxy(t testing.TB, to client.Address, cfg streams.ClientConfig, o ClientOptions) *Proxy {
	t.Helper()
	c := nw.StartClient(t, o)
	sc, err := streams.NewClient(streams.NewMixnetClientTransport(c.Client, o.Sender.Geometry, to), cfg, nw.log.With("service", "socks5"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := socks5.NewServer(socks5.StreamDialer(sc), socks5.DefaultConfig(), nw.log.With("service", "socks5"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = sc.Run(ctx) }()
	go func() { defer wg.Done(); _ = srv.Serve(ctx, l) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return &Proxy{Client: c, Streams: sc, Server: srv, Addr: l.Addr().String()}
}
