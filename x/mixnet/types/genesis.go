package types

import (
	"fmt"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
)

// DefaultGenesisState is a new chain's mixnet state: default params, epoch 0
// starting at the genesis time, no nodes. The reward pool is whatever unym the bank
// genesis gives the module account.
func DefaultGenesisState() *GenesisState {
	return &GenesisState{
		Params:        DefaultParams(),
		RewardPool:    math.ZeroInt(),
		NextNodeId:    1,
		NextServiceId: 1,
	}
}

func genesisErr(format string, args ...any) error {
	return errorsmod.Wrapf(ErrInvalidGenesis, format, args...)
}

// Validate checks the genesis state is self-consistent: every reference resolves,
// every unique key is unique and every node's delegation total matches its
// delegations. Addresses are checked for form by the keeper at import.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return err
	}
	if gs.RewardPool.IsNil() || gs.RewardPool.IsNegative() {
		return genesisErr("reward pool %v is nil or negative", gs.RewardPool)
	}
	if gs.IntervalRewarding != nil {
		ir := gs.IntervalRewarding
		if ir.RewardPool.IsNil() || ir.RewardPool.IsNegative() || ir.StakingSupply.IsNil() || ir.StakingSupply.IsNegative() {
			return genesisErr("interval reward pool or staking supply is nil or negative")
		}
		if ir.EpochsPerInterval == 0 {
			return genesisErr("interval has zero epochs")
		}
		if gs.Epoch.EpochInInterval >= ir.EpochsPerInterval {
			return genesisErr("epoch %d of an interval of %d epochs", gs.Epoch.EpochInInterval, ir.EpochsPerInterval)
		}
		if err := ir.RewardedSet.Validate(); err != nil {
			return err
		}
		if err := ir.RewardParams.ToRewarding().Validate(); err != nil {
			return genesisErr("interval reward params: %v", err)
		}
	}

	nodes := make(map[uint64]*Node, len(gs.Nodes))
	owners := map[string]bool{}
	identities := map[string]bool{}
	hostPorts := map[string]bool{}
	for i := range gs.Nodes {
		n := &gs.Nodes[i]
		if err := validateNode(n); err != nil {
			return genesisErr("node %d: %v", n.NodeId, err)
		}
		if n.NodeId == 0 || n.NodeId >= gs.NextNodeId {
			return genesisErr("node id %d is not in 1..next_node_id-1 (%d)", n.NodeId, gs.NextNodeId)
		}
		if nodes[n.NodeId] != nil {
			return genesisErr("duplicate node id %d", n.NodeId)
		}
		nodes[n.NodeId] = n
		if owners[n.Owner] {
			return genesisErr("owner %s has two nodes", n.Owner)
		}
		owners[n.Owner] = true
		if identities[string(n.IdentityKey)] {
			return genesisErr("node %d: duplicate identity key", n.NodeId)
		}
		identities[string(n.IdentityKey)] = true
		for _, hp := range HostPortKeys(n.Host, n.MixPort, n.ClientsPort, n.HttpPort) {
			if hostPorts[hp] {
				return genesisErr("node %d: %s already in use", n.NodeId, hp)
			}
			hostPorts[hp] = true
		}
	}

	type pair struct {
		node      uint64
		delegator string
	}
	sums := map[uint64]math.Int{}
	seen := map[pair]bool{}
	for _, d := range gs.Delegations {
		n := nodes[d.NodeId]
		if n == nil {
			return genesisErr("delegation of %s to unknown node %d", d.Delegator, d.NodeId)
		}
		if d.Delegator == "" {
			return genesisErr("delegation to node %d has no delegator", d.NodeId)
		}
		if seen[pair{d.NodeId, d.Delegator}] {
			return genesisErr("duplicate delegation of %s to node %d", d.Delegator, d.NodeId)
		}
		seen[pair{d.NodeId, d.Delegator}] = true
		if err := ValidateAmount("delegation", d.Amount); err != nil {
			return genesisErr("delegation of %s to node %d: %v", d.Delegator, d.NodeId, err)
		}
		if v := d.VestingPart(); v.IsNegative() || v.GT(d.Amount.Amount) {
			return genesisErr("delegation of %s to node %d: vesting part %v out of range", d.Delegator, d.NodeId, v)
		}
		if d.UnitReward.IsNil() || d.UnitReward.IsNegative() || d.UnitReward.GT(n.UnitReward) {
			return genesisErr("delegation of %s to node %d: unit reward %v out of range", d.Delegator, d.NodeId, d.UnitReward)
		}
		s, ok := sums[d.NodeId]
		if !ok {
			s = math.ZeroInt()
		}
		sums[d.NodeId] = s.Add(d.Amount.Amount)
	}
	for id, n := range nodes {
		s, ok := sums[id]
		if !ok {
			s = math.ZeroInt()
		}
		if !s.Equal(n.Delegations) {
			return genesisErr("node %d: delegations total %v but its delegations sum to %v", id, n.Delegations, s)
		}
	}

	if gs.Epoch.DueEventId >= gs.NextEventId && gs.Epoch.DueEventId != 0 {
		return genesisErr("due event id %d is not below next_event_id (%d)", gs.Epoch.DueEventId, gs.NextEventId)
	}
	eventIDs := map[uint64]bool{}
	checkID := func(id uint64) error {
		if id == 0 || id >= gs.NextEventId {
			return genesisErr("event id %d is not in 1..next_event_id-1 (%d)", id, gs.NextEventId)
		}
		if eventIDs[id] {
			return genesisErr("duplicate event id %d", id)
		}
		eventIDs[id] = true
		return nil
	}
	for _, e := range gs.EpochEvents {
		if err := checkID(e.Id); err != nil {
			return err
		}
		if err := e.Validate(); err != nil {
			return genesisErr("epoch event %d: %v", e.Id, err)
		}
	}
	for _, e := range gs.IntervalEvents {
		if err := checkID(e.Id); err != nil {
			return err
		}
		if nodes[e.NodeId] == nil {
			return genesisErr("interval event %d: unknown node %d", e.Id, e.NodeId)
		}
		if err := e.CostParams.Validate(); err != nil {
			return genesisErr("interval event %d: %v", e.Id, err)
		}
	}

	assigned := map[uint64]bool{}
	roles := map[Role]bool{}
	for _, ra := range gs.RoleAssignments {
		if !IsValidRole(ra.Role) {
			return genesisErr("role assignment for invalid role %d", ra.Role)
		}
		if roles[ra.Role] {
			return genesisErr("two assignments for role %s", ra.Role)
		}
		roles[ra.Role] = true
		if ra.EpochId != gs.Epoch.EpochId {
			return genesisErr("role %s assigned for epoch %d, current epoch is %d", ra.Role, ra.EpochId, gs.Epoch.EpochId)
		}
		for _, id := range ra.NodeIds {
			if nodes[id] == nil {
				return genesisErr("role %s: unknown node %d", ra.Role, id)
			}
			if assigned[id] {
				return genesisErr("node %d holds two roles", id)
			}
			assigned[id] = true
		}
	}

	type report struct {
		node    uint64
		monitor string
	}
	reports := map[report]bool{}
	for _, r := range gs.PerformanceReports {
		if nodes[r.NodeId] == nil {
			return genesisErr("performance report on unknown node %d", r.NodeId)
		}
		if r.Monitor == "" || reports[report{r.NodeId, r.Monitor}] {
			return genesisErr("performance report on node %d: empty or duplicate monitor", r.NodeId)
		}
		reports[report{r.NodeId, r.Monitor}] = true
		if err := checkUnitDec("performance", r.Performance); err != nil {
			return genesisErr("node %d: %v", r.NodeId, err)
		}
	}
	nonces := map[string]bool{}
	for _, n := range gs.SigningNonces {
		if n.Address == "" || nonces[n.Address] {
			return genesisErr("empty or duplicate signing nonce address %q", n.Address)
		}
		nonces[n.Address] = true
	}
	if snap := gs.DrawSnapshot; snap != nil {
		if snap.EpochId != gs.Epoch.EpochId+1 {
			return genesisErr("draw snapshot for epoch %d, the next epoch is %d", snap.EpochId, gs.Epoch.EpochId+1)
		}
		// A snapshot may name nodes that have left since it was taken: the draw
		// leaves their places empty.
		seen := map[uint64]bool{}
		for _, c := range snap.Candidates {
			if c.NodeId == 0 || seen[c.NodeId] {
				return genesisErr("draw snapshot: zero or duplicate node id %d", c.NodeId)
			}
			seen[c.NodeId] = true
			if c.Weight.IsNil() || c.Weight.IsNegative() {
				return genesisErr("draw snapshot: node %d has no or a negative weight", c.NodeId)
			}
		}
	}
	return gs.validateServices()
}

// validateServices checks the service directory: ids below next_service_id and
// unique, every entry valid, each address listed once and no announcer above the
// per-announcer bound. A service's gateway need not still be bonded: it was when
// the service was announced, and clients skip gateways outside the topology.
func (gs GenesisState) validateServices() error {
	next := max(gs.NextServiceId, 1)
	ids := map[uint64]bool{}
	addrs := map[string]bool{}
	perAnnouncer := map[string]uint32{}
	for i := range gs.Services {
		s := &gs.Services[i]
		if s.ServiceId == 0 || s.ServiceId >= next {
			return genesisErr("service id %d is not in 1..next_service_id-1 (%d)", s.ServiceId, next)
		}
		if ids[s.ServiceId] {
			return genesisErr("duplicate service id %d", s.ServiceId)
		}
		ids[s.ServiceId] = true
		if err := validateService(s); err != nil {
			return genesisErr("service %d: %v", s.ServiceId, err)
		}
		if addrs[s.NymAddress] {
			return genesisErr("service %d: address %s listed twice", s.ServiceId, s.NymAddress)
		}
		addrs[s.NymAddress] = true
		perAnnouncer[s.Announcer]++
		if perAnnouncer[s.Announcer] > gs.Params.MaxServicesPerAnnouncer {
			return genesisErr("announcer %s has more than %d services", s.Announcer, gs.Params.MaxServicesPerAnnouncer)
		}
	}
	return nil
}

func validateNode(n *Node) error {
	if n.Owner == "" {
		return fmt.Errorf("no owner")
	}
	if err := ValidateAmount("pledge", n.Pledge); err != nil {
		return err
	}
	if v := n.VestingPart(); v.IsNegative() || v.GT(n.Pledge.Amount) {
		return fmt.Errorf("vesting part of the pledge %v out of range", v)
	}
	if err := ValidateIdentityKey(n.IdentityKey); err != nil {
		return err
	}
	if err := ValidateSphinxKey(n.SphinxKey); err != nil {
		return err
	}
	if len(n.NextSphinxKey) != 0 {
		if err := ValidateSphinxKey(n.NextSphinxKey); err != nil {
			return err
		}
	}
	if err := ValidateHost(n.Host); err != nil {
		return err
	}
	if err := ValidatePorts(n.MixPort, n.ClientsPort, n.HttpPort); err != nil {
		return err
	}
	if err := n.CostParams.Validate(); err != nil {
		return err
	}
	if err := checkUnitDec("performance", n.Performance); err != nil {
		return err
	}
	return n.Rewarding().Validate()
}

// Validate checks an epoch event's amounts and addresses are set.
func (e EpochEvent) Validate() error {
	switch k := e.Kind.(type) {
	case *EpochEvent_Delegate:
		if k.Delegate.Delegator == "" {
			return fmt.Errorf("no delegator")
		}
		return ValidateAmount("delegation", k.Delegate.Amount)
	case *EpochEvent_Undelegate:
		if k.Undelegate.Delegator == "" {
			return fmt.Errorf("no delegator")
		}
		return ValidateAmount("undelegation", k.Undelegate.Amount)
	case *EpochEvent_PledgeMore:
		if k.PledgeMore.Owner == "" {
			return fmt.Errorf("no owner")
		}
		return ValidateAmount("pledge increase", k.PledgeMore.Amount)
	case *EpochEvent_DecreasePledge:
		return ValidateAmount("pledge decrease", k.DecreasePledge.Amount)
	case *EpochEvent_Unbond:
		return nil
	}
	return fmt.Errorf("event has no kind")
}
