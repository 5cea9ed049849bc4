package keeper_test

import (
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/x/coconut/keeper"
	"github.com/nyx-privacy/nyx/x/coconut/types"
	mixnetkeeper "github.com/nyx-privacy/nyx/x/mixnet/keeper"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// beaconVotes signs the pending work of the given signers (1-based) and
// returns their extensions as commit votes, each checked as
// VerifyVoteExtension does.
func (f *fixture) beaconVotes(files []*types.IssuerKey, signers ...int) []keeper.CommitVote {
	f.t.Helper()
	var votes []keeper.CommitVote
	for _, i := range signers {
		ext, err := f.k.SignPending(f.ctx, files[i-1])
		require.NoError(f.t, err)
		require.NotNil(f.t, ext, "signer %d has nothing to sign", i)
		require.NotNil(f.t, ext.Beacon, "signer %d signs no beacon", i)
		bz, err := types.EncodeVoteExtension(ext)
		require.NoError(f.t, err)
		require.NoError(f.t, f.k.VerifyVoteExtension(f.ctx, consAddr(i), bz, nil))
		votes = append(votes, keeper.CommitVote{ConsAddress: consAddr(i), Extension: bz})
	}
	return votes
}

func (f *fixture) record(votes []keeper.CommitVote) {
	f.t.Helper()
	require.NoError(f.t, f.k.CheckCommitExtensions(f.ctx, votes, nil))
	_, err := f.k.RecordCommitExtensions(f.ctx, votes)
	require.NoError(f.t, err)
}

// advanceEpoch ends x/mixnet's epoch and returns the new epoch's event.
func (f *fixture) advanceEpoch() *mixnettypes.EventEpochAdvanced {
	f.t.Helper()
	f.ctx = f.ctx.WithEventManager(sdk.NewEventManager())
	require.NoError(f.t, f.mixnet.AdvanceEpoch(f.ctx))
	for _, e := range f.ctx.EventManager().Events() {
		msg, err := sdk.ParseTypedEvent(abci.Event(e))
		if err == nil {
			if ev, ok := msg.(*mixnettypes.EventEpochAdvanced); ok {
				return ev
			}
		}
	}
	f.t.Fatal("no EventEpochAdvanced")
	return nil
}

func TestBeaconFormsAtThresholdAndSeedsTheRoleDraw(t *testing.T) {
	f := newFixture(t) // 2 of 3
	files := f.withConsensusAddresses()
	f.wireMixnet()

	// Nothing to sign but the beacon of epoch 1 (the chain is in epoch 0).
	ext, err := f.k.SignPending(f.ctx, files[0])
	require.NoError(t, err)
	require.Empty(t, ext.Partials)
	require.Equal(t, uint64(1), ext.Beacon.Epoch)

	// One partial: recorded, no beacon yet, and its signer does not sign again.
	f.record(f.beaconVotes(files, 1))
	resp, err := f.q.Beacon(f.ctx, &types.QueryBeaconRequest{Epoch: 1})
	require.NoError(t, err)
	require.Nil(t, resp.Beacon)
	require.Len(t, resp.Shares, 1)
	again, err := f.k.SignPending(f.ctx, files[0])
	require.NoError(t, err)
	require.Nil(t, again)

	// The threshold: the beacon forms, verifies under the master key, and the
	// partials are gone.
	f.record(f.beaconVotes(files, 3))
	resp, err = f.q.Beacon(f.ctx, &types.QueryBeaconRequest{Epoch: 1})
	require.NoError(t, err)
	require.NotNil(t, resp.Beacon)
	require.Empty(t, resp.Shares)
	require.Equal(t, f.keySet.KeyId, resp.Beacon.KeyId)
	var sig coconut.BeaconSignature
	require.NoError(t, sig.UnmarshalBinary(resp.Beacon.Signature))
	master, err := types.DecodeVerificationKey(f.keySet.MasterKey, false)
	require.NoError(t, err)
	require.NoError(t, coconut.VerifyBeacon(master, 1, &sig))
	// Unique: signers 1 and 2 would have made the same value.
	other, err := coconut.AggregateBeacon([]*coconut.BeaconSignature{coconut.SignBeacon(f.issuers[0], 1), coconut.SignBeacon(f.issuers[1], 1)}, []uint64{1, 2})
	require.NoError(t, err)
	r := other.Randomness()
	require.Equal(t, r[:], resp.Beacon.Randomness)
	// Once recorded, nobody signs it any more.
	none, err := f.k.SignPending(f.ctx, files[1])
	require.NoError(t, err)
	require.Nil(t, none)

	// x/mixnet's epoch 1 is drawn from the beacon...
	ev := f.advanceEpoch()
	require.Equal(t, uint64(1), ev.EpochId)
	require.True(t, ev.SeedFromBeacon)
	want := mixnetkeeper.BeaconRoleSeed(resp.Beacon.Randomness, 1)
	require.Equal(t, want[:], ev.Seed)
	st, err := f.mixnet.Epoch.Get(f.ctx)
	require.NoError(t, err)
	require.True(t, st.SeedFromBeacon)

	// ...and epoch 2, whose beacon never formed (one partial of two), from
	// block data. The lone partial is pruned once epoch 2 has begun.
	f.record(f.beaconVotes(files, 2))
	ev = f.advanceEpoch()
	require.Equal(t, uint64(2), ev.EpochId)
	require.False(t, ev.SeedFromBeacon)
	f.setHeight(2)
	_, err = f.q.Beacon(f.ctx, &types.QueryBeaconRequest{Epoch: 2})
	require.Error(t, err)
	// The validators now sign epoch 3.
	ext, err = f.k.SignPending(f.ctx, files[1])
	require.NoError(t, err)
	require.Equal(t, uint64(3), ext.Beacon.Epoch)
}

// Without x/mixnet wired (or before any key) no beacon is signed and the role
// draw keeps the block seed.
func TestBeaconAbsentWithoutKey(t *testing.T) {
	f := newFixture(t, withoutKey)
	f.wireMixnet()
	ev := f.advanceEpoch()
	require.False(t, ev.SeedFromBeacon)
	st, err := f.mixnet.Epoch.Get(f.ctx)
	require.NoError(t, err)
	require.False(t, st.SeedFromBeacon)
}

func TestBadBeaconPartialRefused(t *testing.T) {
	f := newFixture(t)
	files := f.withConsensusAddresses()
	f.wireMixnet()
	good, err := f.k.SignPending(f.ctx, files[0])
	require.NoError(t, err)
	otherSigner, _ := coconut.SignBeacon(f.issuers[1], 1).MarshalBinary()
	otherEpoch, _ := coconut.SignBeacon(f.issuers[0], 2).MarshalBinary()
	notOnCurve := append([]byte{}, good.Beacon.Signature...)
	notOnCurve[20] ^= 0xff

	cases := []struct {
		name string
		edit func(*types.IssuanceVoteExtension)
		// dropped: ProcessProposal drops it (the epoch may have moved on
		// since the extension was made) rather than refusing the block.
		dropped bool
	}{
		{"another signer's partial", func(e *types.IssuanceVoteExtension) { e.Beacon.Signature = otherSigner }, false},
		{"signature for another epoch", func(e *types.IssuanceVoteExtension) { e.Beacon.Signature = otherEpoch }, false},
		{"not a point", func(e *types.IssuanceVoteExtension) { e.Beacon.Signature = notOnCurve }, false},
		{"truncated", func(e *types.IssuanceVoteExtension) { e.Beacon.Signature = e.Beacon.Signature[:47] }, false},
		{"epoch 0", func(e *types.IssuanceVoteExtension) { e.Beacon.Epoch = 0 }, false},
		{"not the next epoch", func(e *types.IssuanceVoteExtension) { e.Beacon.Epoch, e.Beacon.Signature = 2, otherEpoch }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := f.snapshot()
			ext := *good
			b := *good.Beacon
			ext.Beacon = &b
			tc.edit(&ext)
			bz, err := types.EncodeVoteExtension(&ext)
			require.NoError(t, err)
			require.ErrorIs(t, f.k.VerifyVoteExtension(f.ctx, consAddr(1), bz, nil), types.ErrInvalidVoteExtension)
			votes := []keeper.CommitVote{{ConsAddress: consAddr(1), Extension: bz}}
			if tc.dropped {
				require.NoError(t, f.k.CheckCommitExtensions(f.ctx, votes, nil))
				_, err := f.k.RecordCommitExtensions(f.ctx, votes)
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, f.k.CheckCommitExtensions(f.ctx, votes, nil), types.ErrInvalidVoteExtension)
			}
			f.requireUnchanged(before)
		})
	}
	// Signer 1's good partial under signer 2's consensus address.
	bz, err := types.EncodeVoteExtension(good)
	require.NoError(t, err)
	require.ErrorIs(t, f.k.VerifyVoteExtension(f.ctx, consAddr(2), bz, nil), types.ErrInvalidVoteExtension)
	// A partial for an epoch whose beacon is recorded.
	f.record(f.beaconVotes(files, 1, 2))
	require.ErrorIs(t, f.k.VerifyVoteExtension(f.ctx, consAddr(3), bz, nil), types.ErrInvalidVoteExtension)
}

// Beacons and pending partials survive export and import, and only the
// latest BeaconsKept beacons are kept.
func TestBeaconGenesisAndPruning(t *testing.T) {
	f := newFixture(t)
	files := f.withConsensusAddresses()
	f.wireMixnet()
	for e := uint64(1); e <= types.BeaconsKept+2; e++ {
		f.record(f.beaconVotes(files, 1, 2))
		require.Equal(t, e, f.advanceEpoch().EpochId)
	}
	f.record(f.beaconVotes(files, 3)) // a partial of the next epoch, pending
	gs, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.Len(t, gs.Beacons, types.BeaconsKept)
	require.Equal(t, uint64(3), gs.Beacons[0].Epoch)
	require.Len(t, gs.BeaconShares, 1)
	require.NoError(t, gs.Validate())

	g := newFixture(t)
	g.ctx = g.ctx.WithBlockHeight(f.ctx.BlockHeight())
	gs2 := *gs
	require.NoError(t, g.k.InitGenesis(g.ctx, &gs2))
	back, err := g.k.ExportGenesis(g.ctx)
	require.NoError(t, err)
	require.Equal(t, gs.Beacons, back.Beacons)
	require.Equal(t, gs.BeaconShares, back.BeaconShares)

	// A beacon whose randomness is not its signature's is refused.
	bad := *gs
	bad.Beacons = append([]types.Beacon{}, gs.Beacons...)
	bad.Beacons[0].Randomness = make([]byte, 32)
	require.ErrorIs(t, bad.Validate(), types.ErrInvalidGenesis)
	dup := *gs
	dup.BeaconShares = append(append([]types.BeaconShare{}, gs.BeaconShares...), gs.BeaconShares...)
	require.ErrorIs(t, dup.Validate(), types.ErrInvalidGenesis)
}
