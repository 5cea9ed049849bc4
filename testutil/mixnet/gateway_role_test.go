package mixnet_test

import (
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/testutil/mixnet"
)

// TestRecipientGatewayInMixRole: the chain draws roles again every epoch,
// so the node a client registered with is sometimes a mix node. The client
// must stay reachable: A sends to B during an epoch in which B's gateway
// holds a mix layer, and B receives exactly A's messages.
func TestRecipientGatewayInMixRole(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain and a network")
	}
	nw := mixnet.Start(t, mixnet.Options{})
	a := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(0)})
	b := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(1)})
	ctx := timeout(t, 2*time.Minute)

	id := b.Gateway.Identity()
	topo, err := nw.Reader.Wait(ctx, func(t *topology.Topology) bool {
		return t.RoleOf(id).Layer() > 0 && time.Until(t.EpochEnd) > time.Second
	})
	if err != nil {
		t.Fatalf("no epoch in which B's gateway is a mix node: %v", err)
	}
	if err := nw.WaitNodesAt(ctx, topo.Epoch); err != nil {
		t.Fatal(err)
	}
	role := topo.RoleOf(id)

	want := messages(t, a, 3)
	for _, m := range want {
		if err := a.Send(b.Address(), m); err != nil {
			t.Fatalf("send while B's gateway is %s: %v", role, err)
		}
	}
	if got := receiveAll(t, ctx, b, len(want)); !sameSet(got, want) {
		t.Fatalf("B did not receive exactly A's messages while its gateway was %s", role)
	}
}
