package mixnode

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/wire"
)

// Serve accepts mix connections on l until Close (then it returns
// ErrClosed) or until l fails. Connections are admitted as admit.go
// describes; one refused is closed at once and counted (conn_limit,
// conn_per_ip).
func (n *Node) Serve(l net.Listener) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		l.Close()
		return ErrClosed
	}
	n.listeners[l] = struct{}{}
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.listeners, l)
		n.mu.Unlock()
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			if n.ctx.Err() != nil {
				return ErrClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if isTemporaryAccept(err) {
				// Out of file descriptors, or a connection reset before it
				// was taken: wait a moment rather than stop serving.
				n.rlog.Warn("accept failed on the mix port", "err", err)
				select {
				case <-n.ctx.Done():
					return ErrClosed
				case <-time.After(50 * time.Millisecond):
				}
				continue
			}
			return fmt.Errorf("mixnode: accept: %w", err)
		}
		adm, reason, ok := n.admit.admit(c.RemoteAddr())
		if !ok {
			n.counters.dropped[reason].Add(1)
			c.Close()
			continue
		}
		n.mu.Lock()
		if n.closed {
			n.mu.Unlock()
			n.admit.release(adm)
			c.Close()
			return ErrClosed
		}
		n.open[c] = struct{}{}
		n.wg.Add(1)
		n.mu.Unlock()
		n.counters.connsAccepted.Add(1)
		go n.serveConn(c, adm)
	}
}

// isTemporaryAccept reports an accept error the listener recovers from.
func isTemporaryAccept(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ECONNABORTED)
}

func (n *Node) serveConn(c net.Conn, adm admitted) {
	defer func() {
		c.Close()
		n.mu.Lock()
		delete(n.open, c)
		n.mu.Unlock()
		n.admit.release(adm)
		n.wg.Done()
	}()
	var from *strangerConn
	if !adm.peer {
		from = newStrangerConn(c, n.admit, n.cfg.StrangerFailures)
	}
	// Until its first frame is in, a connection has shown nothing: it
	// gets PrefaceTimeout in all, handshake included, however it drips
	// its bytes.
	_ = c.SetDeadline(time.Now().Add(time.Duration(n.cfg.PrefaceTimeout)))
	r, err := n.openLink(c, &from)
	if err != nil {
		n.connEnded(c, err, true, from)
		return
	}
	_ = c.SetWriteDeadline(time.Time{})
	var cur *[]byte
	get := func(size int) []byte {
		cur = n.pool.get(size)
		return *cur
	}
	first := true
	for {
		if !first && r.Buffered() == 0 {
			idle := n.cfg.ReadIdle
			if from.stranger() {
				idle = n.cfg.StrangerIdle
			}
			_ = c.SetReadDeadline(time.Now().Add(time.Duration(idle)))
		}
		p, err := r.ReadPacket(get)
		if err != nil {
			if cur != nil {
				n.pool.put(cur)
			}
			n.connEnded(c, err, first, from)
			return
		}
		first = false
		n.counters.received.Add(1)
		if reason, ok := n.queueJob(job{buf: cur, packet: p, from: from}); !ok {
			n.counters.dropped[reason].Add(1)
			n.pool.put(cur)
		}
		cur = nil
	}
}

// openLink answers the handshake of an incoming connection (nothing to
// answer on plaintext links) and returns the reader of its frames. A
// dialler that proves the identity of a node of the topology is a peer
// from then on, whatever address it dials from.
func (n *Node) openLink(c net.Conn, from **strangerConn) (*wire.Reader, error) {
	if n.link == nil {
		return wire.NewReader(c, n.sizes), nil
	}
	s, err := wire.Respond(c, n.link)
	if err != nil {
		return nil, err
	}
	if _, ok := n.resolve(s.Peer()); ok {
		*from = nil
	}
	return wire.NewSecureReader(c, n.sizes, s)
}

// connEnded counts why an incoming connection ended, if it was the node's
// doing: bytes that are no packets, no first frame in time, or a
// stranger's silence or run of failed packets.
func (n *Node) connEnded(c net.Conn, err error, first bool, from *strangerConn) {
	var ne net.Error
	timeout := errors.As(err, &ne) && ne.Timeout()
	if reason, bad := wireDropReason(err); bad {
		n.counters.dropped[reason].Add(1)
		msg := "refused bytes on the mix port"
		switch reason {
		case DropPlaintextPeer:
			msg = "refused a plaintext link on the mix port: links are encrypted (Noise); the peer runs an old version"
		case DropHandshake:
			msg = "refused a link on the mix port: the Noise handshake failed"
		}
		n.rlog.Warn(msg, "remote", c.RemoteAddr().String(), "err", err)
		return
	}
	switch {
	case from.failed():
		n.counters.dropped[DropStrangerFailures].Add(1)
		n.rlog.Warn("closed a stranger's connection: its packets all fail", "remote", c.RemoteAddr().String(),
			"failures", n.cfg.StrangerFailures)
	case timeout && first:
		n.counters.dropped[DropPrefaceTimeout].Add(1)
	case timeout && from.stranger():
		n.counters.dropped[DropStrangerIdle].Add(1)
	}
}
