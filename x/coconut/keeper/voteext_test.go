package keeper_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/stretchr/testify/require"

	"cosmossdk.io/log/v2"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/coconut/keeper"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// consAddr is signer i's (1-based) consensus address in withConsensusAddresses.
func consAddr(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 20) }

// withConsensusAddresses gives the fixture's key set's signers consensus
// addresses, so they can issue in vote extensions, and returns their key files.
func (f *fixture) withConsensusAddresses() []*types.IssuerKey {
	f.t.Helper()
	ks := f.keySet
	files := make([]*types.IssuerKey, len(ks.PartialKeys))
	for i := range ks.PartialKeys {
		ks.PartialKeys[i].ConsensusAddress = consAddr(i + 1)
		k, err := types.NewIssuerKey(ks.KeyId, ks.PartialKeys[i].SignerIndex, consAddr(i+1), f.issuers[i])
		require.NoError(f.t, err)
		files[i] = k
	}
	require.NoError(f.t, ks.Validate())
	require.NoError(f.t, f.k.KeySets.Set(f.ctx, ks.KeyId, ks))
	f.keySet = ks
	for _, k := range files {
		require.NoError(f.t, k.MatchKeySet(&ks))
	}
	return files
}

// requests makes n pending requests and returns their ids.
func (f *fixture) requests(n int) []uint64 {
	f.t.Helper()
	sender := f.account("requester", int64(n)*testDeposit)
	var ids []uint64
	for range n {
		msg, _ := f.requestMsg(sender, testDeposit)
		res, err := f.msg.RequestCredential(f.ctx, msg)
		require.NoError(f.t, err)
		ids = append(ids, res.RequestId)
	}
	return ids
}

func TestVoteExtensionRoundTrip(t *testing.T) {
	f := newFixture(t)
	files := f.withConsensusAddresses()
	ids := f.requests(3)

	exts := make([][]byte, len(files))
	for i, k := range files {
		ext, err := f.k.SignPending(f.ctx, k)
		require.NoError(t, err)
		require.Len(t, ext.Partials, len(ids))
		exts[i], err = types.EncodeVoteExtension(ext)
		require.NoError(t, err)
		require.NoError(t, f.k.VerifyVoteExtension(f.ctx, consAddr(i+1), exts[i], nil))
	}
	// Signer 1's extension under signer 2's consensus address is refused.
	require.ErrorIs(t, f.k.VerifyVoteExtension(f.ctx, consAddr(2), exts[0], nil), types.ErrInvalidVoteExtension)

	// A key file whose secret is another signer's does not match the key set.
	wrong, err := types.NewIssuerKey(1, 1, consAddr(1), f.issuers[1])
	require.NoError(t, err)
	require.Error(t, wrong.MatchKeySet(&f.keySet))

	// The first signer's partials: recorded, still pending (threshold 2).
	votes := []keeper.CommitVote{{ConsAddress: consAddr(1), Extension: exts[0]}}
	require.NoError(t, f.k.CheckCommitExtensions(f.ctx, votes, nil))
	n, err := f.k.RecordCommitExtensions(f.ctx, votes)
	require.NoError(t, err)
	require.Equal(t, len(ids), n)
	r, err := f.k.Requests.Get(f.ctx, ids[0])
	require.NoError(t, err)
	require.Equal(t, types.REQUEST_STATUS_PENDING, r.Status)
	// Signer 1 has signed them all: its next extension is empty.
	again, err := f.k.SignPending(f.ctx, files[0])
	require.NoError(t, err)
	require.Nil(t, again)

	// Signers 1 (again: a repeat is not recorded twice) and 3: issued.
	votes = append(votes, keeper.CommitVote{ConsAddress: consAddr(3), Extension: exts[2]})
	n, err = f.k.RecordCommitExtensions(f.ctx, votes)
	require.NoError(t, err)
	require.Equal(t, len(ids), n)
	for _, id := range ids {
		r, err := f.k.Requests.Get(f.ctx, id)
		require.NoError(t, err)
		require.Equal(t, types.REQUEST_STATUS_ISSUED, r.Status)
		resp, err := f.q.Request(f.ctx, &types.QueryRequestRequest{RequestId: id})
		require.NoError(t, err)
		c := resp.PartialSignatures
		require.Len(t, c, 2)
	}
	pending, err := f.k.PendingToSign(f.ctx)
	require.NoError(t, err)
	require.Empty(t, pending)
}

// BenchmarkVoteExtensionVsFloor builds one validator's extension over
// max_requests_signed_per_block (50) pending requests and measures its
// verification (Keeper.VerifyVoteExtension: decoding, state reads, one
// blinded-signature pairing check per request), alternating with the
// two-pairing floor. It reports the extension's bytes per request
// (bytes/request), the verification time per request (ns/request) and the
// median ratio of that to the floor (verify-per-request/floor).
func BenchmarkVoteExtensionVsFloor(b *testing.B) {
	f := newFixture(b)
	files := f.withConsensusAddresses()
	f.requests(types.DefaultMaxRequestsSignedPerBlock)
	ext, err := f.k.SignPending(f.ctx, files[0])
	if err != nil || len(ext.Partials) != types.DefaultMaxRequestsSignedPerBlock {
		b.Fatalf("sign pending: %v", err)
	}
	bz, err := types.EncodeVoteExtension(ext)
	if err != nil {
		b.Fatal(err)
	}
	n := float64(len(ext.Partials))
	floor := newFloor(b)
	var ratios, per []float64
	for b.Loop() {
		t0 := time.Now()
		if err := f.k.VerifyVoteExtension(f.ctx, consAddr(1), bz, nil); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		floor.check(b)
		t2 := time.Now()
		per = append(per, float64(t1.Sub(t0))/n)
		ratios = append(ratios, float64(t1.Sub(t0))/n/float64(t2.Sub(t1)))
	}
	b.ReportMetric(float64(len(bz))/n, "bytes/request")
	b.ReportMetric(median(per), "ns/request")
	b.ReportMetric(median(ratios), "verify-per-request/floor")
}

// A validator without a usable key file logs it once and extends its votes
// with nothing, however often it is asked; with a file that is not its share
// of the key set on chain, the same.
func TestExtendVoteWithoutKeyFile(t *testing.T) {
	f := newFixture(t)
	files := f.withConsensusAddresses()
	f.requests(1)
	dir := t.TempDir()
	wrong, err := types.NewIssuerKey(1, 1, consAddr(1), f.issuers[2]) // signer 3's secret
	require.NoError(t, err)
	require.NoError(t, wrong.Save(filepath.Join(dir, "wrong.json")))
	require.NoError(t, files[0].Save(filepath.Join(dir, "good.json")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "garbage.json"), []byte("{not json"), 0o600))

	for name, want := range map[string]string{
		"missing.json": "no coconut issuer key",
		"garbage.json": "no coconut issuer key",
		"wrong.json":   "does not match",
	} {
		var logs bytes.Buffer
		ve := keeper.NewVoteExtensions(f.k, nil, filepath.Join(dir, name), log.NewLogger(&logs, log.ColorOption(false)))
		for range 3 {
			res, err := ve.ExtendVoteHandler()(f.ctx, &abci.RequestExtendVote{Height: 2})
			require.NoError(t, err, name)
			require.Empty(t, res.VoteExtension, name)
		}
		require.Equal(t, 1, strings.Count(logs.String(), want), "%s: %s", name, logs.String())
	}
	ve := keeper.NewVoteExtensions(f.k, nil, filepath.Join(dir, "good.json"), log.NewNopLogger())
	res, err := ve.ExtendVoteHandler()(f.ctx, &abci.RequestExtendVote{Height: 2})
	require.NoError(t, err)
	require.NoError(t, f.k.VerifyVoteExtension(f.ctx, consAddr(1), res.VoteExtension, nil))
	require.NotEmpty(t, res.VoteExtension)
}

// The memory of verified partials only ever skips a pairing check that
// passed on the same (partial key, request, signature): a forged partial is
// still refused after honest ones were remembered, at the same and at the
// next height, and the memory forgets heights older than the previous one.
func TestVerifiedPartialsMemory(t *testing.T) {
	f := newFixture(t)
	files := f.withConsensusAddresses()
	f.requests(2)
	mem := keeper.NewVerifiedPartials()
	ext, err := f.k.SignPending(f.ctx, files[0])
	require.NoError(t, err)
	honest, err := types.EncodeVoteExtension(ext)
	require.NoError(t, err)
	require.NoError(t, f.k.VerifyVoteExtension(f.ctx, consAddr(1), honest, mem))

	// Signer 2's signatures presented as signer 1's: refused, remembered or not.
	ext2, err := f.k.SignPending(f.ctx, files[1])
	require.NoError(t, err)
	ext2.SignerIndex = 1
	forged, err := types.EncodeVoteExtension(ext2)
	require.NoError(t, err)
	next := f.ctx.WithBlockHeight(f.ctx.BlockHeight() + 1)
	for _, ctx := range []sdk.Context{f.ctx, next} {
		require.ErrorIs(t, f.k.VerifyVoteExtension(ctx, consAddr(1), forged, mem), types.ErrInvalidVoteExtension)
		require.NoError(t, f.k.CheckCommitExtensions(ctx, []keeper.CommitVote{{ConsAddress: consAddr(1), Extension: honest}}, mem))
		require.ErrorIs(t, f.k.CheckCommitExtensions(ctx, []keeper.CommitVote{{ConsAddress: consAddr(1), Extension: forged}}, mem), types.ErrInvalidVoteExtension)
	}
	require.NoError(t, f.k.VerifyVoteExtension(f.ctx.WithBlockHeight(f.ctx.BlockHeight()+5), consAddr(1), honest, mem))
}
