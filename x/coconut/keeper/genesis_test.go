package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/collections"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

func withGenesis(g *types.GenesisState) fixtureOpt {
	return func(_ *fixture, gs *types.GenesisState) { *gs = *g }
}

// TestGenesisExportImport: a state with every kind of record (two keys, one
// retired; requests pending and issued with partial signatures; spends; two
// rates) exports, validates, imports into a new store and exports the same.
func TestGenesisExportImport(t *testing.T) {
	f := newFixture(t)
	op := f.account("operator", 0)
	cred, c := f.credential("alice", testDeposit)
	_, err := f.msg.SpendCredentials(f.ctx, &types.MsgSpendCredentials{Operator: f.addr(op), Entries: []types.SpendEntry{f.show(f.issuers, cred, c, op, "1")}})
	require.NoError(t, err)
	_, c2 := f.credential("bob", 2_000)
	var req coconut.BlindSignRequest
	require.NoError(t, req.UnmarshalBinary(c2.request))
	bs, err := coconut.BlindSign(types.CredentialParams(), f.issuers[2], &req)
	require.NoError(t, err)
	bsBytes, err := bs.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, f.k.PartialSignatures.Set(f.ctx, collections.Join(uint64(2), uint32(3)), bsBytes))
	r, err := f.k.Requests.Get(f.ctx, 1)
	require.NoError(t, err)
	r.Status = types.REQUEST_STATUS_ISSUED
	require.NoError(t, f.k.Requests.Set(f.ctx, 1, r))
	require.NoError(t, f.k.PendingRequests.Remove(f.ctx, 1))
	_, newKeys := newKeySet(t, 2, 2, 3)
	f.setHeight(2)
	require.NoError(t, f.k.ActivateKey(f.ctx, newKeys))
	p, err := f.k.Params.Get(f.ctx)
	require.NoError(t, err)
	p.BytesPerUnym = 2 * testRate
	require.NoError(t, f.k.SetParams(f.ctx, p))

	gs, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.NoError(t, gs.Validate())
	require.Len(t, gs.KeySets, 2)
	require.Len(t, gs.CredentialTypes, 2)
	require.Len(t, gs.Requests, 2)
	require.Len(t, gs.PartialSignatures, 1)
	require.Len(t, gs.Spent, 1)
	require.Equal(t, uint64(3), gs.NextRequestId)

	g := newFixture(t, withGenesis(gs))
	g.ctx = g.ctx.WithBlockHeight(2)
	again, err := g.k.ExportGenesis(g.ctx)
	require.NoError(t, err)
	require.Equal(t, gs, again)
	cur, err := g.k.CurrentKeyID.Get(g.ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(2), cur)
	for id, want := range map[uint64]bool{1: false, 2: true} {
		pending, err := g.k.PendingRequests.Has(g.ctx, id)
		require.NoError(t, err)
		require.Equal(t, want, pending, "request %d pending", id)
	}

	// The imported spend tag is refused, the imported request is pruned on time.
	op2 := g.account("operator", 0)
	_, err = g.msg.SpendCredentials(g.ctx, &types.MsgSpendCredentials{Operator: g.addr(op2), Entries: []types.SpendEntry{g.show(f.issuers, cred, c, op2, "2")}})
	require.ErrorIs(t, err, types.ErrAlreadySpent)
	g.setHeight(11)
	_, err = g.q.Request(g.ctx, &types.QueryRequestRequest{RequestId: 2})
	require.Error(t, err)
}
