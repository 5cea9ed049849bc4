package coconut_test

import (
	"context"
	"crypto/rand"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/testutil/chain"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// requestCredential prepares a voucher for the chain's current rate, pays
// for it by tx (broadcast) from sender and returns the client's secrets.
func requestCredential(ctx context.Context, t *testing.T, q types.QueryClient, broadcast func(*types.MsgRequestCredential) error, sender string) *coconut.BlindSignSecrets {
	t.Helper()
	params, err := q.Params(ctx, &types.QueryParamsRequest{})
	require.NoError(t, err)
	deposit := params.Params.MinDeposit
	value := deposit.Amount.Uint64() * params.Params.BytesPerUnym
	typ := types.CredentialTypeName(params.Params.BytesPerUnym)
	v, err := coconut.NewBandwidthVoucher(rand.Reader, coconut.HashToScalar([]byte(sender)), value, typ)
	require.NoError(t, err)
	req, sec, err := coconut.PrepareBlindSign(rand.Reader, types.CredentialParams(), v.Private(), v.Public())
	require.NoError(t, err)
	bz, err := req.MarshalBinary()
	require.NoError(t, err)
	require.NoError(t, broadcast(&types.MsgRequestCredential{Sender: sender, BlindSignRequest: bz, Value: value, CredentialType: typ, Deposit: deposit}))
	return sec
}

// waitIssued polls the Request query until the request is issued and
// assembles the credential from its partials on the client side.
func waitIssued(ctx context.Context, t *testing.T, q types.QueryClient, id uint64, sec *coconut.BlindSignSecrets) (*types.QueryRequestResponse, *coconut.Signature) {
	t.Helper()
	for {
		r, err := q.Request(ctx, &types.QueryRequestRequest{RequestId: id})
		require.NoError(t, err)
		if r.Request.Status == types.REQUEST_STATUS_ISSUED {
			key, err := q.VerificationKey(ctx, &types.QueryVerificationKeyRequest{KeyId: r.Request.KeyId})
			require.NoError(t, err)
			require.GreaterOrEqual(t, len(r.PartialSignatures), int(key.KeySet.Threshold))
			cred, attrs, err := types.AssembleCredential(&key.KeySet, r.PartialSignatures, sec)
			require.NoError(t, err)
			master, err := types.DecodeVerificationKey(key.KeySet.MasterKey, false)
			require.NoError(t, err)
			require.NoError(t, coconut.VerifySignature(types.CredentialParams(), master, cred, attrs))
			return r, cred
		}
		select {
		case <-ctx.Done():
			t.Fatalf("request %d not issued: %v (status %v, %d partials)", id, ctx.Err(), r.Request.Status, len(r.PartialSignatures))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestChainIssuesInVoteExtensions runs a real one-validator chain as devnet
// writes it (vote extensions on from height 1, a 1-of-1 key dealt at genesis,
// the share in config/coconut_key.json): a credential requested by tx is
// signed in the validator's vote extension, recorded from the next block's
// injected commit and assembled and verified by the client.
func TestChainIssuesInVoteExtensions(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain")
	}
	c := chain.Start(t, chain.Options{Accounts: []string{"alice"}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q := types.NewQueryClient(c.GRPC(t))

	fi, err := os.Stat(types.IssuerKeyPath(c.Home))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	alice := c.Accounts["alice"].String()
	broadcast := func(m *types.MsgRequestCredential) error {
		res, err := c.BroadcastTx(ctx, "alice", m)
		if err == nil && res.Code != 0 {
			t.Fatalf("request tx failed: %s", res.RawLog)
		}
		return err
	}
	// Requests 1 and 2: each is issued a block or two later, and the
	// second shows the validator keeps signing what arrives later.
	for id := uint64(1); id <= 2; id++ {
		sec := requestCredential(ctx, t, q, broadcast, alice)
		r, _ := waitIssued(ctx, t, q, id, sec)
		require.Len(t, r.PartialSignatures, 1)
		require.Equal(t, uint32(1), r.PartialSignatures[0].SignerIndex)
	}
}
