package keeper_test

import (
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

func dkgEvents(ctx sdk.Context, typ string) int {
	n := 0
	for _, e := range ctx.EventManager().Events() {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// Four honest validators run a whole round through the keeper: the key they
// form replaces the genesis key, which keeps verifying for the grace period,
// and a credential issued by three of their shares verifies and is spent.
func TestDKGHonestRound(t *testing.T) {
	f := newFixture(t)
	net := newDKGNet(f, 4)
	r := net.start()
	require.Equal(t, uint64(2), r.RoundId, "the round id is the next key id")
	require.Equal(t, uint32(3), r.Threshold)
	require.Equal(t, int64(2), r.StartHeight, "a round starts at the next block")
	require.Equal(t, []int64{4, 7, 10, 13}, r.PhaseEnds)

	for _, want := range []types.DKGPhase{types.DKG_PHASE_DEALING, types.DKG_PHASE_COMPLAINT, types.DKG_PHASE_KEY_SHARE, types.DKG_PHASE_COMPLETED} {
		r = net.phase()
		require.Equal(t, want, r.Phase)
	}
	for i, p := range r.Participants {
		require.Equal(t, uint32(i+1), p.Index)
		require.True(t, p.Dealt && p.KeyShared && !p.Complained && !p.Excluded, "participant %d: %+v", i, p)
	}
	ks, err := f.k.KeySets.Get(f.ctx, 2)
	require.NoError(t, err)
	require.Len(t, ks.PartialKeys, 4)
	require.Equal(t, uint32(3), ks.Threshold)
	old, err := f.k.KeySets.Get(f.ctx, 1)
	require.NoError(t, err)
	require.Equal(t, ks.ActivatedHeight, old.RetiredHeight, "the genesis key retires when the DKG's activates")
	require.Equal(t, 1, dkgEvents(f.ctx, "nyx.coconut.v1.EventDKGRoundEnded"))

	net.requireIssuesUnder(2)
	// A credential of the genesis key still spends within the grace period.
	cred, c := f.credential("old key holder", testDeposit)
	op := f.account("old key operator", 0)
	_, err = f.msg.SpendCredentials(f.ctx, &types.MsgSpendCredentials{Operator: f.addr(op), Entries: []types.SpendEntry{f.show(f.issuers, cred, c, op, "old")}})
	require.NoError(t, err)

	// Nothing more to send; the next round needs a reason to start.
	for i := range net.vs {
		require.Nil(t, net.message(i))
	}
	require.NoError(t, f.k.DKGEndBlocker(f.ctx, net.validators()))
	require.Equal(t, types.DKG_PHASE_COMPLETED, net.round().Phase, "same validators: no new round")
}

// A dealer whose dealing gives participant 1 a bad share is accused by it;
// the complaint, checked by the chain, excludes the dealer and the key forms
// from the other three dealings, with all four key shares.
func TestDKGBadDealerExcluded(t *testing.T) {
	f := newFixture(t)
	net := newDKGNet(f, 4)
	net.alter = corruptDealingTo1(1)
	net.start()
	net.phase() // registration
	r := net.phase()
	require.Equal(t, types.DKG_PHASE_COMPLAINT, r.Phase)

	// A true complaint sent with a false one is refused as a whole.
	g, err := r.DKG(testChainID)
	require.NoError(t, err)
	ds, err := types.QualifiedDealings(&r, net.dealings())
	require.NoError(t, err)
	valid, err := g.Complain(rand.Reader, ds[1], 1, net.vs[0].key)
	require.NoError(t, err)
	require.NoError(t, g.VerifyComplaint(ds[1], valid))
	falseOne, err := g.Complain(rand.Reader, ds[0], 1, net.vs[0].key)
	require.NoError(t, err)
	mixed, err := types.EncodeDKGComplaints(r.RoundId, []*coconut.Complaint{valid, falseOne})
	require.NoError(t, err)
	before := f.snapshot()
	require.ErrorIs(t, f.k.ProcessDKGMessage(f.ctx, net.vs[0].addr, mixed), types.ErrInvalidDKGMessage)
	f.requireUnchanged(before)

	r = net.phase()
	require.Equal(t, types.DKG_PHASE_KEY_SHARE, r.Phase)
	require.True(t, r.Participants[0].Complained)
	require.True(t, r.Participants[1].Excluded, "the bad dealer is excluded")
	require.Equal(t, []int{0, 2, 3}, r.Qualified())
	require.Equal(t, 1, dkgEvents(f.ctx, "nyx.coconut.v1.EventDKGDealerExcluded"))

	r = net.phase()
	require.Equal(t, types.DKG_PHASE_COMPLETED, r.Phase)
	ks, err := f.k.KeySets.Get(f.ctx, r.RoundId)
	require.NoError(t, err)
	require.Len(t, ks.PartialKeys, 4, "the excluded dealer still holds a share")
	net.requireIssuesUnder(r.RoundId)
}

// A dealer that deals nothing is not qualified; the key forms without it.
func TestDKGSilentDealerExcluded(t *testing.T) {
	f := newFixture(t)
	net := newDKGNet(f, 4)
	net.skipping(types.DKGDealing, 3)
	net.start()
	r := net.run()
	require.Equal(t, types.DKG_PHASE_COMPLETED, r.Phase)
	require.Equal(t, []int{0, 1, 2}, r.Qualified())
	net.requireIssuesUnder(r.RoundId)
}

// With two of four dealers silent, fewer than t = 3 remain: the round fails
// at the end of the dealing phase, the key stays, and a new round can start.
func TestDKGFewerThanThresholdFails(t *testing.T) {
	f := newFixture(t)
	net := newDKGNet(f, 4)
	net.skipping(types.DKGDealing, 0, 2)
	net.start()
	r := net.run()
	require.Equal(t, types.DKG_PHASE_FAILED, r.Phase)
	require.Equal(t, 1, dkgEvents(f.ctx, "nyx.coconut.v1.EventDKGRoundEnded"))
	cur, err := f.k.CurrentKeyID.Get(f.ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(1), cur, "the genesis key still issues")
	has, err := f.k.KeySets.Has(f.ctx, r.RoundId)
	require.NoError(t, err)
	require.False(t, has)

	// A failed round is followed by a new one (automatic start is on); this
	// time everyone deals, and its key takes the next id.
	net.skip = map[types.DKGMessageKind]map[int]bool{}
	require.NoError(t, f.k.DKGEndBlocker(f.ctx, net.validators()))
	r2 := net.round()
	require.Equal(t, r.RoundId+1, r2.RoundId)
	require.Empty(t, net.dealings(), "the failed round's dealings are dropped")
	f.ctx = f.ctx.WithBlockHeight(r2.StartHeight)
	require.Equal(t, types.DKG_PHASE_COMPLETED, net.run().Phase)
	net.requireIssuesUnder(r2.RoundId)
}

// Too few registrations fail the round at the end of registration.
func TestDKGTooFewRegistered(t *testing.T) {
	f := newFixture(t)
	net := newDKGNet(f, 4)
	net.skipping(types.DKGRegistration, 0, 1)
	net.start()
	r := net.phase()
	require.Equal(t, types.DKG_PHASE_FAILED, r.Phase)
}

// One of four does not register: the other three get indices 1..3 and, with
// t = 3 fixed from the four at the start, form the key together.
func TestDKGUnregisteredSitsOut(t *testing.T) {
	f := newFixture(t)
	net := newDKGNet(f, 4)
	net.skipping(types.DKGRegistration, 2)
	net.start()
	r := net.run()
	require.Equal(t, types.DKG_PHASE_COMPLETED, r.Phase)
	require.Equal(t, []uint32{1, 2, 0, 3}, []uint32{r.Participants[0].Index, r.Participants[1].Index, r.Participants[2].Index, r.Participants[3].Index})
	net.requireIssuesUnder(r.RoundId)
}

// corruptDealingTo1 makes the dealing of the validator at position give
// participant 1 a bad share (a 4-participant round, t = 3).
func corruptDealingTo1(position int) func(types.DKGMessageKind, int, []byte) []byte {
	return func(kind types.DKGMessageKind, pos int, msg []byte) []byte {
		if kind != types.DKGDealing || pos != position {
			return msg
		}
		// The first ciphertext (to participant 1) follows the header, E and the commitments.
		off := types.DKGHeaderSize + 8 + coconut.G1Size + coconut.G2Size*(coconut.BandwidthAttributes+1)*3
		bad := append([]byte(nil), msg...)
		bad[off+5] ^= 0x40
		return bad
	}
}
