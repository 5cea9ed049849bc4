package node

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/nyx-privacy/nyx/sidecar/topology"
)

// TestPeerIPs: the peers are the hosts of both topologies, IP literals as
// they are and names through the resolver, each once; a name that does not
// resolve is left out.
func TestPeerIPs(t *testing.T) {
	cur := &topology.Topology{Epoch: 2,
		Layers: [3][]topology.Node{{{Host: "127.0.0.5"}}, {{Host: "localhost"}}, {{Host: "127.0.0.5"}}},
		Entry:  []topology.Node{{Host: "no-such-host.invalid"}},
	}
	prev := &topology.Topology{Epoch: 1, Exit: []topology.Node{{Host: "::ffff:127.0.0.6"}}}
	lookups := 0
	ips := peerIPs(context.Background(), func(host string) ([]netip.Addr, error) {
		lookups++
		return net.DefaultResolver.LookupNetIP(context.Background(), "ip", host)
	}, cur, nil, prev)
	if lookups != 2 {
		t.Fatalf("%d lookups, want 2 (localhost, the invalid name)", lookups)
	}
	for _, want := range []string{"127.0.0.5", "127.0.0.1", "127.0.0.6"} {
		if !slices.Contains(ips, netip.MustParseAddr(want)) {
			t.Fatalf("%v has no %s", ips, want)
		}
	}
	if n := len(slices.DeleteFunc(slices.Clone(ips), func(ip netip.Addr) bool { return ip == netip.MustParseAddr("127.0.0.5") })); n != len(ips)-1 {
		t.Fatalf("127.0.0.5 listed %d times", len(ips)-n)
	}
}
