package explorer

import (
	"bytes"
	"fmt"
	"html/template"
	"sort"
	"strings"
	"time"

	"cosmossdk.io/math"

	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// roleOrder is the order roles are listed in, following a packet's path.
var roleOrder = []mixnettypes.Role{
	mixnettypes.RoleEntryGateway, mixnettypes.RoleMixLayer1, mixnettypes.RoleMixLayer2,
	mixnettypes.RoleMixLayer3, mixnettypes.RoleExitGateway, mixnettypes.RoleStandby,
	mixnettypes.RoleUnspecified,
}

// roleName is how pages and query parameters spell a role.
func roleName(r mixnettypes.Role) string {
	switch r {
	case mixnettypes.RoleEntryGateway:
		return "entry"
	case mixnettypes.RoleMixLayer1:
		return "mix1"
	case mixnettypes.RoleMixLayer2:
		return "mix2"
	case mixnettypes.RoleMixLayer3:
		return "mix3"
	case mixnettypes.RoleExitGateway:
		return "exit"
	case mixnettypes.RoleStandby:
		return "standby"
	}
	return "none"
}

// RoleTitle is a role's name for people, as the pages show it.
func RoleTitle(r mixnettypes.Role) string {
	switch r {
	case mixnettypes.RoleEntryGateway:
		return "entry gateway"
	case mixnettypes.RoleMixLayer1:
		return "mix layer 1"
	case mixnettypes.RoleMixLayer2:
		return "mix layer 2"
	case mixnettypes.RoleMixLayer3:
		return "mix layer 3"
	case mixnettypes.RoleExitGateway:
		return "exit gateway"
	case mixnettypes.RoleStandby:
		return "standby"
	}
	return "no role"
}

// NodeView is one node as the pages show it: every figure already formatted,
// so rendering a page of a thousand nodes only copies strings.
type NodeView struct {
	ID        uint64
	Role      mixnettypes.Role
	RoleName  string // as in ?role=
	RoleTitle string
	Owner     string
	Host      string
	MixPort   uint32
	Clients   uint32
	HTTPPort  uint32
	Identity  string // hex
	Unbonding bool

	Pledge, Delegations, Stake    string // unym
	OperatorReward, DelegatorPool string // unym, earned and not withdrawn
	ProfitMargin, OperatingCost   string
	Saturation, Performance       string // percent
	// Row is the node's row of the node list, rendered (and escaped) once
	// per snapshot: a list of a thousand nodes is then a copy, not a
	// thousand escapings.
	Row                     template.HTML
	stake                   math.Int
	saturation, performance float64
}

// Snapshot is what the explorer last read from the chain; pages render from it.
type Snapshot struct {
	Fetched time.Time
	Height  int64
	Epoch   mixnettypes.QueryEpochStatusResponse
	// Nodes are every bonded node, by id.
	Nodes []NodeView
	byID  map[uint64]int
	// RoleCounts counts nodes per role (index: the role's number).
	RoleCounts      map[string]int
	TotalStake      string
	RewardPool      string
	EpochBudget     string
	SaturationPoint string
	Credentials     CredentialStats
	Layout          *Layout
	// Picture is Layout drawn as SVG, once per snapshot.
	Picture template.HTML
	// orders are the node list's orders other than by id, as indexes into
	// Nodes, sorted once per snapshot rather than per request.
	orders map[string][]int
}

// CredentialStats are x/coconut's counts, from its Stats query: the chain
// keeps them as credentials are requested, issued (in its PreBlocker, where
// no transaction records it) and spent.
type CredentialStats struct {
	// Known is false when the chain did not answer the Stats query (a chain
	// without x/coconut's counts): the page says so rather than show zeros.
	Known bool
	// Requested is how many credentials were requested (deposits made),
	// Issued how many the issuers signed to the threshold, Spent how many
	// gateways redeemed, since the chain began; Deposited and Paid the unym
	// paid in for them and out to gateway operators.
	Requested, Issued, Spent uint64
	Deposited, Paid          string
	// Keys are the counts of the latest issuing keys, newest first.
	Keys []KeyStats
	// KeyID is the current issuing key (0: none yet); DKGRound the latest
	// DKG round and its phase.
	KeyID    uint64
	DKGRound uint64
	DKGPhase string
}

// KeyStats are one issuing key's counts.
type KeyStats struct {
	KeyID                    uint64
	Requested, Issued, Spent uint64
}

// BuildSnapshot turns the chain's answers into a Snapshot: nodes are every
// bonded node, roles the current epoch's assignment (by node id), pool the
// reward pool query (for the saturation point; nil leaves saturation blank).
func BuildSnapshot(epoch mixnettypes.QueryEpochStatusResponse, nodes []mixnettypes.Node,
	roles map[uint64]mixnettypes.Role, pool *mixnettypes.QueryRewardPoolResponse) *Snapshot {
	s := &Snapshot{Epoch: epoch, byID: make(map[uint64]int, len(nodes)), RoleCounts: map[string]int{}}
	sorted := append([]mixnettypes.Node(nil), nodes...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].NodeId < sorted[j].NodeId })
	total := math.ZeroInt()
	for _, n := range sorted {
		v := nodeView(n, roles[n.NodeId], pool)
		total = total.Add(v.stake)
		s.byID[n.NodeId] = len(s.Nodes)
		s.Nodes = append(s.Nodes, v)
		s.RoleCounts[v.RoleName]++
	}
	s.TotalStake = total.String()
	if pool != nil {
		s.RewardPool = pool.RewardPool.String()
		s.EpochBudget = pool.EpochBudget.TruncateInt().String()
		s.SaturationPoint = pool.StakeSaturationPoint.TruncateInt().String()
	}
	s.Layout = layoutTopology(s.Nodes)
	s.orders = make(map[string][]int, len(sortKeys))
	for _, k := range sortKeys[1:] {
		s.orders[k] = sortedIndexes(s.Nodes, k)
	}
	for i := range s.Nodes {
		s.Nodes[i].Row = renderHTML("noderow", &s.Nodes[i])
	}
	s.Picture = renderHTML("picture", s.Layout)
	return s
}

func nodeView(n mixnettypes.Node, r mixnettypes.Role, pool *mixnettypes.QueryRewardPoolResponse) NodeView {
	stake := nonNil(n.Pledge.Amount).Add(nonNil(n.Delegations))
	v := NodeView{
		ID: n.NodeId, Role: r, RoleName: roleName(r), RoleTitle: RoleTitle(r),
		Owner: n.Owner, Host: n.Host, MixPort: n.MixPort, Clients: n.ClientsPort, HTTPPort: n.HttpPort,
		Identity: fmt.Sprintf("%x", n.IdentityKey), Unbonding: n.Unbonding,
		Pledge: nonNil(n.Pledge.Amount).String(), Delegations: nonNil(n.Delegations).String(), Stake: stake.String(),
		OperatorReward: nonNil(n.OperatorReward).String(), DelegatorPool: nonNil(n.DelegatorPool).String(),
		OperatingCost: n.CostParams.IntervalOperatingCost.String(),
		stake:         stake,
	}
	if !n.CostParams.ProfitMargin.IsNil() {
		v.ProfitMargin = Percent(n.CostParams.ProfitMargin)
	}
	if !n.Performance.IsNil() {
		v.Performance = Percent(n.Performance)
		v.performance = decFloat(n.Performance)
	}
	if pool != nil && !pool.StakeSaturationPoint.IsNil() && pool.StakeSaturationPoint.IsPositive() {
		sat := math.LegacyNewDecFromInt(stake).Quo(pool.StakeSaturationPoint)
		v.Saturation = Percent(sat)
		v.saturation = decFloat(sat)
	}
	return v
}

func nonNil(i math.Int) math.Int {
	if i.IsNil() {
		return math.ZeroInt()
	}
	return i
}

// Percent formats a fraction as the pages show it: a percentage truncated
// to two decimals.
func Percent(d math.LegacyDec) string {
	p := d.MulInt64(100)
	s := p.String() // 18 decimals
	if i := strings.IndexByte(s, '.'); i >= 0 && len(s) > i+3 {
		s = s[:i+3]
	}
	return s + "%"
}

func decFloat(d math.LegacyDec) float64 {
	f, err := d.Float64()
	if err != nil {
		return 0
	}
	return f
}

// Node returns the node with the given id from the snapshot.
func (s *Snapshot) Node(id uint64) (NodeView, bool) {
	i, ok := s.byID[id]
	if !ok {
		return NodeView{}, false
	}
	return s.Nodes[i], true
}

// sortedIndexes returns the indexes of nodes in the order a node list asks for.
func sortedIndexes(nodes []NodeView, by string) []int {
	idx := make([]int, len(nodes))
	for i := range idx {
		idx[i] = i
	}
	var less func(a, b *NodeView) bool
	switch by {
	case "stake":
		less = func(a, b *NodeView) bool { return a.stake.GT(b.stake) }
	case "saturation":
		less = func(a, b *NodeView) bool { return a.saturation > b.saturation }
	case "performance":
		less = func(a, b *NodeView) bool { return a.performance > b.performance }
	case "role":
		rank := map[mixnettypes.Role]int{}
		for i, r := range roleOrder {
			rank[r] = i
		}
		less = func(a, b *NodeView) bool { return rank[a.Role] < rank[b.Role] }
	default:
		return idx
	}
	sort.SliceStable(idx, func(i, j int) bool { return less(&nodes[idx[i]], &nodes[idx[j]]) })
	return idx
}

// renderHTML renders a fragment that is the same for every request.
func renderHTML(name string, data any) template.HTML {
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, name, data); err != nil {
		// The fragments are fixed and their fields strings and numbers.
		panic(fmt.Sprintf("explorer: render %s: %v", name, err))
	}
	return template.HTML(b.String())
}
