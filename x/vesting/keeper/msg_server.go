package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"

	"github.com/nyx-privacy/nyx/x/vesting/types"
)

type msgServer struct {
	Keeper
}

var _ types.MsgServer = msgServer{}

// NewMsgServerImpl returns the module's Msg service. Each handler checks its
// input and calls one keeper method.
func NewMsgServerImpl(k Keeper) types.MsgServer { return msgServer{Keeper: k} }

// CreateVestingAccount creates the owner's account paid by the funder.
func (k msgServer) CreateVestingAccount(ctx context.Context, msg *types.MsgCreateVestingAccount) (*types.MsgCreateVestingAccountResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	funder, err := k.parseAddress("funder", msg.Funder)
	if err != nil {
		return nil, err
	}
	owner, err := k.parseAddress("owner", msg.Owner)
	if err != nil {
		return nil, err
	}
	return &types.MsgCreateVestingAccountResponse{}, k.CreateAccount(ctx, funder, owner, msg.Amount, msg.StartTime, msg.Periods, msg.StakingDelegate)
}

// WithdrawVested pays vested, free coins to the owner.
func (k msgServer) WithdrawVested(ctx context.Context, msg *types.MsgWithdrawVested) (*types.MsgWithdrawVestedResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	owner, err := k.parseAddress("owner", msg.Owner)
	if err != nil {
		return nil, err
	}
	return &types.MsgWithdrawVestedResponse{}, k.Keeper.WithdrawVested(ctx, owner, msg.Amount)
}

// BondNodeFromVesting bonds the owner's node with a pledge from the account.
func (k msgServer) BondNodeFromVesting(ctx context.Context, msg *types.MsgBondNodeFromVesting) (*types.MsgBondNodeFromVestingResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	sender, err := k.parseAddress("sender", msg.Sender)
	if err != nil {
		return nil, err
	}
	id, err := k.BondFromVesting(ctx, sender, &msg.Bond)
	if err != nil {
		return nil, err
	}
	return &types.MsgBondNodeFromVestingResponse{NodeId: id}, nil
}

// PledgeMoreFromVesting raises the owner's pledge from the account.
func (k msgServer) PledgeMoreFromVesting(ctx context.Context, msg *types.MsgPledgeMoreFromVesting) (*types.MsgPledgeMoreFromVestingResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	sender, err := k.parseAddress("sender", msg.Sender)
	if err != nil {
		return nil, err
	}
	return &types.MsgPledgeMoreFromVestingResponse{}, k.Keeper.PledgeMoreFromVesting(ctx, sender, msg.Owner, msg.Amount)
}

// DelegateFromVesting delegates the account's coins for the owner.
func (k msgServer) DelegateFromVesting(ctx context.Context, msg *types.MsgDelegateFromVesting) (*types.MsgDelegateFromVestingResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	sender, err := k.parseAddress("sender", msg.Sender)
	if err != nil {
		return nil, err
	}
	return &types.MsgDelegateFromVestingResponse{}, k.Keeper.DelegateFromVesting(ctx, sender, msg.Owner, msg.NodeId, msg.Amount)
}

// UndelegateFromVesting returns delegated coins to the account.
func (k msgServer) UndelegateFromVesting(ctx context.Context, msg *types.MsgUndelegateFromVesting) (*types.MsgUndelegateFromVestingResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	sender, err := k.parseAddress("sender", msg.Sender)
	if err != nil {
		return nil, err
	}
	return &types.MsgUndelegateFromVestingResponse{}, k.Keeper.UndelegateFromVesting(ctx, sender, msg.Owner, msg.NodeId, msg.Amount)
}

// TransferOwnership gives the account to a new owner.
func (k msgServer) TransferOwnership(ctx context.Context, msg *types.MsgTransferOwnership) (*types.MsgTransferOwnershipResponse, error) {
	owner, err := k.parseAddress("owner", msg.Owner)
	if err != nil {
		return nil, err
	}
	newOwner, err := k.parseAddress("new owner", msg.NewOwner)
	if err != nil {
		return nil, err
	}
	return &types.MsgTransferOwnershipResponse{}, k.Keeper.TransferOwnership(ctx, owner, newOwner)
}

// SetStakingDelegate sets or clears the staking delegate.
func (k msgServer) SetStakingDelegate(ctx context.Context, msg *types.MsgSetStakingDelegate) (*types.MsgSetStakingDelegateResponse, error) {
	owner, err := k.parseAddress("owner", msg.Owner)
	if err != nil {
		return nil, err
	}
	return &types.MsgSetStakingDelegateResponse{}, k.Keeper.SetStakingDelegate(ctx, owner, msg.StakingDelegate)
}

// UpdateParams replaces the params.
func (k msgServer) UpdateParams(ctx context.Context, msg *types.MsgUpdateParams) (*types.MsgUpdateParamsResponse, error) {
	if msg.Authority != k.authority {
		return nil, errorsmod.Wrapf(types.ErrInvalidAuthority, "expected %s, got %s", k.authority, msg.Authority)
	}
	if err := msg.Params.Validate(); err != nil {
		return nil, err
	}
	return &types.MsgUpdateParamsResponse{}, k.Params.Set(ctx, msg.Params)
}
