package keeper_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/stretchr/testify/require"

	"cosmossdk.io/log/v2"

	"github.com/nyx-privacy/nyx/x/coconut/keeper"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// TestDKGThroughVoteExtensionHandlers runs a round of four validators
// through the vote-extension handlers alone: at each height every validator's
// ExtendVote gives its message, VerifyVoteExtension accepts it, the next
// block's PreBlocker path (RecordCommitDKG) records it and the end blocker
// moves the phases. The validator without a DKG key says so once and sends
// nothing; the round completes with the other three, each of them writes its
// share of the new key to its key file (0600, beside a dealt share still in
// its grace period) and signs a request under it, and the extension verifies.
func TestDKGThroughVoteExtensionHandlers(t *testing.T) {
	f := newFixture(t)
	net := newDKGNet(f, 4)
	net.start()
	ves := make([]*keeper.VoteExtensions, len(net.vs))
	dirs := make([]string, len(net.vs))
	var logs bytes.Buffer
	for i, v := range net.vs {
		dirs[i] = t.TempDir()
		if i < 3 {
			key, err := types.NewDKGKey(v.addr, v.key)
			require.NoError(t, err)
			require.NoError(t, key.Save(filepath.Join(dirs[i], types.DKGKeyFileName)))
		}
		if i == 0 {
			// A share of the dealt key 1, still in its grace period when
			// the DKG's key replaces it: kept beside the new one.
			dealt, err := types.NewIssuerKey(1, 1, v.addr, f.issuers[0])
			require.NoError(t, err)
			require.NoError(t, dealt.Save(filepath.Join(dirs[i], types.IssuerKeyFileName)))
		}
		logger := log.NewNopLogger()
		if i == 3 {
			logger = log.NewLogger(&logs, log.ColorOption(false))
		}
		ves[i] = keeper.NewVoteExtensions(f.k, nil, filepath.Join(dirs[i], types.IssuerKeyFileName), logger)
	}

	var votes []keeper.CommitVote
	for range 4*dkgBlocksPerPhase + 2 {
		r := net.round()
		if !r.InProgress() {
			break
		}
		h := f.ctx.BlockHeight()
		// PreBlocker of h: the extensions of h-1.
		n, err := f.k.RecordCommitDKG(f.ctx, votes)
		require.NoError(t, err)
		require.Equal(t, len(votes), n, "every honest message is recorded at height %d", h)
		require.NoError(t, f.k.DKGEndBlocker(f.ctx, net.validators()))
		// Extensions of h+1 on the state after h.
		votes = nil
		for i, ve := range ves {
			res, err := ve.ExtendVoteHandler()(f.ctx, &abci.RequestExtendVote{Height: h + 1})
			require.NoError(t, err)
			if len(res.VoteExtension) == 0 {
				continue
			}
			require.NotEqual(t, 3, i, "the validator without a DKG key sends nothing")
			require.NoError(t, f.k.VerifyVoteExtension(f.ctx, net.vs[i].addr, res.VoteExtension, nil))
			votes = append(votes, keeper.CommitVote{ConsAddress: net.vs[i].addr, Extension: res.VoteExtension})
		}
		f.ctx = f.ctx.WithBlockHeight(h + 1)
	}
	r := net.round()
	require.Equal(t, types.DKG_PHASE_COMPLETED, r.Phase)
	require.Equal(t, 3, r.Registered())
	require.Equal(t, 1, strings.Count(logs.String(), "no coconut DKG key"), logs.String())
	cur, err := f.k.CurrentKeyID.Get(f.ctx)
	require.NoError(t, err)
	require.Equal(t, r.RoundId, cur)

	ids := f.requests(1)
	for i := range 3 {
		res, err := ves[i].ExtendVoteHandler()(f.ctx, &abci.RequestExtendVote{Height: f.ctx.BlockHeight() + 1})
		require.NoError(t, err)
		ext, _, err := types.DecodeVoteExtension(res.VoteExtension, 50)
		require.NoError(t, err)
		require.NotNil(t, ext)
		require.Equal(t, cur, ext.KeyId)
		require.Equal(t, ids[0], ext.Partials[0].RequestId)
		require.NoError(t, f.k.VerifyVoteExtension(f.ctx, net.vs[i].addr, res.VoteExtension, nil))

		path := filepath.Join(dirs[i], types.IssuerKeyFileName)
		fi, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
		keys, err := types.LoadIssuerKeys(path)
		require.NoError(t, err)
		require.NotNil(t, keys.Get(cur))
		require.Equal(t, i == 0, keys.Get(1) != nil, "validator %d's dealt share", i)
	}
	res, err := ves[3].ExtendVoteHandler()(f.ctx, &abci.RequestExtendVote{Height: f.ctx.BlockHeight() + 1})
	require.NoError(t, err)
	require.Empty(t, res.VoteExtension, "no share, nothing to sign")
}
