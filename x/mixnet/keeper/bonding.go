package keeper

import (
	"context"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

// The node owner's coin-moving operations. Each Msg handler checks its input and
// calls one of these; x/vesting calls the same methods with its module account as
// the payer, so both share one path. The payer is whose coins move (the owner, or
// the vesting module account); the node always belongs to the owner, and coins
// paid by the vesting module account go back there (funding.go).

// Bond bonds the node msg describes for msg.Owner with a pledge paid by payer: the
// pledge moves to the module account at once and the node takes part in the role
// draw from the next epoch boundary. msg must have passed ValidateBasic.
func (k Keeper) Bond(ctx context.Context, payer sdk.AccAddress, msg *types.MsgBondNode) (uint64, error) {
	owner, err := k.parseAddress("owner", msg.Owner)
	if err != nil {
		return 0, err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return 0, err
	}
	if msg.Pledge.Amount.LT(params.MinimumPledge.Amount) {
		return 0, errorsmod.Wrapf(types.ErrPledgeBelowMinimum, "pledge %s is below the minimum %s", msg.Pledge, params.MinimumPledge)
	}
	if has, err := k.NodeByOwner.Has(ctx, owner); err != nil {
		return 0, err
	} else if has {
		return 0, errorsmod.Wrapf(types.ErrOwnerHasNode, "%s", msg.Owner)
	}
	if id, err := k.NodeByIdentity.Get(ctx, msg.IdentityKey); err == nil {
		return 0, errorsmod.Wrapf(types.ErrDuplicateIdentity, "identity key is bonded by node %d", id)
	} else if !errorsmod.IsOf(err, collections.ErrNotFound) {
		return 0, err
	}
	// The host is stored in its canonical spelling, the one uniqueness is keyed on;
	// the signature covers the host as the node signed it.
	host, err := types.CanonicalHost(msg.Host)
	if err != nil {
		return 0, err
	}
	if err := k.checkHostPortsFree(ctx, 0, host, msg.MixPort, msg.ClientsPort, msg.HttpPort); err != nil {
		return 0, err
	}
	nonce, err := k.SigningNonces.Get(ctx, owner)
	if err != nil && !errorsmod.IsOf(err, collections.ErrNotFound) {
		return 0, err
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	if err := types.VerifyBondSignature(msg.BondPayload(sdkCtx.ChainID(), nonce), msg.Signature); err != nil {
		return 0, err
	}
	fromVesting, err := k.collectFrom(ctx, payer, owner, msg.Pledge)
	if err != nil {
		return 0, err
	}
	if err := k.SigningNonces.Set(ctx, owner, nonce+1); err != nil {
		return 0, err
	}
	id, err := k.NextNodeID.Next(ctx)
	if err != nil {
		return 0, err
	}
	if id == 0 { // node ids start at 1
		if id, err = k.NextNodeID.Next(ctx); err != nil {
			return 0, err
		}
	}
	vestingPledge := math.ZeroInt()
	if fromVesting {
		vestingPledge = msg.Pledge.Amount
	}
	node := types.Node{
		NodeId:         id,
		Owner:          msg.Owner,
		Pledge:         msg.Pledge,
		IdentityKey:    msg.IdentityKey,
		SphinxKey:      msg.SphinxKey,
		Host:           host,
		MixPort:        msg.MixPort,
		ClientsPort:    msg.ClientsPort,
		HttpPort:       msg.HttpPort,
		CostParams:     msg.CostParams(),
		BondingHeight:  sdkCtx.BlockHeight(),
		Performance:    math.LegacyOneDec(),
		Delegations:    math.ZeroInt(),
		UnitReward:     math.LegacyZeroDec(),
		OperatorReward: math.ZeroInt(),
		DelegatorPool:  math.ZeroInt(),
		VestingPledge:  vestingPledge,
	}
	if err := node.Rewarding().Validate(); err != nil {
		return 0, errorsmod.Wrap(types.ErrRewarding, err.Error())
	}
	if err := k.Nodes.Set(ctx, id, node); err != nil {
		return 0, err
	}
	if err := k.indexNode(ctx, node, false); err != nil {
		return 0, err
	}
	return id, emit(ctx, &types.EventNodeBonded{NodeId: id, Owner: msg.Owner, IdentityKey: msg.IdentityKey, Pledge: msg.Pledge})
}

// ownedNode returns owner's node, refusing one that is unbonding.
func (k Keeper) ownedNode(ctx context.Context, owner sdk.AccAddress) (types.Node, error) {
	node, err := k.nodeByOwner(ctx, owner)
	if err != nil {
		return types.Node{}, err
	}
	if node.Unbonding {
		return types.Node{}, errorsmod.Wrapf(types.ErrNodeUnbonding, "node %d", node.NodeId)
	}
	return node, nil
}

// queue stores an epoch event under a fresh id.
func (k Keeper) queue(ctx context.Context, ev types.EpochEvent) (uint64, error) {
	id, err := k.nextEventID(ctx)
	if err != nil {
		return 0, err
	}
	ev.Id = id
	return id, k.EpochEvents.Set(ctx, id, ev)
}

// Unbond marks owner's node unbonding; it leaves, and its pledge, operator reward
// and delegations are returned, at the epoch boundary.
func (k Keeper) Unbond(ctx context.Context, owner sdk.AccAddress) error {
	node, err := k.ownedNode(ctx, owner)
	if err != nil {
		return err
	}
	node.Unbonding = true
	if err := k.Nodes.Set(ctx, node.NodeId, node); err != nil {
		return err
	}
	id, err := k.queue(ctx, types.EpochEvent{Kind: &types.EpochEvent_Unbond{Unbond: &types.UnbondEvent{NodeId: node.NodeId}}})
	if err != nil {
		return err
	}
	return emit(ctx, &types.EventNodeUnbondingRequested{NodeId: node.NodeId, Owner: node.Owner, EventId: id})
}

// PledgeMore takes amount from payer now and raises owner's pledge at the epoch
// boundary.
func (k Keeper) PledgeMore(ctx context.Context, payer, owner sdk.AccAddress, amount sdk.Coin) error {
	node, err := k.ownedNode(ctx, owner)
	if err != nil {
		return err
	}
	fromVesting, err := k.collectFrom(ctx, payer, owner, amount)
	if err != nil {
		return err
	}
	id, err := k.queue(ctx, types.EpochEvent{Kind: &types.EpochEvent_PledgeMore{PledgeMore: &types.PledgeChangeEvent{
		NodeId: node.NodeId, Amount: amount, Owner: node.Owner, FromVesting: fromVesting,
	}}})
	if err != nil {
		return err
	}
	return emit(ctx, &types.EventPledgeChangeQueued{NodeId: node.NodeId, EventId: id, Increase: true, Amount: amount})
}

// DecreasePledge queues a decrease of owner's pledge that keeps it at or above
// the minimum. The part paid from vesting goes back first, to the vesting module.
func (k Keeper) DecreasePledge(ctx context.Context, owner sdk.AccAddress, amount sdk.Coin) error {
	node, err := k.ownedNode(ctx, owner)
	if err != nil {
		return err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if amount.Amount.GTE(node.Pledge.Amount) || node.Pledge.Amount.Sub(amount.Amount).LT(params.MinimumPledge.Amount) {
		return errorsmod.Wrapf(types.ErrPledgeBelowMinimum, "pledge %s less %s would be below the minimum %s", node.Pledge, amount, params.MinimumPledge)
	}
	id, err := k.queue(ctx, types.EpochEvent{Kind: &types.EpochEvent_DecreasePledge{DecreasePledge: &types.PledgeChangeEvent{
		NodeId: node.NodeId, Amount: amount, Owner: node.Owner,
	}}})
	if err != nil {
		return err
	}
	return emit(ctx, &types.EventPledgeChangeQueued{NodeId: node.NodeId, EventId: id, Increase: false, Amount: amount})
}

// WithdrawOperatorReward pays owner's node's accrued operator reward to the owner
// now, whoever paid the pledge.
func (k Keeper) WithdrawOperatorReward(ctx context.Context, owner sdk.AccAddress) (sdk.Coin, error) {
	node, err := k.nodeByOwner(ctx, owner)
	if err != nil {
		return sdk.Coin{}, err
	}
	rn := node.Rewarding()
	reward, err := rn.WithdrawOperatorReward()
	if err != nil {
		return sdk.Coin{}, errorsmod.Wrap(types.ErrRewarding, err.Error())
	}
	if !reward.IsPositive() {
		return sdk.Coin{}, errorsmod.Wrapf(types.ErrNoReward, "node %d has no operator reward", node.NodeId)
	}
	node.SetRewarding(rn)
	if err := k.Nodes.Set(ctx, node.NodeId, node); err != nil {
		return sdk.Coin{}, err
	}
	if err := k.pay(ctx, owner, reward); err != nil {
		return sdk.Coin{}, err
	}
	paid := sdk.NewCoin(types.Denom, reward)
	return paid, emit(ctx, &types.EventRewardWithdrawn{NodeId: node.NodeId, Address: node.Owner, Operator: true, Amount: paid})
}
