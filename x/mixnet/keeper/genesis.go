package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

// InitGenesis loads the module's state. The reward pool is what the module
// account holds beyond everything its state owes (pledges, delegations, unpaid
// rewards, queued deposits, service deposits): a chain funds its pool by giving the module account
// unym in the bank genesis. A genesis that states a non-zero pool must match. The
// bank genesis must therefore be loaded first.
func (k Keeper) InitGenesis(ctx context.Context, gs *types.GenesisState) error {
	if err := gs.Validate(); err != nil {
		return err
	}
	// Creates the module account if the auth genesis did not.
	if acc := k.authKeeper.GetModuleAccount(ctx, types.ModuleName); acc == nil {
		return errorsmod.Wrapf(types.ErrInvalidGenesis, "no %s module account", types.ModuleName)
	}
	if err := k.validateParams(gs.Params); err != nil {
		return err
	}
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	epoch := gs.Epoch
	if epoch.Start.IsZero() {
		epoch.Start = sdk.UnwrapSDKContext(ctx).BlockTime()
	}
	if err := k.Epoch.Set(ctx, epoch); err != nil {
		return err
	}
	if err := k.NextNodeID.Set(ctx, gs.NextNodeId); err != nil {
		return err
	}
	if err := k.NextEventID.Set(ctx, gs.NextEventId); err != nil {
		return err
	}
	owed := math.ZeroInt()
	for _, n := range gs.Nodes {
		if err := k.Nodes.Set(ctx, n.NodeId, n); err != nil {
			return err
		}
		if err := k.indexNode(ctx, n, false); err != nil {
			return err
		}
		owed = owed.Add(n.Claims())
	}
	for _, d := range gs.Delegations {
		addr, err := k.parseAddress("delegator", d.Delegator)
		if err != nil {
			return err
		}
		if err := k.Delegations.Set(ctx, collections.Join(d.NodeId, addr), d); err != nil {
			return err
		}
		if err := k.DelegatorIndex.Set(ctx, collections.Join(addr, d.NodeId)); err != nil {
			return err
		}
	}
	for _, e := range gs.EpochEvents {
		if err := k.checkEventAddresses(e); err != nil {
			return err
		}
		if err := k.EpochEvents.Set(ctx, e.Id, e); err != nil {
			return err
		}
		owed = owed.Add(e.Deposit())
		if u := e.GetUndelegate(); u != nil {
			if err := k.addPending(ctx, u); err != nil {
				return err
			}
		}
	}
	for _, e := range gs.IntervalEvents {
		if err := k.IntervalEvents.Set(ctx, e.Id, e); err != nil {
			return err
		}
		// The latest change of a node is the one a new change replaces.
		if prev, err := k.IntervalEventByNode.Get(ctx, e.NodeId); err == nil && prev > e.Id {
			continue
		}
		if err := k.IntervalEventByNode.Set(ctx, e.NodeId, e.Id); err != nil {
			return err
		}
	}
	for _, ra := range gs.RoleAssignments {
		if err := k.RoleAssignments.Set(ctx, int32(ra.Role), ra); err != nil {
			return err
		}
		for _, id := range ra.NodeIds {
			if err := k.NodeRoles.Set(ctx, id, int32(ra.Role)); err != nil {
				return err
			}
		}
	}
	for _, r := range gs.PerformanceReports {
		addr, err := k.parseAddress("monitor", r.Monitor)
		if err != nil {
			return err
		}
		if err := k.PerformanceReports.Set(ctx, collections.Join(r.NodeId, addr), r.Performance); err != nil {
			return err
		}
	}
	for _, n := range gs.SigningNonces {
		addr, err := k.parseAddress("signing nonce", n.Address)
		if err != nil {
			return err
		}
		if err := k.SigningNonces.Set(ctx, addr, n.Nonce); err != nil {
			return err
		}
	}

	if err := k.NextServiceID.Set(ctx, max(gs.NextServiceId, 1)); err != nil {
		return err
	}
	for _, s := range gs.Services {
		announcer, err := k.parseAddress("announcer", s.Announcer)
		if err != nil {
			return err
		}
		if err := k.setService(ctx, announcer, s); err != nil {
			return err
		}
		owed = owed.Add(s.Deposit.Amount)
	}

	balance := k.bankKeeper.GetBalance(ctx, k.ModuleAddress(), types.Denom).Amount
	pool := balance.Sub(owed)
	if pool.IsNegative() {
		return errorsmod.Wrapf(types.ErrInvalidGenesis, "the module account holds %s%s but the state owes %s%s", balance, types.Denom, owed, types.Denom)
	}
	if gs.RewardPool.IsPositive() && !gs.RewardPool.Equal(pool) {
		return errorsmod.Wrapf(types.ErrInvalidGenesis, "reward pool %s does not match the module account's unowed balance %s", gs.RewardPool, pool)
	}
	if err := k.RewardPool.Set(ctx, pool); err != nil {
		return err
	}
	if gs.DrawSnapshot != nil {
		if err := k.DrawSnapshot.Set(ctx, *gs.DrawSnapshot); err != nil {
			return err
		}
	}
	ir := gs.IntervalRewarding
	if ir == nil {
		fresh, err := k.newIntervalRewarding(ctx, gs.Params)
		if err != nil {
			return err
		}
		ir = &fresh
	}
	return k.IntervalRewarding.Set(ctx, *ir)
}

// addPending counts a queued undelegation in PendingUndelegations.
func (k Keeper) addPending(ctx context.Context, u *types.UndelegateEvent) error {
	addr, err := k.parseAddress("delegator", u.Delegator)
	if err != nil {
		return err
	}
	key := collections.Join(u.NodeId, addr)
	pending, err := k.PendingUndelegations.Get(ctx, key)
	if errorsmod.IsOf(err, collections.ErrNotFound) {
		pending = math.ZeroInt()
	} else if err != nil {
		return err
	}
	return k.PendingUndelegations.Set(ctx, key, pending.Add(u.Amount.Amount))
}

func (k Keeper) checkEventAddresses(e types.EpochEvent) error {
	var addr string
	switch ev := e.Kind.(type) {
	case *types.EpochEvent_Delegate:
		addr = ev.Delegate.Delegator
	case *types.EpochEvent_Undelegate:
		addr = ev.Undelegate.Delegator
	case *types.EpochEvent_PledgeMore:
		addr = ev.PledgeMore.Owner
	default:
		return nil
	}
	_, err := k.parseAddress("event", addr)
	return err
}

// ExportGenesis writes out the whole state; importing it gives the same state.
func (k Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	var gs types.GenesisState
	var err error
	if gs.Params, err = k.Params.Get(ctx); err != nil {
		return nil, err
	}
	if gs.Epoch, err = k.Epoch.Get(ctx); err != nil {
		return nil, err
	}
	ir, err := k.IntervalRewarding.Get(ctx)
	if err != nil {
		return nil, err
	}
	gs.IntervalRewarding = &ir
	if gs.RewardPool, err = k.RewardPool.Get(ctx); err != nil {
		return nil, err
	}
	if gs.NextNodeId, err = k.NextNodeID.Peek(ctx); err != nil {
		return nil, err
	}
	if gs.NextEventId, err = k.NextEventID.Peek(ctx); err != nil {
		return nil, err
	}
	if gs.NextNodeId == 0 {
		gs.NextNodeId = 1
	}
	if gs.NextEventId == 0 {
		gs.NextEventId = 1
	}
	if err := k.Nodes.Walk(ctx, nil, func(_ uint64, n types.Node) (bool, error) {
		gs.Nodes = append(gs.Nodes, n)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Delegations.Walk(ctx, nil, func(_ collections.Pair[uint64, sdk.AccAddress], d types.Delegation) (bool, error) {
		gs.Delegations = append(gs.Delegations, d)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.EpochEvents.Walk(ctx, nil, func(_ uint64, e types.EpochEvent) (bool, error) {
		gs.EpochEvents = append(gs.EpochEvents, e)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.IntervalEvents.Walk(ctx, nil, func(_ uint64, e types.IntervalEvent) (bool, error) {
		gs.IntervalEvents = append(gs.IntervalEvents, e)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.RoleAssignments.Walk(ctx, nil, func(_ int32, ra types.RoleAssignment) (bool, error) {
		gs.RoleAssignments = append(gs.RoleAssignments, ra)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.PerformanceReports.Walk(ctx, nil, func(key collections.Pair[uint64, sdk.AccAddress], p math.LegacyDec) (bool, error) {
		monitor, err := k.addressCodec.BytesToString(key.K2())
		if err != nil {
			return true, err
		}
		gs.PerformanceReports = append(gs.PerformanceReports, types.PerformanceReport{NodeId: key.K1(), Monitor: monitor, Performance: p})
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.SigningNonces.Walk(ctx, nil, func(addr sdk.AccAddress, n uint64) (bool, error) {
		s, err := k.addressCodec.BytesToString(addr)
		if err != nil {
			return true, err
		}
		gs.SigningNonces = append(gs.SigningNonces, types.SigningNonce{Address: s, Nonce: n})
		return false, nil
	}); err != nil {
		return nil, err
	}
	if snap, err := k.DrawSnapshot.Get(ctx); err == nil {
		gs.DrawSnapshot = &snap
	} else if !errors.Is(err, collections.ErrNotFound) {
		return nil, err
	}
	if gs.NextServiceId, err = k.NextServiceID.Peek(ctx); err != nil {
		return nil, err
	}
	gs.NextServiceId = max(gs.NextServiceId, 1)
	if err := k.Services.Walk(ctx, nil, func(_ uint64, s types.Service) (bool, error) {
		gs.Services = append(gs.Services, s)
		return false, nil
	}); err != nil {
		return nil, err
	}
	return &gs, nil
}
