package keeper

import (
	"bytes"
	"context"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	"github.com/cosmos/gogoproto/proto"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

type msgServer struct {
	Keeper
}

var _ types.MsgServer = msgServer{}

// NewMsgServerImpl returns the module's Msg service.
func NewMsgServerImpl(k Keeper) types.MsgServer { return msgServer{Keeper: k} }

func emit(ctx context.Context, ev proto.Message) error {
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(ev)
}

// BondNode bonds a node: the pledge moves to the module account at once and the node
// takes part in the role draw from the next epoch boundary.
func (k msgServer) BondNode(ctx context.Context, msg *types.MsgBondNode) (*types.MsgBondNodeResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	owner, err := k.parseAddress("owner", msg.Owner)
	if err != nil {
		return nil, err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	if msg.Pledge.Amount.LT(params.MinimumPledge.Amount) {
		return nil, errorsmod.Wrapf(types.ErrPledgeBelowMinimum, "pledge %s is below the minimum %s", msg.Pledge, params.MinimumPledge)
	}
	if has, err := k.NodeByOwner.Has(ctx, owner); err != nil {
		return nil, err
	} else if has {
		return nil, errorsmod.Wrapf(types.ErrOwnerHasNode, "%s", msg.Owner)
	}
	if id, err := k.NodeByIdentity.Get(ctx, msg.IdentityKey); err == nil {
		return nil, errorsmod.Wrapf(types.ErrDuplicateIdentity, "identity key is bonded by node %d", id)
	} else if !errorsmod.IsOf(err, collections.ErrNotFound) {
		return nil, err
	}
	if err := k.checkHostPortsFree(ctx, 0, msg.Host, msg.MixPort, msg.ClientsPort, msg.HttpPort); err != nil {
		return nil, err
	}
	nonce, err := k.SigningNonces.Get(ctx, owner)
	if err != nil && !errorsmod.IsOf(err, collections.ErrNotFound) {
		return nil, err
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	if err := types.VerifyBondSignature(msg.BondPayload(sdkCtx.ChainID(), nonce), msg.Signature); err != nil {
		return nil, err
	}
	if err := k.collect(ctx, owner, msg.Pledge); err != nil {
		return nil, err
	}
	if err := k.SigningNonces.Set(ctx, owner, nonce+1); err != nil {
		return nil, err
	}
	id, err := k.NextNodeID.Next(ctx)
	if err != nil {
		return nil, err
	}
	if id == 0 { // node ids start at 1
		if id, err = k.NextNodeID.Next(ctx); err != nil {
			return nil, err
		}
	}
	node := types.Node{
		NodeId:         id,
		Owner:          msg.Owner,
		Pledge:         msg.Pledge,
		IdentityKey:    msg.IdentityKey,
		SphinxKey:      msg.SphinxKey,
		Host:           msg.Host,
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
	}
	if err := node.Rewarding().Validate(); err != nil {
		return nil, errorsmod.Wrap(types.ErrRewarding, err.Error())
	}
	if err := k.Nodes.Set(ctx, id, node); err != nil {
		return nil, err
	}
	if err := k.indexNode(ctx, node, false); err != nil {
		return nil, err
	}
	if err := emit(ctx, &types.EventNodeBonded{NodeId: id, Owner: msg.Owner, IdentityKey: msg.IdentityKey, Pledge: msg.Pledge}); err != nil {
		return nil, err
	}
	return &types.MsgBondNodeResponse{NodeId: id}, nil
}

// ownedNode returns the sender's node, refusing one that is unbonding.
func (k msgServer) ownedNode(ctx context.Context, ownerStr string) (sdk.AccAddress, types.Node, error) {
	owner, err := k.parseAddress("owner", ownerStr)
	if err != nil {
		return nil, types.Node{}, err
	}
	node, err := k.nodeByOwner(ctx, owner)
	if err != nil {
		return nil, types.Node{}, err
	}
	if node.Unbonding {
		return nil, types.Node{}, errorsmod.Wrapf(types.ErrNodeUnbonding, "node %d", node.NodeId)
	}
	return owner, node, nil
}

// queue stores an epoch event under a fresh id.
func (k msgServer) queue(ctx context.Context, ev types.EpochEvent) (uint64, error) {
	id, err := k.nextEventID(ctx)
	if err != nil {
		return 0, err
	}
	ev.Id = id
	return id, k.EpochEvents.Set(ctx, id, ev)
}

// UnbondNode marks the node unbonding; it leaves, and its pledge, operator reward
// and delegations are returned, at the epoch boundary.
func (k msgServer) UnbondNode(ctx context.Context, msg *types.MsgUnbondNode) (*types.MsgUnbondNodeResponse, error) {
	_, node, err := k.ownedNode(ctx, msg.Owner)
	if err != nil {
		return nil, err
	}
	node.Unbonding = true
	if err := k.Nodes.Set(ctx, node.NodeId, node); err != nil {
		return nil, err
	}
	id, err := k.queue(ctx, types.EpochEvent{Kind: &types.EpochEvent_Unbond{Unbond: &types.UnbondEvent{NodeId: node.NodeId}}})
	if err != nil {
		return nil, err
	}
	return &types.MsgUnbondNodeResponse{}, emit(ctx, &types.EventNodeUnbondingRequested{NodeId: node.NodeId, Owner: msg.Owner, EventId: id})
}

// UpdateNodeConfig changes the node's host and ports at once and announces its
// next sphinx key, which takes over at the next epoch boundary.
func (k msgServer) UpdateNodeConfig(ctx context.Context, msg *types.MsgUpdateNodeConfig) (*types.MsgUpdateNodeConfigResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	_, node, err := k.ownedNode(ctx, msg.Owner)
	if err != nil {
		return nil, err
	}
	updated := node
	if msg.Host != "" {
		updated.Host = msg.Host
	}
	if msg.MixPort != 0 {
		updated.MixPort = msg.MixPort
	}
	if msg.ClientsPort != 0 {
		updated.ClientsPort = msg.ClientsPort
	}
	if msg.HttpPort != 0 {
		updated.HttpPort = msg.HttpPort
	}
	if len(msg.NextSphinxKey) != 0 {
		if bytes.Equal(msg.NextSphinxKey, node.SphinxKey) {
			return nil, errorsmod.Wrap(types.ErrInvalidKey, "next sphinx key is the current one")
		}
		updated.NextSphinxKey = msg.NextSphinxKey
	}
	if err := types.ValidatePorts(updated.MixPort, updated.ClientsPort, updated.HttpPort); err != nil {
		return nil, err
	}
	if err := k.checkHostPortsFree(ctx, node.NodeId, updated.Host, updated.MixPort, updated.ClientsPort, updated.HttpPort); err != nil {
		return nil, err
	}
	if err := k.indexNode(ctx, node, true); err != nil {
		return nil, err
	}
	if err := k.indexNode(ctx, updated, false); err != nil {
		return nil, err
	}
	if err := k.Nodes.Set(ctx, node.NodeId, updated); err != nil {
		return nil, err
	}
	return &types.MsgUpdateNodeConfigResponse{}, emit(ctx, &types.EventNodeConfigUpdated{
		NodeId: node.NodeId, Host: updated.Host, MixPort: updated.MixPort, ClientsPort: updated.ClientsPort,
		HttpPort: updated.HttpPort, NextSphinxKey: updated.NextSphinxKey,
	})
}

// AnnounceSphinxKey sets a node's next sphinx key on the word of its identity key,
// so a node can rotate on the chain's schedule without its owner's key. The sender
// only pays the fee. The signature covers the epoch it was made in and is accepted in
// that epoch and the next only (a tx that lands just after a boundary still counts),
// so an old announcement cannot be replayed to bring back a retired key.
func (k msgServer) AnnounceSphinxKey(ctx context.Context, msg *types.MsgAnnounceSphinxKey) (*types.MsgAnnounceSphinxKeyResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	if _, err := k.parseAddress("sender", msg.Sender); err != nil {
		return nil, err
	}
	node, err := k.getNode(ctx, msg.NodeId)
	if err != nil {
		return nil, err
	}
	if node.Unbonding {
		return nil, errorsmod.Wrapf(types.ErrNodeUnbonding, "node %d", node.NodeId)
	}
	epoch, err := k.Epoch.Get(ctx)
	if err != nil {
		return nil, err
	}
	if msg.EpochId != epoch.EpochId && msg.EpochId+1 != epoch.EpochId {
		return nil, errorsmod.Wrapf(types.ErrStaleAnnouncement, "announcement signed in epoch %d, current epoch is %d", msg.EpochId, epoch.EpochId)
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	if err := types.VerifyAnnounceSphinxKey(node.IdentityKey, msg.AnnouncePayload(sdkCtx.ChainID()), msg.Signature); err != nil {
		return nil, err
	}
	if bytes.Equal(msg.NextSphinxKey, node.SphinxKey) {
		return nil, errorsmod.Wrap(types.ErrInvalidKey, "next sphinx key is the current one")
	}
	if bytes.Equal(msg.NextSphinxKey, node.NextSphinxKey) {
		return nil, errorsmod.Wrapf(types.ErrKeyAlreadyAnnounced, "node %d", node.NodeId)
	}
	node.NextSphinxKey = msg.NextSphinxKey
	if err := k.Nodes.Set(ctx, node.NodeId, node); err != nil {
		return nil, err
	}
	return &types.MsgAnnounceSphinxKeyResponse{}, emit(ctx, &types.EventNodeConfigUpdated{
		NodeId: node.NodeId, Host: node.Host, MixPort: node.MixPort, ClientsPort: node.ClientsPort,
		HttpPort: node.HttpPort, NextSphinxKey: node.NextSphinxKey,
	})
}

// UpdateCostParams queues new cost params for the interval boundary.
func (k msgServer) UpdateCostParams(ctx context.Context, msg *types.MsgUpdateCostParams) (*types.MsgUpdateCostParamsResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	_, node, err := k.ownedNode(ctx, msg.Owner)
	if err != nil {
		return nil, err
	}
	cp := msg.Apply(node.CostParams)
	if err := cp.Validate(); err != nil {
		return nil, err
	}
	id, err := k.nextEventID(ctx)
	if err != nil {
		return nil, err
	}
	if err := k.IntervalEvents.Set(ctx, id, types.IntervalEvent{Id: id, NodeId: node.NodeId, CostParams: cp}); err != nil {
		return nil, err
	}
	return &types.MsgUpdateCostParamsResponse{}, emit(ctx, &types.EventCostParamsUpdateQueued{NodeId: node.NodeId, EventId: id, CostParams: cp})
}

// PledgeMore takes the coins now and raises the pledge at the epoch boundary.
func (k msgServer) PledgeMore(ctx context.Context, msg *types.MsgPledgeMore) (*types.MsgPledgeMoreResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	owner, node, err := k.ownedNode(ctx, msg.Owner)
	if err != nil {
		return nil, err
	}
	if err := k.collect(ctx, owner, msg.Amount); err != nil {
		return nil, err
	}
	id, err := k.queue(ctx, types.EpochEvent{Kind: &types.EpochEvent_PledgeMore{PledgeMore: &types.PledgeChangeEvent{
		NodeId: node.NodeId, Amount: msg.Amount, Owner: msg.Owner,
	}}})
	if err != nil {
		return nil, err
	}
	return &types.MsgPledgeMoreResponse{}, emit(ctx, &types.EventPledgeChangeQueued{NodeId: node.NodeId, EventId: id, Increase: true, Amount: msg.Amount})
}

// DecreasePledge queues a decrease that keeps the pledge at or above the minimum.
func (k msgServer) DecreasePledge(ctx context.Context, msg *types.MsgDecreasePledge) (*types.MsgDecreasePledgeResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	_, node, err := k.ownedNode(ctx, msg.Owner)
	if err != nil {
		return nil, err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	if msg.Amount.Amount.GTE(node.Pledge.Amount) || node.Pledge.Amount.Sub(msg.Amount.Amount).LT(params.MinimumPledge.Amount) {
		return nil, errorsmod.Wrapf(types.ErrPledgeBelowMinimum, "pledge %s less %s would be below the minimum %s", node.Pledge, msg.Amount, params.MinimumPledge)
	}
	id, err := k.queue(ctx, types.EpochEvent{Kind: &types.EpochEvent_DecreasePledge{DecreasePledge: &types.PledgeChangeEvent{
		NodeId: node.NodeId, Amount: msg.Amount, Owner: msg.Owner,
	}}})
	if err != nil {
		return nil, err
	}
	return &types.MsgDecreasePledgeResponse{}, emit(ctx, &types.EventPledgeChangeQueued{NodeId: node.NodeId, EventId: id, Increase: false, Amount: msg.Amount})
}

// Delegate takes the coins now; the delegation starts at the epoch boundary.
func (k msgServer) Delegate(ctx context.Context, msg *types.MsgDelegate) (*types.MsgDelegateResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	delegator, err := k.parseAddress("delegator", msg.Delegator)
	if err != nil {
		return nil, err
	}
	node, err := k.getNode(ctx, msg.NodeId)
	if err != nil {
		return nil, err
	}
	if node.Unbonding {
		return nil, errorsmod.Wrapf(types.ErrNodeUnbonding, "cannot delegate to node %d", node.NodeId)
	}
	if err := k.collect(ctx, delegator, msg.Amount); err != nil {
		return nil, err
	}
	id, err := k.queue(ctx, types.EpochEvent{Kind: &types.EpochEvent_Delegate{Delegate: &types.DelegateEvent{
		NodeId: msg.NodeId, Delegator: msg.Delegator, Amount: msg.Amount,
	}}})
	if err != nil {
		return nil, err
	}
	return &types.MsgDelegateResponse{}, emit(ctx, &types.EventDelegationQueued{NodeId: msg.NodeId, Delegator: msg.Delegator, EventId: id, Amount: msg.Amount})
}

// Undelegate queues the return of (part of) a delegation with its reward.
func (k msgServer) Undelegate(ctx context.Context, msg *types.MsgUndelegate) (*types.MsgUndelegateResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	delegator, err := k.parseAddress("delegator", msg.Delegator)
	if err != nil {
		return nil, err
	}
	d, err := k.Delegations.Get(ctx, collections.Join(msg.NodeId, delegator))
	if err != nil {
		if errorsmod.IsOf(err, collections.ErrNotFound) {
			return nil, errorsmod.Wrapf(types.ErrDelegationNotFound, "%s has no delegation to node %d", msg.Delegator, msg.NodeId)
		}
		return nil, err
	}
	if msg.Amount.Amount.GT(d.Amount.Amount) {
		return nil, errorsmod.Wrapf(types.ErrInsufficientDelegation, "undelegating %s from a delegation of %s", msg.Amount, d.Amount)
	}
	id, err := k.queue(ctx, types.EpochEvent{Kind: &types.EpochEvent_Undelegate{Undelegate: &types.UndelegateEvent{
		NodeId: msg.NodeId, Delegator: msg.Delegator, Amount: msg.Amount,
	}}})
	if err != nil {
		return nil, err
	}
	return &types.MsgUndelegateResponse{}, emit(ctx, &types.EventDelegationQueued{NodeId: msg.NodeId, Delegator: msg.Delegator, EventId: id, Undelegate: true, Amount: msg.Amount})
}

// WithdrawOperatorReward pays the operator's accrued reward now.
func (k msgServer) WithdrawOperatorReward(ctx context.Context, msg *types.MsgWithdrawOperatorReward) (*types.MsgWithdrawOperatorRewardResponse, error) {
	owner, err := k.parseAddress("owner", msg.Owner)
	if err != nil {
		return nil, err
	}
	node, err := k.nodeByOwner(ctx, owner)
	if err != nil {
		return nil, err
	}
	rn := node.Rewarding()
	reward, err := rn.WithdrawOperatorReward()
	if err != nil {
		return nil, errorsmod.Wrap(types.ErrRewarding, err.Error())
	}
	if !reward.IsPositive() {
		return nil, errorsmod.Wrapf(types.ErrNoReward, "node %d has no operator reward", node.NodeId)
	}
	node.SetRewarding(rn)
	if err := k.Nodes.Set(ctx, node.NodeId, node); err != nil {
		return nil, err
	}
	if err := k.pay(ctx, owner, reward); err != nil {
		return nil, err
	}
	paid := sdk.NewCoin(types.Denom, reward)
	return &types.MsgWithdrawOperatorRewardResponse{Amount: paid},
		emit(ctx, &types.EventRewardWithdrawn{NodeId: node.NodeId, Address: msg.Owner, Operator: true, Amount: paid})
}

// WithdrawDelegatorReward settles one delegation and pays its reward now.
func (k msgServer) WithdrawDelegatorReward(ctx context.Context, msg *types.MsgWithdrawDelegatorReward) (*types.MsgWithdrawDelegatorRewardResponse, error) {
	delegator, err := k.parseAddress("delegator", msg.Delegator)
	if err != nil {
		return nil, err
	}
	key := collections.Join(msg.NodeId, delegator)
	d, err := k.Delegations.Get(ctx, key)
	if err != nil {
		if errorsmod.IsOf(err, collections.ErrNotFound) {
			return nil, errorsmod.Wrapf(types.ErrDelegationNotFound, "%s has no delegation to node %d", msg.Delegator, msg.NodeId)
		}
		return nil, err
	}
	node, err := k.getNode(ctx, msg.NodeId)
	if err != nil {
		return nil, err
	}
	rn, rd := node.Rewarding(), d.Rewarding()
	reward, err := rn.Settle(&rd)
	if err != nil {
		return nil, errorsmod.Wrap(types.ErrRewarding, err.Error())
	}
	if !reward.IsPositive() {
		return nil, errorsmod.Wrapf(types.ErrNoReward, "delegation of %s to node %d has no reward", msg.Delegator, msg.NodeId)
	}
	node.SetRewarding(rn)
	d.SetRewarding(rd)
	if err := k.Nodes.Set(ctx, node.NodeId, node); err != nil {
		return nil, err
	}
	if err := k.Delegations.Set(ctx, key, d); err != nil {
		return nil, err
	}
	if err := k.pay(ctx, delegator, reward); err != nil {
		return nil, err
	}
	paid := sdk.NewCoin(types.Denom, reward)
	return &types.MsgWithdrawDelegatorRewardResponse{Amount: paid},
		emit(ctx, &types.EventRewardWithdrawn{NodeId: node.NodeId, Address: msg.Delegator, Amount: paid})
}

// SubmitPerformance records a monitor's reports for the current epoch.
func (k msgServer) SubmitPerformance(ctx context.Context, msg *types.MsgSubmitPerformance) (*types.MsgSubmitPerformanceResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	monitor, err := k.parseAddress("monitor", msg.Monitor)
	if err != nil {
		return nil, err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	allowed := false
	for _, m := range params.NetworkMonitors {
		if bz, err := k.addressCodec.StringToBytes(m); err == nil && bytes.Equal(bz, monitor) {
			allowed = true
			break
		}
	}
	if !allowed {
		return nil, errorsmod.Wrapf(types.ErrNotMonitor, "%s", msg.Monitor)
	}
	epoch, err := k.Epoch.Get(ctx)
	if err != nil {
		return nil, err
	}
	if msg.EpochId != epoch.EpochId {
		return nil, errorsmod.Wrapf(types.ErrWrongEpoch, "report for epoch %d, current epoch is %d", msg.EpochId, epoch.EpochId)
	}
	for _, r := range msg.Reports {
		if has, err := k.Nodes.Has(ctx, r.NodeId); err != nil {
			return nil, err
		} else if !has {
			return nil, errorsmod.Wrapf(types.ErrNodeNotFound, "report on node %d", r.NodeId)
		}
	}
	for _, r := range msg.Reports {
		if err := k.PerformanceReports.Set(ctx, collections.Join(r.NodeId, monitor), r.Performance); err != nil {
			return nil, err
		}
	}
	return &types.MsgSubmitPerformanceResponse{}, emit(ctx, &types.EventPerformanceSubmitted{Monitor: msg.Monitor, EpochId: msg.EpochId, Reports: uint32(len(msg.Reports))})
}

// FundRewardPool moves the sender's unym into the reward pool.
func (k msgServer) FundRewardPool(ctx context.Context, msg *types.MsgFundRewardPool) (*types.MsgFundRewardPoolResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	sender, err := k.parseAddress("sender", msg.Sender)
	if err != nil {
		return nil, err
	}
	if err := k.collect(ctx, sender, msg.Amount); err != nil {
		return nil, err
	}
	if err := k.addToPool(ctx, msg.Amount.Amount); err != nil {
		return nil, err
	}
	return &types.MsgFundRewardPoolResponse{}, emit(ctx, &types.EventRewardPoolFunded{Sender: msg.Sender, Amount: msg.Amount})
}

// UpdateParams replaces the params. Set sizes, reward constants and epochs per
// interval take effect at the next interval; the rest at once.
func (k msgServer) UpdateParams(ctx context.Context, msg *types.MsgUpdateParams) (*types.MsgUpdateParamsResponse, error) {
	if msg.Authority != k.authority {
		return nil, errorsmod.Wrapf(types.ErrInvalidAuthority, "expected %s, got %s", k.authority, msg.Authority)
	}
	if err := k.validateParams(msg.Params); err != nil {
		return nil, err
	}
	if err := k.Params.Set(ctx, msg.Params); err != nil {
		return nil, err
	}
	return &types.MsgUpdateParamsResponse{}, emit(ctx, &types.EventParamsUpdated{Params: msg.Params})
}

// validateParams checks the params, including the monitors' addresses.
func (k Keeper) validateParams(p types.Params) error {
	if err := p.Validate(); err != nil {
		return err
	}
	for _, m := range p.NetworkMonitors {
		if _, err := k.addressCodec.StringToBytes(m); err != nil {
			return errorsmod.Wrapf(types.ErrInvalidParams, "network monitor %q: %v", m, err)
		}
	}
	return nil
}
