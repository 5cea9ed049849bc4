package keeper_test

import (
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"

	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

func TestSpendCredentials(t *testing.T) {
	f := newFixture(t)
	operator := f.account("operator", 0)
	cred1, c1 := f.credential("alice", testDeposit)
	cred2, c2 := f.credential("bob", 2_000)
	module := f.balance(f.k.ModuleAddress())

	msg := &types.MsgSpendCredentials{Operator: f.addr(operator), Entries: []types.SpendEntry{
		f.show(f.issuers, cred1, c1, operator, "nonce-1"),
		f.show(f.issuers, cred2, c2, operator, "nonce-2"),
	}}
	resp, err := f.msg.SpendCredentials(f.ctx, msg)
	require.NoError(t, err)
	require.Equal(t, sdk.NewInt64Coin(types.Denom, testDeposit+2_000), resp.Paid)
	require.True(t, f.balance(operator).Equal(math.NewInt(testDeposit+2_000)))
	require.True(t, f.balance(f.k.ModuleAddress()).Equal(module.SubRaw(testDeposit+2_000)))

	var th coconut.Theta
	require.NoError(t, th.UnmarshalBinary(msg.Entries[0].Theta))
	tag, _, _ := th.SpendTag()
	q, err := f.q.SpendTag(f.ctx, &types.QuerySpendTagRequest{Tag: tag[:]})
	require.NoError(t, err)
	require.True(t, q.Spent)
	require.Equal(t, f.addr(operator), q.Record.GatewayOperator)
	require.Equal(t, gatewayIdentity[:], q.Record.GatewayIdentity)
	require.Equal(t, uint64(testDeposit*testRate), q.Record.Value)
	require.Equal(t, sdk.NewInt64Coin(types.Denom, testDeposit), q.Record.Paid)
	require.Equal(t, f.keySet.KeyId, q.Record.KeyId)
	require.Equal(t, int64(1), q.Record.Height)

	unspent := f.show(f.issuers, cred1, c1, operator, "x") // same tag: spent
	require.NoError(t, th.UnmarshalBinary(unspent.Theta))
	tag2, _, _ := th.SpendTag()
	require.Equal(t, tag, tag2, "a credential's tag is the same at every show")
	_, c3 := f.credential("carol", 1_000)
	var th3 coconut.Theta
	require.NoError(t, th3.UnmarshalBinary(f.show(f.issuers, f.issue(f.issuers, 2, c3), c3, operator, "n").Theta))
	tag3, _, _ := th3.SpendTag()
	q, err = f.q.SpendTag(f.ctx, &types.QuerySpendTagRequest{Tag: tag3[:]})
	require.NoError(t, err)
	require.False(t, q.Spent)
	require.Nil(t, q.Record)
}

// TestSpendRejected is the rejection table: each bad batch fails with its error
// and changes nothing, neither a spend record nor a balance. Every batch but the
// bad entry is valid, so a failure to refuse would show in the state.
func TestSpendRejected(t *testing.T) {
	for _, tc := range []struct {
		name string
		// batch returns the entries and the operator who submits them.
		batch func(f *fixture) ([]types.SpendEntry, sdk.AccAddress)
		err   error
	}{
		{name: "the same credential twice in one batch", batch: func(f *fixture) ([]types.SpendEntry, sdk.AccAddress) {
			op := f.account("operator", 0)
			cred, c := f.credential("alice", testDeposit)
			return []types.SpendEntry{f.show(f.issuers, cred, c, op, "1"), f.show(f.issuers, cred, c, op, "2")}, op
		}, err: types.ErrAlreadySpent},
		{name: "a credential spent in an earlier tx, shown again", batch: func(f *fixture) ([]types.SpendEntry, sdk.AccAddress) {
			op := f.account("operator", 0)
			cred, c := f.credential("alice", testDeposit)
			_, err := f.msg.SpendCredentials(f.ctx, &types.MsgSpendCredentials{Operator: f.addr(op), Entries: []types.SpendEntry{f.show(f.issuers, cred, c, op, "1")}})
			require.NoError(f.t, err)
			other, oc := f.credential("bob", 1_000)
			return []types.SpendEntry{f.show(f.issuers, other, oc, op, "2"), f.show(f.issuers, cred, c, op, "3")}, op
		}, err: types.ErrAlreadySpent},
		{name: "a credential spent at another gateway's operator", batch: func(f *fixture) ([]types.SpendEntry, sdk.AccAddress) {
			op, op2 := f.account("operator", 0), f.account("operator-2", 0)
			cred, c := f.credential("alice", testDeposit)
			_, err := f.msg.SpendCredentials(f.ctx, &types.MsgSpendCredentials{Operator: f.addr(op2), Entries: []types.SpendEntry{f.show(f.issuers, cred, c, op2, "1")}})
			require.NoError(f.t, err)
			return []types.SpendEntry{f.show(f.issuers, cred, c, op, "2")}, op
		}, err: types.ErrAlreadySpent},
		{name: "a credential under a foreign key", batch: func(f *fixture) ([]types.SpendEntry, sdk.AccAddress) {
			op := f.account("operator", 0)
			foreign, _ := newKeySet(f.t, 9, 2, 3)
			_, c := f.requestMsg(f.account("alice", 0), testDeposit)
			cred := f.issue(foreign, 2, c)
			return []types.SpendEntry{f.show(foreign, cred, c, op, "1")}, op
		}, err: types.ErrCredentialInvalid},
		{name: "a show bound to another operator (front-running)", batch: func(f *fixture) ([]types.SpendEntry, sdk.AccAddress) {
			op, thief := f.account("operator", 0), f.account("thief", 0)
			cred, c := f.credential("alice", testDeposit)
			return []types.SpendEntry{f.show(f.issuers, cred, c, op, "1")}, thief
		}, err: types.ErrCredentialInvalid},
		{name: "a show with its nonce changed", batch: func(f *fixture) ([]types.SpendEntry, sdk.AccAddress) {
			op := f.account("operator", 0)
			cred, c := f.credential("alice", testDeposit)
			e := f.show(f.issuers, cred, c, op, "1")
			e.Nonce = []byte("2")
			return []types.SpendEntry{e}, op
		}, err: types.ErrCredentialInvalid},
		{name: "a show with its gateway changed", batch: func(f *fixture) ([]types.SpendEntry, sdk.AccAddress) {
			op := f.account("operator", 0)
			cred, c := f.credential("alice", testDeposit)
			e := f.show(f.issuers, cred, c, op, "1")
			e.GatewayIdentity = make([]byte, types.GatewayIdentitySize)
			return []types.SpendEntry{e}, op
		}, err: types.ErrCredentialInvalid},
		{name: "a credential of a type never issued", batch: func(f *fixture) ([]types.SpendEntry, sdk.AccAddress) {
			// Only the issuers could sign it; it shows the type check holds on its own.
			op := f.account("operator", 0)
			c := f.newClient(testDeposit*7, types.CredentialTypeName(7))
			cred := f.issue(f.issuers, 2, c)
			return []types.SpendEntry{f.show(f.issuers, cred, c, op, "1")}, op
		}, err: types.ErrUnknownType},
		{name: "a truncated theta", batch: func(f *fixture) ([]types.SpendEntry, sdk.AccAddress) {
			op := f.account("operator", 0)
			cred, c := f.credential("alice", testDeposit)
			e := f.show(f.issuers, cred, c, op, "1")
			e.Theta = e.Theta[:len(e.Theta)-1]
			return []types.SpendEntry{e}, op
		}, err: types.ErrInvalidSpend},
		{name: "a theta with a flipped byte", batch: func(f *fixture) ([]types.SpendEntry, sdk.AccAddress) {
			op := f.account("operator", 0)
			cred, c := f.credential("alice", testDeposit)
			e := f.show(f.issuers, cred, c, op, "1")
			e.Theta[len(e.Theta)-1-32] ^= 1 // the low byte of the last hidden response
			return []types.SpendEntry{e}, op
		}, err: types.ErrCredentialInvalid},
		{name: "a theta without a spend tag", batch: func(f *fixture) ([]types.SpendEntry, sdk.AccAddress) {
			op := f.account("operator", 0)
			cred, c := f.credential("alice", testDeposit)
			master, err := coconut.AggregateVerificationKeys(
				[]*coconut.VerificationKey{f.issuers[0].VerificationKey(), f.issuers[1].VerificationKey()}, []uint64{1, 2})
			require.NoError(f.t, err)
			th, err := coconut.Prove(rand.Reader, types.CredentialParams(), master, cred, c.voucher.Attributes(),
				coconut.ShowSpec{Reveal: []int{coconut.BandwidthValue, coconut.BandwidthType}},
				types.SpendContext(testChainID, f.addr(op), gatewayIdentity[:], []byte("1")))
			require.NoError(f.t, err)
			bz, err := th.MarshalBinary()
			require.NoError(f.t, err)
			return []types.SpendEntry{{Theta: bz, GatewayIdentity: gatewayIdentity[:], Nonce: []byte("1")}}, op
		}, err: types.ErrInvalidSpend},
		{name: "an oversized nonce", batch: func(f *fixture) ([]types.SpendEntry, sdk.AccAddress) {
			op := f.account("operator", 0)
			cred, c := f.credential("alice", testDeposit)
			e := f.show(f.issuers, cred, c, op, "1")
			e.Nonce = make([]byte, types.MaxNonceSize+1)
			return []types.SpendEntry{e}, op
		}, err: types.ErrInvalidSpend},
		{name: "more entries than max_spends_per_tx", batch: func(f *fixture) ([]types.SpendEntry, sdk.AccAddress) {
			op := f.account("operator", 0)
			var entries []types.SpendEntry
			for i := range 5 {
				cred, c := f.credential(string(rune('a'+i)), 1_000)
				entries = append(entries, f.show(f.issuers, cred, c, op, "1"))
			}
			return entries, op
		}, err: types.ErrTooManySpends},
		{name: "an empty batch", batch: func(f *fixture) ([]types.SpendEntry, sdk.AccAddress) {
			return nil, f.account("operator", 0)
		}, err: types.ErrInvalidSpend},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			good, gc := f.credential("good", 1_000)
			entries, op := tc.batch(f)
			// A valid entry first: the batch fails as a whole, so it is not paid either.
			if len(entries) > 0 && len(entries) < 4 {
				entries = append([]types.SpendEntry{f.show(f.issuers, good, gc, op, "good")}, entries...)
			}
			before := f.snapshot(op)
			_, err := f.msg.SpendCredentials(f.ctx, &types.MsgSpendCredentials{Operator: f.addr(op), Entries: entries})
			require.ErrorIs(t, err, tc.err)
			f.requireUnchanged(before, op)
		})
	}
}

func TestSpendNoKey(t *testing.T) {
	f := newFixture(t, withoutKey)
	op := f.account("operator", 0)
	_, c := f.requestMsg(f.account("alice", 0), testDeposit)
	cred := f.issue(f.issuers, 2, c)
	before := f.snapshot(op)
	_, err := f.msg.SpendCredentials(f.ctx, &types.MsgSpendCredentials{Operator: f.addr(op), Entries: []types.SpendEntry{f.show(f.issuers, cred, c, op, "1")}})
	require.ErrorIs(t, err, types.ErrNoKey)
	f.requireUnchanged(before, op)
}

// TestSpendKeyGrace: after a new key forms, credentials of the old key are
// accepted for key_grace_blocks, then refused; the new key's are accepted.
func TestSpendKeyGrace(t *testing.T) {
	f := newFixture(t)
	op := f.account("operator", 0)
	oldCred1, oc1 := f.credential("alice", 1_000)
	oldCred2, oc2 := f.credential("bob", 1_000)

	newIssuers, newKeys := newKeySet(t, 2, 2, 3)
	f.setHeight(3)
	require.NoError(t, f.k.ActivateKey(f.ctx, newKeys))
	cur, err := f.q.VerificationKey(f.ctx, &types.QueryVerificationKeyRequest{})
	require.NoError(t, err)
	require.Equal(t, uint64(2), cur.KeySet.KeyId)
	require.Equal(t, int64(3), cur.KeySet.ActivatedHeight)

	f.setHeight(8) // retired at 3, grace 5 blocks
	_, err = f.msg.SpendCredentials(f.ctx, &types.MsgSpendCredentials{Operator: f.addr(op), Entries: []types.SpendEntry{f.show(f.issuers, oldCred1, oc1, op, "1")}})
	require.NoError(t, err)
	old, err := f.q.VerificationKey(f.ctx, &types.QueryVerificationKeyRequest{KeyId: 1})
	require.NoError(t, err)
	require.True(t, old.Verifies)

	f.setHeight(9)
	old, err = f.q.VerificationKey(f.ctx, &types.QueryVerificationKeyRequest{KeyId: 1})
	require.NoError(t, err)
	require.False(t, old.Verifies)
	before := f.snapshot(op)
	_, err = f.msg.SpendCredentials(f.ctx, &types.MsgSpendCredentials{Operator: f.addr(op), Entries: []types.SpendEntry{f.show(f.issuers, oldCred2, oc2, op, "2")}})
	require.ErrorIs(t, err, types.ErrCredentialInvalid)
	f.requireUnchanged(before, op)

	sender := f.account("carol", 1_000)
	msg, c := f.requestMsg(sender, 1_000)
	resp, err := f.msg.RequestCredential(f.ctx, msg)
	require.NoError(t, err)
	r, err := f.q.Request(f.ctx, &types.QueryRequestRequest{RequestId: resp.RequestId})
	require.NoError(t, err)
	require.Equal(t, uint64(2), r.Request.KeyId)
	cred := f.issue(newIssuers, 2, c)
	_, err = f.msg.SpendCredentials(f.ctx, &types.MsgSpendCredentials{Operator: f.addr(op), Entries: []types.SpendEntry{f.show(newIssuers, cred, c, op, "3")}})
	require.NoError(t, err)
	require.True(t, f.balance(op).Equal(math.NewInt(2_000)))
}

// TestSpendAfterRateChange: a credential pays back its own deposit after the rate
// changed, because its type names the rate it was bought at.
func TestSpendAfterRateChange(t *testing.T) {
	f := newFixture(t)
	op := f.account("operator", 0)
	cred, c := f.credential("alice", testDeposit)

	p, err := f.k.Params.Get(f.ctx)
	require.NoError(t, err)
	p.BytesPerUnym = 3 * testRate
	_, err = f.msg.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.authority, Params: p})
	require.NoError(t, err)

	resp, err := f.msg.SpendCredentials(f.ctx, &types.MsgSpendCredentials{Operator: f.addr(op), Entries: []types.SpendEntry{f.show(f.issuers, cred, c, op, "1")}})
	require.NoError(t, err)
	require.Equal(t, sdk.NewInt64Coin(types.Denom, testDeposit), resp.Paid)

	// Requests now must use the new rate's type.
	sender := f.account("bob", 1_000)
	msg, _ := f.requestMsg(sender, 1_000) // made at the old rate
	_, err = f.msg.RequestCredential(f.ctx, msg)
	require.ErrorIs(t, err, types.ErrValueMismatch)
}

func TestUpdateParams(t *testing.T) {
	f := newFixture(t)
	p := types.DefaultParams()
	_, err := f.msg.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.addr(f.account("mallory", 0)), Params: p})
	require.ErrorIs(t, err, types.ErrInvalidAuthority)
	bad := p
	bad.MaxSpendsPerTx = 0
	_, err = f.msg.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.authority, Params: bad})
	require.ErrorIs(t, err, types.ErrInvalidParams)
	_, err = f.msg.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.authority, Params: p})
	require.NoError(t, err)
	got, err := f.q.Params(f.ctx, &types.QueryParamsRequest{})
	require.NoError(t, err)
	require.Equal(t, p, got.Params)
}

// TestVerificationGas: a spend pays SpendVerifyGas per credential and a request
// RequestVerifyGas, on top of the store's gas, so a tx's gas reflects the
// pairings it costs.
func TestVerificationGas(t *testing.T) {
	f := newFixture(t)
	op := f.account("operator", 0)
	var entries []types.SpendEntry
	for _, name := range []string{"alice", "bob", "carol"} {
		cred, c := f.credential(name, 1_000)
		entries = append(entries, f.show(f.issuers, cred, c, op, name))
	}
	ctx := f.ctx.WithGasMeter(storetypes.NewGasMeter(10_000_000))
	_, err := f.msg.SpendCredentials(ctx, &types.MsgSpendCredentials{Operator: f.addr(op), Entries: entries})
	require.NoError(t, err)
	require.GreaterOrEqual(t, ctx.GasMeter().GasConsumed(), uint64(3*types.SpendVerifyGas))

	// Less gas than one verification costs: the message runs out of gas.
	cred, c := f.credential("dave", 1_000)
	low := f.ctx.WithGasMeter(storetypes.NewGasMeter(types.SpendVerifyGas / 2))
	require.Panics(t, func() {
		_, _ = f.msg.SpendCredentials(low, &types.MsgSpendCredentials{Operator: f.addr(op), Entries: []types.SpendEntry{f.show(f.issuers, cred, c, op, "d")}})
	})

	sender := f.account("erin", 1_000)
	msg, _ := f.requestMsg(sender, 1_000)
	ctx = f.ctx.WithGasMeter(storetypes.NewGasMeter(10_000_000))
	_, err = f.msg.RequestCredential(ctx, msg)
	require.NoError(t, err)
	require.GreaterOrEqual(t, ctx.GasMeter().GasConsumed(), uint64(types.RequestVerifyGas))
}
