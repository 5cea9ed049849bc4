package keeper

import (
	"bytes"
	"context"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
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

// BondNode bonds a node paid by its owner (Keeper.Bond).
func (k msgServer) BondNode(ctx context.Context, msg *types.MsgBondNode) (*types.MsgBondNodeResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	owner, err := k.parseAddress("owner", msg.Owner)
	if err != nil {
		return nil, err
	}
	id, err := k.Keeper.Bond(ctx, owner, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgBondNodeResponse{NodeId: id}, nil
}

// UnbondNode marks the sender's node unbonding (Keeper.Unbond).
func (k msgServer) UnbondNode(ctx context.Context, msg *types.MsgUnbondNode) (*types.MsgUnbondNodeResponse, error) {
	owner, err := k.parseAddress("owner", msg.Owner)
	if err != nil {
		return nil, err
	}
	return &types.MsgUnbondNodeResponse{}, k.Keeper.Unbond(ctx, owner)
}

// ownerNode parses the owner and returns their node, refusing one that is unbonding.
func (k msgServer) ownerNode(ctx context.Context, ownerStr string) (types.Node, error) {
	owner, err := k.parseAddress("owner", ownerStr)
	if err != nil {
		return types.Node{}, err
	}
	return k.ownedNode(ctx, owner)
}

// UpdateNodeConfig changes the node's host and ports at once and announces its
// next sphinx key, which takes over at the next epoch boundary.
func (k msgServer) UpdateNodeConfig(ctx context.Context, msg *types.MsgUpdateNodeConfig) (*types.MsgUpdateNodeConfigResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	node, err := k.ownerNode(ctx, msg.Owner)
	if err != nil {
		return nil, err
	}
	updated := node
	if msg.Host != "" {
		if updated.Host, err = types.CanonicalHost(msg.Host); err != nil {
			return nil, err
		}
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
		epoch, err := k.Epoch.Get(ctx)
		if err != nil {
			return nil, err
		}
		updated.NextSphinxKey, updated.NextSphinxKeyEpoch = msg.NextSphinxKey, epoch.EpochId
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
	// A replayed announcement from the epoch before must not replace a key the node
	// (or its owner) announced since.
	if len(node.NextSphinxKey) != 0 && msg.EpochId < node.NextSphinxKeyEpoch {
		return nil, errorsmod.Wrapf(types.ErrStaleAnnouncement, "announcement signed in epoch %d, node %d announced its next key in epoch %d",
			msg.EpochId, node.NodeId, node.NextSphinxKeyEpoch)
	}
	node.NextSphinxKey, node.NextSphinxKeyEpoch = msg.NextSphinxKey, msg.EpochId
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
	node, err := k.ownerNode(ctx, msg.Owner)
	if err != nil {
		return nil, err
	}
	cp := msg.Apply(node.CostParams)
	if err := cp.Validate(); err != nil {
		return nil, err
	}
	// A later change replaces the node's queued one, so the queue holds at most one
	// per node however often an owner sends this.
	if prev, err := k.IntervalEventByNode.Get(ctx, node.NodeId); err == nil {
		if err := k.IntervalEvents.Remove(ctx, prev); err != nil {
			return nil, err
		}
	} else if !errorsmod.IsOf(err, collections.ErrNotFound) {
		return nil, err
	}
	id, err := k.nextEventID(ctx)
	if err != nil {
		return nil, err
	}
	if err := k.IntervalEvents.Set(ctx, id, types.IntervalEvent{Id: id, NodeId: node.NodeId, CostParams: cp}); err != nil {
		return nil, err
	}
	if err := k.IntervalEventByNode.Set(ctx, node.NodeId, id); err != nil {
		return nil, err
	}
	return &types.MsgUpdateCostParamsResponse{}, emit(ctx, &types.EventCostParamsUpdateQueued{NodeId: node.NodeId, EventId: id, CostParams: cp})
}

// PledgeMore raises the sender's pledge with their own coins (Keeper.PledgeMore).
func (k msgServer) PledgeMore(ctx context.Context, msg *types.MsgPledgeMore) (*types.MsgPledgeMoreResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	owner, err := k.parseAddress("owner", msg.Owner)
	if err != nil {
		return nil, err
	}
	return &types.MsgPledgeMoreResponse{}, k.Keeper.PledgeMore(ctx, owner, owner, msg.Amount)
}

// DecreasePledge queues a decrease of the sender's pledge (Keeper.DecreasePledge).
func (k msgServer) DecreasePledge(ctx context.Context, msg *types.MsgDecreasePledge) (*types.MsgDecreasePledgeResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	owner, err := k.parseAddress("owner", msg.Owner)
	if err != nil {
		return nil, err
	}
	return &types.MsgDecreasePledgeResponse{}, k.Keeper.DecreasePledge(ctx, owner, msg.Amount)
}

// Delegate delegates the sender's own coins (Keeper.Delegate).
func (k msgServer) Delegate(ctx context.Context, msg *types.MsgDelegate) (*types.MsgDelegateResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	delegator, err := k.parseAddress("delegator", msg.Delegator)
	if err != nil {
		return nil, err
	}
	return &types.MsgDelegateResponse{}, k.Keeper.Delegate(ctx, delegator, delegator, msg.NodeId, msg.Amount)
}

// Undelegate queues the return of (part of) a delegation with its reward
// (Keeper.Undelegate).
func (k msgServer) Undelegate(ctx context.Context, msg *types.MsgUndelegate) (*types.MsgUndelegateResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	delegator, err := k.parseAddress("delegator", msg.Delegator)
	if err != nil {
		return nil, err
	}
	return &types.MsgUndelegateResponse{}, k.Keeper.Undelegate(ctx, delegator, msg.NodeId, msg.Amount, false)
}

// WithdrawOperatorReward pays the operator's accrued reward now.
func (k msgServer) WithdrawOperatorReward(ctx context.Context, msg *types.MsgWithdrawOperatorReward) (*types.MsgWithdrawOperatorRewardResponse, error) {
	owner, err := k.parseAddress("owner", msg.Owner)
	if err != nil {
		return nil, err
	}
	paid, err := k.Keeper.WithdrawOperatorReward(ctx, owner)
	if err != nil {
		return nil, err
	}
	return &types.MsgWithdrawOperatorRewardResponse{Amount: paid}, nil
}

// WithdrawDelegatorReward settles one delegation and pays its reward now.
func (k msgServer) WithdrawDelegatorReward(ctx context.Context, msg *types.MsgWithdrawDelegatorReward) (*types.MsgWithdrawDelegatorRewardResponse, error) {
	delegator, err := k.parseAddress("delegator", msg.Delegator)
	if err != nil {
		return nil, err
	}
	paid, err := k.Keeper.WithdrawDelegatorReward(ctx, delegator, msg.NodeId)
	if err != nil {
		return nil, err
	}
	return &types.MsgWithdrawDelegatorRewardResponse{Amount: paid}, nil
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
	return &types.MsgFundRewardPoolResponse{}, k.Keeper.FundRewardPool(ctx, sender, msg.Amount)
}

// AnnounceService adds a service to the directory (Keeper.AnnounceService).
func (k msgServer) AnnounceService(ctx context.Context, msg *types.MsgAnnounceService) (*types.MsgAnnounceServiceResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	announcer, err := k.parseAddress("announcer", msg.Announcer)
	if err != nil {
		return nil, err
	}
	id, err := k.Keeper.AnnounceService(ctx, announcer, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgAnnounceServiceResponse{ServiceId: id}, nil
}

// WithdrawService removes the sender's service (Keeper.WithdrawService).
func (k msgServer) WithdrawService(ctx context.Context, msg *types.MsgWithdrawService) (*types.MsgWithdrawServiceResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	announcer, err := k.parseAddress("announcer", msg.Announcer)
	if err != nil {
		return nil, err
	}
	deposit, err := k.Keeper.WithdrawService(ctx, announcer, msg.ServiceId)
	if err != nil {
		return nil, err
	}
	return &types.MsgWithdrawServiceResponse{Deposit: deposit}, nil
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
