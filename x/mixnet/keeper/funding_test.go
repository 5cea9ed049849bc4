package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

// TestPayerMustBeOwner: the keeper methods take the payer apart from the owner,
// but only the owner or the wired vesting module account may pay; with no vesting
// module wired, a third party's coins are refused for a bond, a pledge raise and
// a delegation, and nothing changes.
func TestPayerMustBeOwner(t *testing.T) {
	f := newFixture(t, 1_000_000)
	n := f.bond(1, 10_000)
	payer := f.account("payer", 1_000_000)
	owner := f.account("owner", 0)
	before := f.storeDump()
	_, err := f.k.Bond(f.ctx, payer, f.bondMsg(2, owner, 10_000))
	require.ErrorIs(t, err, types.ErrInvalidPayer)
	require.ErrorIs(t, f.k.PledgeMore(f.ctx, payer, n.owner, coin(1_000)), types.ErrInvalidPayer)
	require.ErrorIs(t, f.k.Delegate(f.ctx, payer, owner, n.id, coin(1_000)), types.ErrInvalidPayer)
	require.Equal(t, before, f.storeDump())
	require.Equal(t, int64(1_000_000), f.balance(payer).Int64())
	// A delegation paid by its delegator records no vesting part.
	require.NoError(t, f.k.Delegate(f.ctx, payer, payer, n.id, coin(1_000)))
	f.nextEpoch()
	d, err := f.k.Delegations.Get(f.ctx, pair(n.id, payer))
	require.NoError(t, err)
	require.True(t, d.VestingPart().IsZero())
	// Without a vesting part, Undelegate for x/vesting (vestingOnly) has nothing to take.
	require.ErrorIs(t, f.k.Undelegate(f.ctx, payer, n.id, coin(1), true), types.ErrInsufficientDelegation)
}
