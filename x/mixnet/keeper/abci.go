package keeper

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/mixnet/selection"
	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

// RoleSeedDomain starts the preimage of every epoch's role-draw seed.
const RoleSeedDomain = "nyx/mixnet/roles/v1"

// EndBlocker ends the epoch when the block time has reached the epoch's start plus
// the epoch duration. At most one epoch ends per block: after a halt the next epoch
// simply starts at the first block's time. In the other blocks it applies the due
// epoch events an earlier boundary left over, within the per-block budget.
func (k Keeper) EndBlocker(ctx context.Context) error {
	epoch, err := k.Epoch.Get(ctx)
	if err != nil {
		return err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if sdk.UnwrapSDKContext(ctx).BlockTime().Before(epoch.Start.Add(params.EpochDuration)) {
		_, err := k.applyDueEvents(ctx, params, epoch.DueEventId, eventBudget(params))
		return errorsmod.Wrap(err, "apply epoch events")
	}
	return k.AdvanceEpoch(ctx)
}

// AdvanceEpoch ends the current epoch and starts the next, in this order:
//  1. reward every node of the ending epoch's rewarded set by its performance
//     (the median of the monitors' reports);
//  2. apply the queued epoch events, oldest first, up to the per-block budget
//     (max_epoch_events_per_block); every event queued so far becomes due, and
//     what the budget leaves over is applied in the next blocks, before any event
//     queued after this boundary;
//  3. at an interval boundary, apply the queued cost-param changes and fix the
//     next interval's reward inputs from the reward pool and the unym supply;
//  4. rotate announced sphinx keys and draw the new epoch's roles, from the state
//     the events of step 2 left.
//
// It costs O(nodes log nodes) plus the budget; nothing per delegation.
func (k Keeper) AdvanceEpoch(ctx context.Context) error {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	epoch, err := k.Epoch.Get(ctx)
	if err != nil {
		return err
	}
	ir, err := k.IntervalRewarding.Get(ctx)
	if err != nil {
		return err
	}

	rewarded, err := k.rewardEpoch(ctx, params, ir)
	if err != nil {
		return errorsmod.Wrap(err, "reward epoch")
	}
	// Ids grow, so the events queued so far are those below the next id.
	next, err := k.NextEventID.Peek(ctx)
	if err != nil {
		return err
	}
	if next > 0 {
		epoch.DueEventId = next - 1
	}
	applied, err := k.applyDueEvents(ctx, params, epoch.DueEventId, eventBudget(params))
	if err != nil {
		return errorsmod.Wrap(err, "apply epoch events")
	}

	epoch.EpochId++
	epoch.EpochInInterval++
	if epoch.EpochInInterval >= ir.EpochsPerInterval {
		if err := k.applyIntervalEvents(ctx); err != nil {
			return errorsmod.Wrap(err, "apply interval events")
		}
		if ir, err = k.newIntervalRewarding(ctx, params); err != nil {
			return err
		}
		if err := k.IntervalRewarding.Set(ctx, ir); err != nil {
			return err
		}
		epoch.IntervalId++
		epoch.EpochInInterval = 0
		if err := emit(ctx, &types.EventIntervalAdvanced{IntervalId: epoch.IntervalId, IntervalRewarding: ir}); err != nil {
			return err
		}
	}
	epoch.Start = sdkCtx.BlockTime()

	seed, fromBeacon, err := k.epochSeed(ctx, epoch.EpochId)
	if err != nil {
		return err
	}
	epoch.SeedFromBeacon = fromBeacon
	assigned, err := k.assignRoles(ctx, params, ir, epoch.EpochId, seed)
	if err != nil {
		return errorsmod.Wrap(err, "assign roles")
	}
	if err := k.Epoch.Set(ctx, epoch); err != nil {
		return err
	}
	return emit(ctx, &types.EventEpochAdvanced{
		EpochId: epoch.EpochId, IntervalId: epoch.IntervalId, Rewarded: rewarded,
		EventsApplied: uint32(applied), NodesAssigned: assigned, Seed: seed[:], SeedFromBeacon: fromBeacon,
	})
}

// eventBudget is the block's budget of queued work. Params validation refuses 0;
// a store written before the param existed holds 0 and gets the default rather
// than a queue that never moves.
func eventBudget(p types.Params) int {
	if p.MaxEpochEventsPerBlock == 0 {
		return types.DefaultMaxEpochEventsPerBlock
	}
	return int(p.MaxEpochEventsPerBlock)
}

// RoleSeed is the seed of an epoch's role draw:
//
//	SHA-256(RoleSeedDomain || last block id hash || app hash || uint64_be(epoch id))
//
// from the header of the block that ends the previous epoch. Every validator sees
// the same header, so every validator draws the same roles.
func RoleSeed(lastBlockHash, appHash []byte, epochID uint64) [selection.SeedSize]byte {
	h := sha256.New()
	h.Write([]byte(RoleSeedDomain))
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(lastBlockHash))))
	h.Write(lastBlockHash)
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(appHash))))
	h.Write(appHash)
	h.Write(binary.BigEndian.AppendUint64(nil, epochID))
	var seed [selection.SeedSize]byte
	copy(seed[:], h.Sum(nil))
	return seed
}

// epochPerformance takes the median of this epoch's reports per node and clears them.
func (k Keeper) epochPerformance(ctx context.Context) (map[uint64]math.LegacyDec, error) {
	out := map[uint64]math.LegacyDec{}
	it, err := k.PerformanceReports.Iterate(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var cur uint64
	var vals []math.LegacyDec
	flush := func() {
		if len(vals) > 0 {
			out[cur] = median(vals)
		}
		vals = vals[:0]
	}
	for ; it.Valid(); it.Next() {
		kv, err := it.KeyValue()
		if err != nil {
			return nil, err
		}
		if id := kv.Key.K1(); id != cur {
			flush()
			cur = id
		}
		vals = append(vals, kv.Value)
	}
	flush()
	return out, k.PerformanceReports.Clear(ctx, nil)
}

// median of a non-empty list; the mean of the two middle values for an even count.
func median(vals []math.LegacyDec) math.LegacyDec {
	s := slices.Clone(vals)
	slices.SortFunc(s, func(a, b math.LegacyDec) int { return a.BigIntMut().Cmp(b.BigIntMut()) })
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return s[m-1].Add(s[m]).QuoInt64(2)
}

// rewardEpoch credits every node of the ending epoch's rewarded set and returns
// the total moved out of the reward pool. A rewarded node without reports gets
// performance 1 when no monitor is configured (a chain without monitors still
// pays) and 0 otherwise. Every reported node's performance is updated for the draw.
func (k Keeper) rewardEpoch(ctx context.Context, params types.Params, ir types.IntervalRewarding) (math.Int, error) {
	total := math.ZeroInt()
	perf, err := k.epochPerformance(ctx)
	if err != nil {
		return total, err
	}
	iv, err := ir.Interval()
	if err != nil {
		return total, errorsmod.Wrap(types.ErrRewarding, err.Error())
	}
	pool, err := k.RewardPool.Get(ctx)
	if err != nil {
		return total, err
	}
	seen := map[uint64]bool{}
	for _, role := range types.AllRoles {
		ra, err := k.RoleAssignments.Get(ctx, int32(role))
		if errorsmod.IsOf(err, collections.ErrNotFound) {
			continue
		} else if err != nil {
			return total, err
		}
		for _, id := range ra.NodeIds {
			node, err := k.Nodes.Get(ctx, id)
			if errorsmod.IsOf(err, collections.ErrNotFound) {
				continue // unbonded during the epoch
			} else if err != nil {
				return total, err
			}
			seen[id] = true
			p, reported := perf[id]
			if !reported {
				p = math.LegacyZeroDec()
				if len(params.NetworkMonitors) == 0 {
					p = math.LegacyOneDec()
				}
			}
			node.Performance = p
			rn := node.Rewarding()
			rw, err := rn.ApplyEpoch(iv, p, role.Status())
			if err != nil {
				return total, errorsmod.Wrapf(types.ErrRewarding, "node %d: %v", id, err)
			}
			if rw.Total.GT(pool) {
				// Cannot happen while the budget comes from the pool; never pay what is not there.
				k.Logger(ctx).Error("reward pool exhausted", "node", id, "reward", rw.Total, "pool", pool)
			} else {
				pool = pool.Sub(rw.Total)
				total = total.Add(rw.Total)
				node.SetRewarding(rn)
			}
			if err := k.Nodes.Set(ctx, id, node); err != nil {
				return total, err
			}
		}
	}
	ids := make([]uint64, 0, len(perf))
	for id := range perf {
		if !seen[id] {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		node, err := k.Nodes.Get(ctx, id)
		if errorsmod.IsOf(err, collections.ErrNotFound) {
			continue
		} else if err != nil {
			return total, err
		}
		node.Performance = perf[id]
		if err := k.Nodes.Set(ctx, id, node); err != nil {
			return total, err
		}
	}
	return total, k.RewardPool.Set(ctx, pool)
}

// newIntervalRewarding fixes an interval's reward inputs: the pool now, the unym
// supply outside it, and the current params.
func (k Keeper) newIntervalRewarding(ctx context.Context, params types.Params) (types.IntervalRewarding, error) {
	pool, err := k.RewardPool.Get(ctx)
	if err != nil {
		return types.IntervalRewarding{}, err
	}
	supply := k.bankKeeper.GetSupply(ctx, types.Denom).Amount.Sub(pool)
	if supply.IsNegative() {
		supply = math.ZeroInt()
	}
	return types.IntervalRewarding{
		RewardPool:        pool,
		StakingSupply:     supply,
		EpochsPerInterval: params.EpochsPerInterval,
		RewardedSet:       params.RewardedSet,
		RewardParams:      params.RewardParams,
	}, nil
}

// assignRoles rotates announced sphinx keys and draws the roles of a new epoch among
// the bonded nodes that are not unbonding and perform at least the minimum, weighted
// by stake x performance. It returns the number of nodes given a role.
func (k Keeper) assignRoles(ctx context.Context, params types.Params, ir types.IntervalRewarding, epochID uint64, seed [selection.SeedSize]byte) (uint32, error) {
	var candidates []selection.Candidate
	it, err := k.Nodes.Iterate(ctx, nil)
	if err != nil {
		return 0, err
	}
	var rotated []types.Node
	for ; it.Valid(); it.Next() {
		node, err := it.Value()
		if err != nil {
			it.Close()
			return 0, err
		}
		if len(node.NextSphinxKey) != 0 {
			node.SphinxKey, node.NextSphinxKey, node.NextSphinxKeyEpoch = node.NextSphinxKey, nil, 0
			rotated = append(rotated, node)
		}
		if node.Unbonding || node.Performance.LT(params.MinimumPerformance) {
			continue
		}
		w := node.Performance.MulInt(node.Stake()).TruncateInt()
		candidates = append(candidates, selection.Candidate{ID: node.NodeId, Weight: w})
	}
	it.Close()
	for _, node := range rotated {
		if err := k.Nodes.Set(ctx, node.NodeId, node); err != nil {
			return 0, err
		}
		if err := emit(ctx, &types.EventSphinxKeyRotated{NodeId: node.NodeId, SphinxKey: node.SphinxKey}); err != nil {
			return 0, err
		}
	}
	a, err := selection.Assign(candidates, seed, ir.RewardedSet.ToSelection())
	if err != nil {
		return 0, err
	}
	if err := k.RoleAssignments.Clear(ctx, nil); err != nil {
		return 0, err
	}
	if err := k.NodeRoles.Clear(ctx, nil); err != nil {
		return 0, err
	}
	roles := types.RolesOf(a)
	for _, role := range types.AllRoles {
		ids := roles[role]
		if err := k.RoleAssignments.Set(ctx, int32(role), types.RoleAssignment{Role: role, EpochId: epochID, NodeIds: ids}); err != nil {
			return 0, err
		}
		for _, id := range ids {
			if err := k.NodeRoles.Set(ctx, id, int32(role)); err != nil {
				return 0, err
			}
		}
	}
	return uint32(a.Len()), nil
}
