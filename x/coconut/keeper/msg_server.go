package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"

	"github.com/nyx-privacy/nyx/x/coconut/types"
)

type msgServer struct{ k Keeper }

var _ types.MsgServer = msgServer{}

// NewMsgServerImpl returns the module's Msg service.
func NewMsgServerImpl(k Keeper) types.MsgServer { return msgServer{k: k} }

func (s msgServer) RequestCredential(ctx context.Context, msg *types.MsgRequestCredential) (*types.MsgRequestCredentialResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	id, err := s.k.RequestCredential(ctx, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgRequestCredentialResponse{RequestId: id}, nil
}

func (s msgServer) SpendCredentials(ctx context.Context, msg *types.MsgSpendCredentials) (*types.MsgSpendCredentialsResponse, error) {
	if err := msg.ValidateBasic(); err != nil {
		return nil, err
	}
	paid, err := s.k.SpendCredentials(ctx, msg)
	if err != nil {
		return nil, err
	}
	return &types.MsgSpendCredentialsResponse{Paid: paid}, nil
}

func (s msgServer) UpdateParams(ctx context.Context, msg *types.MsgUpdateParams) (*types.MsgUpdateParamsResponse, error) {
	if msg.Authority != s.k.authority {
		return nil, errorsmod.Wrapf(types.ErrInvalidAuthority, "expected %s, got %s", s.k.authority, msg.Authority)
	}
	if err := s.k.SetParams(ctx, msg.Params); err != nil {
		return nil, err
	}
	return &types.MsgUpdateParamsResponse{}, nil
}
