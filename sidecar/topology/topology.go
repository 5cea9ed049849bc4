// Package topology is the sidecars' view of the mixnet: which node holds which
// role in the current epoch, with its keys and addresses, as x/mixnet's
// Topology query reports it.
//
// FromQuery turns a query response into a validated Topology. A Reader keeps
// the current one fresh from nyxd's gRPC: it refreshes when the epoch ends and
// on a timer, keeps the last good topology when the chain is unreachable, and
// tells its subscribers what changed.
package topology

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nyx-privacy/nyx/sphinx"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// Role is what a node does in an epoch. Its values are those of x/mixnet's
// Role, so a Role converts to and from mixnettypes.Role without a table.
type Role int

// The roles. None is a bonded node outside the rewarded set (it never
// appears in a Topology); the others mirror mixnettypes.Role.
const (
	None    Role = Role(mixnettypes.RoleUnspecified)
	Entry   Role = Role(mixnettypes.RoleEntryGateway)
	Layer1  Role = Role(mixnettypes.RoleMixLayer1)
	Layer2  Role = Role(mixnettypes.RoleMixLayer2)
	Layer3  Role = Role(mixnettypes.RoleMixLayer3)
	Exit    Role = Role(mixnettypes.RoleExitGateway)
	Standby Role = Role(mixnettypes.RoleStandby)
)

// String names the role.
func (r Role) String() string {
	switch r {
	case None:
		return "none"
	case Entry:
		return "entry-gateway"
	case Layer1:
		return "mix-layer-1"
	case Layer2:
		return "mix-layer-2"
	case Layer3:
		return "mix-layer-3"
	case Exit:
		return "exit-gateway"
	case Standby:
		return "standby"
	}
	return "role(" + strconv.Itoa(int(r)) + ")"
}

// IsGateway reports whether the role is the entry or the exit gateway.
func (r Role) IsGateway() bool { return r == Entry || r == Exit }

// Layer returns the mix layer (1, 2 or 3) of a mix role, and 0 otherwise.
func (r Role) Layer() int {
	if r >= Layer1 && r <= Layer3 {
		return int(r-Layer1) + 1
	}
	return 0
}

// Node is one node holding a role in an epoch.
type Node struct {
	ID   uint64
	Role Role
	// Identity is the node's ed25519 public key: its address in Sphinx
	// routing (sphinx.NodeAddress) and in client addresses.
	Identity [32]byte
	// SphinxKey is the node's current Sphinx key.
	SphinxKey *sphinx.PublicKey
	// NextSphinxKey is the key announced to replace SphinxKey at the next
	// epoch boundary, or nil.
	NextSphinxKey *sphinx.PublicKey
	Host          string
	MixPort       uint16
	ClientsPort   uint16
	HTTPPort      uint16
}

// Address is the node's identity as a Sphinx routing address.
func (n Node) Address() sphinx.NodeAddress { return sphinx.NodeAddress(n.Identity) }

// MixAddr is host:port of the node's mix (packet) listener.
func (n Node) MixAddr() string { return net.JoinHostPort(n.Host, strconv.Itoa(int(n.MixPort))) }

// ClientsAddr is host:port of the node's client (websocket) listener.
func (n Node) ClientsAddr() string {
	return net.JoinHostPort(n.Host, strconv.Itoa(int(n.ClientsPort)))
}

// HTTPAddr is host:port of the node's HTTP (metrics, health) listener.
func (n Node) HTTPAddr() string { return net.JoinHostPort(n.Host, strconv.Itoa(int(n.HTTPPort))) }

// Hop is the node as a hop of a Sphinx route, with the given delay.
func (n Node) Hop(delay time.Duration) sphinx.Hop {
	return sphinx.Hop{Address: n.Address(), PublicKey: n.SphinxKey, Delay: delay}
}

// Equal reports whether two nodes are the same in every field.
func (n Node) Equal(o Node) bool {
	return n.ID == o.ID && n.Role == o.Role && n.Identity == o.Identity &&
		keyEqual(n.SphinxKey, o.SphinxKey) && keyEqual(n.NextSphinxKey, o.NextSphinxKey) &&
		n.Host == o.Host && n.MixPort == o.MixPort && n.ClientsPort == o.ClientsPort && n.HTTPPort == o.HTTPPort
}

func keyEqual(a, b *sphinx.PublicKey) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(b)
}

// InvalidNode is a node of a query response that FromQuery left out, and why.
type InvalidNode struct {
	ID  uint64
	Err error
}

// Topology is the mixnet of one epoch. It is a plain value: treat it as
// read-only once built (a Reader hands the same *Topology to every user).
type Topology struct {
	Epoch      uint64
	EpochStart time.Time
	// EpochEnd is when the epoch is due to end; the chain ends it at the
	// first block at or after this time.
	EpochEnd time.Time
	Entry    []Node
	Exit     []Node
	// Layers are mix layers 1, 2 and 3.
	Layers  [3][]Node
	Standby []Node
	// Unassigned are the bonded nodes the chain gave no role this epoch
	// (role None). They carry no mix traffic, but a client registered with
	// one is still reached at it: the recipient's gateway is whatever node
	// the client registered with.
	Unassigned []Node
	// Invalid lists the nodes of the query response that were left out
	// because a key or an address did not parse.
	Invalid []InvalidNode
	// KeyRotationEpochs is the chain's sphinx key rotation schedule
	// (x/mixnet's sphinx_key_rotation_epochs): every node switches to a new
	// key at each epoch that is a multiple of it. 0: no schedule.
	KeyRotationEpochs uint64
}

// KeysHeldUntil bounds how long the sphinx keys of this epoch can be
// counted on, on the chain's rotation schedule: a node switches keys at
// the next epoch R that is a multiple of KeyRotationEpochs and keeps its
// old key through R; the bound is half an epoch before R ends, so a packet
// made with these keys (a reply SURB) still has time to cross. Zero
// without a schedule. An epoch that runs late only moves the real switch
// later, so the bound stays safe.
func (t *Topology) KeysHeldUntil() time.Time {
	n := t.KeyRotationEpochs
	if n == 0 {
		return time.Time{}
	}
	d := t.EpochEnd.Sub(t.EpochStart)
	if d <= 0 {
		return t.EpochEnd
	}
	next := (t.Epoch/n + 1) * n
	return t.EpochEnd.Add(time.Duration(next-t.Epoch)*d - d/2)
}

// Errors of FromQuery and Validate.
var (
	// ErrInvalid: the topology cannot carry traffic (a layer or the gateways
	// are empty, an identity appears twice).
	ErrInvalid = errors.New("topology: invalid")
	// ErrNode: one node's keys or addresses are unusable.
	ErrNode = errors.New("topology: invalid node")
)

// FromQuery builds and validates the topology of a Topology query response.
// A node whose keys or addresses do not parse is left out and listed in
// Invalid, so one bad bond cannot stop the network; the result is an error
// if a mix layer or the set of gateways is then empty, or an identity key
// appears twice.
func FromQuery(resp *mixnettypes.QueryTopologyResponse) (*Topology, error) {
	if resp == nil {
		return nil, fmt.Errorf("%w: empty response", ErrInvalid)
	}
	t := &Topology{
		Epoch:      resp.Epoch.EpochId,
		EpochStart: resp.Epoch.Start,
		EpochEnd:   resp.Epoch.End,
	}
	for i := range resp.Nodes {
		n, err := nodeFromQuery(&resp.Nodes[i])
		if err == nil && !mixnettypes.IsValidRole(resp.Nodes[i].Role) {
			err = fmt.Errorf("%w %d: unknown role %d", ErrNode, resp.Nodes[i].NodeId, resp.Nodes[i].Role)
		}
		if err != nil {
			t.Invalid = append(t.Invalid, InvalidNode{ID: resp.Nodes[i].NodeId, Err: err})
			continue
		}
		t.add(n)
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Topology) add(n Node) {
	switch n.Role {
	case Entry:
		t.Entry = append(t.Entry, n)
	case Exit:
		t.Exit = append(t.Exit, n)
	case Layer1, Layer2, Layer3:
		t.Layers[n.Role.Layer()-1] = append(t.Layers[n.Role.Layer()-1], n)
	case Standby:
		t.Standby = append(t.Standby, n)
	}
}

// AddUnassigned adds to t, as Unassigned, the bonded nodes of a Nodes query
// that hold no role in it. A node whose keys or addresses do not parse is
// left out and listed in Invalid; an unbonding node is left out.
func (t *Topology) AddUnassigned(nodes []mixnettypes.Node) {
	var parsed []Node
	for i := range nodes {
		b := &nodes[i]
		if b.Unbonding {
			continue
		}
		if _, ok := t.ByID(b.NodeId); ok {
			continue
		}
		n, err := nodeFromQuery(&mixnettypes.TopologyNode{NodeId: b.NodeId, Role: mixnettypes.RoleUnspecified,
			IdentityKey: b.IdentityKey, SphinxKey: b.SphinxKey, NextSphinxKey: b.NextSphinxKey,
			Host: b.Host, MixPort: b.MixPort, ClientsPort: b.ClientsPort, HttpPort: b.HttpPort})
		if err != nil {
			t.Invalid = append(t.Invalid, InvalidNode{ID: b.NodeId, Err: err})
			continue
		}
		parsed = append(parsed, n)
	}
	t.AddUnassignedNodes(parsed)
}

// AddUnassignedNodes adds already parsed nodes to t as Unassigned, leaving
// out those t already holds.
func (t *Topology) AddUnassignedNodes(nodes []Node) {
	for _, n := range nodes {
		if _, dup := t.ByIdentity(n.Identity); dup {
			continue
		}
		if _, dup := t.ByID(n.ID); dup {
			continue
		}
		n.Role = None
		t.Unassigned = append(t.Unassigned, n)
	}
}

func nodeFromQuery(q *mixnettypes.TopologyNode) (Node, error) {
	n := Node{ID: q.NodeId, Role: Role(q.Role), Host: q.Host}
	if err := mixnettypes.ValidateIdentityKey(q.IdentityKey); err != nil {
		return Node{}, fmt.Errorf("%w %d: identity key: %v", ErrNode, q.NodeId, err)
	}
	copy(n.Identity[:], q.IdentityKey)
	k, err := sphinx.NewPublicKey(q.SphinxKey)
	if err != nil {
		return Node{}, fmt.Errorf("%w %d: sphinx key: %v", ErrNode, q.NodeId, err)
	}
	n.SphinxKey = k
	if len(q.NextSphinxKey) != 0 {
		k, err := sphinx.NewPublicKey(q.NextSphinxKey)
		if err != nil {
			return Node{}, fmt.Errorf("%w %d: next sphinx key: %v", ErrNode, q.NodeId, err)
		}
		n.NextSphinxKey = k
	}
	if err := mixnettypes.ValidateHost(q.Host); err != nil {
		return Node{}, fmt.Errorf("%w %d: %v", ErrNode, q.NodeId, err)
	}
	if err := mixnettypes.ValidatePorts(q.MixPort, q.ClientsPort, q.HttpPort); err != nil {
		return Node{}, fmt.Errorf("%w %d: %v", ErrNode, q.NodeId, err)
	}
	n.MixPort, n.ClientsPort, n.HTTPPort = uint16(q.MixPort), uint16(q.ClientsPort), uint16(q.HttpPort)
	return n, nil
}

// Validate reports whether t can carry traffic: every mix layer has a node,
// there is at least one gateway, and no identity key appears twice.
func (t *Topology) Validate() error {
	for i, l := range t.Layers {
		if len(l) == 0 {
			return fmt.Errorf("%w: epoch %d has no node in mix layer %d", ErrInvalid, t.Epoch, i+1)
		}
	}
	if len(t.Entry)+len(t.Exit) == 0 {
		return fmt.Errorf("%w: epoch %d has no gateway", ErrInvalid, t.Epoch)
	}
	seen := map[[32]byte]uint64{}
	for _, n := range t.All() {
		if id, dup := seen[n.Identity]; dup {
			return fmt.Errorf("%w: nodes %d and %d share an identity key", ErrInvalid, id, n.ID)
		}
		seen[n.Identity] = n.ID
	}
	return nil
}

// All returns every node, in role order: entry, layers 1-3, exit, standby,
// then the unassigned.
func (t *Topology) All() []Node {
	out := make([]Node, 0, len(t.Entry)+len(t.Exit)+len(t.Layers[0])+len(t.Layers[1])+len(t.Layers[2])+len(t.Standby)+len(t.Unassigned))
	out = append(out, t.Entry...)
	for _, l := range t.Layers {
		out = append(out, l...)
	}
	out = append(out, t.Exit...)
	out = append(out, t.Standby...)
	return append(out, t.Unassigned...)
}

// ByIdentity finds a node of any role by its identity key.
func (t *Topology) ByIdentity(id [32]byte) (Node, bool) {
	return t.find(func(n *Node) bool { return n.Identity == id })
}

// ByID finds a node of any role by its chain node id.
func (t *Topology) ByID(id uint64) (Node, bool) {
	return t.find(func(n *Node) bool { return n.ID == id })
}

// find searches every role without building a list (a node resolves next
// hops with it).
func (t *Topology) find(match func(*Node) bool) (Node, bool) {
	if t == nil {
		return Node{}, false
	}
	for _, group := range [][]Node{t.Entry, t.Layers[0], t.Layers[1], t.Layers[2], t.Exit, t.Standby, t.Unassigned} {
		for i := range group {
			if match(&group[i]) {
				return group[i], true
			}
		}
	}
	return Node{}, false
}

// Gateways returns the entry and then the exit gateways.
func (t *Topology) Gateways() []Node {
	out := make([]Node, 0, len(t.Entry)+len(t.Exit))
	out = append(out, t.Entry...)
	return append(out, t.Exit...)
}

// Layer returns mix layer l (1, 2 or 3), or nil for any other l.
func (t *Topology) Layer(l int) []Node {
	if l < 1 || l > 3 {
		return nil
	}
	return t.Layers[l-1]
}

// RoleOf returns the role of the node with the given identity, or None.
func (t *Topology) RoleOf(id [32]byte) Role {
	n, ok := t.ByIdentity(id)
	if !ok {
		return None
	}
	return n.Role
}

// Diff is what changed from one topology to the next.
type Diff struct {
	// EpochChanged is set when the epoch id differs.
	EpochChanged bool
	// Added are nodes present only in the new topology, Removed only in the
	// old one (matched by identity key).
	Added, Removed []Node
	// Changed are nodes of the new topology whose role, keys or addresses
	// differ from the old one.
	Changed []Node
}

// Empty reports whether nothing changed.
func (d Diff) Empty() bool {
	return !d.EpochChanged && len(d.Added) == 0 && len(d.Removed) == 0 && len(d.Changed) == 0
}

// Compare returns what changed from old to new; a nil old counts every node
// of new as added.
func Compare(old, new *Topology) Diff {
	var d Diff
	if new == nil {
		if old != nil {
			d.Removed = old.All()
		}
		return d
	}
	if old == nil {
		d.EpochChanged = true
		d.Added = new.All()
		return d
	}
	d.EpochChanged = old.Epoch != new.Epoch
	prev := map[[32]byte]Node{}
	for _, n := range old.All() {
		prev[n.Identity] = n
	}
	for _, n := range new.All() {
		o, ok := prev[n.Identity]
		switch {
		case !ok:
			d.Added = append(d.Added, n)
		case !o.Equal(n):
			d.Changed = append(d.Changed, n)
		}
		delete(prev, n.Identity)
	}
	for _, n := range old.All() {
		if _, gone := prev[n.Identity]; gone {
			d.Removed = append(d.Removed, n)
		}
	}
	return d
}
