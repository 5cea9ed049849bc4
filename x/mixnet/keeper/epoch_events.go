package keeper

import (
	"context"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

// applyDueEvents applies the due epoch events (ids up to due), oldest first, doing
// at most about budget units of work: one per event, one per delegation an
// unbonding returns. An unbonding cut short by the budget stays at the head of
// the queue and goes on in the next block, so the order of events is kept. It
// returns the units of work done.
func (k Keeper) applyDueEvents(ctx context.Context, params types.Params, due uint64, budget int) (int, error) {
	if due == 0 || budget <= 0 {
		return 0, nil
	}
	// Every event costs at least one unit: the first budget due events are all
	// this block can reach.
	it, err := k.EpochEvents.Iterate(ctx, new(collections.Range[uint64]).EndInclusive(due))
	if err != nil {
		return 0, err
	}
	var events []types.EpochEvent
	for ; it.Valid() && len(events) < budget; it.Next() {
		ev, err := it.Value()
		if err != nil {
			it.Close()
			return 0, err
		}
		events = append(events, ev)
	}
	it.Close()
	used := 0
	for _, ev := range events {
		if used >= budget {
			break
		}
		n, done, err := k.applyEpochEvent(ctx, params, ev, budget-used)
		if err != nil {
			return used, errorsmod.Wrapf(err, "event %d", ev.Id)
		}
		used += n
		if !done {
			break
		}
		if err := k.EpochEvents.Remove(ctx, ev.Id); err != nil {
			return used, err
		}
	}
	return used, nil
}

// applyEpochEvent applies one event with budget (at least 1) units of work and
// returns the units used and whether the event is finished.
func (k Keeper) applyEpochEvent(ctx context.Context, params types.Params, ev types.EpochEvent, budget int) (int, bool, error) {
	var err error
	switch e := ev.Kind.(type) {
	case *types.EpochEvent_Delegate:
		err = k.applyDelegate(ctx, e.Delegate)
	case *types.EpochEvent_Undelegate:
		err = k.applyUndelegate(ctx, e.Undelegate)
	case *types.EpochEvent_PledgeMore:
		err = k.applyPledgeMore(ctx, e.PledgeMore)
	case *types.EpochEvent_DecreasePledge:
		err = k.applyDecreasePledge(ctx, params, e.DecreasePledge)
	case *types.EpochEvent_Unbond:
		return k.applyUnbond(ctx, e.Unbond.NodeId, budget)
	default:
		err = errorsmod.Wrap(types.ErrInvalidGenesis, "epoch event without a kind")
	}
	return 1, err == nil, err
}

// liveNode returns the node if it is bonded and not unbonding.
func (k Keeper) liveNode(ctx context.Context, id uint64) (types.Node, bool, error) {
	node, err := k.Nodes.Get(ctx, id)
	if errorsmod.IsOf(err, collections.ErrNotFound) {
		return types.Node{}, false, nil
	} else if err != nil {
		return types.Node{}, false, err
	}
	return node, !node.Unbonding, nil
}

func (k Keeper) applyDelegate(ctx context.Context, e *types.DelegateEvent) error {
	delegator, err := k.parseAddress("delegator", e.Delegator)
	if err != nil {
		return err
	}
	node, ok, err := k.liveNode(ctx, e.NodeId)
	if err != nil {
		return err
	}
	if !ok {
		// The node left or is leaving: the deposit goes back to whoever paid it.
		if err := k.giveBack(ctx, delegator, false, e.Amount.Amount, vestingShare(e.FromVesting, e.Amount.Amount)); err != nil {
			return err
		}
		return emit(ctx, &types.EventDelegationChanged{NodeId: e.NodeId, Delegator: e.Delegator, Amount: sdk.NewCoin(types.Denom, math.ZeroInt()), Returned: e.Amount})
	}
	key := collections.Join(e.NodeId, delegator)
	d, err := k.Delegations.Get(ctx, key)
	if errorsmod.IsOf(err, collections.ErrNotFound) {
		d = types.Delegation{NodeId: e.NodeId, Delegator: e.Delegator}
	} else if err != nil {
		return err
	}
	rn, rd := node.Rewarding(), d.Rewarding()
	if d.Amount.Amount.IsNil() {
		rd = rdZero()
	}
	reward, err := rn.Delegate(&rd, e.Amount.Amount)
	if err != nil {
		return errorsmod.Wrap(types.ErrRewarding, err.Error())
	}
	node.SetRewarding(rn)
	d.SetRewarding(rd)
	d.VestingAmount = d.VestingPart().Add(vestingShare(e.FromVesting, e.Amount.Amount))
	d.Height = sdk.UnwrapSDKContext(ctx).BlockHeight()
	if err := k.Nodes.Set(ctx, node.NodeId, node); err != nil {
		return err
	}
	if err := k.Delegations.Set(ctx, key, d); err != nil {
		return err
	}
	if err := k.DelegatorIndex.Set(ctx, collections.Join(delegator, e.NodeId)); err != nil {
		return err
	}
	if err := k.pay(ctx, delegator, reward); err != nil {
		return err
	}
	return emit(ctx, &types.EventDelegationChanged{NodeId: e.NodeId, Delegator: e.Delegator, Amount: d.Amount, Returned: sdk.NewCoin(types.Denom, reward)})
}

// removeDelegation settles and takes amount (at most the delegation) out of a
// delegation, pays the delegator amount plus the reward, and deletes the record
// once empty. The part paid from vesting comes out first and goes back to the
// vesting module; the reward always goes to the delegator. node is updated in place; the caller saves it.
func (k Keeper) removeDelegation(ctx context.Context, node *types.Node, d types.Delegation, amount math.Int) error {
	delegator, err := k.parseAddress("delegator", d.Delegator)
	if err != nil {
		return err
	}
	if amount.GT(d.Amount.Amount) {
		amount = d.Amount.Amount
	}
	rn, rd := node.Rewarding(), d.Rewarding()
	reward, err := rn.Undelegate(&rd, amount)
	if err != nil {
		return errorsmod.Wrap(types.ErrRewarding, err.Error())
	}
	dust, err := rn.TakeDust()
	if err != nil {
		return errorsmod.Wrap(types.ErrRewarding, err.Error())
	}
	node.SetRewarding(rn)
	d.SetRewarding(rd)
	vesting := math.MinInt(amount, d.VestingPart())
	d.VestingAmount = d.VestingPart().Sub(vesting)
	key := collections.Join(d.NodeId, delegator)
	if d.Amount.Amount.IsZero() {
		if err := k.Delegations.Remove(ctx, key); err != nil {
			return err
		}
		if err := k.DelegatorIndex.Remove(ctx, collections.Join(delegator, d.NodeId)); err != nil {
			return err
		}
	} else if err := k.Delegations.Set(ctx, key, d); err != nil {
		return err
	}
	if err := k.addToPool(ctx, dust); err != nil {
		return err
	}
	returned := amount.Add(reward)
	if err := k.giveBack(ctx, delegator, false, returned, vesting); err != nil {
		return err
	}
	return emit(ctx, &types.EventDelegationChanged{NodeId: d.NodeId, Delegator: d.Delegator, Amount: d.Amount, Returned: sdk.NewCoin(types.Denom, returned)})
}

func (k Keeper) applyUndelegate(ctx context.Context, e *types.UndelegateEvent) error {
	delegator, err := k.parseAddress("delegator", e.Delegator)
	if err != nil {
		return err
	}
	if err := k.releasePending(ctx, collections.Join(e.NodeId, delegator), e.Amount.Amount); err != nil {
		return err
	}
	d, err := k.Delegations.Get(ctx, collections.Join(e.NodeId, delegator))
	if errorsmod.IsOf(err, collections.ErrNotFound) {
		return nil // already returned (the node unbonded, or an earlier undelegation took it all)
	} else if err != nil {
		return err
	}
	node, err := k.Nodes.Get(ctx, e.NodeId)
	if err != nil {
		return err
	}
	if err := k.removeDelegation(ctx, &node, d, e.Amount.Amount); err != nil {
		return err
	}
	return k.Nodes.Set(ctx, node.NodeId, node)
}

func (k Keeper) applyPledgeMore(ctx context.Context, e *types.PledgeChangeEvent) error {
	node, err := k.Nodes.Get(ctx, e.NodeId)
	if errorsmod.IsOf(err, collections.ErrNotFound) {
		owner, err := k.parseAddress("owner", e.Owner)
		if err != nil {
			return err
		}
		return k.giveBack(ctx, owner, true, e.Amount.Amount, vestingShare(e.FromVesting, e.Amount.Amount))
	} else if err != nil {
		return err
	}
	rn := node.Rewarding()
	if err := rn.IncreasePledge(e.Amount.Amount); err != nil {
		return errorsmod.Wrap(types.ErrRewarding, err.Error())
	}
	node.SetRewarding(rn)
	node.VestingPledge = node.VestingPart().Add(vestingShare(e.FromVesting, e.Amount.Amount))
	if err := k.Nodes.Set(ctx, node.NodeId, node); err != nil {
		return err
	}
	return emit(ctx, &types.EventPledgeChanged{NodeId: node.NodeId, NewPledge: node.Pledge})
}

func (k Keeper) applyDecreasePledge(ctx context.Context, params types.Params, e *types.PledgeChangeEvent) error {
	node, err := k.Nodes.Get(ctx, e.NodeId)
	if errorsmod.IsOf(err, collections.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	rest := node.Pledge.Amount.Sub(e.Amount.Amount)
	if rest.LT(params.MinimumPledge.Amount) {
		// An earlier decrease or a raised minimum got there first: nothing changes.
		k.Logger(ctx).Info("pledge decrease skipped: it would go below the minimum", "node", node.NodeId, "amount", e.Amount)
		return nil
	}
	owner, err := k.parseAddress("owner", node.Owner)
	if err != nil {
		return err
	}
	rn := node.Rewarding()
	if err := rn.DecreasePledge(e.Amount.Amount); err != nil {
		return errorsmod.Wrap(types.ErrRewarding, err.Error())
	}
	node.SetRewarding(rn)
	vesting := math.MinInt(e.Amount.Amount, node.VestingPart())
	node.VestingPledge = node.VestingPart().Sub(vesting)
	if err := k.Nodes.Set(ctx, node.NodeId, node); err != nil {
		return err
	}
	if err := k.giveBack(ctx, owner, true, e.Amount.Amount, vesting); err != nil {
		return err
	}
	return emit(ctx, &types.EventPledgeChanged{NodeId: node.NodeId, NewPledge: node.Pledge})
}

// releasePending takes an applied undelegation's amount off the delegation's
// pending sum.
func (k Keeper) releasePending(ctx context.Context, key collections.Pair[uint64, sdk.AccAddress], amount math.Int) error {
	pending, err := k.PendingUndelegations.Get(ctx, key)
	if errorsmod.IsOf(err, collections.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if rest := pending.Sub(amount); rest.IsPositive() {
		return k.PendingUndelegations.Set(ctx, key, rest)
	}
	return k.PendingUndelegations.Remove(ctx, key)
}

// applyUnbond removes a node: every delegation is returned with its reward, the
// owner gets the pledge and the operator reward, rounding dust goes to the pool.
// A node with more delegations than budget returns budget of them and reports the
// event unfinished: the rest are returned in the next blocks, and the node stays
// (unbonding, drawn for no role) until its last delegation is gone. It returns the
// units of work used (one per delegation, one to remove the node).
func (k Keeper) applyUnbond(ctx context.Context, id uint64, budget int) (int, bool, error) {
	node, err := k.Nodes.Get(ctx, id)
	if errorsmod.IsOf(err, collections.ErrNotFound) {
		return 1, true, nil
	} else if err != nil {
		return 0, false, err
	}
	it, err := k.Delegations.Iterate(ctx, collections.NewPrefixedPairRange[uint64, sdk.AccAddress](id))
	if err != nil {
		return 0, false, err
	}
	var ds []types.Delegation
	for ; it.Valid() && len(ds) <= budget; it.Next() {
		d, err := it.Value()
		if err != nil {
			it.Close()
			return 0, false, err
		}
		ds = append(ds, d)
	}
	it.Close()
	more := len(ds) > budget
	if more {
		ds = ds[:budget]
	}
	for _, d := range ds {
		if err := k.removeDelegation(ctx, &node, d, d.Amount.Amount); err != nil {
			return 0, false, err
		}
	}
	if more {
		return len(ds), false, k.Nodes.Set(ctx, id, node)
	}
	owner, err := k.parseAddress("owner", node.Owner)
	if err != nil {
		return 0, false, err
	}
	rn := node.Rewarding()
	reward, err := rn.WithdrawOperatorReward()
	if err != nil {
		return 0, false, errorsmod.Wrap(types.ErrRewarding, err.Error())
	}
	dust, err := rn.TakeDust()
	if err != nil {
		return 0, false, errorsmod.Wrap(types.ErrRewarding, err.Error())
	}
	if err := k.addToPool(ctx, dust); err != nil {
		return 0, false, err
	}
	returned := rn.Pledge.Add(reward)
	if err := k.giveBack(ctx, owner, true, returned, node.VestingPart()); err != nil {
		return 0, false, err
	}
	if err := k.indexNode(ctx, node, true); err != nil {
		return 0, false, err
	}
	if err := k.NodeRoles.Remove(ctx, id); err != nil {
		return 0, false, err
	}
	if err := k.Nodes.Remove(ctx, id); err != nil {
		return 0, false, err
	}
	return len(ds) + 1, true, emit(ctx, &types.EventNodeUnbonded{NodeId: id, Owner: node.Owner, Returned: sdk.NewCoin(types.Denom, returned)})
}

// applyIntervalEvents applies the queued cost-param changes, oldest first: at most
// one per node (UpdateCostParams replaces a node's queued change).
func (k Keeper) applyIntervalEvents(ctx context.Context) error {
	it, err := k.IntervalEvents.Iterate(ctx, nil)
	if err != nil {
		return err
	}
	events, err := it.Values()
	if err != nil {
		return err
	}
	for _, ev := range events {
		node, err := k.Nodes.Get(ctx, ev.NodeId)
		if errorsmod.IsOf(err, collections.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		node.CostParams = ev.CostParams
		if err := k.Nodes.Set(ctx, node.NodeId, node); err != nil {
			return err
		}
		if err := emit(ctx, &types.EventCostParamsUpdated{NodeId: node.NodeId, CostParams: ev.CostParams}); err != nil {
			return err
		}
	}
	if err := k.IntervalEventByNode.Clear(ctx, nil); err != nil {
		return err
	}
	return k.IntervalEvents.Clear(ctx, nil)
}

// vestingShare is the part of a deposit paid from vesting: all or nothing.
func vestingShare(fromVesting bool, amount math.Int) math.Int {
	if fromVesting {
		return amount
	}
	return math.ZeroInt()
}
