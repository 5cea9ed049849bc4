package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"

	"github.com/nyx-privacy/nyx/x/vesting/types"
)

// TestGenesisRoundTrip: an exported state with coins in use loads back into an
// empty store and exports the same; a state whose accounts do not match the
// module account's balance is refused.
func TestGenesisRoundTrip(t *testing.T) {
	f := newFixture(t)
	owner := f.account("owner", 0)
	ownerStr := f.addr(owner)
	f.create(owner, 8_000_000, f.addr(f.account("delegate", 0)))
	node := f.bond(1, 1_000_000)
	_, err := f.msg.DelegateFromVesting(f.ctx, &types.MsgDelegateFromVesting{Sender: ownerStr, Owner: ownerStr, NodeId: node, Amount: coin(2_000_000)})
	require.NoError(t, err)
	f.nextEpoch()

	gs, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.NoError(t, gs.Validate())
	require.Len(t, gs.Accounts, 1)
	require.NoError(t, f.k.Accounts.Clear(f.ctx, nil))
	require.NoError(t, f.k.InitGenesis(f.ctx, gs))
	again, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.Equal(t, gs, again)
	f.checkInvariants()

	bad := *gs
	bad.Accounts = []types.VestingAccount{gs.Accounts[0]}
	bad.Accounts[0].Delegated = math.NewInt(1_000_000) // 1,000,000 more free than held
	require.NoError(t, f.k.Accounts.Clear(f.ctx, nil))
	require.ErrorIs(t, f.k.InitGenesis(f.ctx, &bad), types.ErrInvalidGenesis)

	dup := *gs
	dup.Accounts = append([]types.VestingAccount{}, gs.Accounts[0], gs.Accounts[0])
	require.ErrorIs(t, dup.Validate(), types.ErrInvalidGenesis)
}

// TestInvariantCatchesDrift: coins the accounts do not account for, and a
// vesting-paid delegation x/mixnet holds that the account does not record, each
// break the invariant.
func TestInvariantCatchesDrift(t *testing.T) {
	f := newFixture(t)
	owner := f.account("owner", 0)
	f.create(owner, 8_000_000, "")
	require.NoError(t, f.bank.MintCoins(f.ctx, minterName, sdkCoins(1)))
	require.NoError(t, f.bank.SendCoinsFromModuleToModule(f.ctx, minterName, types.ModuleName, sdkCoins(1)))
	require.ErrorContains(t, f.k.CheckFunds(f.ctx), "module account holds 8000001unym")

	g := newFixture(t)
	owner = g.account("owner", 0)
	g.create(owner, 8_000_000, "")
	node := g.bond(1, 1_000_000)
	ownerStr := g.addr(owner)
	_, err := g.msg.DelegateFromVesting(g.ctx, &types.MsgDelegateFromVesting{Sender: ownerStr, Owner: ownerStr, NodeId: node, Amount: coin(2_000_000)})
	require.NoError(t, err)
	a, err := g.k.Accounts.Get(g.ctx, owner)
	require.NoError(t, err)
	a.Delegated = math.ZeroInt()
	require.NoError(t, g.k.Accounts.Set(g.ctx, owner, a))
	require.ErrorContains(t, g.k.CheckFunds(g.ctx), "x/mixnet holds 2000000unym")
}
