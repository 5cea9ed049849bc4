package mixnode

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/nyx-privacy/nyx/sidecar/home"
)

// Admission of incoming mix connections.
//
// A connection costs the node a goroutine, a read buffer and a slot of
// MaxConns, so whoever can open connections could take every slot and cut
// the node off from its previous hops. Three rules stop that:
//
//   - a source IP holds at most MaxConnsPerIP connections at a time (an
//     IPv6 source is its /64, the least a single host is usually given);
//   - a connection must bring the preface, the link handshake and its
//     first complete frame within PrefaceTimeout, so a silent or slow-dripping connection gives
//     its slot back in seconds (after that, ReadIdle applies between
//     frames, StrangerIdle to strangers: strangers.go);
//   - ReservedConns of the MaxConns slots are kept for the nodes of the
//     current (and previous) topology, recognised by the IP address their
//     bonded host resolves to (SetPeers). Strangers share the rest; a peer
//     may take any free slot.
//
// The reserved share is taken at accept, before a byte is read, so it
// recognises peers by source IP, which is as good as TCP is: a node that
// dials from an address other than its bonded host's takes a stranger's
// slot, and a stranger on a peer's host a peer's. Within
// PrefaceTimeout the Noise handshake (sidecar/wire) then proves the
// dialler's identity: a node of the topology is judged as a peer from
// there on whatever its address (strangers.go), and a stranger stays one
// even from a peer's host.

// peerSet is the IPs of the nodes of the topology, unmapped (IPv4 as 4
// bytes).
type peerSet map[netip.Addr]struct{}

// admission counts the open incoming connections, in total, by kind and by
// source (home.SourceKey). byIP only holds sources with an open connection, so it
// never has more than MaxConns entries.
type admission struct {
	max, reserved, perIP int
	peers                atomic.Pointer[peerSet]

	mu               sync.Mutex
	total, strangers int
	byIP             map[netip.Addr]int
}

func newAdmission(cfg Config) *admission {
	return &admission{max: cfg.MaxConns, reserved: cfg.ReservedConns, perIP: cfg.MaxConnsPerIP, byIP: map[netip.Addr]int{}}
}

// admitted is one admitted connection, to release when it ends.
type admitted struct {
	src  netip.Addr // home.SourceKey of its IP
	peer bool
}

// admit takes a slot for a connection from addr, or says why not.
func (a *admission) admit(addr net.Addr) (admitted, DropReason, bool) {
	ip := home.AddrIP(addr)
	adm := admitted{src: home.SourceKey(ip), peer: a.isPeer(ip)}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.byIP[adm.src] >= a.perIP:
		return adm, DropConnPerIP, false
	case a.total >= a.max:
		return adm, DropConnLimit, false
	case !adm.peer && a.strangers >= a.max-a.reserved:
		return adm, DropConnLimit, false
	}
	a.total++
	if !adm.peer {
		a.strangers++
	}
	a.byIP[adm.src]++
	return adm, 0, true
}

// isPeer reports whether ip is a node of the topology now.
func (a *admission) isPeer(ip netip.Addr) bool {
	ps := a.peers.Load()
	if ps == nil {
		return false
	}
	_, ok := (*ps)[ip]
	return ok
}

func (a *admission) release(adm admitted) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.total--
	if !adm.peer {
		a.strangers--
	}
	if a.byIP[adm.src] <= 1 {
		delete(a.byIP, adm.src)
	} else {
		a.byIP[adm.src]--
	}
}

// open returns the open connections: from peers and from strangers.
func (a *admission) open() (peers, strangers int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.total - a.strangers, a.strangers
}

// from returns the open connections from ip's source.
func (a *admission) from(ip netip.Addr) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.byIP[home.SourceKey(ip)]
}

// SetPeers sets the IP addresses of the nodes of the topology: connections
// from them are admitted from the share of MaxConns kept for peers. The
// node's daemon calls it at every topology change with the addresses its
// nodes' hosts resolve to. A connection keeps the standing it had when it
// was admitted.
func (n *Node) SetPeers(ips []netip.Addr) {
	ps := make(peerSet, len(ips))
	for _, ip := range ips {
		ps[ip.Unmap()] = struct{}{}
	}
	n.admit.peers.Store(&ps)
}

// ConnsFrom returns the open incoming connections from ip's source
// (home.SourceKey).
func (n *Node) ConnsFrom(ip netip.Addr) int { return n.admit.from(ip) }
