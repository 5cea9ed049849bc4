package mixnet_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/app"
	"github.com/nyx-privacy/nyx/testutil/chain"
	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

// TestChainBondDelegateTopology runs a real one-validator chain: operators bond
// nodes and a delegator delegates through signed transactions, epochs pass in
// EndBlock, and Topology is read over gRPC and REST.
func TestChainBondDelegateTopology(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain")
	}
	operators := []string{"op0", "op1", "op2", "op3", "op4"}
	c := chain.Start(t, chain.Options{
		Accounts: append([]string{"delegator"}, operators...),
		Genesis: func(cdc codec.Codec, state app.GenesisState) error {
			var gs types.GenesisState
			if err := cdc.UnmarshalJSON(state[types.ModuleName], &gs); err != nil {
				return err
			}
			gs.Params.EpochDuration = 2 * time.Second
			gs.Params.EpochsPerInterval = 3
			gs.Params.MinimumPledge = sdk.NewInt64Coin(types.Denom, 1_000_000)
			gs.Params.RewardedSet = types.RewardedSetSizes{EntryGateways: 1, ExitGateways: 1, Mixnodes: 3}
			bz, err := cdc.MarshalJSON(&gs)
			state[types.ModuleName] = bz
			return err
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn := c.GRPC(t)
	q := types.NewQueryClient(conn)

	_, err := c.BroadcastTx(ctx, "delegator", &types.MsgFundRewardPool{
		Sender: c.Accounts["delegator"].String(), Amount: sdk.NewInt64Coin(types.Denom, 100_000_000_000),
	})
	require.NoError(t, err)

	keys := map[uint64]ed25519.PrivateKey{}
	for i, name := range operators {
		seed := sha256.Sum256([]byte("chain-test-node-" + name))
		key := ed25519.NewKeyFromSeed(seed[:])
		sphinxSeed := sha256.Sum256([]byte("sphinx-" + name))
		sphinxPriv, err := ecdh.X25519().NewPrivateKey(sphinxSeed[:])
		require.NoError(t, err)
		sphinx := sphinxPriv.PublicKey().Bytes()
		owner := c.Accounts[name].String()
		nonce, err := q.SigningNonce(ctx, &types.QuerySigningNonceRequest{Address: owner})
		require.NoError(t, err)
		msg := &types.MsgBondNode{
			Owner: owner, Pledge: sdk.NewInt64Coin(types.Denom, 10_000_000),
			IdentityKey: key.Public().(ed25519.PublicKey), SphinxKey: sphinx,
			Host: fmt.Sprintf("127.0.0.%d", i+1), MixPort: 1789, ClientsPort: 9000, HttpPort: 8000,
		}
		msg.Signature = types.SignBond(key, msg.BondPayload(c.ChainID, nonce.Nonce))
		res, err := c.BroadcastTx(ctx, name, msg)
		require.NoError(t, err)
		require.Zero(t, res.Code)
		got, err := q.NodeByOwner(ctx, &types.QueryNodeByOwnerRequest{Owner: owner})
		require.NoError(t, err)
		keys[got.Node.NodeId] = key
	}

	// A bond whose signature is not the node's is refused by the chain.
	bad := &types.MsgBondNode{
		Owner: c.Accounts["delegator"].String(), Pledge: sdk.NewInt64Coin(types.Denom, 10_000_000),
		IdentityKey: make([]byte, 32), SphinxKey: make([]byte, 32), Host: "10.1.1.1",
		MixPort: 1, ClientsPort: 2, HttpPort: 3, Signature: make([]byte, 64),
	}
	bad.SphinxKey[0] = 1
	_, err = c.BroadcastTx(ctx, "delegator", bad)
	require.Error(t, err)

	_, err = c.BroadcastTx(ctx, "delegator", &types.MsgDelegate{
		Delegator: c.Accounts["delegator"].String(), NodeId: 1, Amount: sdk.NewInt64Coin(types.Denom, 5_000_000),
	})
	require.NoError(t, err)

	// Wait for two epoch boundaries: the first applies the delegation and draws roles.
	start, err := q.EpochStatus(ctx, &types.QueryEpochStatusRequest{})
	require.NoError(t, err)
	for {
		es, err := q.EpochStatus(ctx, &types.QueryEpochStatusRequest{})
		require.NoError(t, err)
		if es.EpochId >= start.EpochId+2 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("epochs did not advance past %d", es.EpochId)
		case <-time.After(200 * time.Millisecond):
		}
	}

	del, err := q.Delegation(ctx, &types.QueryDelegationRequest{NodeId: 1, Delegator: c.Accounts["delegator"].String()})
	require.NoError(t, err)
	require.Equal(t, sdk.NewInt64Coin(types.Denom, 5_000_000), del.Delegation.Amount)

	topo, err := q.Topology(ctx, &types.QueryTopologyRequest{})
	require.NoError(t, err)
	require.Len(t, topo.Nodes, len(operators), "five nodes fill entry, exit and three layers")
	roles := map[types.Role]int{}
	for _, n := range topo.Nodes {
		roles[n.Role]++
		key, ok := keys[n.NodeId]
		require.True(t, ok)
		require.Equal(t, []byte(key.Public().(ed25519.PublicKey)), n.IdentityKey)
		require.Len(t, n.SphinxKey, 32)
	}
	for _, r := range []types.Role{types.RoleEntryGateway, types.RoleExitGateway, types.RoleMixLayer1, types.RoleMixLayer2, types.RoleMixLayer3} {
		require.Equal(t, 1, roles[r], "role %s", r)
	}

	// Node 1 announces its next sphinx key, signed by its identity key; an account
	// that is not its owner submits it and pays the fee.
	nextPriv, err := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	next := nextPriv.PublicKey().Bytes()
	es, err := q.EpochStatus(ctx, &types.QueryEpochStatusRequest{})
	require.NoError(t, err)
	announce := &types.MsgAnnounceSphinxKey{Sender: c.Accounts["delegator"].String(), NodeId: 1, NextSphinxKey: next, EpochId: es.EpochId}
	announce.Signature = types.SignAnnounceSphinxKey(keys[1], announce.AnnouncePayload(c.ChainID))
	_, err = c.BroadcastTx(ctx, "delegator", announce)
	require.NoError(t, err)
	n1, err := q.Node(ctx, &types.QueryNodeRequest{NodeId: 1})
	require.NoError(t, err)
	// The key is announced, or already in use if an epoch ended since.
	require.True(t, bytes.Equal(next, n1.Node.NextSphinxKey) || bytes.Equal(next, n1.Node.SphinxKey), "node 1 did not take the announced key")

	// The same over REST.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.REST+"/nyx/mixnet/v1/topology", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var rest struct {
		Epoch struct {
			EpochID string `json:"epoch_id"`
		} `json:"epoch"`
		Nodes []struct {
			NodeID      string `json:"node_id"`
			Role        string `json:"role"`
			IdentityKey string `json:"identity_key"`
			Host        string `json:"host"`
		} `json:"nodes"`
	}
	require.NoError(t, json.Unmarshal(body, &rest), string(body))
	require.NotEmpty(t, rest.Epoch.EpochID)
	require.Len(t, rest.Nodes, len(operators))
	for _, n := range rest.Nodes {
		var id uint64
		_, err := fmt.Sscan(n.NodeID, &id)
		require.NoError(t, err)
		require.Equal(t, base64.StdEncoding.EncodeToString(keys[id].Public().(ed25519.PublicKey)), n.IdentityKey)
		require.NotEqual(t, "ROLE_UNSPECIFIED", n.Role)
	}
}
