package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"

	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// InitGenesis validates gs and writes it to the store.
func (k Keeper) InitGenesis(ctx context.Context, gs *types.GenesisState) error {
	if err := gs.Validate(); err != nil {
		return err
	}
	// Creates the module account, which holds the deposits, if the auth genesis did not.
	if acc := k.authKeeper.GetModuleAccount(ctx, types.ModuleName); acc == nil {
		return fmt.Errorf("cannot create the %s module account", types.ModuleName)
	}
	for _, ct := range gs.CredentialTypes {
		attr := types.TypeAttribute(ct.Name)
		if err := k.CredentialTypes.Set(ctx, attr[:], ct); err != nil {
			return err
		}
	}
	if err := k.SetParams(ctx, gs.Params); err != nil {
		return err
	}
	var current uint64
	for _, ks := range gs.KeySets {
		if err := k.KeySets.Set(ctx, ks.KeyId, ks); err != nil {
			return err
		}
		if ks.RetiredHeight == 0 {
			current = ks.KeyId
		}
	}
	if err := k.CurrentKeyID.Set(ctx, current); err != nil {
		return err
	}
	if err := k.NextRequestID.Set(ctx, gs.NextRequestId); err != nil {
		return err
	}
	for _, r := range gs.Requests {
		if _, err := k.parseAddress("request sender", r.Sender); err != nil {
			return err
		}
		if err := k.Requests.Set(ctx, r.Id, r); err != nil {
			return err
		}
		if r.Status == types.REQUEST_STATUS_PENDING {
			if err := k.PendingRequests.Set(ctx, r.Id); err != nil {
				return err
			}
		}
		if err := k.RequestExpiry.Set(ctx, expiryKey(r, gs.Params)); err != nil {
			return err
		}
	}
	for _, ps := range gs.PartialSignatures {
		if err := k.PartialSignatures.Set(ctx, collections.Join(ps.RequestId, ps.SignerIndex), ps.BlindedSignature); err != nil {
			return err
		}
	}
	for _, s := range gs.Spent {
		if _, err := k.parseAddress("spend operator", s.GatewayOperator); err != nil {
			return err
		}
		if err := k.Spent.Set(ctx, s.Tag, s); err != nil {
			return err
		}
	}
	if err := k.initStatsGenesis(ctx, gs.Stats); err != nil {
		return err
	}
	if err := k.initBeaconGenesis(ctx, gs); err != nil {
		return err
	}
	return k.initDKGGenesis(ctx, gs.Dkg)
}

// ExportGenesis reads the whole state.
func (k Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	p, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	gs := &types.GenesisState{Params: p}
	if gs.NextRequestId, err = k.NextRequestID.Peek(ctx); err != nil {
		return nil, err
	}
	if err := k.KeySets.Walk(ctx, nil, func(_ uint64, ks types.KeySet) (bool, error) {
		gs.KeySets = append(gs.KeySets, ks)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.CredentialTypes.Walk(ctx, nil, func(_ []byte, ct types.CredentialType) (bool, error) {
		gs.CredentialTypes = append(gs.CredentialTypes, ct)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Requests.Walk(ctx, nil, func(_ uint64, r types.CredentialRequest) (bool, error) {
		gs.Requests = append(gs.Requests, r)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.PartialSignatures.Walk(ctx, nil, func(key collections.Pair[uint64, uint32], sig []byte) (bool, error) {
		gs.PartialSignatures = append(gs.PartialSignatures, types.PartialSignature{RequestId: key.K1(), SignerIndex: key.K2(), BlindedSignature: sig})
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Spent.Walk(ctx, nil, func(_ []byte, s types.SpentCredential) (bool, error) {
		gs.Spent = append(gs.Spent, s)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if gs.Stats, err = k.exportStatsGenesis(ctx); err != nil {
		return nil, err
	}
	if gs.Dkg, err = k.exportDKGGenesis(ctx); err != nil {
		return nil, err
	}
	if err := k.exportBeaconGenesis(ctx, gs); err != nil {
		return nil, err
	}
	return gs, nil
}
