package coconut_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	protoio "github.com/cosmos/gogoproto/io"
	"github.com/stretchr/testify/require"

	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// commitAt is the extended commit of height carrying ext, signed with the
// validator's consensus key, and the matching last commit.
func (n *abciNode) commitAt(t *testing.T, ext []byte, height int64) ([]byte, abci.CommitInfo) {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, protoio.NewDelimitedWriter(&buf).WriteMsg(&cmtproto.CanonicalVoteExtension{Extension: ext, Height: height, Round: 0, ChainId: n.chainID}))
	sig, err := n.pv.Key.PrivKey.Sign(buf.Bytes())
	require.NoError(t, err)
	val := abci.Validator{Address: n.consAddr, Power: n.power}
	ec := abci.ExtendedCommitInfo{Votes: []abci.ExtendedVoteInfo{{Validator: val, VoteExtension: ext, ExtensionSignature: sig, BlockIdFlag: cmtproto.BlockIDFlagCommit}}}
	bz, err := types.EncodeInjectedCommit(&ec)
	require.NoError(t, err)
	return bz, abci.CommitInfo{Votes: []abci.VoteInfo{{Validator: val, BlockIdFlag: cmtproto.BlockIDFlagCommit}}}
}

// finalize runs block height with txs through ProcessProposal (which must
// accept it), FinalizeBlock and Commit, and returns the block's events.
func (n *abciNode) finalize(t *testing.T, height int64, txs [][]byte, last abci.CommitInfo) []abci.Event {
	t.Helper()
	ctx := context.Background()
	when := n.genTime.Add(time.Duration(height) * time.Second)
	hash := bytes.Repeat([]byte{byte(height)}, 32)
	pp, err := n.cli.ProcessProposal(ctx, &abci.RequestProcessProposal{Height: height, Txs: txs, ProposedLastCommit: last,
		Time: when, Hash: hash, ProposerAddress: n.consAddr})
	require.NoError(t, err)
	require.Equal(t, abci.ResponseProcessProposal_ACCEPT, pp.Status, "block %d", height)
	fin, err := n.cli.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: height, Txs: txs, DecidedLastCommit: last,
		Time: when, Hash: hash, ProposerAddress: n.consAddr})
	require.NoError(t, err)
	_, err = n.cli.Commit(ctx, &abci.RequestCommit{})
	require.NoError(t, err)
	return fin.Events
}

func (n *abciNode) dkgRound(t *testing.T) *types.DKGRound {
	t.Helper()
	q, err := n.cli.Query(context.Background(), &abci.RequestQuery{Path: "/nyx.coconut.v1.Query/DKGRound"})
	require.NoError(t, err)
	require.Zero(t, q.Code, q.Log)
	var r types.QueryDKGRoundResponse
	require.NoError(t, r.Unmarshal(q.Value))
	require.NotNil(t, r.Round)
	return r.Round
}

func refusals(events []abci.Event) int {
	n := 0
	for _, e := range events {
		if e.Type == "nyx.coconut.v1.EventDKGMessageRefused" {
			n++
		}
	}
	return n
}

func dkgOnly(t *testing.T, msg []byte) []byte {
	t.Helper()
	bz, err := types.EncodeVoteExtension(&types.IssuanceVoteExtension{Version: types.VoteExtensionVersion, DkgMessage: msg})
	require.NoError(t, err)
	return bz
}

// TestDKGVoteExtensionAttacks drives a real app over its ABCI socket through
// the start of a DKG round fed by vote extensions: the validator's own
// ExtendVote carries its registration; VerifyVoteExtension refuses DKG
// messages from a non-participant, for another round, of the wrong phase,
// truncated, or travelling with a key id; ProcessProposal refuses a block
// whose signed extension carries an undecodable DKG message but accepts one
// the DKG will refuse for its state (its phase could have moved on since the
// extension was made), and that block is finalized with the message dropped
// (EventDKGMessageRefused), nothing registered, no halt; the honest message
// then registers the validator, and a repeat of it is dropped in turn.
func TestDKGVoteExtensionAttacks(t *testing.T) {
	n := startABCINode(t)
	ctx := context.Background()

	// Block 2 (its last commit names the validator): the round starts at its end.
	empty2, last := n.commitAt(t, nil, 1)
	n.finalize(t, 2, [][]byte{empty2}, last)
	r := n.dkgRound(t)
	require.Equal(t, types.DKG_PHASE_REGISTRATION, r.Phase)
	require.Len(t, r.Participants, 1)
	require.Empty(t, r.Participants[0].PublicKey)

	ev, err := n.cli.ExtendVote(ctx, &abci.RequestExtendVote{Height: 3, Hash: bytes.Repeat([]byte{3}, 32), Time: n.genTime.Add(3 * time.Second)})
	require.NoError(t, err)
	ext, _, err := types.DecodeVoteExtension(ev.VoteExtension, 50)
	require.NoError(t, err)
	require.NotNil(t, ext, "the validator's extension carries its registration")
	m, err := types.DecodeDKGMessage(ext.DkgMessage)
	require.NoError(t, err)
	require.Equal(t, types.DKGRegistration, m.Kind)
	require.Equal(t, r.RoundId, m.RoundID)
	honest := ev.VoteExtension

	verify := func(consAddr, ext []byte) abci.ResponseVerifyVoteExtension_VerifyStatus {
		res, err := n.cli.VerifyVoteExtension(ctx, &abci.RequestVerifyVoteExtension{Hash: bytes.Repeat([]byte{3}, 32),
			ValidatorAddress: consAddr, Height: 3, VoteExtension: ext})
		require.NoError(t, err)
		return res.Status
	}
	require.Equal(t, abci.ResponseVerifyVoteExtension_ACCEPT, verify(n.consAddr, honest))
	otherRound := types.EncodeDKGMessage(types.DKGRegistration, r.RoundId+5, m.Body)
	vk, err := n.key.Secret().VerificationKey().MarshalBinary()
	require.NoError(t, err)
	wrongPhase := types.EncodeDKGMessage(types.DKGKeyShare, r.RoundId, vk)
	_, err = types.DecodeDKGMessage(wrongPhase)
	require.NoError(t, err, "a well-formed key share, sent in the registration phase")
	withKey, err := types.EncodeVoteExtension(&types.IssuanceVoteExtension{Version: types.VoteExtensionVersion, KeyId: 1, SignerIndex: 1, DkgMessage: ext.DkgMessage})
	require.NoError(t, err)
	for name, tc := range map[string]struct{ addr, ext []byte }{
		"not a participant":  {bytes.Repeat([]byte{9}, 20), honest},
		"another round":      {n.consAddr, dkgOnly(t, otherRound)},
		"wrong phase":        {n.consAddr, dkgOnly(t, wrongPhase)},
		"truncated message":  {n.consAddr, dkgOnly(t, ext.DkgMessage[:len(ext.DkgMessage)-1])},
		"key id, no partial": {n.consAddr, withKey},
	} {
		require.Equal(t, abci.ResponseVerifyVoteExtension_REJECT, verify(tc.addr, tc.ext), name)
	}

	// Block 3: a signed extension with an undecodable DKG message is refused;
	// one for another round passes ProcessProposal and is dropped.
	garbled, garbledLast := n.commitAt(t, dkgOnly(t, ext.DkgMessage[:len(ext.DkgMessage)-1]), 2)
	require.Equal(t, abci.ResponseProcessProposal_REJECT, n.processProposal3(t, [][]byte{garbled}, garbledLast))
	stale, last := n.commitAt(t, dkgOnly(t, otherRound), 2)
	events := n.finalize(t, 3, [][]byte{stale}, last)
	require.Equal(t, 1, refusals(events))
	require.Empty(t, n.dkgRound(t).Participants[0].PublicKey, "a refused message changes nothing")

	// Block 4: the honest registration is recorded.
	good, last := n.commitAt(t, honest, 3)
	events = n.finalize(t, 4, [][]byte{good}, last)
	require.Zero(t, refusals(events))
	require.Equal(t, m.Body, n.dkgRound(t).Participants[0].PublicKey)

	// Block 5: the same message again is dropped; the chain goes on.
	again, last := n.commitAt(t, honest, 4)
	events = n.finalize(t, 5, [][]byte{again}, last)
	require.Equal(t, 1, refusals(events))
	ev, err = n.cli.ExtendVote(ctx, &abci.RequestExtendVote{Height: 6, Hash: bytes.Repeat([]byte{6}, 32), Time: n.genTime.Add(6 * time.Second)})
	require.NoError(t, err)
	require.Empty(t, ev.VoteExtension, "a registered validator has nothing more to send in this phase")
}

func (n *abciNode) processProposal3(t *testing.T, txs [][]byte, last abci.CommitInfo) abci.ResponseProcessProposal_ProposalStatus {
	t.Helper()
	res, err := n.cli.ProcessProposal(context.Background(), &abci.RequestProcessProposal{Height: 3, Txs: txs, ProposedLastCommit: last,
		Time: n.genTime.Add(3 * time.Second), Hash: bytes.Repeat([]byte{3}, 32), ProposerAddress: n.consAddr})
	require.NoError(t, err)
	return res.Status
}
