package keeper_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"testing"

	"cosmossdk.io/math"
	"github.com/stretchr/testify/require"

	"github.com/nyx-privacy/nyx/x/mixnet/keeper"
	"github.com/nyx-privacy/nyx/x/mixnet/selection"
	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

// fixedBeacons stands in for x/coconut's beacon (its own tests, and the
// four-validator test in cmd/nyxd, run the real one): every epoch's
// randomness is SHA-256 of its number, known to the test in advance, which is
// exactly the position of an adversary who has seen the beacon early.
type fixedBeacons struct{}

func (fixedBeacons) EpochBeacon(_ context.Context, epoch uint64) ([]byte, bool, error) {
	r := sha256.Sum256(binary.BigEndian.AppendUint64(nil, epoch))
	return r[:], true, nil
}

func (f *fixture) roles() map[uint64]types.Role {
	f.t.Helper()
	topo, err := f.q.Topology(f.ctx, &types.QueryTopologyRequest{})
	require.NoError(f.t, err)
	m := map[uint64]types.Role{}
	for _, n := range topo.Nodes {
		m[n.NodeId] = n.Role
	}
	return m
}

// expectedDraw is the draw of epoch from the snapshot with the epoch's
// beacon, computed outside the keeper.
func (f *fixture) expectedDraw(snap types.DrawSnapshot, epoch uint64) map[uint64]types.Role {
	f.t.Helper()
	var cs []selection.Candidate
	for _, c := range snap.Candidates {
		cs = append(cs, selection.Candidate{ID: c.NodeId, Weight: c.Weight})
	}
	r, _, _ := fixedBeacons{}.EpochBeacon(f.ctx, epoch)
	params, err := f.k.Params.Get(f.ctx)
	require.NoError(f.t, err)
	a, err := selection.Assign(cs, keeper.BeaconRoleSeed(r, epoch), params.RewardedSet.ToSelection())
	require.NoError(f.t, err)
	m := map[uint64]types.Role{}
	for role, ids := range types.RolesOf(a) {
		for _, id := range ids {
			m[id] = role
		}
	}
	return m
}

// TestDrawFromSnapshot: an epoch's roles are drawn from the nodes as they were
// when the epoch before it began, so what changes once the beacon is known (a
// new bond, a large delegation) cannot steer the draw; a drawn node that has
// left since keeps no role and its place stays empty.
func TestDrawFromSnapshot(t *testing.T) {
	f := newFixture(t, 1_000_000_000)
	f.k.SetBeaconSource(fixedBeacons{})
	var nodes []testNode
	for i := range 8 {
		nodes = append(nodes, f.bond(i, 1_000_000))
	}

	// No snapshot yet (the nodes bonded during this epoch): the first draw
	// reads the nodes as they are, with the block seed, and snapshots them.
	f.nextEpoch()
	e, err := f.k.Epoch.Get(f.ctx)
	require.NoError(t, err)
	require.False(t, e.SeedFromBeacon, "a draw from the live state must not claim the beacon")
	require.Len(t, f.roles(), 6)
	snap, err := f.k.DrawSnapshot.Get(f.ctx)
	require.NoError(t, err)
	require.Equal(t, e.EpochId+1, snap.EpochId)
	require.Len(t, snap.Candidates, 8)

	// Knowing the next beacon, an adversary bonds a heavy node and delegates a
	// fortune to a light one. Neither counts in the next draw.
	late := f.bond(20, 500_000_000)
	whale := f.account("whale", 900_000_000)
	_, err = f.msg.Delegate(f.ctx, &types.MsgDelegate{Delegator: f.addr(whale), NodeId: nodes[0].id, Amount: coin(900_000_000)})
	require.NoError(t, err)
	want := f.expectedDraw(snap, e.EpochId+1)
	f.nextEpoch()
	e, err = f.k.Epoch.Get(f.ctx)
	require.NoError(t, err)
	require.True(t, e.SeedFromBeacon)
	require.Equal(t, want, f.roles())
	require.NotContains(t, f.roles(), late.id)

	// The next snapshot sees both changes.
	snap, err = f.k.DrawSnapshot.Get(f.ctx)
	require.NoError(t, err)
	weights := map[uint64]math.Int{}
	for _, c := range snap.Candidates {
		weights[c.NodeId] = c.Weight
	}
	require.Contains(t, weights, late.id)
	require.Equal(t, math.NewInt(901_000_000), weights[nodes[0].id])

	// A node of the snapshot that unbonds is left out of the draw it would have
	// won; nobody takes its place.
	want = f.expectedDraw(snap, e.EpochId+1)
	var leaver uint64
	for _, n := range append(nodes, late) {
		if _, drawn := want[n.id]; drawn {
			leaver = n.id
			_, err := f.msg.UnbondNode(f.ctx, &types.MsgUnbondNode{Owner: f.addr(n.owner)})
			require.NoError(t, err)
			break
		}
	}
	require.NotZero(t, leaver)
	delete(want, leaver)
	f.nextEpoch()
	require.Equal(t, want, f.roles())

	// The snapshot survives export and import.
	gs, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.NoError(t, gs.Validate())
	require.NotNil(t, gs.DrawSnapshot)
	cur, err := f.k.DrawSnapshot.Get(f.ctx)
	require.NoError(t, err)
	require.Equal(t, cur, *gs.DrawSnapshot)
	require.NotContains(t, idsOf(cur), leaver)

	bad := *gs
	bad.DrawSnapshot = &types.DrawSnapshot{EpochId: gs.Epoch.EpochId + 2}
	require.ErrorContains(t, bad.Validate(), "draw snapshot for epoch")
	bad.DrawSnapshot = &types.DrawSnapshot{EpochId: gs.Epoch.EpochId + 1, Candidates: []types.DrawCandidate{{NodeId: 1, Weight: math.OneInt()}, {NodeId: 1, Weight: math.OneInt()}}}
	require.ErrorContains(t, bad.Validate(), "duplicate node id")
	bad.DrawSnapshot = &types.DrawSnapshot{EpochId: gs.Epoch.EpochId + 1, Candidates: []types.DrawCandidate{{NodeId: 1, Weight: math.NewInt(-1)}}}
	require.ErrorContains(t, bad.Validate(), "negative weight")
}

func idsOf(s types.DrawSnapshot) []uint64 {
	var ids []uint64
	for _, c := range s.Candidates {
		ids = append(ids, c.NodeId)
	}
	slices.Sort(ids)
	return ids
}
