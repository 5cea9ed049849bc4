package keeper

import (
	"context"

	errorsmod "cosmossdk.io/errors"

	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// StartDKG asks for a DKG round (authority only), optionally with new DKG
// params; the round starts at the next DKGEndBlocker that knows the validators.
func (s msgServer) StartDKG(ctx context.Context, msg *types.MsgStartDKG) (*types.MsgStartDKGResponse, error) {
	if msg.Authority != s.k.authority {
		return nil, errorsmod.Wrapf(types.ErrInvalidAuthority, "expected %s, got %s", s.k.authority, msg.Authority)
	}
	if msg.Params != nil {
		if err := msg.Params.Validate(); err != nil {
			return nil, err
		}
	}
	r, found, err := s.k.CurrentDKGRound(ctx)
	if err != nil {
		return nil, err
	}
	if found && r.InProgress() {
		return nil, errorsmod.Wrapf(types.ErrDKGRoundActive, "round %d", r.RoundId)
	}
	if msg.Params != nil {
		if err := s.k.DKG.Params.Set(ctx, *msg.Params); err != nil {
			return nil, err
		}
	}
	if err := s.k.DKG.StartRequested.Set(ctx, true); err != nil {
		return nil, err
	}
	return &types.MsgStartDKGResponse{}, nil
}

// DKGRound returns the DKG params and the latest round.
func (q querier) DKGRound(ctx context.Context, _ *types.QueryDKGRoundRequest) (*types.QueryDKGRoundResponse, error) {
	p, err := q.k.DKG.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	resp := &types.QueryDKGRoundResponse{Params: p}
	r, found, err := q.k.CurrentDKGRound(ctx)
	if err != nil {
		return nil, err
	}
	if found {
		resp.Round = &r
	}
	return resp, nil
}
