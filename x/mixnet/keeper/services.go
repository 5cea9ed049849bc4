package keeper

import (
	"context"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

// The service directory lists mixnet services (network requesters and the like)
// at their client addresses so clients can find one without being told. An entry
// costs its announcer the service_deposit param, held by the module account and
// returned when the entry is withdrawn, and one account holds at most
// max_services_per_announcer entries: together they keep filling the directory
// costly. The address is checked when it is announced: its syntax, its identity
// key's signature of the announcement (so only whoever holds a client's keys can
// list it, and nobody can squat another's address), and that the gateway it
// names is a bonded node that is not unbonding. Entries are not removed
// when their gateway leaves later: a client keeps only those whose gateway is in
// the current topology.

// AnnounceService adds a service announced (and paid for) by announcer and
// returns its id. msg has passed ValidateBasic.
func (k Keeper) AnnounceService(ctx context.Context, announcer sdk.AccAddress, msg *types.MsgAnnounceService) (uint64, error) {
	addr, err := types.ParseNymAddress(msg.NymAddress)
	if err != nil {
		return 0, err
	}
	if err := msg.VerifyServiceSignature(sdk.UnwrapSDKContext(ctx).ChainID()); err != nil {
		return 0, err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return 0, err
	}
	gwID, err := k.NodeByIdentity.Get(ctx, addr.Gateway[:])
	if err != nil {
		if errorsmod.IsOf(err, collections.ErrNotFound) {
			return 0, errorsmod.Wrapf(types.ErrInvalidService, "the gateway of %s is not a bonded node", msg.NymAddress)
		}
		return 0, err
	}
	gw, err := k.getNode(ctx, gwID)
	if err != nil {
		return 0, err
	}
	if gw.Unbonding {
		return 0, errorsmod.Wrapf(types.ErrInvalidService, "the gateway of %s (node %d) is unbonding", msg.NymAddress, gwID)
	}
	if prev, err := k.ServiceByAddress.Get(ctx, msg.NymAddress); err == nil {
		return 0, errorsmod.Wrapf(types.ErrDuplicateService, "%s is service %d", msg.NymAddress, prev)
	} else if !errorsmod.IsOf(err, collections.ErrNotFound) {
		return 0, err
	}
	deposit, limit := serviceParams(params)
	n, err := k.countServices(ctx, announcer, limit)
	if err != nil {
		return 0, err
	}
	if n >= limit {
		return 0, errorsmod.Wrapf(types.ErrTooManyServices, "%s already has %d services (the most one account may have)", msg.Announcer, n)
	}
	if deposit.IsPositive() {
		if err := k.collect(ctx, announcer, deposit); err != nil {
			return 0, errorsmod.Wrapf(err, "take the service deposit of %s", deposit)
		}
	}
	id, err := k.NextServiceID.Next(ctx)
	if err != nil {
		return 0, err
	}
	if id == 0 { // ids start at 1: 0 is "no service"
		if id, err = k.NextServiceID.Next(ctx); err != nil {
			return 0, err
		}
	}
	svc := types.Service{
		ServiceId:   id,
		Announcer:   msg.Announcer,
		Kind:        msg.Kind,
		NymAddress:  msg.NymAddress,
		Description: msg.Description,
		Deposit:     deposit,
		BlockHeight: sdk.UnwrapSDKContext(ctx).BlockHeight(),
	}
	if err := k.setService(ctx, announcer, svc); err != nil {
		return 0, err
	}
	return id, emit(ctx, &types.EventServiceAnnounced{
		ServiceId: id, Announcer: msg.Announcer, Kind: msg.Kind, NymAddress: msg.NymAddress, Deposit: deposit,
	})
}

// WithdrawService removes a service its announcer announced and returns its
// deposit to them.
func (k Keeper) WithdrawService(ctx context.Context, announcer sdk.AccAddress, id uint64) (sdk.Coin, error) {
	svc, err := k.Services.Get(ctx, id)
	if err != nil {
		if errorsmod.IsOf(err, collections.ErrNotFound) {
			return sdk.Coin{}, errorsmod.Wrapf(types.ErrServiceNotFound, "service %d", id)
		}
		return sdk.Coin{}, err
	}
	owner, err := k.parseAddress("announcer", svc.Announcer)
	if err != nil {
		return sdk.Coin{}, err
	}
	if !owner.Equals(announcer) {
		return sdk.Coin{}, errorsmod.Wrapf(types.ErrNotAnnouncer, "service %d was announced by %s", id, svc.Announcer)
	}
	if err := k.Services.Remove(ctx, id); err != nil {
		return sdk.Coin{}, err
	}
	if err := k.ServicesByAnnouncer.Remove(ctx, collections.Join(owner, id)); err != nil {
		return sdk.Coin{}, err
	}
	if err := k.ServicesByKind.Remove(ctx, collections.Join(svc.Kind, id)); err != nil {
		return sdk.Coin{}, err
	}
	if err := k.ServiceByAddress.Remove(ctx, svc.NymAddress); err != nil {
		return sdk.Coin{}, err
	}
	if err := k.pay(ctx, owner, svc.Deposit.Amount); err != nil {
		return sdk.Coin{}, errorsmod.Wrapf(err, "return the service deposit of %s", svc.Deposit)
	}
	return svc.Deposit, emit(ctx, &types.EventServiceWithdrawn{ServiceId: id, Announcer: svc.Announcer, Deposit: svc.Deposit})
}

// setService stores a service and its index entries.
func (k Keeper) setService(ctx context.Context, announcer sdk.AccAddress, svc types.Service) error {
	if err := k.Services.Set(ctx, svc.ServiceId, svc); err != nil {
		return err
	}
	if err := k.ServicesByAnnouncer.Set(ctx, collections.Join(announcer, svc.ServiceId)); err != nil {
		return err
	}
	if err := k.ServicesByKind.Set(ctx, collections.Join(svc.Kind, svc.ServiceId)); err != nil {
		return err
	}
	return k.ServiceByAddress.Set(ctx, svc.NymAddress, svc.ServiceId)
}

// countServices counts announcer's services, stopping at limit: the walk costs
// at most the bound, whatever the params were when they were announced.
func (k Keeper) countServices(ctx context.Context, announcer sdk.AccAddress, limit uint32) (uint32, error) {
	var n uint32
	rng := collections.NewPrefixedPairRange[sdk.AccAddress, uint64](announcer)
	err := k.ServicesByAnnouncer.Walk(ctx, rng, func(collections.Pair[sdk.AccAddress, uint64]) (bool, error) {
		n++
		return n >= limit, nil
	})
	return n, err
}

// serviceDeposits adds up the deposits the directory holds.
func (k Keeper) serviceDeposits(ctx context.Context) (math.Int, error) {
	sum := math.ZeroInt()
	err := k.Services.Walk(ctx, nil, func(_ uint64, s types.Service) (bool, error) {
		sum = sum.Add(s.Deposit.Amount)
		return false, nil
	})
	return sum, err
}

// serviceParams returns the deposit and the per-announcer bound, with the
// defaults for params stored before the directory existed (zero values).
func serviceParams(p types.Params) (sdk.Coin, uint32) {
	deposit, limit := p.ServiceDeposit, p.MaxServicesPerAnnouncer
	if deposit.Denom == "" || deposit.Amount.IsNil() {
		deposit = sdk.NewInt64Coin(types.Denom, types.DefaultServiceDeposit)
	}
	if limit == 0 {
		limit = types.DefaultMaxServicesPerAnnouncer
	}
	return deposit, limit
}
