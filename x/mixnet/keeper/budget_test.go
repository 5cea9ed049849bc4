package keeper_test

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"testing"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/stretchr/testify/require"

	"cosmossdk.io/collections"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

func withEventBudget(n uint32) fixtureOpt {
	return func(_ *fixture, gs *types.GenesisState) { gs.Params.MaxEpochEventsPerBlock = n }
}

// nextBlock runs the EndBlock of a block inside the epoch (one second later).
func (f *fixture) nextBlock() {
	f.t.Helper()
	e, err := f.k.Epoch.Get(f.ctx)
	require.NoError(f.t, err)
	f.height++
	h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(f.height)))
	f.ctx = f.ctx.WithBlockHeader(cmtproto.Header{
		ChainID: testChainID, Height: f.height, Time: f.ctx.BlockTime().Add(1e9),
		LastBlockId: cmtproto.BlockID{Hash: h[:]}, AppHash: h[:],
	})
	// A new block has its own events; one manager for the whole test only grows.
	f.ctx = f.ctx.WithEventManager(sdk.NewEventManager())
	require.NoError(f.t, f.k.EndBlocker(f.ctx))
	e2, err := f.k.Epoch.Get(f.ctx)
	require.NoError(f.t, err)
	require.Equal(f.t, e.EpochId, e2.EpochId, "the epoch must not end in nextBlock")
	f.checkInvariants()
}

func (f *fixture) queuedEvents() int {
	f.t.Helper()
	n := 0
	require.NoError(f.t, f.k.EpochEvents.Walk(f.ctx, nil, func(uint64, types.EpochEvent) (bool, error) { n++; return false, nil }))
	return n
}

func (f *fixture) nodeDelegations(id uint64) int {
	f.t.Helper()
	n := 0
	require.NoError(f.t, f.k.Delegations.Walk(f.ctx, collections.NewPrefixedPairRange[uint64, sdk.AccAddress](id),
		func(collections.Pair[uint64, sdk.AccAddress], types.Delegation) (bool, error) { n++; return false, nil }))
	return n
}

func (f *fixture) delegated(id uint64, d sdk.AccAddress) math.Int {
	f.t.Helper()
	del, err := f.k.Delegations.Get(f.ctx, pair(id, d))
	if err != nil {
		return math.ZeroInt()
	}
	return del.Amount.Amount
}

// An epoch boundary applies at most the budget of queued events; the rest follow,
// in order, in the next blocks, and events queued after the boundary wait for the
// next one.
func TestEpochEventsCarryOverInOrder(t *testing.T) {
	f := newFixture(t, 0, withEventBudget(100))
	n := f.bond(1, 5_000)
	f.nextEpoch()
	d := f.account("delegator", 1_000_000)
	for range 250 {
		_, err := f.msg.Delegate(f.ctx, &types.MsgDelegate{Delegator: f.addr(d), NodeId: n.id, Amount: coin(10)})
		require.NoError(t, err)
	}
	f.nextEpoch()
	require.Equal(t, 150, f.queuedEvents())
	require.Equal(t, math.NewInt(1_000), f.delegated(n.id, d))

	// Queued after the boundary: not due until the next one.
	late := f.account("late", 1_000)
	_, err := f.msg.Delegate(f.ctx, &types.MsgDelegate{Delegator: f.addr(late), NodeId: n.id, Amount: coin(7)})
	require.NoError(t, err)

	f.nextBlock()
	require.Equal(t, 51, f.queuedEvents())
	require.Equal(t, math.NewInt(2_000), f.delegated(n.id, d))
	f.nextBlock()
	require.Equal(t, 1, f.queuedEvents())
	require.Equal(t, math.NewInt(2_500), f.delegated(n.id, d))
	f.nextBlock()
	require.Equal(t, 1, f.queuedEvents())
	require.True(t, f.delegated(n.id, late).IsZero())

	f.nextEpoch()
	require.Equal(t, 0, f.queuedEvents())
	require.Equal(t, math.NewInt(7), f.delegated(n.id, late))
}

// Unbonding a node with 10,000 delegations returns them over several blocks, at most
// the budget per block, and events queued behind it wait for it.
func TestUnbondManyDelegationsAcrossBlocks(t *testing.T) {
	const delegators, budget = 10_000, 1_000
	f := newFixture(t, 0, withEventBudget(delegators+10))
	n := f.bond(1, 5_000)
	other := f.bond(2, 5_000)
	f.nextEpoch()
	addrs := make([]sdk.AccAddress, delegators)
	for i := range addrs {
		f.ctx = f.ctx.WithEventManager(sdk.NewEventManager())
		addrs[i] = f.account(fmt.Sprintf("d%d", i), 10)
		_, err := f.msg.Delegate(f.ctx, &types.MsgDelegate{Delegator: f.addr(addrs[i]), NodeId: n.id, Amount: coin(10)})
		require.NoError(t, err)
	}
	f.nextEpoch()
	require.Equal(t, delegators, f.nodeDelegations(n.id))

	p, err := f.k.Params.Get(f.ctx)
	require.NoError(t, err)
	p.MaxEpochEventsPerBlock = budget
	require.NoError(t, f.k.Params.Set(f.ctx, p))
	_, err = f.msg.UnbondNode(f.ctx, &types.MsgUnbondNode{Owner: f.addr(n.owner)})
	require.NoError(t, err)
	// Queued behind the unbonding.
	behind := f.account("behind", 100)
	_, err = f.msg.Delegate(f.ctx, &types.MsgDelegate{Delegator: f.addr(behind), NodeId: other.id, Amount: coin(100)})
	require.NoError(t, err)

	f.nextEpoch()
	left := f.nodeDelegations(n.id)
	require.Equal(t, delegators-budget, left)
	node, err := f.k.Nodes.Get(f.ctx, n.id)
	require.NoError(t, err, "the node stays until its last delegation is returned")
	require.True(t, node.Unbonding)
	_, err = f.k.NodeRoles.Get(f.ctx, n.id)
	require.Error(t, err, "an unbonding node holds no role")
	require.True(t, f.delegated(other.id, behind).IsZero())

	blocks := 0
	for left > 0 {
		f.nextBlock()
		blocks++
		now := f.nodeDelegations(n.id)
		require.LessOrEqual(t, left-now, budget, "one block returned more than the budget")
		require.Positive(t, left-now)
		left = now
	}
	require.Equal(t, delegators/budget-1, blocks)
	has, err := f.k.Nodes.Has(f.ctx, n.id)
	require.NoError(t, err)
	require.False(t, has)
	require.Equal(t, math.NewInt(10), f.balance(addrs[0]))
	require.Equal(t, math.NewInt(10), f.balance(addrs[delegators-1]))
	require.Equal(t, math.NewInt(5_000), f.balance(n.owner))
	// The unbonding finished in that block; the delegation behind it follows in the next.
	f.nextBlock()
	require.Equal(t, math.NewInt(100), f.delegated(other.id, behind))
}

// No more can be queued for undelegation than the delegation holds.
func TestUndelegateCannotExceedQueued(t *testing.T) {
	f := newFixture(t, 0)
	n := f.bond(1, 5_000)
	f.nextEpoch()
	d := f.account("delegator", 100)
	_, err := f.msg.Delegate(f.ctx, &types.MsgDelegate{Delegator: f.addr(d), NodeId: n.id, Amount: coin(100)})
	require.NoError(t, err)
	f.nextEpoch()

	undelegate := func(amount int64) error {
		_, err := f.msg.Undelegate(f.ctx, &types.MsgUndelegate{Delegator: f.addr(d), NodeId: n.id, Amount: coin(amount)})
		return err
	}
	require.NoError(t, undelegate(60))
	before := f.storeDump()
	require.ErrorIs(t, undelegate(60), types.ErrInsufficientDelegation)
	require.Equal(t, before, f.storeDump())
	require.NoError(t, undelegate(40))
	require.ErrorIs(t, undelegate(1), types.ErrInsufficientDelegation)
	require.Equal(t, 2, f.queuedEvents())

	f.nextEpoch()
	require.True(t, f.delegated(n.id, d).IsZero())
	require.Equal(t, math.NewInt(100), f.balance(d))
	has, err := f.k.PendingUndelegations.Has(f.ctx, pair(n.id, d))
	require.NoError(t, err)
	require.False(t, has, "applied undelegations are no longer pending")
}

// However often an owner changes its cost params, one change per node waits for the
// interval boundary: the last.
func TestCostParamChangesOnePerNode(t *testing.T) {
	f := newFixture(t, 0)
	n := f.bond(1, 5_000)
	other := f.bond(2, 5_000)
	for i := range 100 {
		_, err := f.msg.UpdateCostParams(f.ctx, &types.MsgUpdateCostParams{Owner: f.addr(n.owner), IntervalOperatingCost: coin(int64(i + 1))})
		require.NoError(t, err)
	}
	_, err := f.msg.UpdateCostParams(f.ctx, &types.MsgUpdateCostParams{Owner: f.addr(other.owner), IntervalOperatingCost: coin(7)})
	require.NoError(t, err)
	queued := 0
	require.NoError(t, f.k.IntervalEvents.Walk(f.ctx, nil, func(uint64, types.IntervalEvent) (bool, error) { queued++; return false, nil }))
	require.Equal(t, 2, queued)
	for range 4 { // to the interval boundary
		f.nextEpoch()
	}
	node, err := f.k.Nodes.Get(f.ctx, n.id)
	require.NoError(t, err)
	require.Equal(t, coin(100), node.CostParams.IntervalOperatingCost)
	node, err = f.k.Nodes.Get(f.ctx, other.id)
	require.NoError(t, err)
	require.Equal(t, coin(7), node.CostParams.IntervalOperatingCost)
	has, err := f.k.IntervalEventByNode.Has(f.ctx, n.id)
	require.NoError(t, err)
	require.False(t, has)
}
