package node

import (
	"context"
	"net"
	"net/netip"
	"time"

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
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer unsubscribe()
		for {
			select {
			case <-ctx.Done():
				return
			case u := <-updates:
				ips := peerIPs(ctx, func(host string) ([]netip.Addr, error) {
					lctx, cancel := context.WithTimeout(ctx, peerLookupTimeout)
					defer cancel()
					return net.DefaultResolver.LookupNetIP(lctx, "ip", host)
				}, u.Topology, u.Previous)
				s.mix.SetPeers(ips)
			}
		}
	}()
}

// peerIPs returns the IPs of the nodes of ts (nil ones skipped), each host
// resolved once with lookup; a host that does not resolve is left out.
func peerIPs(ctx context.Context, lookup func(string) ([]netip.Addr, error), ts ...*topology.Topology) []netip.Addr {
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
				continue
			}
			for _, ip := range got {
				ips = append(ips, ip.Unmap())
			}
		}
	}
	return ips
}
