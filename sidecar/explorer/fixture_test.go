package explorer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/stretchr/testify/require"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/testutil/chain"
	"github.com/nyx-privacy/nyx/testutil/mixnet"
	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// fixture is a real chain with five bonded nodes holding roles, a
// delegation from alice to the first, two credentials requested by alice
// (both issued by the chain's validator, one spent by op0's gateway), and
// an explorer serving on 127.0.0.1.
type fixture struct {
	chain   *chain.Chain
	mq      mixnettypes.QueryClient
	cq      coconuttypes.QueryClient
	src     *Source
	url     string
	nodeIDs []uint64
	hosts   []string
}

// delegation is what alice delegates to the first node.
const delegation = 5_000_000

func startFixture(t *testing.T) *fixture {
	t.Helper()
	operators := []string{"op0", "op1", "op2", "op3", "op4"}
	c := chain.Start(t, chain.Options{
		Accounts: append([]string{"alice"}, operators...),
		Genesis:  mixnet.Genesis(mixnet.GenesisParams{EpochDuration: 2 * time.Second}),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn := c.GRPC(t)
	f := &fixture{chain: c, mq: mixnettypes.NewQueryClient(gogoConn{conn}), cq: coconuttypes.NewQueryClient(gogoConn{conn})}
	for i, op := range operators {
		k, err := mixnet.NewNodeKeys(uint16(20000+10*i), uint16(20001+10*i), uint16(20002+10*i))
		require.NoError(t, err)
		if i == 2 {
			k.Host = "mix-2.example.org"
		}
		id, err := mixnet.Bond(ctx, c, f.mq, op, k)
		require.NoError(t, err)
		f.nodeIDs = append(f.nodeIDs, id)
		f.hosts = append(f.hosts, k.Host)
	}
	alice := c.Accounts["alice"].String()
	_, err := c.BroadcastTx(ctx, "alice", &mixnettypes.MsgDelegate{Delegator: alice, NodeId: f.nodeIDs[0],
		Amount: sdk.NewInt64Coin(mixnettypes.Denom, delegation)})
	require.NoError(t, err)
	spendCredential(ctx, t, c, f.cq, requestCredential(ctx, t, c, f.cq, "alice", 1), "op0")
	waitIssued(ctx, t, f.cq, requestCredential(ctx, t, c, f.cq, "alice", 2))

	// The epoch after the bonds gives every node a role, and the one after
	// that applies the delegation.
	start, err := f.mq.EpochStatus(ctx, &mixnettypes.QueryEpochStatusRequest{})
	require.NoError(t, err)
	for {
		e, err := f.mq.EpochStatus(ctx, &mixnettypes.QueryEpochStatusRequest{})
		require.NoError(t, err)
		if e.EpochId >= start.EpochId+2 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no epoch after %d: %v", start.EpochId, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}

	f.src = NewSource(conn, Config{Refresh: 500 * time.Millisecond})
	require.NoError(t, f.src.Refresh(ctx))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(sctx, l, NewHandler(f.src)) }()
	t.Cleanup(func() {
		stop()
		require.NoError(t, <-done)
	})
	f.url = "http://" + l.Addr().String()
	return f
}

// credential is a client's side of a credential request.
type credential struct {
	id      uint64
	voucher *coconut.BandwidthVoucher
	secrets *coconut.BlindSignSecrets
}

// requestCredential pays for one credential from the named account; id is
// the request id the chain gives it (they count from 1).
func requestCredential(ctx context.Context, t *testing.T, c *chain.Chain, q coconuttypes.QueryClient, from string, id uint64) credential {
	t.Helper()
	params, err := q.Params(ctx, &coconuttypes.QueryParamsRequest{})
	require.NoError(t, err)
	deposit := params.Params.MinDeposit
	value := deposit.Amount.Uint64() * params.Params.BytesPerUnym
	typ := coconuttypes.CredentialTypeName(params.Params.BytesPerUnym)
	v, err := coconut.NewBandwidthVoucher(rand.Reader, coconut.HashToScalar([]byte(from)), value, typ)
	require.NoError(t, err)
	req, sec, err := coconut.PrepareBlindSign(rand.Reader, coconuttypes.CredentialParams(), v.Private(), v.Public())
	require.NoError(t, err)
	bz, err := req.MarshalBinary()
	require.NoError(t, err)
	res, err := c.BroadcastTx(ctx, from, &coconuttypes.MsgRequestCredential{Sender: c.Accounts[from].String(),
		BlindSignRequest: bz, Value: value, CredentialType: typ, Deposit: deposit})
	require.NoError(t, err)
	require.Zero(t, res.Code, res.RawLog)
	r, err := q.Request(ctx, &coconuttypes.QueryRequestRequest{RequestId: id})
	require.NoError(t, err)
	require.Equal(t, bz, r.Request.BlindSignRequest, "request %d is not this one", id)
	return credential{id: id, voucher: v, secrets: sec}
}

// waitIssued waits for the chain's validator to issue cr (in its vote
// extensions) and assembles the credential.
func waitIssued(ctx context.Context, t *testing.T, q coconuttypes.QueryClient, cr credential) (*coconut.Signature, *coconuttypes.KeySet) {
	t.Helper()
	for {
		r, err := q.Request(ctx, &coconuttypes.QueryRequestRequest{RequestId: cr.id})
		require.NoError(t, err)
		if r.Request.Status == coconuttypes.REQUEST_STATUS_ISSUED {
			key, err := q.VerificationKey(ctx, &coconuttypes.QueryVerificationKeyRequest{KeyId: r.Request.KeyId})
			require.NoError(t, err)
			sig, _, err := coconuttypes.AssembleCredential(&key.KeySet, r.PartialSignatures, cr.secrets)
			require.NoError(t, err)
			return sig, &key.KeySet
		}
		select {
		case <-ctx.Done():
			t.Fatalf("request %d not issued: %v", cr.id, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// spendCredential waits for cr to be issued and redeems it as the named
// account's gateway would.
func spendCredential(ctx context.Context, t *testing.T, c *chain.Chain, q coconuttypes.QueryClient, cr credential, operator string) {
	t.Helper()
	sig, ks := waitIssued(ctx, t, q, cr)
	master, err := coconuttypes.DecodeVerificationKey(ks.MasterKey, false)
	require.NoError(t, err)
	op := c.Accounts[operator].String()
	gateway := sha256.Sum256([]byte(operator))
	nonce := []byte("explorer")
	th, err := coconut.Prove(rand.Reader, coconuttypes.CredentialParams(), master, sig, cr.voucher.Attributes(),
		coconut.BandwidthShowSpec, coconuttypes.SpendContext(c.ChainID, op, gateway[:], nonce))
	require.NoError(t, err)
	bz, err := th.MarshalBinary()
	require.NoError(t, err)
	res, err := c.BroadcastTx(ctx, operator, &coconuttypes.MsgSpendCredentials{Operator: op,
		Entries: []coconuttypes.SpendEntry{{Theta: bz, GatewayIdentity: gateway[:], Nonce: nonce}}})
	require.NoError(t, err)
	require.Zero(t, res.Code, res.RawLog)
}

// get fetches a page without following redirects.
func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	cl := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b), resp.Header
}
