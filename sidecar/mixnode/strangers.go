package mixnode

import (
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/nyx-privacy/nyx/sidecar/home"
)

// Strangers on the mix port.
//
// A stranger (a source that is not among the topology's nodes, SetPeers,
// and did not prove the identity of one in the link handshake)
// that brings one well-sized frame within PrefaceTimeout would otherwise
// keep its slot for ReadIdle (30 minutes by default) between frames, and
// one that sends a garbage frame now and then for as long as it likes. Two
// rules give the slot back:
//
//   - StrangerIdle (30 s) replaces ReadIdle between a stranger's frames;
//   - a stranger's connection is closed after StrangerFailures packets in a
//     row that fail Sphinx processing (bad MAC, replay, unusable routing or
//     payload); one packet that passes starts the run again.
//
// So to hold a slot a stranger must keep sending packets that are sound
// for this node's key: traffic the node mixes like any other, bounded by
// MaxConnsPerIP and the strangers' share of MaxConns.
//
// Neither rule touches a peer. A legitimate previous hop is a node of the
// current or previous topology and proves its identity in the handshake,
// so it is a peer: its link may idle up to ReadIdle, and the
// packets it carries may fail here without end (a client chooses every byte
// its packet shows this node, so a run of bad MACs from a previous hop
// proves nothing against that hop). A node that dials from another address
// counts as a stranger (admit.go): an idle or failing link of its is
// closed, and it redials on its next packet, as after any lost connection.
// A connection admitted as a stranger whose IP has since joined the peers
// (a node that dialled before this node had read the topology) is treated
// as a peer from then on.

// strangerConn follows the packets of one stranger's connection through
// the workers, which report each one (judge).
type strangerConn struct {
	conn   net.Conn
	ip     netip.Addr
	admit  *admission
	max    int32
	fails  atomic.Int32 // packets failed in a row
	closed atomic.Bool  // closed by judge
}

func newStrangerConn(c net.Conn, a *admission, max int) *strangerConn {
	return &strangerConn{conn: c, ip: home.AddrIP(c.RemoteAddr()), admit: a, max: int32(min(max, 1<<30))}
}

// stranger reports whether s is (still) a stranger's connection.
func (s *strangerConn) stranger() bool {
	if s == nil {
		return false
	}
	return !s.admit.isPeer(s.ip)
}

// judge records the outcome of processing one of s's packets (err from
// Sphinx, nil if it passed) and closes s's connection at the end of a run
// of failures. A nil s (a peer's connection) takes no part.
func (s *strangerConn) judge(err error) {
	if s == nil {
		return
	}
	if err == nil || !s.stranger() {
		s.fails.Store(0)
		return
	}
	if s.fails.Add(1) >= s.max && s.closed.CompareAndSwap(false, true) {
		s.conn.Close()
	}
}

// failed reports whether judge closed s's connection.
func (s *strangerConn) failed() bool { return s != nil && s.closed.Load() }
