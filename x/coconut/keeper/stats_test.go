package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// recordIssuance records threshold (2) issuers' partial signatures on a
// request, as the vote extensions do.
func (f *fixture) recordIssuance(id uint64, c *client) {
	f.t.Helper()
	var req coconut.BlindSignRequest
	require.NoError(f.t, req.UnmarshalBinary(c.request))
	for i, sk := range f.issuers[:2] {
		bs, err := coconut.BlindSign(types.CredentialParams(), sk, &req)
		require.NoError(f.t, err)
		bz, err := bs.MarshalBinary()
		require.NoError(f.t, err)
		require.NoError(f.t, f.k.RecordPartialSignature(f.ctx, id, uint32(i+1), bz))
	}
}

func stats(keyID, requested, issued, spent uint64, deposited, paid int64) types.CredentialStats {
	return types.CredentialStats{KeyId: keyID, Requested: requested, Issued: issued, Spent: spent,
		Deposited: math.NewInt(deposited), Paid: math.NewInt(paid)}
}

// TestCredentialStats: requests, issuance (in the keeper's record of partial
// signatures, where no transaction sees it) and spends are counted per key
// and in total; a request the issuers are still signing and a refused spend
// count nothing they should not; the counts survive genesis export and import.
func TestCredentialStats(t *testing.T) {
	f := newFixture(t)
	q, err := f.q.Stats(f.ctx, &types.QueryStatsRequest{})
	require.NoError(t, err)
	require.Equal(t, stats(0, 0, 0, 0, 0, 0), q.Total)
	require.Empty(t, q.Keys)

	op := f.account("operator", 0)
	alice := f.account("alice", testDeposit)
	msg, ca := f.requestMsg(alice, testDeposit)
	resp, err := f.msg.RequestCredential(f.ctx, msg)
	require.NoError(t, err)
	bob := f.account("bob", 2_000)
	msg, cb := f.requestMsg(bob, 2_000)
	respB, err := f.msg.RequestCredential(f.ctx, msg)
	require.NoError(t, err)
	q, err = f.q.Stats(f.ctx, &types.QueryStatsRequest{})
	require.NoError(t, err)
	require.Equal(t, stats(0, 2, 0, 0, testDeposit+2_000, 0), q.Total)

	// One partial signature of two is not an issuance; the second is, once.
	f.recordIssuance(resp.RequestId, ca)
	var req coconut.BlindSignRequest
	require.NoError(t, req.UnmarshalBinary(cb.request))
	bs, err := coconut.BlindSign(types.CredentialParams(), f.issuers[2], &req)
	require.NoError(t, err)
	bz, err := bs.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, f.k.RecordPartialSignature(f.ctx, respB.RequestId, 3, bz))
	q, err = f.q.Stats(f.ctx, &types.QueryStatsRequest{KeyId: 1})
	require.NoError(t, err)
	require.Equal(t, []types.CredentialStats{stats(1, 2, 1, 0, testDeposit+2_000, 0)}, q.Keys)
	// A partial signature past the threshold issues nothing more.
	require.NoError(t, req.UnmarshalBinary(ca.request))
	bs, err = coconut.BlindSign(types.CredentialParams(), f.issuers[2], &req)
	require.NoError(t, err)
	bz, err = bs.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, f.k.RecordPartialSignature(f.ctx, resp.RequestId, 3, bz))

	// A batch of two spends counts two, and a refused one (already spent) nothing.
	credA := f.issue(f.issuers, 2, ca)
	credC, cc := f.credential("carol", 1_000)
	_, err = f.msg.SpendCredentials(f.ctx, &types.MsgSpendCredentials{Operator: f.addr(op), Entries: []types.SpendEntry{
		f.show(f.issuers, credA, ca, op, "1"), f.show(f.issuers, credC, cc, op, "2"),
	}})
	require.NoError(t, err)
	_, err = f.msg.SpendCredentials(f.ctx, &types.MsgSpendCredentials{Operator: f.addr(op), Entries: []types.SpendEntry{f.show(f.issuers, credA, ca, op, "3")}})
	require.ErrorIs(t, err, types.ErrAlreadySpent)
	want := stats(1, 3, 1, 2, testDeposit+3_000, testDeposit+1_000)
	q, err = f.q.Stats(f.ctx, &types.QueryStatsRequest{})
	require.NoError(t, err)
	require.Equal(t, []types.CredentialStats{want}, q.Keys)
	want.KeyId = 0
	require.Equal(t, want, q.Total)

	// A new key counts on its own; the totals are the sum.
	_, newKeys := newKeySet(t, 2, 2, 3)
	f.setHeight(2)
	require.NoError(t, f.k.ActivateKey(f.ctx, newKeys))
	dave := f.account("dave", 4_000)
	msg, _ = f.requestMsg(dave, 4_000)
	_, err = f.msg.RequestCredential(f.ctx, msg)
	require.NoError(t, err)
	q, err = f.q.Stats(f.ctx, &types.QueryStatsRequest{KeyId: 2})
	require.NoError(t, err)
	require.Equal(t, []types.CredentialStats{stats(2, 1, 0, 0, 4_000, 0)}, q.Keys)
	require.Equal(t, stats(0, 4, 1, 2, testDeposit+7_000, testDeposit+1_000), q.Total)
	q, err = f.q.Stats(f.ctx, &types.QueryStatsRequest{Pagination: &query.PageRequest{Limit: 1}})
	require.NoError(t, err)
	require.Len(t, q.Keys, 1)
	require.Equal(t, uint64(1), q.Keys[0].KeyId)
	require.NotEmpty(t, q.Pagination.NextKey)
	q, err = f.q.Stats(f.ctx, &types.QueryStatsRequest{Pagination: &query.PageRequest{Key: q.Pagination.NextKey}})
	require.NoError(t, err)
	require.Len(t, q.Keys, 1)
	require.Equal(t, uint64(2), q.Keys[0].KeyId)

	_, err = f.q.Stats(f.ctx, &types.QueryStatsRequest{KeyId: 9})
	require.Equal(t, codes.NotFound, status.Code(err))
	_, err = f.q.Stats(f.ctx, nil)
	require.Equal(t, codes.InvalidArgument, status.Code(err))

	// Export and import keep the per-key counts and rebuild the totals.
	gs, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.Len(t, gs.Stats, 2)
	require.NoError(t, gs.Validate())
	g := newFixture(t, withGenesis(gs))
	g.ctx = g.ctx.WithBlockHeight(2)
	again, err := g.q.Stats(g.ctx, &types.QueryStatsRequest{})
	require.NoError(t, err)
	require.Equal(t, stats(0, 4, 1, 2, testDeposit+7_000, testDeposit+1_000), again.Total)
	require.Len(t, again.Keys, 2)
}
