package keeper_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"

	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
	"github.com/nyx-privacy/nyx/x/vesting/types"
)

// TestLockedCoinsAtWork follows one account through its life: delegated and
// pledged while locked, rewards to the owner, vested coins withdrawn, coins
// coming back to the account (never to the owner) on undelegation and unbonding,
// then given to a new owner; both modules' invariants hold after every step.
func TestLockedCoinsAtWork(t *testing.T) {
	f := newFixture(t)
	owner, delegate := f.account("owner", 0), f.account("delegate", 0)
	f.create(owner, 8_000_000, f.addr(delegate))
	a, b := f.acct(owner)
	require.Equal(t, f.addr(delegate), a.StakingDelegate)
	require.Equal(t, int64(8_000_000), b.Locked.Int64())
	require.True(t, b.Vested.IsZero())
	require.True(t, b.Spendable.IsZero())
	require.Equal(t, int64(800_000), b.PledgeCap.Int64())

	node := f.bond(1, 1_000_000)
	ownerStr := f.addr(owner)
	_, err := f.msg.DelegateFromVesting(f.ctx, &types.MsgDelegateFromVesting{Sender: ownerStr, Owner: ownerStr, NodeId: node, Amount: coin(3_000_000)})
	require.NoError(t, err)
	f.checkInvariants()
	_, b = f.acct(owner)
	require.Equal(t, int64(3_000_000), b.Delegated.Int64())
	require.Equal(t, int64(5_000_000), b.Free.Int64())

	// The staking delegate bonds the owner's node with locked coins, up to the cap.
	bond := f.bondMsg(2, owner, 800_000)
	resp, err := f.msg.BondNodeFromVesting(f.ctx, &types.MsgBondNodeFromVesting{Sender: f.addr(delegate), Bond: *bond})
	require.NoError(t, err)
	f.checkInvariants()
	n, err := f.mk.Nodes.Get(f.ctx, resp.NodeId)
	require.NoError(t, err)
	require.Equal(t, ownerStr, n.Owner)
	require.Equal(t, int64(800_000), n.VestingPart().Int64())

	f.nextEpoch() // the delegation applies
	d, err := f.mq.Delegation(f.ctx, &mixnettypes.QueryDelegationRequest{NodeId: node, Delegator: ownerStr})
	require.NoError(t, err)
	require.Equal(t, int64(3_000_000), d.Delegation.VestingPart().Int64())
	f.nextEpoch()
	f.nextEpoch()

	// Rewards earned with locked coins are the owner's, at once.
	r, err := f.mmsg.WithdrawDelegatorReward(f.ctx, &mixnettypes.MsgWithdrawDelegatorReward{Delegator: ownerStr, NodeId: node})
	require.NoError(t, err)
	require.True(t, r.Amount.IsPositive())
	require.Equal(t, r.Amount.Amount, f.balance(owner))
	rewards := r.Amount.Amount
	f.checkInvariants()

	// Three months on: one period has vested; only it can be withdrawn.
	f.at(genesisTime.Add(3*month*time.Second + time.Hour))
	_, b = f.acct(owner)
	require.Equal(t, int64(1_000_000), b.Vested.Int64())
	require.Equal(t, int64(1_000_000), b.Spendable.Int64())
	_, err = f.msg.WithdrawVested(f.ctx, &types.MsgWithdrawVested{Owner: ownerStr, Amount: coin(1_000_001)})
	require.ErrorIs(t, err, types.ErrNotVested)
	_, err = f.msg.WithdrawVested(f.ctx, &types.MsgWithdrawVested{Owner: ownerStr, Amount: coin(1_000_000)})
	require.NoError(t, err)
	require.Equal(t, rewards.AddRaw(1_000_000), f.balance(owner))
	f.checkInvariants()

	// Undelegating sends the coins back to the account, the reward to the owner.
	_, err = f.msg.UndelegateFromVesting(f.ctx, &types.MsgUndelegateFromVesting{Sender: f.addr(delegate), Owner: ownerStr, NodeId: node, Amount: coin(3_000_000)})
	require.NoError(t, err)
	before := f.balance(owner)
	moduleBefore := f.balance(f.k.ModuleAddress())
	f.nextEpoch()
	require.Equal(t, moduleBefore.AddRaw(3_000_000), f.balance(f.k.ModuleAddress()))
	require.True(t, f.balance(owner).GTE(before)) // the reward only
	_, b = f.acct(owner)
	require.True(t, b.Delegated.IsZero())

	// Unbonding the owner's node returns its pledge to the account.
	_, err = f.mmsg.UnbondNode(f.ctx, &mixnettypes.MsgUnbondNode{Owner: ownerStr})
	require.NoError(t, err)
	f.nextEpoch()
	_, b = f.acct(owner)
	require.True(t, b.Pledged.IsZero())
	require.Equal(t, int64(7_000_000), b.Free.Int64())
	require.Equal(t, int64(7_000_000), f.balance(f.k.ModuleAddress()).Int64())

	// With nothing in use the account can change hands; the delegate goes.
	newOwner := f.account("new-owner", 0)
	_, err = f.msg.TransferOwnership(f.ctx, &types.MsgTransferOwnership{Owner: ownerStr, NewOwner: f.addr(newOwner)})
	require.NoError(t, err)
	a, _ = f.acct(newOwner)
	require.Empty(t, a.StakingDelegate)
	_, err = f.q.Account(f.ctx, &types.QueryAccountRequest{Owner: ownerStr})
	require.Error(t, err)
	f.checkInvariants()

	// After the last period everything left is the new owner's to withdraw.
	f.at(genesisTime.Add(24*month*time.Second + time.Hour))
	_, err = f.msg.WithdrawVested(f.ctx, &types.MsgWithdrawVested{Owner: f.addr(newOwner), Amount: coin(7_000_000)})
	require.NoError(t, err)
	require.Equal(t, int64(7_000_000), f.balance(newOwner).Int64())
	require.True(t, f.balance(f.k.ModuleAddress()).IsZero())
	f.checkInvariants()
}

// TestPledgeCapAbsolute: an absolute cap replaces the share, and pledge raises
// count against it.
func TestPledgeCapAbsolute(t *testing.T) {
	f := newFixture(t)
	p := types.DefaultParams()
	p.PledgeCapAbsolute = math.NewInt(1_500_000)
	_, err := f.msg.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.authority, Params: p})
	require.NoError(t, err)
	owner := f.account("owner", 0)
	ownerStr := f.addr(owner)
	f.create(owner, 8_000_000, "")
	_, err = f.msg.BondNodeFromVesting(f.ctx, &types.MsgBondNodeFromVesting{Sender: ownerStr, Bond: *f.bondMsg(1, owner, 1_000_000)})
	require.NoError(t, err)
	_, err = f.msg.PledgeMoreFromVesting(f.ctx, &types.MsgPledgeMoreFromVesting{Sender: ownerStr, Owner: ownerStr, Amount: coin(500_001)})
	require.ErrorIs(t, err, types.ErrPledgeCap)
	_, err = f.msg.PledgeMoreFromVesting(f.ctx, &types.MsgPledgeMoreFromVesting{Sender: ownerStr, Owner: ownerStr, Amount: coin(500_000)})
	require.NoError(t, err)
	f.checkInvariants()
	f.nextEpoch()
	n, err := f.mq.NodeByOwner(f.ctx, &mixnettypes.QueryNodeByOwnerRequest{Owner: ownerStr})
	require.NoError(t, err)
	require.Equal(t, int64(1_500_000), n.Node.VestingPart().Int64())

	// A decrease returns the vesting part first, to the account.
	_, err = f.mmsg.DecreasePledge(f.ctx, &mixnettypes.MsgDecreasePledge{Owner: ownerStr, Amount: coin(400_000)})
	require.NoError(t, err)
	f.nextEpoch()
	_, b := f.acct(owner)
	require.Equal(t, int64(1_100_000), b.Pledged.Int64())
	require.True(t, f.balance(owner).IsZero())
}

// TestMixedDelegation: an owner delegating both their own and vesting coins to
// one node gets the vesting part back into the account first, the rest (and the
// reward) to their balance.
func TestMixedDelegation(t *testing.T) {
	f := newFixture(t)
	owner := f.account("owner", 2_000_000)
	ownerStr := f.addr(owner)
	f.create(owner, 8_000_000, "")
	node := f.bond(1, 1_000_000)
	_, err := f.mmsg.Delegate(f.ctx, &mixnettypes.MsgDelegate{Delegator: ownerStr, NodeId: node, Amount: coin(2_000_000)})
	require.NoError(t, err)
	_, err = f.msg.DelegateFromVesting(f.ctx, &types.MsgDelegateFromVesting{Sender: ownerStr, Owner: ownerStr, NodeId: node, Amount: coin(1_000_000)})
	require.NoError(t, err)
	f.nextEpoch()
	// The account's own undelegation may take only its part.
	_, err = f.msg.UndelegateFromVesting(f.ctx, &types.MsgUndelegateFromVesting{Sender: ownerStr, Owner: ownerStr, NodeId: node, Amount: coin(1_000_001)})
	require.ErrorIs(t, err, mixnettypes.ErrInsufficientDelegation)
	_, err = f.mmsg.Undelegate(f.ctx, &mixnettypes.MsgUndelegate{Delegator: ownerStr, NodeId: node, Amount: coin(1_500_000)})
	require.NoError(t, err)
	f.nextEpoch()
	_, b := f.acct(owner)
	require.True(t, b.Delegated.IsZero())
	// 500,000 of the owner's own coins plus the reward; the account got exactly its part.
	require.True(t, f.balance(owner).GT(math.NewInt(500_000)))
	require.Equal(t, int64(8_000_000), f.balance(f.k.ModuleAddress()).Int64())
}
