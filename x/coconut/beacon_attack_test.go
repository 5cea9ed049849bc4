package coconut_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/stretchr/testify/require"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/x/coconut/types"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

func (n *abciNode) query(t *testing.T, path string, req interface{ Marshal() ([]byte, error) }, resp interface{ Unmarshal([]byte) error }) uint32 {
	t.Helper()
	bz, err := req.Marshal()
	require.NoError(t, err)
	q, err := n.cli.Query(context.Background(), &abci.RequestQuery{Path: path, Data: bz})
	require.NoError(t, err)
	if q.Code == 0 {
		require.NoError(t, resp.Unmarshal(q.Value))
	}
	return q.Code
}

// TestBeaconPartialAttacks plays a byzantine validator and proposer against
// a real app over its ABCI socket: the app's own extension carries its
// beacon partial for the next x/mixnet epoch; a forged partial (another
// key), one for another epoch and a malformed one are refused by
// VerifyVoteExtension, a block carrying the forged one by ProcessProposal,
// and the honest block, finalized, records the beacon (threshold 1), which
// verifies under the master key.
func TestBeaconPartialAttacks(t *testing.T) {
	n := startABCINode(t)
	ctx := context.Background()
	var st mixnettypes.QueryEpochStatusResponse
	require.Zero(t, n.query(t, "/nyx.mixnet.v1.Query/EpochStatus", &mixnettypes.QueryEpochStatusRequest{}, &st))
	next := st.EpochId + 1

	res, err := n.cli.ExtendVote(ctx, &abci.RequestExtendVote{Hash: bytes.Repeat([]byte{1}, 32), Height: 2,
		Time: n.genTime.Add(2 * time.Second), ProposerAddress: n.consAddr})
	require.NoError(t, err)
	honest := res.VoteExtension
	ext, _, err := types.DecodeVoteExtension(honest, types.MaxPartialsPerExtension)
	require.NoError(t, err)
	require.NotNil(t, ext.Beacon, "the validator's extension carries no beacon partial")
	require.Equal(t, next, ext.Beacon.Epoch)

	with := func(epoch uint64, sig []byte) []byte {
		e := *ext
		e.Beacon = &types.BeaconPartial{Epoch: epoch, Signature: sig}
		bz, err := types.EncodeVoteExtension(&e)
		require.NoError(t, err)
		return bz
	}
	otherKey, err := coconut.KeyGen(rand.Reader, types.CredentialParams())
	require.NoError(t, err)
	forgedSig, _ := coconut.SignBeacon(otherKey, next).MarshalBinary()
	laterSig, _ := coconut.SignBeacon(n.key.Secret(), next+1).MarshalBinary()
	forged := with(next, forgedSig)

	verify := func(ext []byte) abci.ResponseVerifyVoteExtension_VerifyStatus {
		res, err := n.cli.VerifyVoteExtension(ctx, &abci.RequestVerifyVoteExtension{Hash: bytes.Repeat([]byte{1}, 32),
			ValidatorAddress: n.consAddr, Height: 2, VoteExtension: ext})
		require.NoError(t, err)
		return res.Status
	}
	require.Equal(t, abci.ResponseVerifyVoteExtension_ACCEPT, verify(honest))
	for name, bad := range map[string][]byte{
		"forged partial":                   forged,
		"partial for epoch + 2":            with(next+1, laterSig),
		"right epoch, its sig for another": with(next, laterSig),
		"short signature":                  with(next, ext.Beacon.Signature[:40]),
		"epoch 0":                          with(0, ext.Beacon.Signature),
	} {
		require.Equal(t, abci.ResponseVerifyVoteExtension_REJECT, verify(bad), name)
	}

	badCommit, badLast := n.commit(t, forged)
	badTx, err := types.EncodeInjectedCommit(&badCommit)
	require.NoError(t, err)
	require.Equal(t, abci.ResponseProcessProposal_REJECT, n.processProposal(t, [][]byte{badTx}, badLast))

	goodCommit, last := n.commit(t, honest)
	good, err := types.EncodeInjectedCommit(&goodCommit)
	require.NoError(t, err)
	require.Equal(t, abci.ResponseProcessProposal_ACCEPT, n.processProposal(t, [][]byte{good}, last))
	var none types.QueryBeaconResponse
	require.NotZero(t, n.query(t, "/nyx.coconut.v1.Query/Beacon", &types.QueryBeaconRequest{Epoch: next}, &none), "a beacon before the block")

	_, err = n.cli.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 2, Txs: [][]byte{good}, DecidedLastCommit: last,
		Time: n.genTime.Add(2 * time.Second), Hash: bytes.Repeat([]byte{2}, 32), ProposerAddress: n.consAddr})
	require.NoError(t, err)
	_, err = n.cli.Commit(ctx, &abci.RequestCommit{})
	require.NoError(t, err)
	var b types.QueryBeaconResponse
	require.Zero(t, n.query(t, "/nyx.coconut.v1.Query/Beacon", &types.QueryBeaconRequest{Epoch: next}, &b))
	require.NotNil(t, b.Beacon)
	var key types.QueryVerificationKeyResponse
	require.Zero(t, n.query(t, "/nyx.coconut.v1.Query/VerificationKey", &types.QueryVerificationKeyRequest{}, &key))
	master, err := types.DecodeVerificationKey(key.KeySet.MasterKey, false)
	require.NoError(t, err)
	var sig coconut.BeaconSignature
	require.NoError(t, sig.UnmarshalBinary(b.Beacon.Signature))
	require.NoError(t, coconut.VerifyBeacon(master, next, &sig))
	require.Equal(t, ext.Beacon.Signature, b.Beacon.Signature, "at t = 1 the beacon is the one partial")
}
