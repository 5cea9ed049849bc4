package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

// Owed returns what the module's state says the module account holds, by kind:
// pledges, delegations, unpaid rewards (operator rewards and delegator pools),
// queued deposits (delegations and pledge raises not yet applied), the pool and
// the service directory's deposits.
type Owed struct {
	Pledges, Delegations, UnpaidRewards, QueuedDeposits, RewardPool, ServiceDeposits math.Int
}

// Total is the sum of every kind.
func (o Owed) Total() math.Int {
	return o.Pledges.Add(o.Delegations).Add(o.UnpaidRewards).Add(o.QueuedDeposits).Add(o.RewardPool).Add(o.ServiceDeposits)
}

// ComputeOwed adds up the module's obligations from its state.
func (k Keeper) ComputeOwed(ctx context.Context) (Owed, error) {
	o := Owed{math.ZeroInt(), math.ZeroInt(), math.ZeroInt(), math.ZeroInt(), math.ZeroInt(), math.ZeroInt()}
	err := k.Nodes.Walk(ctx, nil, func(_ uint64, n types.Node) (bool, error) {
		o.Pledges = o.Pledges.Add(n.Pledge.Amount)
		o.Delegations = o.Delegations.Add(n.Delegations)
		o.UnpaidRewards = o.UnpaidRewards.Add(n.OperatorReward).Add(n.DelegatorPool)
		return false, nil
	})
	if err != nil {
		return o, err
	}
	err = k.EpochEvents.Walk(ctx, nil, func(_ uint64, e types.EpochEvent) (bool, error) {
		o.QueuedDeposits = o.QueuedDeposits.Add(e.Deposit())
		return false, nil
	})
	if err != nil {
		return o, err
	}
	if o.ServiceDeposits, err = k.serviceDeposits(ctx); err != nil {
		return o, err
	}
	o.RewardPool, err = k.RewardPool.Get(ctx)
	return o, err
}

// CheckFunds reports whether the module account holds exactly what the state owes.
func (k Keeper) CheckFunds(ctx context.Context) error {
	o, err := k.ComputeOwed(ctx)
	if err != nil {
		return err
	}
	balance := k.bankKeeper.GetBalance(ctx, k.ModuleAddress(), types.Denom).Amount
	if !balance.Equal(o.Total()) {
		return fmt.Errorf("module account holds %s%s but the state owes %s%s (pledges %s, delegations %s, unpaid rewards %s, queued deposits %s, reward pool %s, service deposits %s)",
			balance, types.Denom, o.Total(), types.Denom, o.Pledges, o.Delegations, o.UnpaidRewards, o.QueuedDeposits, o.RewardPool, o.ServiceDeposits)
	}
	return nil
}

// CheckDelegations reports whether every node's delegation total is the sum of its
// delegations.
func (k Keeper) CheckDelegations(ctx context.Context) error {
	sums := map[uint64]math.Int{}
	err := k.Delegations.Walk(ctx, nil, func(_ collections.Pair[uint64, sdk.AccAddress], d types.Delegation) (bool, error) {
		s, ok := sums[d.NodeId]
		if !ok {
			s = math.ZeroInt()
		}
		sums[d.NodeId] = s.Add(d.Amount.Amount)
		return false, nil
	})
	if err != nil {
		return err
	}
	return k.Nodes.Walk(ctx, nil, func(id uint64, n types.Node) (bool, error) {
		s, ok := sums[id]
		if !ok {
			s = math.ZeroInt()
		}
		if !s.Equal(n.Delegations) {
			return true, fmt.Errorf("node %d records %s delegated but its delegations sum to %s", id, n.Delegations, s)
		}
		delete(sums, id)
		return false, nil
	})
}

// RegisterInvariants registers the module's invariants.
func RegisterInvariants(ir sdk.InvariantRegistry, k Keeper) {
	ir.RegisterRoute(types.ModuleName, "module-account-funds", FundsInvariant(k))
	ir.RegisterRoute(types.ModuleName, "node-delegations", DelegationsInvariant(k))
}

// FundsInvariant: the module account holds exactly the pledges, delegations,
// unpaid rewards, queued deposits, reward pool and service deposits its state
// records.
func FundsInvariant(k Keeper) sdk.Invariant {
	return func(ctx sdk.Context) (string, bool) {
		if err := k.CheckFunds(ctx); err != nil {
			return sdk.FormatInvariant(types.ModuleName, "module-account-funds", err.Error()), true
		}
		return sdk.FormatInvariant(types.ModuleName, "module-account-funds", "ok"), false
	}
}

// DelegationsInvariant: every node's delegation total matches its delegations.
func DelegationsInvariant(k Keeper) sdk.Invariant {
	return func(ctx sdk.Context) (string, bool) {
		if err := k.CheckDelegations(ctx); err != nil {
			return sdk.FormatInvariant(types.ModuleName, "node-delegations", err.Error()), true
		}
		return sdk.FormatInvariant(types.ModuleName, "node-delegations", "ok"), false
	}
}
