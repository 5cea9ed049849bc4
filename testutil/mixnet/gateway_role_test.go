package mixnet_test

import (
	"context"
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
		if _, err := a.Send(context.Background(), b.Address(), m); err != nil {
			t.Fatalf("send while B's gateway is %s: %v", role, err)
		}
	}
	if got := receiveAll(t, ctx, b, len(want)); !sameSet(got, want) {
		t.Fatalf("B did not receive exactly A's messages while its gateway was %s", role)
	}
}

// TestRecipientGatewayWithoutRole: with more bonded nodes than roles, the
// node a client registered with holds no role in some epochs (the chain's
// Topology lists only nodes with a role; the reader adds the others). The
// client stays reachable: A sends to B in an epoch in which B's gateway has
// no role, and B receives exactly A's messages.
func TestRecipientGatewayWithoutRole(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain and a network")
	}
	nw := mixnet.Start(t, mixnet.Options{Nodes: 6})
	ctx := timeout(t, 2*time.Minute)
	topo, err := nw.Reader.Wait(ctx, func(t *topology.Topology) bool { return len(t.Unassigned) > 0 })
	if err != nil {
		t.Fatalf("no epoch left a node without a role: %v", err)
	}
	if got := len(topo.All()); got != 6 {
		t.Fatalf("the topology knows %d of the 6 bonded nodes", got)
	}
	idle := nw.NodeByIdentity(topo.Unassigned[0].Identity)
	a := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.NodeByIdentity(topo.Gateways()[0].Identity)})
	b := nw.StartClient(t, mixnet.ClientOptions{Gateway: idle})

	id := idle.Identity()
	topo, err = nw.Reader.Wait(ctx, func(t *topology.Topology) bool {
		_, known := t.ByIdentity(id)
		return known && t.RoleOf(id) == topology.None && time.Until(t.EpochEnd) > time.Second
	})
	if err != nil {
		t.Fatalf("no epoch in which B's gateway has no role: %v", err)
	}
	if err := nw.WaitNodesAt(ctx, topo.Epoch); err != nil {
		t.Fatal(err)
	}
	want := messages(t, a, 3)
	for _, m := range want {
		if _, err := a.Send(context.Background(), b.Address(), m); err != nil {
			t.Fatalf("send while B's gateway has no role (epoch %d): %v", topo.Epoch, err)
		}
	}
	if got := receiveAll(t, ctx, b, len(want)); !sameSet(got, want) {
		t.Fatal("B did not receive exactly A's messages while its gateway had no role")
	}
}
