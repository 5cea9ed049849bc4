package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// TestRecordPartialSignatures: issuers' blinded signatures recorded through the
// keeper (as the vote extensions will) are what the Request query returns, and
// unblind and aggregate into a credential the chain then accepts; the request
// is issued at the threshold.
func TestRecordPartialSignatures(t *testing.T) {
	f := newFixture(t)
	sender := f.account("alice", testDeposit)
	msg, c := f.requestMsg(sender, testDeposit)
	resp, err := f.msg.RequestCredential(f.ctx, msg)
	require.NoError(t, err)
	id := resp.RequestId

	todo, err := f.k.PendingToSign(f.ctx)
	require.NoError(t, err)
	require.Len(t, todo, 1)
	require.Equal(t, id, todo[0].Id)

	p := types.CredentialParams()
	var req coconut.BlindSignRequest
	require.NoError(t, req.UnmarshalBinary(todo[0].BlindSignRequest))
	blinded := make([][]byte, 3)
	for i, sk := range f.issuers {
		bs, err := coconut.BlindSign(p, sk, &req)
		require.NoError(t, err)
		blinded[i], err = bs.MarshalBinary()
		require.NoError(t, err)
	}

	require.NoError(t, f.k.RecordPartialSignature(f.ctx, id, 3, blinded[2]))
	q, err := f.q.Request(f.ctx, &types.QueryRequestRequest{RequestId: id})
	require.NoError(t, err)
	require.Equal(t, types.REQUEST_STATUS_PENDING, q.Request.Status)

	before := f.snapshot()
	for _, tc := range []struct {
		name   string
		id     uint64
		signer uint32
		sig    []byte
		err    error
	}{
		{"unknown request", id + 1, 1, blinded[0], types.ErrRequestNotFound},
		{"signer without a share", id, 4, blinded[0], types.ErrInvalidPartial},
		{"signer 0", id, 0, blinded[0], types.ErrInvalidPartial},
		{"truncated", id, 1, blinded[0][:95], types.ErrInvalidPartial},
		{"not a point", id, 1, make([]byte, 96), types.ErrInvalidPartial},
		{"second signature by a signer", id, 3, blinded[0], types.ErrDuplicatePartial},
	} {
		require.ErrorIs(t, f.k.RecordPartialSignature(f.ctx, tc.id, tc.signer, tc.sig), tc.err, tc.name)
	}
	f.requireUnchanged(before)

	require.NoError(t, f.k.RecordPartialSignature(f.ctx, id, 1, blinded[0]))
	q, err = f.q.Request(f.ctx, &types.QueryRequestRequest{RequestId: id})
	require.NoError(t, err)
	require.Equal(t, types.REQUEST_STATUS_ISSUED, q.Request.Status)
	todo, err = f.k.PendingToSign(f.ctx)
	require.NoError(t, err)
	require.Empty(t, todo)

	// The client side, from the query alone: unblind with each signer's partial
	// key, aggregate, verify, spend.
	key, err := f.q.VerificationKey(f.ctx, &types.QueryVerificationKeyRequest{KeyId: q.Request.KeyId})
	require.NoError(t, err)
	partialKeys := map[uint32][]byte{}
	for _, pk := range key.KeySet.PartialKeys {
		partialKeys[pk.SignerIndex] = pk.VerificationKey
	}
	var sigs []*coconut.Signature
	var indices []uint64
	for _, ps := range q.PartialSignatures {
		var bs coconut.BlindedSignature
		require.NoError(t, bs.UnmarshalBinary(ps.BlindedSignature))
		vk, err := types.DecodeVerificationKey(partialKeys[ps.SignerIndex], true)
		require.NoError(t, err)
		sig, err := coconut.Unblind(p, vk, &bs, c.secrets)
		require.NoError(t, err)
		sigs, indices = append(sigs, sig), append(indices, uint64(ps.SignerIndex))
	}
	require.Equal(t, []uint64{1, 3}, indices)
	cred, err := coconut.AggregateSignatures(sigs, indices)
	require.NoError(t, err)
	master, err := types.DecodeVerificationKey(key.KeySet.MasterKey, false)
	require.NoError(t, err)
	require.NoError(t, coconut.VerifySignature(p, master, cred, c.voucher.Attributes()))
	op := f.account("operator", 0)
	_, err = f.msg.SpendCredentials(f.ctx, &types.MsgSpendCredentials{Operator: f.addr(op), Entries: []types.SpendEntry{f.show(f.issuers, cred, c, op, "1")}})
	require.NoError(t, err)
}

func TestPendingToSignBounded(t *testing.T) {
	f := newFixture(t)
	p, err := f.k.Params.Get(f.ctx)
	require.NoError(t, err)
	p.MaxRequestsSignedPerBlock = 2
	require.NoError(t, f.k.SetParams(f.ctx, p))
	sender := f.account("alice", 10_000)
	for range 3 {
		msg, _ := f.requestMsg(sender, 1_000)
		_, err := f.msg.RequestCredential(f.ctx, msg)
		require.NoError(t, err)
	}
	todo, err := f.k.PendingToSign(f.ctx)
	require.NoError(t, err)
	require.Len(t, todo, 2)
	require.Equal(t, []uint64{1, 2}, []uint64{todo[0].Id, todo[1].Id})
}
