// Package keeper holds the mixnet module's state and the logic that changes it:
// messages (msg_server.go: each handler checks its input and calls one keeper
// method; the methods that move coins are in bonding.go and delegating.go, and
// x/vesting calls the same ones with its module account paying, funding.go),
// queries (grpc_query.go), the epoch transition
// (abci.go; its role draw is seeded by x/coconut's epoch beacon when there is
// one, beacon.go), genesis (genesis.go) and the invariant (invariants.go).
package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/core/address"
	"cosmossdk.io/core/store"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/log/v2"
	"cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/mixnet/rewarding"
	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

// Keeper is the mixnet module's keeper. Its whole state is the collections below.
type Keeper struct {
	cdc          codec.BinaryCodec
	storeService store.KVStoreService
	addressCodec address.Codec
	authKeeper   types.AccountKeeper
	bankKeeper   types.BankKeeper
	authority    string
	beacons      *beaconRef
	vesting      *vestingRef

	Schema collections.Schema
	// Params are the module's params.
	Params collections.Item[types.Params]
	// Epoch is the current epoch and interval.
	Epoch collections.Item[types.EpochState]
	// IntervalRewarding are the current interval's reward inputs.
	IntervalRewarding collections.Item[types.IntervalRewarding]
	// RewardPool is the unym in the module account owed to nobody.
	RewardPool collections.Item[math.Int]
	// NextNodeID and NextEventID hand out ids.
	NextNodeID  collections.Sequence
	NextEventID collections.Sequence
	// Nodes are the bonded nodes, with their reward accounting, by id.
	Nodes collections.Map[uint64, types.Node]
	// NodeByOwner, NodeByIdentity and NodeByHostPort index Nodes.
	NodeByOwner    collections.Map[sdk.AccAddress, uint64]
	NodeByIdentity collections.Map[[]byte, uint64]
	NodeByHostPort collections.Map[string, uint64]
	// Delegations by (node id, delegator), indexed by DelegatorIndex.
	Delegations    collections.Map[collections.Pair[uint64, sdk.AccAddress], types.Delegation]
	DelegatorIndex collections.KeySet[collections.Pair[sdk.AccAddress, uint64]]
	// EpochEvents and IntervalEvents are the queued changes, by id (= order).
	EpochEvents    collections.Map[uint64, types.EpochEvent]
	IntervalEvents collections.Map[uint64, types.IntervalEvent]
	// RoleAssignments are the current epoch's roles, by role; NodeRoles is the reverse.
	RoleAssignments collections.Map[int32, types.RoleAssignment]
	NodeRoles       collections.Map[uint64, int32]
	// PerformanceReports are this epoch's reports, by (node id, monitor).
	PerformanceReports collections.Map[collections.Pair[uint64, sdk.AccAddress], math.LegacyDec]
	// SigningNonces are the owners' bond signing nonces.
	SigningNonces collections.Map[sdk.AccAddress, uint64]
	// PendingUndelegations are the amounts of the queued undelegations, by (node
	// id, delegator), so no more can be queued than the delegation holds. Derived
	// from EpochEvents (rebuilt by InitGenesis, not exported).
	PendingUndelegations collections.Map[collections.Pair[uint64, sdk.AccAddress], math.Int]
	// IntervalEventByNode is the id of each node's queued cost-param change: a
	// node has at most one, so an interval boundary costs O(nodes). Derived from
	// IntervalEvents.
	IntervalEventByNode collections.Map[uint64, uint64]
	// DrawSnapshot is the input of the next epoch's role draw, taken when the
	// current epoch began (abci.go, drawRoles).
	DrawSnapshot collections.Item[types.DrawSnapshot]
	// Services is the service directory by id (services.go); NextServiceID hands
	// out the ids.
	Services      collections.Map[uint64, types.Service]
	NextServiceID collections.Sequence
	// ServicesByAnnouncer, ServicesByKind and ServiceByAddress index Services
	// (derived: rebuilt by InitGenesis, not exported).
	ServicesByAnnouncer collections.KeySet[collections.Pair[sdk.AccAddress, uint64]]
	ServicesByKind      collections.KeySet[collections.Pair[string, uint64]]
	ServiceByAddress    collections.Map[string, uint64]
}

// NewKeeper builds the keeper. authority is the address allowed to change the params
// (normally the gov module account). It panics if the module account is unknown to
// the account keeper, as a wiring error.
func NewKeeper(cdc codec.BinaryCodec, storeService store.KVStoreService, ak types.AccountKeeper, bk types.BankKeeper, authority string) Keeper {
	if ak.GetModuleAddress(types.ModuleName) == nil {
		panic(fmt.Sprintf("the %s module account has not been set", types.ModuleName))
	}
	if _, err := ak.AddressCodec().StringToBytes(authority); err != nil {
		panic(fmt.Sprintf("invalid %s authority address %q: %v", types.ModuleName, authority, err))
	}
	sb := collections.NewSchemaBuilder(storeService)
	k := Keeper{
		beacons:           &beaconRef{},
		vesting:           &vestingRef{},
		cdc:               cdc,
		storeService:      storeService,
		addressCodec:      ak.AddressCodec(),
		authKeeper:        ak,
		bankKeeper:        bk,
		authority:         authority,
		Params:            collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		Epoch:             collections.NewItem(sb, types.EpochKey, "epoch", codec.CollValue[types.EpochState](cdc)),
		IntervalRewarding: collections.NewItem(sb, types.IntervalRewardingKey, "interval_rewarding", codec.CollValue[types.IntervalRewarding](cdc)),
		RewardPool:        collections.NewItem(sb, types.RewardPoolKey, "reward_pool", sdk.IntValue),
		NextNodeID:        collections.NewSequence(sb, types.NextNodeIDKey, "next_node_id"),
		NextEventID:       collections.NewSequence(sb, types.NextEventIDKey, "next_event_id"),
		Nodes:             collections.NewMap(sb, types.NodesKey, "nodes", collections.Uint64Key, codec.CollValue[types.Node](cdc)),
		NodeByOwner:       collections.NewMap(sb, types.NodeByOwnerKey, "node_by_owner", sdk.AccAddressKey, collections.Uint64Value),
		NodeByIdentity:    collections.NewMap(sb, types.NodeByIdentityKey, "node_by_identity", collections.BytesKey, collections.Uint64Value),
		NodeByHostPort:    collections.NewMap(sb, types.NodeByHostPortKey, "node_by_host_port", collections.StringKey, collections.Uint64Value),
		Delegations: collections.NewMap(sb, types.DelegationsKey, "delegations",
			collections.PairKeyCodec(collections.Uint64Key, sdk.AccAddressKey), codec.CollValue[types.Delegation](cdc)),
		DelegatorIndex: collections.NewKeySet(sb, types.DelegatorIndexKey, "delegator_index",
			collections.PairKeyCodec(sdk.AccAddressKey, collections.Uint64Key)),
		EpochEvents:     collections.NewMap(sb, types.EpochEventsKey, "epoch_events", collections.Uint64Key, codec.CollValue[types.EpochEvent](cdc)),
		IntervalEvents:  collections.NewMap(sb, types.IntervalEventsKey, "interval_events", collections.Uint64Key, codec.CollValue[types.IntervalEvent](cdc)),
		RoleAssignments: collections.NewMap(sb, types.RoleAssignmentsKey, "role_assignments", collections.Int32Key, codec.CollValue[types.RoleAssignment](cdc)),
		NodeRoles:       collections.NewMap(sb, types.NodeRolesKey, "node_roles", collections.Uint64Key, collections.Int32Value),
		PerformanceReports: collections.NewMap(sb, types.PerformanceReportsKey, "performance_reports",
			collections.PairKeyCodec(collections.Uint64Key, sdk.AccAddressKey), sdk.LegacyDecValue),
		SigningNonces: collections.NewMap(sb, types.SigningNoncesKey, "signing_nonces", sdk.AccAddressKey, collections.Uint64Value),
		PendingUndelegations: collections.NewMap(sb, types.PendingUndelegationsKey, "pending_undelegations",
			collections.PairKeyCodec(collections.Uint64Key, sdk.AccAddressKey), sdk.IntValue),
		IntervalEventByNode: collections.NewMap(sb, types.IntervalEventByNodeKey, "interval_event_by_node", collections.Uint64Key, collections.Uint64Value),
		DrawSnapshot:        collections.NewItem(sb, types.DrawSnapshotKey, "draw_snapshot", codec.CollValue[types.DrawSnapshot](cdc)),
		Services:            collections.NewMap(sb, types.ServicesKey, "services", collections.Uint64Key, codec.CollValue[types.Service](cdc)),
		NextServiceID:       collections.NewSequence(sb, types.NextServiceIDKey, "next_service_id"),
		ServicesByAnnouncer: collections.NewKeySet(sb, types.ServicesByAnnouncerKey, "services_by_announcer",
			collections.PairKeyCodec(sdk.AccAddressKey, collections.Uint64Key)),
		ServicesByKind: collections.NewKeySet(sb, types.ServicesByKindKey, "services_by_kind",
			collections.PairKeyCodec(collections.StringKey, collections.Uint64Key)),
		ServiceByAddress: collections.NewMap(sb, types.ServiceByAddressKey, "service_by_address", collections.StringKey, collections.Uint64Value),
	}
	schema, err := sb.Build()
	if err != nil {
		panic(err)
	}
	k.Schema = schema
	return k
}

// GetAuthority returns the address allowed to change the params.
func (k Keeper) GetAuthority() string { return k.authority }

// Logger returns the module's logger.
func (k Keeper) Logger(ctx context.Context) log.Logger {
	return sdk.UnwrapSDKContext(ctx).Logger().With("module", "x/"+types.ModuleName)
}

// ModuleAddress returns the module account's address.
func (k Keeper) ModuleAddress() sdk.AccAddress {
	return k.authKeeper.GetModuleAddress(types.ModuleName)
}

func (k Keeper) parseAddress(what, s string) (sdk.AccAddress, error) {
	bz, err := k.addressCodec.StringToBytes(s)
	if err != nil {
		return nil, errorsmod.Wrapf(types.ErrInvalidAddress, "%s address %q: %v", what, s, err)
	}
	return bz, nil
}

// pay sends unym from the module account; a zero amount is a no-op.
func (k Keeper) pay(ctx context.Context, to sdk.AccAddress, amount math.Int) error {
	if !amount.IsPositive() {
		return nil
	}
	return k.bankKeeper.SendCoinsFromModuleToAccount(ctx, types.ModuleName, to, sdk.NewCoins(sdk.NewCoin(types.Denom, amount)))
}

// collect sends unym to the module account.
func (k Keeper) collect(ctx context.Context, from sdk.AccAddress, c sdk.Coin) error {
	return k.bankKeeper.SendCoinsFromAccountToModule(ctx, from, types.ModuleName, sdk.NewCoins(c))
}

// addToPool adds to the reward pool (funding, rounding dust).
func (k Keeper) addToPool(ctx context.Context, amount math.Int) error {
	if amount.IsZero() {
		return nil
	}
	pool, err := k.RewardPool.Get(ctx)
	if err != nil {
		return err
	}
	return k.RewardPool.Set(ctx, pool.Add(amount))
}

// nodeByOwner returns the owner's node.
func (k Keeper) nodeByOwner(ctx context.Context, owner sdk.AccAddress) (types.Node, error) {
	id, err := k.NodeByOwner.Get(ctx, owner)
	if err != nil {
		if errorsmod.IsOf(err, collections.ErrNotFound) {
			return types.Node{}, errorsmod.Wrapf(types.ErrNodeNotFound, "no node bonded by %s", owner)
		}
		return types.Node{}, err
	}
	return k.Nodes.Get(ctx, id)
}

// getNode returns a node by id with a clear error.
func (k Keeper) getNode(ctx context.Context, id uint64) (types.Node, error) {
	n, err := k.Nodes.Get(ctx, id)
	if err != nil {
		if errorsmod.IsOf(err, collections.ErrNotFound) {
			return types.Node{}, errorsmod.Wrapf(types.ErrNodeNotFound, "node %d", id)
		}
		return types.Node{}, err
	}
	return n, nil
}

// nextEventID hands out the id of a queued event; ids start at 1.
func (k Keeper) nextEventID(ctx context.Context) (uint64, error) {
	id, err := k.NextEventID.Next(ctx)
	if err != nil {
		return 0, err
	}
	if id == 0 { // the sequence starts at 0; 0 is reserved for "none"
		return k.NextEventID.Next(ctx)
	}
	return id, nil
}

// indexNode writes or removes a node's secondary index entries.
func (k Keeper) indexNode(ctx context.Context, n types.Node, remove bool) error {
	owner, err := k.parseAddress("owner", n.Owner)
	if err != nil {
		return err
	}
	hps := types.HostPortKeys(n.Host, n.MixPort, n.ClientsPort, n.HttpPort)
	if remove {
		if err := k.NodeByOwner.Remove(ctx, owner); err != nil {
			return err
		}
		if err := k.NodeByIdentity.Remove(ctx, n.IdentityKey); err != nil {
			return err
		}
		for _, hp := range hps {
			if err := k.NodeByHostPort.Remove(ctx, hp); err != nil {
				return err
			}
		}
		return nil
	}
	if err := k.NodeByOwner.Set(ctx, owner, n.NodeId); err != nil {
		return err
	}
	if err := k.NodeByIdentity.Set(ctx, n.IdentityKey, n.NodeId); err != nil {
		return err
	}
	for _, hp := range hps {
		if err := k.NodeByHostPort.Set(ctx, hp, n.NodeId); err != nil {
			return err
		}
	}
	return nil
}

// checkHostPortsFree fails if any of the host:port keys belongs to another node.
func (k Keeper) checkHostPortsFree(ctx context.Context, self uint64, host string, mix, clients, http uint32) error {
	for _, hp := range types.HostPortKeys(host, mix, clients, http) {
		id, err := k.NodeByHostPort.Get(ctx, hp)
		switch {
		case err == nil && id != self:
			return errorsmod.Wrapf(types.ErrDuplicateHostPort, "%s is used by node %d", hp, id)
		case err != nil && !errorsmod.IsOf(err, collections.ErrNotFound):
			return err
		}
	}
	return nil
}

// rdZero is "no delegation yet" for x/mixnet/rewarding.
func rdZero() rewarding.Delegation { return rewarding.Delegation{} }
