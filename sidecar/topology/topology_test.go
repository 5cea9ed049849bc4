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

// FuzzFromQuery feeds FromQuery a response decoded from arbitrary bytes (as
// a chain, or a man in the middle, could send): it must return a topology
// that validates or an error, never panic.
func FuzzFromQuery(f *testing.F) {
	good, err := fullResponse(f).Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte{})
	f.Add(good[:len(good)/2])
	f.Fuzz(func(t *testing.T, b []byte) {
		var resp mixnettypes.QueryTopologyResponse
		if err := resp.Unmarshal(b); err != nil {
			return
		}
		topo, err := FromQuery(&resp)
		if err != nil {
			return
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
