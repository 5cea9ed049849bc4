package coconut_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cosmos/cosmos-sdk/codec"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/nyx-privacy/nyx/app"
	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/testutil/chain"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// TestChainRequestSpend runs a real one-validator chain whose genesis holds a
// 2-of-3 issuing key: a client pays for a credential by tx, the issuers (played
// here with the key's shares, as the vote extensions will) sign it, a gateway's
// operator redeems it by tx and is paid the deposit, SpendTag answers over gRPC
// and REST, and a second redemption is refused. The validator's own key file
// does not match this key, so it signs nothing: consensus goes on.
func TestChainRequestSpend(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain")
	}
	p := types.CredentialParams()
	sks, err := coconut.TTPKeyGen(rand.Reader, p, 2, 3)
	require.NoError(t, err)
	vks := make([]*coconut.VerificationKey, len(sks))
	ks := types.KeySet{KeyId: 1, Threshold: 2}
	for i, sk := range sks {
		vks[i] = sk.VerificationKey()
		bz, err := vks[i].MarshalBinary()
		require.NoError(t, err)
		ks.PartialKeys = append(ks.PartialKeys, types.PartialKey{SignerIndex: uint32(i + 1), VerificationKey: bz})
	}
	master, err := coconut.AggregateVerificationKeys(vks, []uint64{1, 2, 3})
	require.NoError(t, err)
	ks.MasterKey, err = master.MarshalBinary()
	require.NoError(t, err)

	c := chain.Start(t, chain.Options{
		Accounts: []string{"alice", "operator"},
		Genesis: func(cdc codec.Codec, state app.GenesisState) error {
			var gs types.GenesisState
			if err := cdc.UnmarshalJSON(state[types.ModuleName], &gs); err != nil {
				return err
			}
			gs.KeySets = []types.KeySet{ks}
			bz, err := cdc.MarshalJSON(&gs)
			state[types.ModuleName] = bz
			return err
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn := c.GRPC(t)
	q := types.NewQueryClient(conn)
	bank := banktypes.NewQueryClient(conn)

	params, err := q.Params(ctx, &types.QueryParamsRequest{})
	require.NoError(t, err)
	deposit := params.Params.MinDeposit
	value := deposit.Amount.Uint64() * params.Params.BytesPerUnym
	typ := types.CredentialTypeName(params.Params.BytesPerUnym)
	key, err := q.VerificationKey(ctx, &types.QueryVerificationKeyRequest{})
	require.NoError(t, err)
	require.Equal(t, ks.MasterKey, key.KeySet.MasterKey)

	// The client asks, paying the deposit.
	v, err := coconut.NewBandwidthVoucher(rand.Reader, coconut.HashToScalar([]byte("alice")), value, typ)
	require.NoError(t, err)
	req, sec, err := coconut.PrepareBlindSign(rand.Reader, p, v.Private(), v.Public())
	require.NoError(t, err)
	reqBytes, err := req.MarshalBinary()
	require.NoError(t, err)
	alice := c.Accounts["alice"].String()
	res, err := c.BroadcastTx(ctx, "alice", &types.MsgRequestCredential{
		Sender: alice, BlindSignRequest: reqBytes, Value: value, CredentialType: typ, Deposit: deposit,
	})
	require.NoError(t, err)
	require.Zero(t, res.Code)
	r, err := q.Request(ctx, &types.QueryRequestRequest{RequestId: 1})
	require.NoError(t, err)
	require.Equal(t, reqBytes, r.Request.BlindSignRequest)
	require.Equal(t, value, r.Request.Value)

	// The validator's coconut_key.json (dealt by devnet) is not a share of
	// this genesis key: it adds no partial signatures, and blocks go on.
	require.NoError(t, c.WaitForBlocks(ctx, 3))
	r, err = q.Request(ctx, &types.QueryRequestRequest{RequestId: 1})
	require.NoError(t, err)
	require.Equal(t, types.REQUEST_STATUS_PENDING, r.Request.Status)
	require.Empty(t, r.PartialSignatures)

	// Issuers 1 and 3 sign; the client unblinds, aggregates and shows it to a gateway.
	var sigs []*coconut.Signature
	for _, i := range []int{0, 2} {
		bs, err := coconut.BlindSign(p, sks[i], req)
		require.NoError(t, err)
		sig, err := coconut.Unblind(p, vks[i], bs, sec)
		require.NoError(t, err)
		sigs = append(sigs, sig)
	}
	cred, err := coconut.AggregateSignatures(sigs, []uint64{1, 3})
	require.NoError(t, err)
	operator := c.Accounts["operator"].String()
	gateway := sha256.Sum256([]byte("gateway"))
	show := func(nonce string) types.SpendEntry {
		th, err := coconut.Prove(rand.Reader, p, master, cred, v.Attributes(), coconut.BandwidthShowSpec,
			types.SpendContext(c.ChainID, operator, gateway[:], []byte(nonce)))
		require.NoError(t, err)
		bz, err := th.MarshalBinary()
		require.NoError(t, err)
		return types.SpendEntry{Theta: bz, GatewayIdentity: gateway[:], Nonce: []byte(nonce)}
	}
	before, err := bank.Balance(ctx, &banktypes.QueryBalanceRequest{Address: operator, Denom: types.Denom})
	require.NoError(t, err)
	entry := show("n1")
	res, err = c.BroadcastTx(ctx, "operator", &types.MsgSpendCredentials{Operator: operator, Entries: []types.SpendEntry{entry}})
	require.NoError(t, err)
	require.Zero(t, res.Code)
	after, err := bank.Balance(ctx, &banktypes.QueryBalanceRequest{Address: operator, Denom: types.Denom})
	require.NoError(t, err)
	// Fees are paid in unyx, so the operator's unym grows by the deposit exactly.
	require.True(t, after.Balance.Amount.Equal(before.Balance.Amount.Add(deposit.Amount)),
		"operator: %s before, %s after, deposit %s", before.Balance, after.Balance, deposit)

	var th coconut.Theta
	require.NoError(t, th.UnmarshalBinary(entry.Theta))
	tag, _, _ := th.SpendTag()
	spent, err := q.SpendTag(ctx, &types.QuerySpendTagRequest{Tag: tag[:]})
	require.NoError(t, err)
	require.True(t, spent.Spent)
	require.Equal(t, operator, spent.Record.GatewayOperator)

	rest, err := http.NewRequestWithContext(ctx, http.MethodGet,
		c.REST+"/nyx/coconut/v1/spend_tag?tag="+url.QueryEscape(base64.StdEncoding.EncodeToString(tag[:])), nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(rest)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var restSpent struct {
		Spent bool `json:"spent"`
	}
	require.NoError(t, json.Unmarshal(body, &restSpent))
	require.True(t, restSpent.Spent, string(body))

	// The same credential, shown afresh, is refused (already when the tx is
	// simulated) and nobody is paid.
	_, err = c.BroadcastTx(ctx, "operator", &types.MsgSpendCredentials{Operator: operator, Entries: []types.SpendEntry{show("n2")}})
	require.ErrorContains(t, err, types.ErrAlreadySpent.Error())
	again, err := bank.Balance(ctx, &banktypes.QueryBalanceRequest{Address: operator, Denom: types.Denom})
	require.NoError(t, err)
	require.True(t, again.Balance.Equal(*after.Balance))
}
