package topology

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sphinx"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// queryNode makes a valid TopologyNode from a seed.
func queryNode(t testing.TB, id uint64, role mixnettypes.Role) mixnettypes.TopologyNode {
	t.Helper()
	seed := sha256.Sum256([]byte{byte(id), byte(id >> 8), 'i'})
	pub := ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey)
	sseed := sha256.Sum256([]byte{byte(id), byte(id >> 8), 's'})
	sk, err := sphinx.NewPrivateKey(sseed[:])
	if err != nil {
		t.Fatal(err)
	}
	return mixnettypes.TopologyNode{
		NodeId: id, Role: role, IdentityKey: pub, SphinxKey: sk.PublicKey().Bytes(),
		Host: "127.0.0.1", MixPort: uint32(10000 + 3*id), ClientsPort: uint32(10001 + 3*id), HttpPort: uint32(10002 + 3*id),
	}
}

func fullResponse(t testing.TB) *mixnettypes.QueryTopologyResponse {
	t.Helper()
	start := time.Unix(1_700_000_000, 0).UTC()
	resp := &mixnettypes.QueryTopologyResponse{Epoch: mixnettypes.QueryEpochStatusResponse{
		EpochId: 7, Start: start, End: start.Add(time.Minute)}}
	for i, r := range []mixnettypes.Role{mixnettypes.RoleEntryGateway, mixnettypes.RoleMixLayer1,
		mixnettypes.RoleMixLayer2, mixnettypes.RoleMixLayer3, mixnettypes.RoleExitGateway, mixnettypes.RoleStandby} {
		resp.Nodes = append(resp.Nodes, queryNode(t, uint64(i+1), r))
	}
	return resp
}

func TestFromQuery(t *testing.T) {
	resp := fullResponse(t)
	topo, err := FromQuery(resp)
	if err != nil {
		t.Fatal(err)
	}
	if topo.Epoch != 7 || !topo.EpochEnd.Equal(resp.Epoch.End) {
		t.Fatalf("epoch %d end %v", topo.Epoch, topo.EpochEnd)
	}
	if len(topo.Entry) != 1 || len(topo.Exit) != 1 || len(topo.Standby) != 1 {
		t.Fatalf("entry %d exit %d standby %d", len(topo.Entry), len(topo.Exit), len(topo.Standby))
	}
	for l := 1; l <= 3; l++ {
		if n := topo.Layer(l); len(n) != 1 || n[0].Role.Layer() != l {
			t.Fatalf("layer %d: %+v", l, n)
		}
	}
	if got := topo.Gateways(); len(got) != 2 || got[0].Role != Entry || got[1].Role != Exit {
		t.Fatalf("gateways %+v", got)
	}
	q := resp.Nodes[2]
	var id [32]byte
	copy(id[:], q.IdentityKey)
	n, ok := topo.ByIdentity(id)
	if !ok || n.ID != q.NodeId || n.Role != Layer2 || n.MixAddr() != "127.0.0.1:10009" {
		t.Fatalf("ByIdentity: %+v %v", n, ok)
	}
	if string(n.SphinxKey.Bytes()) != string(q.SphinxKey) {
		t.Fatal("sphinx key differs")
	}
	if topo.RoleOf(id) != Layer2 || topo.RoleOf([32]byte{1}) != None {
		t.Fatal("RoleOf")
	}
	if _, ok := topo.ByIdentity([32]byte{9}); ok {
		t.Fatal("found an unknown identity")
	}
}

func TestFromQueryLeavesOutBadNodes(t *testing.T) {
	resp := fullResponse(t)
	// A second layer-1 node with a twist-point sphinx key, one with a bad host,
	// one with clashing ports: all left out, the rest is usable.
	bad := queryNode(t, 20, mixnettypes.RoleMixLayer1)
	bad.SphinxKey = make([]byte, 32)
	bad.SphinxKey[0] = 1 // u = 1 has low order
	host := queryNode(t, 21, mixnettypes.RoleMixLayer1)
	host.Host = "bad host!"
	ports := queryNode(t, 22, mixnettypes.RoleMixLayer1)
	ports.ClientsPort = ports.MixPort
	resp.Nodes = append(resp.Nodes, bad, host, ports)
	topo, err := FromQuery(resp)
	if err != nil {
		t.Fatal(err)
	}
	if len(topo.Invalid) != 3 || len(topo.Layers[0]) != 1 {
		t.Fatalf("invalid %v, layer 1 %d", topo.Invalid, len(topo.Layers[0]))
	}
	for _, in := range topo.Invalid {
		if !errors.Is(in.Err, ErrNode) {
			t.Fatalf("node %d: %v", in.ID, in.Err)
		}
	}
}

func TestFromQueryRefusesUnusable(t *testing.T) {
	for name, edit := range map[string]func(*mixnettypes.QueryTopologyResponse){
		"empty":         func(r *mixnettypes.QueryTopologyResponse) { r.Nodes = nil },
		"no layer 2":    func(r *mixnettypes.QueryTopologyResponse) { r.Nodes = append(r.Nodes[:2], r.Nodes[3:]...) },
		"no gateway":    func(r *mixnettypes.QueryTopologyResponse) { r.Nodes = r.Nodes[1:4] },
		"only bad l3":   func(r *mixnettypes.QueryTopologyResponse) { r.Nodes[3].IdentityKey = make([]byte, 32) },
		"duplicate key": func(r *mixnettypes.QueryTopologyResponse) { r.Nodes[4].IdentityKey = r.Nodes[0].IdentityKey },
	} {
		t.Run(name, func(t *testing.T) {
			resp := fullResponse(t)
			edit(resp)
			if _, err := FromQuery(resp); !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := FromQuery(nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("nil: %v", err)
	}
}

func TestCompare(t *testing.T) {
	a, err := FromQuery(fullResponse(t))
	if err != nil {
		t.Fatal(err)
	}
	if d := Compare(a, a); !d.Empty() {
		t.Fatalf("self diff %+v", d)
	}
	if d := Compare(nil, a); !d.EpochChanged || len(d.Added) != 6 {
		t.Fatalf("from nil %+v", d)
	}
	resp := fullResponse(t)
	resp.Epoch.EpochId++
	// Layer 1 and 2 swap; the standby node leaves; a new layer-3 node comes.
	resp.Nodes[1].Role, resp.Nodes[2].Role = mixnettypes.RoleMixLayer2, mixnettypes.RoleMixLayer1
	resp.Nodes = append(resp.Nodes[:5], queryNode(t, 30, mixnettypes.RoleMixLayer3))
	b, err := FromQuery(resp)
	if err != nil {
		t.Fatal(err)
	}
	d := Compare(a, b)
	if !d.EpochChanged || len(d.Changed) != 2 || len(d.Added) != 1 || len(d.Removed) != 1 {
		t.Fatalf("diff %+v", d)
	}
	if d.Added[0].ID != 30 || d.Removed[0].ID != 6 {
		t.Fatalf("added %d removed %d", d.Added[0].ID, d.Removed[0].ID)
	}
}

// bondedNode is the chain's record of the node queryNode describes.
func bondedNode(t testing.TB, id uint64) mixnettypes.Node {
	q := queryNode(t, id, mixnettypes.RoleUnspecified)
	return mixnettypes.Node{NodeId: id, IdentityKey: q.IdentityKey, SphinxKey: q.SphinxKey, Host: q.Host,
		MixPort: q.MixPort, ClientsPort: q.ClientsPort, HttpPort: q.HttpPort}
}

// TestAddUnassigned: bonded nodes without a role join the topology with
// role None, found by identity and id but in no role's list; nodes with a
// role, unbonding nodes and repeated identities are not added, and a node
// whose keys do not parse is listed as invalid.
func TestAddUnassigned(t *testing.T) {
	topo, err := FromQuery(fullResponse(t))
	if err != nil {
		t.Fatal(err)
	}
	withRole := bondedNode(t, 1)
	idle := bondedNode(t, 7)
	unbonding := bondedNode(t, 8)
	unbonding.Unbonding = true
	bad := bondedNode(t, 9)
	bad.SphinxKey = make([]byte, 32)
	twin := bondedNode(t, 7)
	twin.NodeId = 10
	topo.AddUnassigned([]mixnettypes.Node{withRole, idle, unbonding, bad, twin})

	if len(topo.Unassigned) != 1 || topo.Unassigned[0].ID != 7 || topo.Unassigned[0].Role != None {
		t.Fatalf("unassigned: %+v", topo.Unassigned)
	}
	if n, ok := topo.ByIdentity([32]byte(idle.IdentityKey)); !ok || n.ID != 7 || topo.RoleOf(n.Identity) != None {
		t.Fatal("the node without a role is not found by identity")
	}
	if len(topo.All()) != 7 || len(topo.Gateways()) != 2 {
		t.Fatalf("%d nodes, %d gateways", len(topo.All()), len(topo.Gateways()))
	}
	if len(topo.Invalid) != 1 || topo.Invalid[0].ID != 9 {
		t.Fatalf("invalid: %+v", topo.Invalid)
	}
	if err := topo.Validate(); err != nil {
		t.Fatal(err)
	}
	// A node that gets a role is no longer unassigned in the next epoch's
	// topology; Compare sees it change.
	next, _ := FromQuery(fullResponse(t))
	q := queryNode(t, 7, mixnettypes.RoleStandby)
	n, _ := nodeFromQuery(&q)
	n.Role = Standby
	next.Standby = append(next.Standby, n)
	if d := Compare(topo, next); len(d.Changed) != 1 || d.Changed[0].ID != 7 {
		t.Fatalf("diff %+v", d)
	}
}

// FuzzFromQuery feeds FromQuery a response decoded from arbitrary bytes (as
// a chain, or a man in the middle, could send), and AddUnassigned the same
// bytes as a Nodes response: the result validates or is an error, never a
// panic.
func FuzzFromQuery(f *testing.F) {
	good, err := fullResponse(f).Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{})
	f.Add(good[:len(good)/2])
	nodes, err := (&mixnettypes.QueryNodesResponse{Nodes: []mixnettypes.Node{bondedNode(f, 7), bondedNode(f, 1)}}).Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(append(good, nodes...))
	f.Fuzz(func(t *testing.T, b []byte) {
		var resp mixnettypes.QueryTopologyResponse
		if err := resp.Unmarshal(b); err != nil {
			return
		}
		topo, err := FromQuery(&resp)
		if err != nil {
			return
		}
		// The same bytes as a Nodes response: the bonded nodes added
		// without a role keep the topology valid.
		var nodes mixnettypes.QueryNodesResponse
		if nodes.Unmarshal(b) == nil {
			topo.AddUnassigned(nodes.Nodes)
		}
		if err := topo.Validate(); err != nil {
			t.Fatalf("FromQuery returned an invalid topology: %v", err)
		}
		for _, n := range topo.All() {
			if n.SphinxKey == nil || n.MixPort == 0 {
				t.Fatalf("node %d incomplete", n.ID)
			}
		}
	})
}

// TestKeysHeldUntil: with a schedule of N epochs, the keys of epoch e are
// held through the next multiple of N; the bound is half an epoch before
// that epoch ends.
func TestKeysHeldUntil(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	d := 30 * time.Second
	at := func(epoch, n uint64) time.Time {
		tp := &Topology{Epoch: epoch, EpochStart: start, EpochEnd: start.Add(d), KeyRotationEpochs: n}
		return tp.KeysHeldUntil()
	}
	if !at(5, 0).IsZero() {
		t.Fatal("a bound without a rotation schedule")
	}
	for _, c := range []struct {
		epoch, n uint64
		// epochs after this one's end that the keys are held, less half an epoch
		more int
	}{
		{0, 24, 24}, {1, 24, 23}, {22, 24, 2}, {23, 24, 1}, {24, 24, 24}, {25, 24, 23},
		{7, 1, 1}, {9, 10, 1}, {10, 10, 10},
	} {
		want := start.Add(d + time.Duration(c.more)*d - d/2)
		if got := at(c.epoch, c.n); !got.Equal(want) {
			t.Errorf("epoch %d, rotation every %d: held until %v, want %v", c.epoch, c.n, got, want)
		}
	}
	// An epoch whose end is not after its start bounds at its end.
	tp := &Topology{Epoch: 3, EpochStart: start, EpochEnd: start, KeyRotationEpochs: 24}
	if !tp.KeysHeldUntil().Equal(start) {
		t.Fatal("no length: not bounded at the epoch's end")
	}
}
