package mixnet

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"math"
	mrand "math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/wire"
)

// faultyPort stands on a node's bonded mix address with the node's
// identity key, so to every other node it is that node: it answers their
// handshakes, reads their packets, drops a share of them (SetDropRate) and
// passes the rest over its own encrypted link to the node, which listens
// on a port of its own. Packets it passes are the node's to process as
// usual; so the node, as the network sees it, loses that share of what it
// gets. Links are encrypted, so nothing short of the node's key can drop
// packets on a link without breaking it.
type faultyPort struct {
	l     net.Listener
	key   *wire.LinkKey
	self  *wire.LinkKey // its own identity towards the node
	node  [32]byte
	addr  string // the node's own mix address
	drop  atomic.Uint64
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// frontWithFaultyPort puts a faulty port on n's bonded mix listener and
// returns a new listener for the node itself.
func (nw *Network) frontWithFaultyPort(n *Node, bonded net.Listener) (net.Listener, error) {
	own, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	key, err := wire.NewLinkKey(n.Keys.Identity)
	if err != nil {
		own.Close()
		return nil, err
	}
	_, id, _ := ed25519.GenerateKey(rand.Reader)
	self, _ := wire.NewLinkKey(id)
	f := &faultyPort{l: bonded, key: key, self: self, node: n.Keys.IdentityPublic(), addr: own.Addr().String(), conns: map[net.Conn]struct{}{}}
	// A restart listens where the node itself does.
	n.Cfg.Node.MixListen = f.addr
	nw.faulty[n.Index] = f
	f.wg.Add(1)
	go f.serve()
	nw.t.Cleanup(f.close)
	return own, nil
}

// SetDropRate makes node n (of a network started with FaultyPorts) drop
// the given share of the packets it gets, from 0 to 1.
func (nw *Network) SetDropRate(n *Node, rate float64) {
	f := nw.faulty[n.Index]
	if f == nil {
		nw.t.Fatalf("node %d has no faulty port (Options.FaultyPorts)", n.Index)
	}
	f.drop.Store(math.Float64bits(rate))
}

func (f *faultyPort) serve() {
	defer f.wg.Done()
	for {
		c, err := f.l.Accept()
		if err != nil {
			return
		}
		f.track(c, true)
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer f.track(c, false)
			f.pass(c)
		}()
	}
}

func (f *faultyPort) track(c net.Conn, open bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if open {
		f.conns[c] = struct{}{}
	} else {
		delete(f.conns, c)
		c.Close()
	}
}

// pass answers one dialler as the node and relays its packets.
func (f *faultyPort) pass(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	s, err := wire.Respond(c, f.key)
	if err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	r, err := wire.NewSecureReader(c, wire.StandardSizes(), s)
	if err != nil {
		return
	}
	out, w, err := wire.DialLink(context.Background(), f.addr, f.self, f.node, 5*time.Second)
	if err != nil {
		return
	}
	f.track(out, true)
	defer f.track(out, false)
	buf := make([]byte, wire.StandardSizes().Max())
	for {
		p, err := r.ReadPacket(func(int) []byte { return buf })
		if err != nil {
			return
		}
		if mrand.Float64() < math.Float64frombits(f.drop.Load()) {
			continue
		}
		if err := w.WritePacket(p); err != nil {
			return
		}
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return
			}
		}
	}
}

func (f *faultyPort) close() {
	f.l.Close()
	f.mu.Lock()
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}
