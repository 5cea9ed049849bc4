package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/collections"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"

	"github.com/nyx-privacy/nyx/x/coconut/types"
)

var sdkInsufficientFunds = sdkerrors.ErrInsufficientFunds

func TestRequestCredential(t *testing.T) {
	f := newFixture(t)
	sender := f.account("alice", 10_000)
	msg, _ := f.requestMsg(sender, testDeposit)

	resp, err := f.msg.RequestCredential(f.ctx, msg)
	require.NoError(t, err)
	require.Equal(t, uint64(1), resp.RequestId)
	require.True(t, f.balance(sender).Equal(math.NewInt(10_000-testDeposit)))
	require.True(t, f.balance(f.k.ModuleAddress()).Equal(math.NewInt(testDeposit)))

	q, err := f.q.Request(f.ctx, &types.QueryRequestRequest{RequestId: resp.RequestId})
	require.NoError(t, err)
	r := q.Request
	require.Equal(t, uint64(testDeposit*testRate), r.Value)
	require.Equal(t, types.CredentialTypeName(testRate), r.CredentialType)
	require.Equal(t, types.REQUEST_STATUS_PENDING, r.Status)
	require.Equal(t, f.keySet.KeyId, r.KeyId)
	require.Equal(t, msg.BlindSignRequest, r.BlindSignRequest)
	require.Empty(t, q.PartialSignatures)
	pending, err := f.k.PendingRequests.Has(f.ctx, resp.RequestId)
	require.NoError(t, err)
	require.True(t, pending)

	var found bool
	for _, ev := range f.ctx.EventManager().Events() {
		if ev.Type == "nyx.coconut.v1.EventCredentialRequested" {
			found = true
		}
	}
	require.True(t, found, "no EventCredentialRequested")

	resp2, err := f.msg.RequestCredential(f.ctx, func() *types.MsgRequestCredential { m, _ := f.requestMsg(sender, 1_000); return m }())
	require.NoError(t, err)
	require.Equal(t, uint64(2), resp2.RequestId)
}

// TestRequestCredentialRejected is the rejection table: each bad request fails
// with its error and changes nothing, neither the module's state nor a balance.
func TestRequestCredentialRejected(t *testing.T) {
	const funds = 1_000_000
	for _, tc := range []struct {
		name  string
		opts  []fixtureOpt
		funds int64
		edit  func(f *fixture, m *types.MsgRequestCredential)
		err   error
	}{
		{name: "bad proof", edit: func(_ *fixture, m *types.MsgRequestCredential) {
			// The low byte of the challenge (after k, p, cm, c_1, c_2): the request
			// still decodes, its proof no longer holds.
			m.BlindSignRequest[2+3*48+31] ^= 1
		}, err: types.ErrInvalidRequest},
		{name: "truncated request", edit: func(_ *fixture, m *types.MsgRequestCredential) {
			m.BlindSignRequest = m.BlindSignRequest[:len(m.BlindSignRequest)-1]
		}, err: types.ErrInvalidRequest},
		{name: "request with trailing bytes", edit: func(_ *fixture, m *types.MsgRequestCredential) {
			m.BlindSignRequest = append(m.BlindSignRequest, 0)
		}, err: types.ErrInvalidRequest},
		{name: "request for three private attributes", edit: func(_ *fixture, m *types.MsgRequestCredential) {
			m.BlindSignRequest[0], m.BlindSignRequest[1] = 3, 1
		}, err: types.ErrInvalidRequest},
		{name: "garbage point", edit: func(_ *fixture, m *types.MsgRequestCredential) {
			for i := 2; i < 2+48; i++ {
				m.BlindSignRequest[i] = 0xff
			}
		}, err: types.ErrInvalidRequest},
		{name: "deposit below the minimum", edit: func(f *fixture, m *types.MsgRequestCredential) {
			n, _ := f.requestMsg(f.account("alice", 0), 999)
			*m = *n
		}, err: types.ErrInvalidDeposit},
		{name: "deposit above the maximum", funds: 2_000_000, edit: func(f *fixture, m *types.MsgRequestCredential) {
			n, _ := f.requestMsg(f.account("alice", 0), 1_000_001)
			*m = *n
		}, err: types.ErrInvalidDeposit},
		{name: "deposit in another denom", edit: func(_ *fixture, m *types.MsgRequestCredential) {
			m.Deposit = sdk.NewInt64Coin("unyx", testDeposit)
		}, err: types.ErrInvalidDeposit},
		{name: "claimed value above the deposit's", edit: func(_ *fixture, m *types.MsgRequestCredential) {
			m.Value++
		}, err: types.ErrValueMismatch},
		{name: "request on a value above the deposit's", edit: func(f *fixture, m *types.MsgRequestCredential) {
			// The client claims the right value but its request commits to more.
			c := f.newClient(2*testDeposit*testRate, m.CredentialType)
			m.BlindSignRequest = c.request
		}, err: types.ErrValueMismatch},
		{name: "request on another type", edit: func(f *fixture, m *types.MsgRequestCredential) {
			c := f.newClient(m.Value, types.CredentialTypeName(testRate+1))
			m.BlindSignRequest = c.request
		}, err: types.ErrValueMismatch},
		{name: "another type claimed", edit: func(_ *fixture, m *types.MsgRequestCredential) {
			m.CredentialType = types.CredentialTypeName(testRate + 1)
		}, err: types.ErrValueMismatch},
		{name: "deposit not covered by the balance", funds: testDeposit - 1, err: sdkInsufficientFunds},
		{name: "no issuing key", opts: []fixtureOpt{withoutKey}, err: types.ErrNoKey},
		{name: "bad sender", edit: func(_ *fixture, m *types.MsgRequestCredential) {
			m.Sender = "n1notanaddress"
		}, err: types.ErrInvalidAddress},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.opts...)
			fund := tc.funds
			if fund == 0 {
				fund = funds
			}
			sender := f.account("alice", fund)
			msg, _ := f.requestMsg(sender, testDeposit)
			if tc.edit != nil {
				tc.edit(f, msg)
			}
			before := f.snapshot(sender)
			_, err := f.msg.RequestCredential(f.ctx, msg)
			require.ErrorIs(t, err, tc.err)
			f.requireUnchanged(before, sender)
			n, err := f.k.NextRequestID.Peek(f.ctx)
			require.NoError(t, err)
			require.Equal(t, uint64(1), n)
		})
	}
}

func TestRequestPruned(t *testing.T) {
	f := newFixture(t)
	sender := f.account("alice", testDeposit)
	msg, _ := f.requestMsg(sender, testDeposit)
	resp, err := f.msg.RequestCredential(f.ctx, msg)
	require.NoError(t, err)
	require.NoError(t, f.k.PartialSignatures.Set(f.ctx, collections.Join(resp.RequestId, uint32(1)), make([]byte, 96)))

	f.setHeight(10) // retention is 10 blocks from height 1
	_, err = f.q.Request(f.ctx, &types.QueryRequestRequest{RequestId: resp.RequestId})
	require.NoError(t, err)
	f.setHeight(11)
	_, err = f.q.Request(f.ctx, &types.QueryRequestRequest{RequestId: resp.RequestId})
	require.Error(t, err)
	for _, has := range []func() (bool, error){
		func() (bool, error) { return f.k.PendingRequests.Has(f.ctx, resp.RequestId) },
		func() (bool, error) {
			return f.k.PartialSignatures.Has(f.ctx, collections.Join(resp.RequestId, uint32(1)))
		},
		func() (bool, error) { return f.k.RequestExpiry.Has(f.ctx, collections.Join(int64(11), resp.RequestId)) },
	} {
		ok, err := has()
		require.NoError(t, err)
		require.False(t, ok)
	}
}
