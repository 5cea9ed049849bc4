package mixnode

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/wire"
)

// outgoing is a processed packet on its way out: to a next hop (packet is
// the next packet) or to the gateway (deliver; packet is the payload). buf
// is the pooled buffer packet lives in, returned once it is written.
type outgoing struct {
	buf     *[]byte
	packet  []byte
	next    [32]byte
	deliver bool
	dest    [32]byte
}

// size is the memory out holds: its whole pooled buffer.
func (out outgoing) size() int64 {
	if out.buf != nil {
		return int64(cap(*out.buf))
	}
	return int64(len(out.packet))
}

// links keeps one outgoing connection per next hop, each with a queue
// bounded in packets and in bytes, and a goroutine that dials, writes and
// redials. The bytes of all queues together are bounded too.
type links struct {
	n     *Node
	ctx   context.Context
	wg    sync.WaitGroup
	bytes atomic.Int64 // held in every link's queue

	mu sync.RWMutex
	m  map[[32]byte]*link
}

type link struct {
	id    [32]byte
	q     chan outgoing
	bytes atomic.Int64 // held in q
}

func newLinks(ctx context.Context, n *Node) *links {
	return &links{n: n, ctx: ctx, m: map[[32]byte]*link{}}
}

func (ls *links) count() int {
	ls.mu.RLock()
	defer ls.mu.RUnlock()
	return len(ls.m)
}

// reserve adds n to v unless that passes max.
func reserve(v *atomic.Int64, n, max int64) bool {
	for {
		cur := v.Load()
		if cur+n > max {
			return false
		}
		if v.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

func (ls *links) queued() int {
	ls.mu.RLock()
	defer ls.mu.RUnlock()
	total := 0
	for _, l := range ls.m {
		total += len(l.q)
	}
	return total
}

// send queues out for its next hop, starting the hop's link if needed. It
// reports why it dropped the packet, if it did (the caller counts it and
// releases the buffer).
func (ls *links) send(out outgoing) (DropReason, bool) {
	ls.mu.RLock()
	l := ls.m[out.next]
	if l != nil {
		reason, ok := ls.enqueue(l, out)
		ls.mu.RUnlock()
		return reason, ok
	}
	ls.mu.RUnlock()
	if _, known := ls.n.resolve(out.next); !known {
		return DropUnknownNextHop, false
	}
	ls.mu.Lock()
	if ls.ctx.Err() != nil {
		ls.mu.Unlock()
		return DropShutdown, false
	}
	l = ls.m[out.next]
	if l == nil {
		l = &link{id: out.next, q: make(chan outgoing, ls.n.cfg.LinkQueue)}
		ls.m[out.next] = l
		ls.wg.Add(1)
		go ls.run(l)
	}
	reason, ok := ls.enqueue(l, out)
	ls.mu.Unlock()
	return reason, ok
}

// enqueue queues out on l within the bounds, or says which refused it.
func (ls *links) enqueue(l *link, out outgoing) (DropReason, bool) {
	size := out.size()
	cfg := &ls.n.cfg
	if !reserve(&l.bytes, size, cfg.LinkQueueBytes) {
		return DropLinkQueueBytes, false
	}
	if !reserve(&ls.bytes, size, cfg.LinksBytes) {
		l.bytes.Add(-size)
		return DropLinksBytes, false
	}
	select {
	case l.q <- out:
		return 0, true
	default:
		l.bytes.Add(-size)
		ls.bytes.Add(-size)
		return DropLinkQueueFull, false
	}
}

// dequeued gives back the bytes of a packet taken off l's queue.
func (ls *links) dequeued(l *link, out outgoing) {
	size := out.size()
	l.bytes.Add(-size)
	ls.bytes.Add(-size)
}

// run is a link's goroutine: it writes queued packets in batches (one flush
// per batch), dials when it has a packet and no connection, backs off after
// a failed dial (dropping what arrives meanwhile), and ends after LinkIdle
// without packets.
func (ls *links) run(l *link) {
	defer ls.wg.Done()
	n := ls.n
	cfg := n.cfg
	var (
		conn     net.Conn
		gen      uint64        // n.linkGen when conn was dialled
		dead     chan struct{} // closed when the peer closes conn
		w        *wire.Writer
		pending  uint64 // written since the last flush
		backoff  = cfg.ReconnectMin
		nextDial time.Time
	)
	closeConn := func() {
		if conn != nil {
			conn.Close()
			conn, w = nil, nil
		}
	}
	lost := func(k uint64) {
		n.counters.dropped[DropLinkDown].Add(k)
	}
	write := func(out outgoing) {
		defer n.pool.put(out.buf)
		if conn != nil {
			select {
			case <-dead: // the peer went away: redial now rather than write into a dead socket
				n.rlog.Log(slog.LevelDebug, "link closed by the next hop", "link closed by the next hop", "next", shortID(l.id))
				lost(pending)
				pending = 0
				closeConn()
			default:
			}
		}
		if conn == nil {
			if time.Now().Before(nextDial) {
				lost(1)
				return
			}
			addr, ok := n.resolve(l.id)
			if !ok {
				n.counters.dropped[DropUnknownNextHop].Add(1)
				return
			}
			var c net.Conn
			var err error
			gen = n.linkGen.Load()
			c, w, err = ls.dial(l.id, addr)
			if err != nil {
				if errors.Is(err, wire.ErrHandshake) {
					n.counters.linkHandshakeFailures.Add(1)
					n.rlog.Warn("next hop failed the link handshake: not the key bonded for its address, or no encrypted links",
						"next", shortID(l.id), "addr", addr, "err", err, "retry_in", backoff)
				} else {
					n.rlog.Warn("next hop unreachable", "next", shortID(l.id), "addr", addr, "err", err, "retry_in", backoff)
				}
				nextDial = time.Now().Add(time.Duration(backoff))
				backoff = min(2*backoff, cfg.ReconnectMax)
				lost(1)
				return
			}
			n.log.Debug("link up", "next", shortID(l.id), "addr", addr)
			conn, backoff = c, cfg.ReconnectMin
			dead = make(chan struct{})
			go watch(c, dead)
		}
		if pending == 0 {
			_ = conn.SetWriteDeadline(time.Now().Add(time.Duration(cfg.WriteTimeout)))
		}
		if err := w.WritePacket(out.packet); err != nil {
			n.rlog.Warn("link write failed", "next", shortID(l.id), "err", err)
			lost(pending + 1)
			pending = 0
			closeConn()
			return
		}
		pending++
	}
	flush := func() {
		if conn == nil || pending == 0 {
			return
		}
		if err := w.Flush(); err != nil {
			n.rlog.Warn("link write failed", "next", shortID(l.id), "err", err)
			lost(pending)
			closeConn()
		} else {
			n.counters.forwarded.Add(pending)
		}
		pending = 0
	}

	idle := time.NewTimer(time.Duration(cfg.LinkIdle))
	defer idle.Stop()
	for {
		select {
		case <-ls.ctx.Done():
			closeConn()
			ls.mu.Lock()
			delete(ls.m, l.id)
			ls.mu.Unlock()
			for {
				select {
				case out := <-l.q:
					ls.dequeued(l, out)
					n.counters.dropped[DropShutdown].Add(1)
					n.pool.put(out.buf)
				default:
					return
				}
			}
		case <-idle.C:
			ls.mu.Lock()
			if len(l.q) == 0 {
				delete(ls.m, l.id)
				ls.mu.Unlock()
				closeConn()
				return
			}
			ls.mu.Unlock()
			idle.Reset(time.Duration(cfg.LinkIdle))
		case out := <-l.q:
			ls.dequeued(l, out)
			if conn != nil && gen != n.linkGen.Load() {
				n.log.Debug("link rekeyed after a key rotation", "next", shortID(l.id))
				closeConn()
			}
			write(out)
			for more := true; more; {
				select {
				case out := <-l.q:
					ls.dequeued(l, out)
					write(out)
				default:
					more = false
				}
			}
			flush()
			idle.Reset(time.Duration(cfg.LinkIdle))
		}
	}
}

// dial connects to the next hop id at addr and, unless the node runs
// plaintext links, runs the Noise handshake expecting id's key, all within
// DialTimeout.
func (ls *links) dial(id [32]byte, addr string) (net.Conn, *wire.Writer, error) {
	n := ls.n
	if n.link != nil {
		return wire.DialLink(ls.ctx, addr, n.link, id, time.Duration(n.cfg.DialTimeout))
	}
	d := net.Dialer{Timeout: time.Duration(n.cfg.DialTimeout)}
	c, err := d.DialContext(ls.ctx, "tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	w, err := wire.NewWriter(c)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, w, nil
}

// watch reads conn (a next hop never writes on it) until it fails: the peer
// closed it or it was closed here. It then closes dead.
func watch(conn net.Conn, dead chan struct{}) {
	_, _ = io.Copy(io.Discard, conn)
	close(dead)
}
