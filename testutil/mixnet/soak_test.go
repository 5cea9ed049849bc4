//go:build soak

package mixnet_test

// The soak runs a whole network under steady honest traffic while strangers
// attack every port of every node, for NYX_SOAK_DURATION (default 2m), and
// checks that every message the honest clients sent arrives exactly once and
// that every node still answers /health. It is not part of make test:
// make soak runs it (SOAK_DURATION=10m make soak for a longer one).

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/nyx-privacy/nyx/sidecar/wire"
	"github.com/nyx-privacy/nyx/sphinx"
	"github.com/nyx-privacy/nyx/testutil/mixnet"
)

func soakDuration(t *testing.T) time.Duration {
	s := os.Getenv("NYX_SOAK_DURATION")
	if s == "" {
		return 2 * time.Minute
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		t.Fatalf("NYX_SOAK_DURATION=%q: want a positive Go duration such as 10m", s)
	}
	return d
}

// attacker runs one kind of attack in a loop from its own loopback source
// address until ctx ends, counting what it did.
type attacker struct {
	name string
	src  net.IP
	ops  atomic.Int64
	run  func(ctx context.Context, a *attacker)
}

func (a *attacker) dialer() *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: a.src}, Timeout: 2 * time.Second}
}

// holdIdle keeps up to n connections open to addr that never send a byte,
// opening a new one whenever the node closes one. With sources > 1 they come
// from that many loopback addresses starting at the attacker's own.
func holdIdle(addr string, n, sources int) func(context.Context, *attacker) {
	return func(ctx context.Context, a *attacker) {
		var wg sync.WaitGroup
		for i := range n {
			ip := a.src.To4()
			d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(ip[0], ip[1], ip[2]+byte(i%max(sources, 1)), ip[3])}, Timeout: 2 * time.Second}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					c, err := d.DialContext(ctx, "tcp", addr)
					if err != nil {
						sleep(ctx, 100*time.Millisecond)
						continue
					}
					a.ops.Add(1)
					stop := context.AfterFunc(ctx, func() { c.Close() })
					_, _ = io.Copy(io.Discard, c) // until the node closes it
					stop()
					c.Close()
				}
			}()
		}
		wg.Wait()
	}
}

// mixGarbage sends wrong frames and packets with bad MACs to a mix port,
// over encrypted links it opens as a stranger, and plaintext links.
func mixGarbage(addr string, id [32]byte) func(context.Context, *attacker) {
	return func(ctx context.Context, a *attacker) {
		junk := make([]byte, sphinx.Regular.PacketSize())
		_, ident, _ := ed25519.GenerateKey(rand.Reader)
		key, _ := wire.NewLinkKey(ident)
		for i := 0; ctx.Err() == nil; i++ {
			c, err := a.dialer().DialContext(ctx, "tcp", addr)
			if err != nil {
				sleep(ctx, 50*time.Millisecond)
				continue
			}
			var w *wire.Writer
			if i%4 == 3 {
				w, err = wire.NewWriter(c)
			} else {
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				var s *wire.Session
				if s, err = wire.Initiate(c, key, id); err == nil {
					w, err = wire.NewSecureWriter(c, s)
				}
			}
			if err == nil {
				for range 20 {
					rand.Read(junk)
					_ = w.WritePacket(junk)
				}
				_ = w.WritePacket(junk[:1000]) // a size no packet has
				_ = w.Flush()
			}
			c.Close()
			a.ops.Add(1)
			sleep(ctx, 10*time.Millisecond)
		}
	}
}

// slowloris sends an HTTP request's headers one byte at a time.
func slowloris(addr string, conns int) func(context.Context, *attacker) {
	return func(ctx context.Context, a *attacker) {
		var wg sync.WaitGroup
		for range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := []byte("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nX-Pad: ")
				for ctx.Err() == nil {
					c, err := a.dialer().DialContext(ctx, "tcp", addr)
					if err != nil {
						sleep(ctx, 100*time.Millisecond)
						continue
					}
					a.ops.Add(1)
					for i := 0; ctx.Err() == nil; i++ {
						if _, err := c.Write([]byte{req[i%len(req)]}); err != nil {
							break
						}
						sleep(ctx, 500*time.Millisecond)
					}
					c.Close()
				}
			}()
		}
		wg.Wait()
	}
}

// wsGarbage opens websockets and sends what no client would: binary packets
// before any handshake, text that is not a control message, and
// authentications for identities that never registered.
func wsGarbage(rawURL string) func(context.Context, *attacker) {
	return func(ctx context.Context, a *attacker) {
		d := websocket.Dialer{NetDialContext: a.dialer().DialContext, HandshakeTimeout: 2 * time.Second}
		frames := []struct {
			kind int
			body []byte
		}{
			{websocket.BinaryMessage, make([]byte, 32+sphinx.Regular.PacketSize())},
			{websocket.TextMessage, []byte("{not json")},
			{websocket.TextMessage, []byte(`{"type":"authenticate","identity":"` + fmt.Sprintf("%064x", 1) + `","nonce":"00","mac":"00"}`)},
		}
		for i := 0; ctx.Err() == nil; i++ {
			ws, _, err := d.DialContext(ctx, rawURL, nil)
			if err != nil {
				sleep(ctx, 50*time.Millisecond)
				continue
			}
			f := frames[i%len(frames)]
			_ = ws.WriteMessage(f.kind, f.body)
			_ = ws.SetReadDeadline(time.Now().Add(time.Second))
			_, _, _ = ws.ReadMessage()
			ws.Close()
			a.ops.Add(1)
			sleep(ctx, 10*time.Millisecond)
		}
	}
}

// httpHammer asks a node's HTTP port for /health and /metrics without pause.
func httpHammer(base string) func(context.Context, *attacker) {
	return func(ctx context.Context, a *attacker) {
		hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: a.dialer().DialContext}}
		defer hc.CloseIdleConnections()
		for i := 0; ctx.Err() == nil; i++ {
			path := []string{"/health", "/metrics", "/" + strconv.Itoa(i)}[i%3]
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
			if resp, err := hc.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, bufio.NewReader(resp.Body))
				resp.Body.Close()
			}
			a.ops.Add(1)
			sleep(ctx, 5*time.Millisecond)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// cycle keeps c online for 5 s and offline for 2 s in turn until ctx ends,
// reading what it receives into got (also what its client object still holds
// when it goes offline), and leaves it online.
func cycle(ctx context.Context, c *mixnet.Client, got *[][]byte) error {
	for {
		online, cancel := context.WithTimeout(ctx, 5*time.Second)
		for {
			m, err := c.Receive(online)
			if err != nil {
				break
			}
			*got = append(*got, m.Data)
		}
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		c.Disconnect()
		for {
			drain, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			m, err := c.Receive(drain)
			cancel()
			if err != nil {
				break
			}
			*got = append(*got, m.Data)
		}
		sleep(ctx, 2*time.Second)
		if err := c.Connect(); err != nil {
			return err
		}
	}
}

func TestSoak(t *testing.T) {
	d := soakDuration(t)
	nw := mixnet.Start(t, mixnet.Options{EpochDuration: 5 * time.Second})
	a := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(0)})
	b := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(0)})
	// c goes offline every few seconds and comes back: its gateway stores
	// what arrives meanwhile and hands it over on the reconnection, which
	// must get through the attacks on the clients port.
	c := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(0)})
	if _, err := nw.WaitGateway(timeout(t, 2*time.Minute), nw.Gateway(0), time.Second); err != nil {
		t.Fatal(err)
	}

	// Each attack comes from a loopback address of its own (Linux routes all of
	// 127.0.0.0/8 to lo), as strangers on the internet would.
	var attackers []*attacker
	src := 10
	add := func(name string, run func(context.Context, *attacker)) {
		attackers = append(attackers, &attacker{name: name, src: net.IPv4(127, 0, 0, byte(src)), run: run})
		src++
	}
	for _, n := range nw.Nodes {
		id := fmt.Sprintf("node%d", n.Index)
		// More idle connections than a node admits in all, from 8 addresses
		// (127.0.x.y for x = 0..7), so a limit per address alone would not do.
		add(id+" mix idle", holdIdle(n.MixAddr(), 1100, 8))
		add(id+" mix garbage", mixGarbage(n.MixAddr(), n.Identity()))
		u, err := url.Parse(n.ClientsURL())
		if err != nil {
			t.Fatal(err)
		}
		add(id+" clients idle", holdIdle(u.Host, 100, 1))
		add(id+" clients slowloris", slowloris(u.Host, 50))
		add(id+" websocket garbage", wsGarbage(n.ClientsURL()))
		add(id+" http", httpHammer(n.HTTPURL()))
	}
	actx, stopAttacks := context.WithCancel(context.Background())
	var awg sync.WaitGroup
	for _, at := range attackers {
		awg.Add(1)
		go func() { defer awg.Done(); at.run(actx, at) }()
	}
	defer func() { stopAttacks(); awg.Wait() }()

	stopAB := sendSteadily(t, nw, a, b, "a to b")
	stopBA := sendSteadily(t, nw, b, a, "b to a")
	stopAC := sendSteadily(t, nw, a, c, "a to c")
	cctx, stopC := context.WithCancel(context.Background())
	cDone := make(chan error, 1)
	var atC [][]byte // what c received, across its reconnections
	go func() { cDone <- cycle(cctx, c, &atC) }()
	var ms runtime.MemStats
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		time.Sleep(min(10*time.Second, time.Until(deadline)))
		runtime.ReadMemStats(&ms)
		t.Logf("%s left: heap %d MiB, %d goroutines; a received %d, b received %d",
			time.Until(deadline).Round(time.Second), ms.HeapAlloc>>20, runtime.NumGoroutine(), a.Stats().Received, b.Stats().Received)
	}
	sentAB, sentBA, sentAC := stopAB(), stopBA(), stopAC()
	stopC()
	if err := <-cDone; err != nil {
		t.Fatalf("client c going offline and back: %v", err)
	}
	stopAttacks()
	awg.Wait()
	for _, at := range attackers {
		t.Logf("attack %-28s from %s: %d operations", at.name, at.src, at.ops.Load())
	}

	// check waits until every message sent to `to` has arrived. A message
	// pushed just before the client went offline, whose acknowledgement never
	// reached the gateway, is delivered again (the gateway delivers at least
	// once): duplicates are allowed only where reconnect says so.
	check := func(to *mixnet.Client, sent []sentMsg, who string, already [][]byte, reconnects bool) {
		missing := map[string]bool{}
		for _, m := range sent {
			missing[string(m.body)] = true
		}
		seen, dups := map[string]bool{}, 0
		take := func(m []byte) {
			if seen[string(m)] {
				dups++
			} else if !missing[string(m)] {
				t.Fatalf("%s: received %q, which was never sent", who, m)
			}
			seen[string(m)] = true
			delete(missing, string(m))
		}
		for _, m := range already {
			take(m)
		}
		ctx := timeout(t, 2*time.Minute)
		for len(missing) > 0 {
			m, err := to.Receive(ctx)
			if err != nil {
				t.Fatalf("%s: %d of %d messages never arrived (%d duplicates): %v", who, len(missing), len(sent), dups, err)
			}
			take(m.Data)
		}
		if dups > 0 && !reconnects {
			t.Fatalf("%s: %d messages arrived twice", who, dups)
		}
		t.Logf("%s: all %d messages arrived (%d delivered again after a reconnection)", who, len(sent), dups)
	}
	check(b, sentAB, "a to b", nil, false)
	check(a, sentBA, "b to a", nil, false)
	check(c, sentAC, "a to c (offline at times)", atC, true)

	for _, n := range nw.Nodes {
		resp, err := http.Get(n.HTTPURL() + "/health")
		if err != nil {
			t.Fatalf("node %d /health after the soak: %v", n.Index, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("node %d /health after the soak: %s", n.Index, resp.Status)
		}
	}
}
