package types

import "cosmossdk.io/collections"

const (
	// ModuleName is the module's name, its store key and its module account's name.
	ModuleName = "mixnet"
	// StoreKey is the module's KV store key.
	StoreKey = ModuleName
	// Denom is the token of pledges, delegations and rewards.
	Denom = "unym"
)

// Store prefixes, one per collection of the keeper's schema.
var (
	ParamsKey             = collections.NewPrefix(0)
	EpochKey              = collections.NewPrefix(1)
	IntervalRewardingKey  = collections.NewPrefix(2)
	RewardPoolKey         = collections.NewPrefix(3)
	NextNodeIDKey         = collections.NewPrefix(4)
	NextEventIDKey        = collections.NewPrefix(5)
	NodesKey              = collections.NewPrefix(6)
	NodeByOwnerKey        = collections.NewPrefix(7)
	NodeByIdentityKey     = collections.NewPrefix(8)
	NodeByHostPortKey     = collections.NewPrefix(9)
	DelegationsKey        = collections.NewPrefix(10)
	DelegatorIndexKey     = collections.NewPrefix(11)
	EpochEventsKey        = collections.NewPrefix(12)
	IntervalEventsKey     = collections.NewPrefix(13)
	RoleAssignmentsKey    = collections.NewPrefix(14)
	NodeRolesKey          = collections.NewPrefix(15)
	PerformanceReportsKey = collections.NewPrefix(16)
	SigningNoncesKey      = collections.NewPrefix(17)
	// PendingUndelegationsKey is the sum of the queued undelegations per delegation.
	PendingUndelegationsKey = collections.NewPrefix(18)
	// IntervalEventByNodeKey indexes each node's queued cost-param change.
	IntervalEventByNodeKey = collections.NewPrefix(19)
	// DrawSnapshotKey is the input of the next epoch's role draw.
	DrawSnapshotKey = collections.NewPrefix(20)
	// NextServiceIDKey, ServicesKey: the service directory by id.
	NextServiceIDKey = collections.NewPrefix(21)
	ServicesKey      = collections.NewPrefix(22)
	// ServicesByAnnouncerKey, ServicesByKindKey and ServiceByAddressKey index it
	// (derived: rebuilt from the services at genesis).
	ServicesByAnnouncerKey = collections.NewPrefix(23)
	ServicesByKindKey      = collections.NewPrefix(24)
	ServiceByAddressKey    = collections.NewPrefix(25)
)
