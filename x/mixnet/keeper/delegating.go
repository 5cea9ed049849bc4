package keeper

import (
	"context"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

// The delegator's coin-moving operations, shared by the Msg handlers and x/vesting
// as the owner's are (bonding.go).

// Delegate takes amount from payer now; delegator's delegation to the node grows
// by it at the epoch boundary.
func (k Keeper) Delegate(ctx context.Context, payer, delegator sdk.AccAddress, nodeID uint64, amount sdk.Coin) error {
	node, err := k.getNode(ctx, nodeID)
	if err != nil {
		return err
	}
	if node.Unbonding {
		return errorsmod.Wrapf(types.ErrNodeUnbonding, "cannot delegate to node %d", node.NodeId)
	}
	fromVesting, err := k.collectFrom(ctx, payer, delegator, amount)
	if err != nil {
		return err
	}
	addr, err := k.addressCodec.BytesToString(delegator)
	if err != nil {
		return err
	}
	id, err := k.queue(ctx, types.EpochEvent{Kind: &types.EpochEvent_Delegate{Delegate: &types.DelegateEvent{
		NodeId: nodeID, Delegator: addr, Amount: amount, FromVesting: fromVesting,
	}}})
	if err != nil {
		return err
	}
	return emit(ctx, &types.EventDelegationQueued{NodeId: nodeID, Delegator: addr, EventId: id, Amount: amount})
}

// Undelegate queues the return of amount of delegator's delegation to the node,
// with its reward. The part paid from vesting goes back first, to the vesting
// module; with vestingOnly (x/vesting's undelegation) amount may not exceed that
// part less what earlier queued undelegations will take.
func (k Keeper) Undelegate(ctx context.Context, delegator sdk.AccAddress, nodeID uint64, amount sdk.Coin, vestingOnly bool) error {
	if amount.Denom != types.Denom || !amount.Amount.IsPositive() {
		return errorsmod.Wrapf(types.ErrInvalidAmount, "amount %s must be positive %s", amount, types.Denom)
	}
	key := collections.Join(nodeID, delegator)
	d, err := k.Delegations.Get(ctx, key)
	if err != nil {
		if errorsmod.IsOf(err, collections.ErrNotFound) {
			return errorsmod.Wrapf(types.ErrDelegationNotFound, "%s has no delegation to node %d", delegator, nodeID)
		}
		return err
	}
	// Earlier undelegations still queued count against the delegation, so the
	// queue cannot be filled with undelegations of the same coins.
	pending, err := k.PendingUndelegations.Get(ctx, key)
	if errorsmod.IsOf(err, collections.ErrNotFound) {
		pending = math.ZeroInt()
	} else if err != nil {
		return err
	}
	if free := d.Amount.Amount.Sub(pending); amount.Amount.GT(free) {
		return errorsmod.Wrapf(types.ErrInsufficientDelegation, "undelegating %s from a delegation of %s of which %s%s is already being undelegated",
			amount, d.Amount, pending, types.Denom)
	}
	if free := d.VestingPart().Sub(pending); vestingOnly && amount.Amount.GT(free) {
		return errorsmod.Wrapf(types.ErrInsufficientDelegation, "undelegating %s from the %s%s of a delegation paid from vesting, of which %s%s is already being undelegated",
			amount, d.VestingPart(), types.Denom, pending, types.Denom)
	}
	addr, err := k.addressCodec.BytesToString(delegator)
	if err != nil {
		return err
	}
	id, err := k.queue(ctx, types.EpochEvent{Kind: &types.EpochEvent_Undelegate{Undelegate: &types.UndelegateEvent{
		NodeId: nodeID, Delegator: addr, Amount: amount,
	}}})
	if err != nil {
		return err
	}
	if err := k.PendingUndelegations.Set(ctx, key, pending.Add(amount.Amount)); err != nil {
		return err
	}
	return emit(ctx, &types.EventDelegationQueued{NodeId: nodeID, Delegator: addr, EventId: id, Undelegate: true, Amount: amount})
}

// WithdrawDelegatorReward settles delegator's delegation to the node and pays its
// reward to the delegator now, whoever paid the delegation.
func (k Keeper) WithdrawDelegatorReward(ctx context.Context, delegator sdk.AccAddress, nodeID uint64) (sdk.Coin, error) {
	key := collections.Join(nodeID, delegator)
	d, err := k.Delegations.Get(ctx, key)
	if err != nil {
		if errorsmod.IsOf(err, collections.ErrNotFound) {
			return sdk.Coin{}, errorsmod.Wrapf(types.ErrDelegationNotFound, "%s has no delegation to node %d", delegator, nodeID)
		}
		return sdk.Coin{}, err
	}
	node, err := k.getNode(ctx, nodeID)
	if err != nil {
		return sdk.Coin{}, err
	}
	rn, rd := node.Rewarding(), d.Rewarding()
	reward, err := rn.Settle(&rd)
	if err != nil {
		return sdk.Coin{}, errorsmod.Wrap(types.ErrRewarding, err.Error())
	}
	if !reward.IsPositive() {
		return sdk.Coin{}, errorsmod.Wrapf(types.ErrNoReward, "delegation of %s to node %d has no reward", delegator, nodeID)
	}
	node.SetRewarding(rn)
	d.SetRewarding(rd)
	if err := k.Nodes.Set(ctx, node.NodeId, node); err != nil {
		return sdk.Coin{}, err
	}
	if err := k.Delegations.Set(ctx, key, d); err != nil {
		return sdk.Coin{}, err
	}
	if err := k.pay(ctx, delegator, reward); err != nil {
		return sdk.Coin{}, err
	}
	paid := sdk.NewCoin(types.Denom, reward)
	return paid, emit(ctx, &types.EventRewardWithdrawn{NodeId: node.NodeId, Address: d.Delegator, Amount: paid})
}

// FundRewardPool moves amount of sender's unym into the reward pool.
func (k Keeper) FundRewardPool(ctx context.Context, sender sdk.AccAddress, amount sdk.Coin) error {
	addr, err := k.addressCodec.BytesToString(sender)
	if err != nil {
		return err
	}
	if err := k.collect(ctx, sender, amount); err != nil {
		return err
	}
	if err := k.addToPool(ctx, amount.Amount); err != nil {
		return err
	}
	return emit(ctx, &types.EventRewardPoolFunded{Sender: addr, Amount: amount})
}
