// Package browsertest opens every page of a running explorer in headless
// Chromium (Debian's package), checks what the browser shows, after the
// pages' script ran, against the chain's own answers, and saves a screenshot
// of each page.
//
// Every page says the block it was read at (the explorer pins each read to
// one height), and the chain answers the same queries at that height, so the
// checks are exact even on a network whose epochs turn every few seconds and
// whose clients keep buying credentials. cmd/nyxd's TestLocalnet runs Check
// against the explorer `make localnet` starts, next to the real nyxd,
// nym-nodes and clients.
package browsertest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"testing"
	"time"

	"cosmossdk.io/math"
	grpctypes "github.com/cosmos/cosmos-sdk/types/grpc"
	"github.com/cosmos/cosmos-sdk/types/query"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/nyx-privacy/nyx/sidecar/explorer"
	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// Env names the variable that says where Chromium is; set, tests that
// can drive a browser do.
const Env = "CHROMIUM"

// Browser returns the Chromium named by $CHROMIUM, or "" when it is unset:
// the browser checks run only where make test-browser (or make test, when
// it finds Chromium) asked for them.
func Browser(t testing.TB) string {
	p := os.Getenv(Env)
	if p == "" {
		return ""
	}
	if _, err := exec.LookPath(p); err != nil {
		t.Fatalf("%s=%s: %v (make test-browser installs Debian's chromium package)", Env, p, err)
	}
	return p
}

// Options say what to check.
type Options struct {
	// Browser is the Chromium binary.
	Browser string
	// URL is the explorer's root, like http://127.0.0.1:8080.
	URL string
	// GRPC is the chain's gRPC address (host:port), the explorer's source.
	GRPC string
	// Artifacts is where the screenshots go (created if missing).
	Artifacts string
}

// checker holds what every page check needs.
type checker struct {
	t       *testing.T
	o       Options
	profile string
	mq      mixnettypes.QueryClient
	cq      coconuttypes.QueryClient
}

// Pages counts the pages Check opened.
type Pages struct {
	Nodes, Addresses, Others int
}

// Check opens every page of the explorer at o.URL: the overview, the node
// list (by id and by stake), the topology, every bonded node's page, the
// address page of every node's owner and delegator, and the two error
// pages, each compared with the chain's answers at the height it shows.
func Check(t *testing.T, o Options) Pages {
	require.NoError(t, os.MkdirAll(o.Artifacts, 0o755))
	conn, err := grpc.NewClient(o.GRPC, grpc.WithTransportCredentials(insecure.NewCredentials()), explorer.DialOption())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	c := &checker{t: t, o: o, profile: t.TempDir(), mq: mixnettypes.NewQueryClient(conn), cq: coconuttypes.NewQueryClient(conn)}

	nodes := c.overview()
	c.nodeList()
	c.topology()
	addrs := map[string]bool{}
	for _, id := range nodes {
		for _, a := range c.node(id) {
			addrs[a] = true
		}
	}
	list := make([]string, 0, len(addrs))
	for a := range addrs {
		list = append(list, a)
	}
	sort.Strings(list)
	for _, a := range list {
		c.address(a)
	}
	dom := c.open("not-found", "/no-such-page")
	require.Contains(t, dom, `<h1 id="error">No such page</h1>`)
	dom = c.open("bad-request", "/nodes?role=%3Cb%3E")
	require.Contains(t, dom, `role "&lt;b&gt;"`)
	require.NotContains(t, dom, "<b>\"", "the parameter is escaped")
	p := Pages{Nodes: len(nodes), Addresses: len(list), Others: 6}
	t.Logf("%d pages checked; screenshots in %s", p.Nodes+p.Addresses+p.Others, o.Artifacts)
	return p
}

// open loads path in headless Chromium, saves its screenshot as name.png
// and returns the DOM after the page's script ran.
func (c *checker) open(name, path string) string {
	c.t.Helper()
	png := filepath.Join(c.o.Artifacts, name+".png")
	_ = os.Remove(png)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// --no-sandbox: CI runs tests as root, where the sandbox refuses to
	// start; the pages are our own.
	cmd := exec.CommandContext(ctx, c.o.Browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--disable-extensions", "--user-data-dir="+c.profile, "--virtual-time-budget=2000",
		"--window-size=1280,1400", "--screenshot="+png, "--dump-dom", c.o.URL+path)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("chromium %s: %v\n%s", path, err, errb.String())
	}
	st, err := os.Stat(png)
	require.NoError(c.t, err, "screenshot of %s", path)
	require.Greater(c.t, st.Size(), int64(1000), "screenshot of %s", path)
	return out.String()
}

// at asks the chain for its state at height h.
func (c *checker) at(h int64) context.Context {
	return metadata.AppendToOutgoingContext(c.t.Context(), grpctypes.GRPCBlockHeightHeader, strconv.FormatInt(h, 10))
}

// height reads the block a page says it was read at, from the element id.
func (c *checker) height(dom, id string) int64 {
	c.t.Helper()
	m := regexp.MustCompile(`id="` + id + `">(\d+)<`).FindStringSubmatch(dom)
	require.NotNil(c.t, m, "no %s on the page:\n%s", id, dom)
	h, err := strconv.ParseInt(m[1], 10, 64)
	require.NoError(c.t, err)
	require.Positive(c.t, h)
	return h
}

// bonded returns every bonded node at height h, by id.
func (c *checker) bonded(h int64) []mixnettypes.Node {
	c.t.Helper()
	var nodes []mixnettypes.Node
	var key []byte
	for {
		resp, err := c.mq.Nodes(c.at(h), &mixnettypes.QueryNodesRequest{Pagination: &query.PageRequest{Key: key, Limit: 500}})
		require.NoError(c.t, err)
		nodes = append(nodes, resp.Nodes...)
		if resp.Pagination == nil || len(resp.Pagination.NextKey) == 0 {
			return nodes
		}
		key = resp.Pagination.NextKey
	}
}

// roles returns the roles at height h, by node id.
func (c *checker) roles(h int64) map[uint64]mixnettypes.Role {
	c.t.Helper()
	topo, err := c.mq.Topology(c.at(h), &mixnettypes.QueryTopologyRequest{})
	require.NoError(c.t, err)
	m := map[uint64]mixnettypes.Role{}
	for _, n := range topo.Nodes {
		m[n.NodeId] = n.Role
	}
	return m
}

// overview checks the network page and returns the bonded nodes' ids.
func (c *checker) overview() []uint64 {
	t := c.t
	dom := c.open("overview", "/")
	h := c.height(dom, "height")
	require.Equal(t, h, c.height(dom, "snap-height"))
	epoch, err := c.mq.EpochStatus(c.at(h), &mixnettypes.QueryEpochStatusRequest{})
	require.NoError(t, err)
	require.Contains(t, dom, fmt.Sprintf(`id="epoch">%d<`, epoch.EpochId))
	require.Contains(t, dom, `data-ticking="yes"`, "the countdown script ran")
	require.Regexp(t, `id="countdown"[^>]*>(\d+ min \d+ s|ending now)<`, dom)
	nodes := c.bonded(h)
	require.NotEmpty(t, nodes, "no bonded node at height %d", h)
	require.Contains(t, dom, fmt.Sprintf(`id="node-count">%d<`, len(nodes)))
	counts := map[string]int{}
	roles := c.roles(h)
	ids := make([]uint64, 0, len(nodes))
	for _, n := range nodes {
		ids = append(ids, n.NodeId)
		counts[roleKey(roles[n.NodeId])]++
	}
	for _, k := range []string{"entry", "mix1", "mix2", "mix3", "exit", "standby", "none"} {
		require.Contains(t, dom, fmt.Sprintf(`id="role-%s">%d<`, k, counts[k]), "role %s", k)
	}

	st, err := c.cq.Stats(c.at(h), &coconuttypes.QueryStatsRequest{})
	require.NoError(t, err)
	s := st.Total
	for id, v := range map[string]string{
		"cred-requests": strconv.FormatUint(s.Requested, 10), "cred-issued": strconv.FormatUint(s.Issued, 10),
		"cred-spent": strconv.FormatUint(s.Spent, 10), "cred-deposited": s.Deposited.String() + " unym",
		"cred-paid": s.Paid.String() + " unym",
	} {
		require.Contains(t, dom, fmt.Sprintf(`id="%s">%s<`, id, v))
	}
	if key, err := c.cq.VerificationKey(c.at(h), &coconuttypes.QueryVerificationKeyRequest{}); err == nil {
		require.Contains(t, dom, fmt.Sprintf(`id="cred-key">%d<`, key.KeySet.KeyId))
	} else {
		require.Contains(t, dom, `id="cred-key">none<`)
	}
	return ids
}

// roleKey is the name the overview's role counts use.
func roleKey(r mixnettypes.Role) string {
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

// nodeList checks the node list: every bonded node with its host and
// pledge, and the stake order.
func (c *checker) nodeList() {
	t := c.t
	dom := c.open("nodes", "/nodes")
	h := c.height(dom, "snap-height")
	nodes := c.bonded(h)
	require.Contains(t, dom, fmt.Sprintf(`id="listed">%d nodes<`, len(nodes)))
	for _, n := range nodes {
		row := regexp.MustCompile(fmt.Sprintf(`<tr id="node-%d">.*?</tr>`, n.NodeId)).FindString(dom)
		require.NotEmpty(t, row, "node %d listed", n.NodeId)
		require.Contains(t, row, "<td>"+n.Host+"</td>")
		require.Contains(t, row, fmt.Sprintf(`<td class="num">%s</td>`, n.Pledge.Amount))
		require.Contains(t, row, fmt.Sprintf(`<td class="num">%s</td>`, n.Delegations))
	}

	dom = c.open("nodes-by-stake", "/nodes?sort=stake")
	h = c.height(dom, "snap-height")
	stake := map[uint64]math.Int{}
	for _, n := range c.bonded(h) {
		stake[n.NodeId] = n.Pledge.Amount.Add(n.Delegations)
	}
	shown := regexp.MustCompile(`<tr id="node-(\d+)">`).FindAllStringSubmatch(dom, -1)
	require.Len(t, shown, len(stake))
	for i := 1; i < len(shown); i++ {
		a, _ := strconv.ParseUint(shown[i-1][1], 10, 64)
		b, _ := strconv.ParseUint(shown[i][1], 10, 64)
		require.True(t, stake[a].GTE(stake[b]), "node %d (%s) listed before node %d (%s)", a, stake[a], b, stake[b])
	}
}

// topology checks the picture: a dot for every node holding a path role,
// and each column's count.
func (c *checker) topology() {
	t := c.t
	dom := c.open("topology", "/topology")
	h := c.height(dom, "snap-height")
	require.Contains(t, dom, `<svg id="topology"`)
	counts := map[mixnettypes.Role]int{}
	for id, r := range c.roles(h) {
		if r == mixnettypes.RoleStandby {
			continue
		}
		counts[r]++
		require.Contains(t, dom, fmt.Sprintf(`<a href="/node/%d">`, id), "node %d in the picture", id)
	}
	for _, r := range []mixnettypes.Role{mixnettypes.RoleEntryGateway, mixnettypes.RoleMixLayer1,
		mixnettypes.RoleMixLayer2, mixnettypes.RoleMixLayer3, mixnettypes.RoleExitGateway} {
		require.Contains(t, dom, fmt.Sprintf("%s (%d)</text>", explorer.RoleTitle(r), counts[r]))
	}
}

// node checks a node's page against the chain at its height and returns
// the addresses it links to (owner and delegators).
func (c *checker) node(id uint64) []string {
	t := c.t
	dom := c.open(fmt.Sprintf("node-%d", id), fmt.Sprintf("/node/%d", id))
	h := c.height(dom, "read-height")
	n, err := c.mq.Node(c.at(h), &mixnettypes.QueryNodeRequest{NodeId: id})
	require.NoError(t, err)
	sat, err := c.mq.StakeSaturation(c.at(h), &mixnettypes.QueryStakeSaturationRequest{NodeId: id})
	require.NoError(t, err)
	pend, err := c.mq.PendingOperatorReward(c.at(h), &mixnettypes.QueryPendingOperatorRewardRequest{NodeId: id})
	require.NoError(t, err)
	require.Contains(t, dom, fmt.Sprintf(`<h1>Node %d</h1>`, id))
	require.Contains(t, dom, `id="role">`+explorer.RoleTitle(n.Role))
	require.Contains(t, dom, fmt.Sprintf(`id="pledge">%s unym<`, n.Node.Pledge.Amount))
	require.Contains(t, dom, fmt.Sprintf(`id="delegations">%s unym<`, n.Node.Delegations))
	require.Contains(t, dom, fmt.Sprintf(`id="host">%s<`, n.Node.Host))
	require.Contains(t, dom, fmt.Sprintf(`id="owner" href="/address/%s">%s<`, n.Node.Owner, n.Node.Owner))
	require.Contains(t, dom, `id="saturation">`+explorer.Percent(sat.Saturation))
	require.Contains(t, dom, fmt.Sprintf(`id="operator-reward">%s<`, pend.Amount))
	dels, err := c.mq.NodeDelegations(c.at(h), &mixnettypes.QueryNodeDelegationsRequest{NodeId: id,
		Pagination: &query.PageRequest{Limit: 200, CountTotal: true}})
	require.NoError(t, err)
	require.Contains(t, dom, fmt.Sprintf(`id="delegation-count">%d delegations`, dels.Pagination.Total))
	addrs := []string{n.Node.Owner}
	for _, d := range dels.Delegations {
		require.Contains(t, dom, fmt.Sprintf(`href="/address/%s">%s</a></td><td class="num">%s</td>`, d.Delegator, d.Delegator, d.Amount))
		addrs = append(addrs, d.Delegator)
	}
	return addrs
}

// address checks an address page: its delegations and the node it owns.
func (c *checker) address(addr string) {
	t := c.t
	dom := c.open("address-"+addr, "/address/"+addr)
	h := c.height(dom, "read-height")
	require.Contains(t, dom, fmt.Sprintf(`id="address">%s<`, addr))
	dels, err := c.mq.DelegatorDelegations(c.at(h), &mixnettypes.QueryDelegatorDelegationsRequest{Delegator: addr})
	require.NoError(t, err)
	if len(dels.Delegations) == 0 {
		require.Contains(t, dom, `id="no-delegations"`)
	}
	for _, d := range dels.Delegations {
		require.Contains(t, dom, fmt.Sprintf(`<a href="/node/%d">%d</a></td><td class="num">%s<`, d.NodeId, d.NodeId, d.Amount))
	}
	owned, err := c.mq.NodeByOwner(c.at(h), &mixnettypes.QueryNodeByOwnerRequest{Owner: addr})
	if err == nil {
		require.Contains(t, dom, fmt.Sprintf(`id="owned-node" href="/node/%d"`, owned.Node.NodeId))
	} else {
		require.Equal(t, codes.NotFound, status.Code(err), "node of %s: %v", addr, err)
		require.NotContains(t, dom, `id="owned-node"`)
	}
}
