package keeper

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
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
//  4. rotate announced sphinx keys, draw the new epoch's roles from the snapshot
//     taken when the ending epoch began, and take the next draw's snapshot from
//     the state the events of step 2 left (drawRoles).
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

	draw, err := k.drawRoles(ctx, params, ir, epoch.EpochId)
	if err != nil {
		return errorsmod.Wrap(err, "draw roles")
	}
	epoch.SeedFromBeacon = draw.fromBeacon
	if err := k.Epoch.Set(ctx, epoch); err != nil {
		return err
	}
	return emit(ctx, &types.EventEpochAdvanced{
		EpochId: epoch.EpochId, IntervalId: epoch.IntervalId, Rewarded: rewarded,
		EventsApplied: uint32(applied), NodesAssigned: draw.assigned, Seed: draw.seed[:], SeedFromBeacon: draw.fromBeacon,
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

// roleDraw is what drawRoles did: the seed, where it came from, and how many
// nodes it gave a role.
type roleDraw struct {
	seed       [selection.SeedSize]byte
	fromBeacon bool
	assigned   uint32
}

// drawRoles rotates announced sphinx keys, draws the roles of the new epoch
// epochID and takes the snapshot of the next epoch's draw.
//
// The draw's input is the snapshot taken when the previous epoch began: the
// nodes that were not unbonding and performed at least the minimum, weighted by
// stake x performance. Its seed is epochID's beacon, which the validators sign
// only once the previous epoch has begun, so the snapshot was fixed before
// anyone could know the beacon: no bond, delegation, pledge or performance
// report made once it is known can change who is drawn. A drawn node that has
// unbonded (or begun to) since the snapshot is left out and its place stays
// empty for the epoch; giving it to another node would let a node owner who
// knows the beacon choose between two draws by leaving.
//
// When the snapshot is missing or empty while nodes are bonded (a new chain, or
// one whose first nodes bonded during the current epoch) the draw reads the
// nodes as they are, with the block seed: the beacon may have been public while
// they changed. Either way the nodes as they are now become the next draw's
// snapshot.
func (k Keeper) drawRoles(ctx context.Context, params types.Params, ir types.IntervalRewarding, epochID uint64) (roleDraw, error) {
	var d roleDraw
	live, bonded, err := k.rotateKeysAndListCandidates(ctx, params)
	if err != nil {
		return d, err
	}
	var candidates []selection.Candidate
	snap, err := k.DrawSnapshot.Get(ctx)
	if err != nil && !errors.Is(err, collections.ErrNotFound) {
		return d, err
	}
	if err == nil && snap.EpochId == epochID {
		candidates = make([]selection.Candidate, len(snap.Candidates))
		for i, c := range snap.Candidates {
			candidates[i] = selection.Candidate{ID: c.NodeId, Weight: c.Weight}
		}
	}
	if len(candidates) == 0 && len(live) > 0 {
		candidates = live
		d.seed = k.blockSeed(ctx, epochID)
	} else if d.seed, d.fromBeacon, err = k.epochSeed(ctx, epochID); err != nil {
		return d, err
	}
	a, err := selection.Assign(candidates, d.seed, ir.RewardedSet.ToSelection())
	if err != nil {
		return d, err
	}
	if err := k.RoleAssignments.Clear(ctx, nil); err != nil {
		return d, err
	}
	if err := k.NodeRoles.Clear(ctx, nil); err != nil {
		return d, err
	}
	roles := types.RolesOf(a)
	for _, role := range types.AllRoles {
		var ids []uint64
		for _, id := range roles[role] {
			if bonded[id] {
				ids = append(ids, id)
			}
		}
		if err := k.RoleAssignments.Set(ctx, int32(role), types.RoleAssignment{Role: role, EpochId: epochID, NodeIds: ids}); err != nil {
			return d, err
		}
		for _, id := range ids {
			if err := k.NodeRoles.Set(ctx, id, int32(role)); err != nil {
				return d, err
			}
		}
		d.assigned += uint32(len(ids))
	}
	next := types.DrawSnapshot{EpochId: epochID + 1, Candidates: make([]types.DrawCandidate, len(live))}
	for i, c := range live {
		next.Candidates[i] = types.DrawCandidate{NodeId: c.ID, Weight: c.Weight}
	}
	return d, k.DrawSnapshot.Set(ctx, next)
}

// rotateKeysAndListCandidates replaces every announced sphinx key and lists
// the nodes a draw may pick now (not unbonding, at least the minimum
// performance, weighted by stake x performance, in id order) and the set of
// nodes bonded and not unbonding.
func (k Keeper) rotateKeysAndListCandidates(ctx context.Context, params types.Params) ([]selection.Candidate, map[uint64]bool, error) {
	var candidates []selection.Candidate
	bonded := map[uint64]bool{}
	it, err := k.Nodes.Iterate(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	var rotated []types.Node
	for ; it.Valid(); it.Next() {
		node, err := it.Value()
		if err != nil {
			it.Close()
			return nil, nil, err
		}
		if len(node.NextSphinxKey) != 0 {
			node.SphinxKey, node.NextSphinxKey, node.NextSphinxKeyEpoch = node.NextSphinxKey, nil, 0
			rotated = append(rotated, node)
		}
		if node.Unbonding {
			continue
		}
		bonded[node.NodeId] = true
		if node.Performance.LT(params.MinimumPerformance) {
			continue
		}
		w := node.Performance.MulInt(node.Stake()).TruncateInt()
		candidates = append(candidates, selection.Candidate{ID: node.NodeId, Weight: w})
	}
	it.Close()
	for _, node := range rotated {
		if err := k.Nodes.Set(ctx, node.NodeId, node); err != nil {
			return nil, nil, err
		}
		if err := emit(ctx, &types.EventSphinxKeyRotated{NodeId: node.NodeId, SphinxKey: node.SphinxKey}); err != nil {
			return nil, nil, err
		}
	}
	return candidates, bonded, nil
}
