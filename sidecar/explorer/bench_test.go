package explorer

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// The pages of a 1,000-node network, each against two floors measured in the
// same run: one html/template execution of the empty error page (the least a
// page costs) and a JSON encoding of the same node rows (the least any
// rendering of the data costs). Each reports ns/op and the ratio to both.

const benchNodes = 1000

func BenchmarkNodeList1000(b *testing.B) {
	snap := syntheticSnapshot(benchNodes, "")
	v := view{Title: "Nodes", Active: "nodes", Snap: snap, Body: nodesBody(snap, 0, true, "id")}
	benchVsFloors(b, snap, func() { execute(b, "nodes", v) })
}

func BenchmarkNodeListSorted1000(b *testing.B) {
	snap := syntheticSnapshot(benchNodes, "")
	benchVsFloors(b, snap, func() {
		v := view{Title: "Nodes", Active: "nodes", Snap: snap, Body: nodesBody(snap, 0, true, "stake")}
		execute(b, "nodes", v)
	})
}

func BenchmarkTopology1000(b *testing.B) {
	snap := syntheticSnapshot(benchNodes, "")
	v := view{Title: "Topology", Active: "topology", Snap: snap}
	benchVsFloors(b, snap, func() { execute(b, "topology", v) })
}

func BenchmarkOverview1000(b *testing.B) {
	snap := syntheticSnapshot(benchNodes, "")
	v := view{Title: "Network", Active: "overview", Snap: snap}
	benchVsFloors(b, snap, func() { execute(b, "overview", v) })
}

// BenchmarkBuildSnapshot1000 is the work of one refresh after the chain has
// answered (formatting every node and laying out the picture).
func BenchmarkBuildSnapshot1000(b *testing.B) {
	snap := syntheticSnapshot(benchNodes, "")
	nodes := make([]mixnettypes.Node, 0, benchNodes)
	roles := map[uint64]mixnettypes.Role{}
	for i := range benchNodes {
		nodes = append(nodes, mixnettypes.Node{NodeId: uint64(i + 1), Host: "h.example.org", IdentityKey: make([]byte, 32)})
		roles[uint64(i+1)] = roleOrder[i%6]
	}
	for i := range nodes {
		nodes[i].Pledge.Amount = snap.Nodes[i].stake
		nodes[i].Pledge.Denom = mixnettypes.Denom
	}
	benchVsFloors(b, snap, func() { BuildSnapshot(snap.Epoch, nodes, roles, nil) })
}

func execute(b *testing.B, name string, v view) {
	if err := pages.ExecuteTemplate(io.Discard, name, v); err != nil {
		b.Fatal(err)
	}
}

// benchVsFloors times op, then the two floors, over b.N runs each.
func benchVsFloors(b *testing.B, snap *Snapshot, op func()) {
	empty := view{Title: "x", Body: failBody{Code: http.StatusNotFound, Heading: "x", Text: "x"}}
	floorPage := func() { execute(b, "error", empty) }
	floorJSON := func() {
		if err := json.NewEncoder(io.Discard).Encode(snap.Nodes); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		op()
	}
	opTime := time.Since(start)
	b.StopTimer()
	t0 := time.Now()
	for range b.N {
		floorPage()
	}
	pageTime := time.Since(t0)
	t1 := time.Now()
	for range b.N {
		floorJSON()
	}
	jsonTime := time.Since(t1)
	b.ReportMetric(float64(pageTime.Nanoseconds())/float64(b.N), "emptypage-ns/op")
	b.ReportMetric(float64(jsonTime.Nanoseconds())/float64(b.N), "json-ns/op")
	b.ReportMetric(float64(opTime)/float64(pageTime), "x-emptypage")
	b.ReportMetric(float64(opTime)/float64(jsonTime), "x-json")
}
