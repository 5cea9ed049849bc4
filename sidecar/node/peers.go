package node

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/ratelog"
	"github.com/nyx-privacy/nyx/sidecar/topology"
)

// peerLookupTimeout bounds the resolution of one node's host.
const peerLookupTimeout = 5 * time.Second

// followPeers keeps the mix engine's peers (mixnode.Node.SetPeers: the
// sources its reserved connections are kept for) in step with the
// topology: the IPs the hosts of the current and previous epochs' nodes
// resolve to, resolved once per topology change.
func (s *Server) followPeers(ctx context.Context) {
	updates, unsubscribe := s.reader.Subscribe()
	// Anyone may bond a node with a host that does not resolve, as many
	// as they like: a line for each would be theirs to multiply.
	rlog := ratelog.New(s.log, 0, 0)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer unsubscribe()
		for {
			select {
			case <-ctx.Done():
				return
			case u := <-updates:
				ips := peerIPs(ctx, resolverLookup(ctx, net.DefaultResolver), rlog, u.Topology, u.Previous)
				s.mix.SetPeers(ips)
			}
		}
	}()
}

// resolverLookup looks a host up with r, each lookup bounded by
// peerLookupTimeout.
func resolverLookup(ctx context.Context, r *net.Resolver) func(string) ([]netip.Addr, error) {
	return func(host string) ([]netip.Addr, error) {
		lctx, cancel := context.WithTimeout(ctx, peerLookupTimeout)
		defer cancel()
		return r.LookupNetIP(lctx, "ip", host)
	}
}

// peerIPs returns the IPs of the nodes of ts (nil ones skipped), each host
// resolved once with lookup. A host that does not resolve is left out (its
// node's connections count as a stranger's) and logged on rlog.
func peerIPs(ctx context.Context, lookup func(string) ([]netip.Addr, error), rlog *ratelog.Logger, ts ...*topology.Topology) []netip.Addr {
	hosts := map[string]bool{}
	var ips []netip.Addr
	for _, t := range ts {
		if t == nil {
			continue
		}
		for _, n := range t.All() {
			if hosts[n.Host] || ctx.Err() != nil {
				continue
			}
			hosts[n.Host] = true
			if ip, err := netip.ParseAddr(n.Host); err == nil {
				ips = append(ips, ip.Unmap())
				continue
			}
			got, err := lookup(n.Host)
			if err != nil {
				if ctx.Err() == nil {
					rlog.Warn("a node's host does not resolve; its connections count as a stranger's",
						"host", n.Host, "node_id", n.ID, "err", err)
				}
				continue
			}
			for _, ip := range got {
				ips = append(ips, ip.Unmap())
			}
		}
	}
	return ips
}
