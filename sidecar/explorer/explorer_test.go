package explorer

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// TestExplorerPages serves every page from a real chain and checks what each
// shows against the chain's own answers; then the chain stops and the pages
// say so.
func TestExplorerPages(t *testing.T) {
	f := startFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice := f.chain.Accounts["alice"].String()
	op0 := f.chain.Accounts["op0"].String()
	topo, err := f.mq.Topology(ctx, &mixnettypes.QueryTopologyRequest{})
	require.NoError(t, err)
	require.Len(t, topo.Nodes, 5, "every node holds a role")
	sat, err := f.mq.StakeSaturation(ctx, &mixnettypes.QueryStakeSaturationRequest{NodeId: f.nodeIDs[0]})
	require.NoError(t, err)
	// The counts the chain keeps: two credentials requested and issued, one spent.
	stats, err := f.cq.Stats(ctx, &coconuttypes.QueryStatsRequest{})
	require.NoError(t, err)
	require.Equal(t, [3]uint64{2, 2, 1}, [3]uint64{stats.Total.Requested, stats.Total.Issued, stats.Total.Spent})
	key, err := f.cq.VerificationKey(ctx, &coconuttypes.QueryVerificationKeyRequest{})
	require.NoError(t, err)
	snap, _, _ := f.src.Current()
	require.NotNil(t, snap)
	role := func(id uint64) string {
		for _, n := range topo.Nodes {
			if n.NodeId == id {
				return RoleTitle(n.Role)
			}
		}
		return "none"
	}

	for _, tc := range []struct {
		path     string
		code     int
		contains []string
		location string
	}{
		{path: "/", code: 200, contains: []string{
			fmt.Sprintf(`id="epoch">%d<`, snap.Epoch.EpochId),
			`id="node-count">5<`, `id="role-entry">1<`, `id="role-mix1">1<`, `id="role-exit">1<`,
			fmt.Sprintf(`id="cred-requests">%d<`, stats.Total.Requested), fmt.Sprintf(`id="cred-issued">%d<`, stats.Total.Issued),
			fmt.Sprintf(`id="cred-spent">%d<`, stats.Total.Spent), fmt.Sprintf(`id="cred-deposited">%s unym<`, stats.Total.Deposited),
			fmt.Sprintf(`id="cred-paid">%s unym<`, stats.Total.Paid),
			fmt.Sprintf(`<tr id="cred-key-%d"><td class="num">%d</td><td class="num">2</td><td class="num">2</td><td class="num">1</td></tr>`, key.KeySet.KeyId, key.KeySet.KeyId),
			`id="countdown" data-end=`,
		}},
		{path: "/nodes", code: 200, contains: []string{`id="listed">5 nodes<`, "mix-2.example.org",
			fmt.Sprintf(`id="snap-height">%d<`, snap.Height),
			fmt.Sprintf(`<tr id="node-%d">`, f.nodeIDs[4])}},
		{path: "/nodes?role=mix2&sort=stake", code: 200, contains: []string{`id="listed">1 nodes<`}},
		{path: "/nodes?role=bogus", code: 400, contains: []string{`role &#34;bogus&#34;`}},
		{path: "/nodes?sort=%3Cb%3E", code: 400, contains: []string{`sort &#34;&lt;b&gt;&#34;`}},
		{path: "/topology", code: 200, contains: []string{`<svg id="topology"`, "<line ",
			fmt.Sprintf(`<a href="/node/%d"><circle`, f.nodeIDs[2]), "mix layer 3 (1)"}},
		{path: fmt.Sprintf("/node/%d", f.nodeIDs[0]), code: 200, contains: []string{
			`id="role">` + role(f.nodeIDs[0]), `id="host">127.0.0.1<`, `id="read-height">`,
			fmt.Sprintf(`id="delegations">%d unym<`, delegation),
			fmt.Sprintf(`id="saturation">%s`, Percent(sat.Saturation)),
			`id="delegation-count">1 delegations`, alice, op0, `<table id="history">`,
		}},
		{path: fmt.Sprintf("/node/%d", f.nodeIDs[2]), code: 200, contains: []string{`id="host">mix-2.example.org<`}},
		{path: "/node/999", code: 404, contains: []string{"Node 999 is not on the chain."}},
		{path: "/node/abc", code: 400, contains: []string{"node id: not a positive decimal number"}},
		{path: "/node/0", code: 400},
		{path: "/node?id=3", code: 303, location: "/node/3"},
		{path: "/node?id=-1", code: 400},
		{path: "/address/" + alice, code: 200, contains: []string{`id="address">` + alice,
			fmt.Sprintf(`<a href="/node/%d">%d</a></td><td class="num">%dunym<`, f.nodeIDs[0], f.nodeIDs[0], delegation)}},
		{path: "/address/" + op0, code: 200, contains: []string{fmt.Sprintf(`id="owned-node" href="/node/%d"`, f.nodeIDs[0]), `id="no-delegations"`}},
		{path: "/address?addr=" + strings.ToUpper(alice), code: 303, location: "/address/" + alice},
		{path: "/address/cosmos1qypqxpq9qcrsszg2pvxq6rs0zqg3yyc5lzv7xu", code: 400, contains: []string{"prefix"}},
		{path: "/address/%3Cscript%3E", code: 400, contains: []string{"address:"}},
		{path: "/nope", code: 404, contains: []string{"There is no page at this address."}},
		{path: "/nodes/", code: 404},
		{path: "/static/x.js", code: 404},
	} {
		t.Run(strings.ReplaceAll(tc.path, "/", "_"), func(t *testing.T) {
			code, body, hdr := get(t, f.url+tc.path)
			require.Equal(t, tc.code, code, body)
			for _, s := range tc.contains {
				require.Contains(t, body, s)
			}
			if tc.location != "" {
				require.Equal(t, tc.location, hdr.Get("Location"))
			}
			if code != http.StatusSeeOther {
				require.Equal(t, "text/html; charset=utf-8", hdr.Get("Content-Type"))
				require.Contains(t, hdr.Get("Content-Security-Policy"), "default-src 'none'")
				// Nothing is fetched from anywhere else.
				require.NotContains(t, body, "src=\"http")
				require.NotContains(t, body, "href=\"http")
			}
		})
	}

	// A method other than GET is not a page.
	resp, err := http.Post(f.url+"/", "text/plain", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	// The chain stops: the whole-network pages keep the last snapshot under
	// a banner, the pages that ask the chain answer 503.
	require.NoError(t, f.chain.Stop())
	require.Error(t, f.src.Refresh(ctx))
	code, body, _ := get(t, f.url+"/")
	require.Equal(t, 200, code)
	require.Contains(t, body, `id="chain-down"`)
	require.Contains(t, body, fmt.Sprintf(`id="epoch">%d<`, snap.Epoch.EpochId))
	code, body, _ = get(t, fmt.Sprintf("%s/node/%d", f.url, f.nodeIDs[0]))
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Contains(t, body, "Chain unreachable")
	code, _, _ = get(t, f.url+"/address/"+alice)
	require.Equal(t, http.StatusServiceUnavailable, code)
}

// TestNeverReachedChain: before the first snapshot, pages say the chain
// does not answer, with 503.
func TestNeverReachedChain(t *testing.T) {
	conn := deadConn(t)
	src := NewSource(conn, Config{Timeout: time.Second})
	require.Error(t, src.Refresh(context.Background()))
	h := NewHandler(src)
	for _, p := range []string{"/", "/nodes", "/topology", "/node/1"} {
		rec := serve(h, p)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, p)
		require.Contains(t, rec.Body.String(), "Chain unreachable", p)
	}
}

// TestEscaping renders every network page from a snapshot whose hosts are
// markup. The chain refuses such hosts today (x/mixnet's CanonicalHost), but
// the explorer must not depend on another module's validation to be safe.
func TestEscaping(t *testing.T) {
	evil := `<script>alert("x")</script>`
	snap := syntheticSnapshot(12, evil)
	h := NewHandler(staticSource(snap))
	for _, p := range []string{"/", "/nodes", "/nodes?sort=stake", "/topology"} {
		rec := serve(h, p)
		require.Equal(t, http.StatusOK, rec.Code, p)
		body := rec.Body.String()
		require.NotContains(t, body, evil, p)
		if p != "/" {
			require.Contains(t, body, html.EscapeString(evil), p)
		}
	}
}

// TestTopologyLayoutBounded: a thousand nodes give a picture of bounded
// size, with bands instead of a line per pair.
func TestTopologyLayoutBounded(t *testing.T) {
	snap := syntheticSnapshot(1000, "")
	l := snap.Layout
	require.Len(t, l.Columns, 5)
	dots := 0
	for _, c := range l.Columns {
		require.LessOrEqual(t, len(c.Dots), maxDots)
		require.Equal(t, c.Count, len(c.Dots)+c.More)
		dots += len(c.Dots)
	}
	require.LessOrEqual(t, len(l.Links), 4*linkLimit)
	require.NotEmpty(t, l.Bands)
	small := syntheticSnapshot(10, "").Layout
	require.Empty(t, small.Bands)
	require.NotEmpty(t, small.Links)
}
