package node

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/ratelog"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/testutil/syncbuf"
)

// TestPeerIPs: the peers are the hosts of both topologies, IP literals as
// they are and names through the resolver, each once; a name that does not
// resolve is left out, and logged.
func TestPeerIPs(t *testing.T) {
	cur := &topology.Topology{Epoch: 2,
		Layers: [3][]topology.Node{{{Host: "127.0.0.5"}}, {{Host: "localhost"}}, {{Host: "127.0.0.5"}}},
		Entry:  []topology.Node{{ID: 7, Host: "no-such-host.invalid"}},
	}
	prev := &topology.Topology{Epoch: 1, Exit: []topology.Node{{Host: "::ffff:127.0.0.6"}}}
	lookups := 0
	var logs syncbuf.Buffer
	rlog := ratelog.New(slog.New(slog.NewTextHandler(&logs, nil)), 0, 0)
	ips := peerIPs(context.Background(), func(host string) ([]netip.Addr, error) {
		lookups++
		return net.DefaultResolver.LookupNetIP(context.Background(), "ip", host)
	}, rlog, cur, nil, prev)
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
	if got := logs.String(); strings.Count(got, "does not resolve") != 1 || !strings.Contains(got, "host=no-such-host.invalid node_id=7") {
		t.Fatalf("log:\n%s", got)
	}
}

// TestUnresolvedPeersLogBounded: a topology of 500 nodes whose hosts do
// not resolve (anyone may bond such nodes) leaves them out and costs a few
// log lines, not 500. The lookups are real: a resolver asking a DNS port
// on loopback where nothing listens.
func TestUnresolvedPeersLogBounded(t *testing.T) {
	const nodes = 500
	dead, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.LocalAddr().String()
	dead.Close()
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", deadAddr)
	}}
	top := &topology.Topology{Epoch: 1}
	for i := range nodes {
		top.Standby = append(top.Standby, topology.Node{ID: uint64(i), Host: fmt.Sprintf("node%d.nyx.example.", i)})
	}
	var logs syncbuf.Buffer
	rlog := ratelog.New(slog.New(slog.NewTextHandler(&logs, nil)), 0, 0)
	ctx := context.Background()
	start := time.Now()
	if ips := peerIPs(ctx, resolverLookup(ctx, r), rlog, top); len(ips) != 0 {
		t.Fatalf("unresolvable hosts gave %v", ips)
	}
	// A burst, then one line per interval.
	lines := strings.Count(logs.String(), "does not resolve")
	if max := ratelog.DefaultBurst + int(time.Since(start)/ratelog.DefaultInterval) + 1; lines == 0 || lines > max {
		t.Fatalf("%d unresolvable hosts logged %d lines:\n%s", nodes, lines, logs.String())
	}
}
