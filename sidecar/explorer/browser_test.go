//go:build browser

package explorer

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// TestBrowser opens every page of an explorer serving a real chain in
// headless Chromium (Debian's package), checks what the browser shows, after
// the page's script ran, against the chain's own answers, and saves a
// screenshot of each page under the artifact folder (NYX_BROWSER_ARTIFACTS,
// default build/test-artifacts/browser at the repository's root).
//
// It is built with -tags browser: make test-browser installs Chromium and
// runs it; make test runs it when Chromium is installed.
func TestBrowser(t *testing.T) {
	browser := findChromium(t)
	artifacts := os.Getenv("NYX_BROWSER_ARTIFACTS")
	if artifacts == "" {
		artifacts = filepath.Join("..", "..", "build", "test-artifacts", "browser")
	}
	require.NoError(t, os.MkdirAll(artifacts, 0o755))
	profile := t.TempDir()

	f := startFixture(t)
	// The explorer follows the chain as it would in production.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go f.src.Run(ctx)
	qctx, qcancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer qcancel()

	epoch := func() uint64 {
		e, err := f.mq.EpochStatus(qctx, &mixnettypes.QueryEpochStatusRequest{})
		require.NoError(t, err)
		return e.EpochId
	}
	roles := func() map[uint64]string {
		topo, err := f.mq.Topology(qctx, &mixnettypes.QueryTopologyRequest{})
		require.NoError(t, err)
		m := map[uint64]string{}
		for _, n := range topo.Nodes {
			m[n.NodeId] = roleTitle(n.Role)
		}
		return m
	}
	dump := func(path string) string { return chromium(t, browser, profile, "--dump-dom", f.url+path) }
	screenshot := func(name, path string) {
		png := filepath.Join(artifacts, name+".png")
		chromium(t, browser, profile, "--screenshot="+png, "--window-size=1280,900", f.url+path)
		st, err := os.Stat(png)
		require.NoError(t, err, "screenshot of %s", path)
		require.Greater(t, st.Size(), int64(1000), "screenshot of %s", path)
	}
	shot := func(name, path string) string {
		screenshot(name, path)
		return dump(path)
	}

	// Overview: the epoch shown is one the chain was in while the page
	// loaded, the countdown script ran, and the counts are the chain's.
	before := epoch()
	dom := shot("overview", "/")
	after := epoch()
	m := regexp.MustCompile(`id="epoch">(\d+)<`).FindStringSubmatch(dom)
	require.NotNil(t, m, dom)
	shown, _ := strconv.ParseUint(m[1], 10, 64)
	// The explorer's snapshot may lag the chain by one refresh.
	require.True(t, shown+1 >= before && shown <= after, "epoch shown %d, chain %d..%d", shown, before, after)
	require.Contains(t, dom, `data-ticking="yes"`, "the countdown script ran")
	require.Regexp(t, `id="countdown"[^>]*>(\d+ min \d+ s|ending now)<`, dom)
	require.Contains(t, dom, fmt.Sprintf(`id="node-count">%d<`, len(f.nodeIDs)))
	require.Contains(t, dom, `id="cred-requests">2<`)
	require.Contains(t, dom, `id="cred-issued">2<`)
	require.Contains(t, dom, `id="cred-spent">1<`)

	// Node list and topology: every bonded node, with its host.
	dom = shot("nodes", "/nodes")
	for i, id := range f.nodeIDs {
		require.Contains(t, dom, fmt.Sprintf(`<tr id="node-%d">`, id))
		require.Contains(t, dom, f.hosts[i])
	}
	dom = shot("nodes-by-stake", "/nodes?sort=stake")
	require.Less(t, strings.Index(dom, fmt.Sprintf(`<tr id="node-%d">`, f.nodeIDs[0])),
		strings.Index(dom, fmt.Sprintf(`<tr id="node-%d">`, f.nodeIDs[1])), "the delegated node has the most stake")
	r0 := roles()
	dom = shot("topology", "/topology")
	r1 := roles()
	require.Contains(t, dom, `<svg id="topology"`)
	for _, id := range f.nodeIDs {
		require.Contains(t, dom, fmt.Sprintf(`<a href="/node/%d">`, id), "node %d in the picture", id)
	}
	require.True(t, strings.Contains(dom, "mix layer 1 (1)"), "one node in layer 1 (roles %v / %v)", r0, r1)

	// A page per node, checked against the chain's Node and StakeSaturation.
	for _, id := range f.nodeIDs {
		screenshot(fmt.Sprintf("node-%d", id), fmt.Sprintf("/node/%d", id))
		// Roles are drawn every two seconds here: the one shown is the
		// chain's just before or just after the page was read.
		r0 := roles()
		dom := dump(fmt.Sprintf("/node/%d", id))
		r1 := roles()
		n, err := f.mq.Node(qctx, &mixnettypes.QueryNodeRequest{NodeId: id})
		require.NoError(t, err)
		sat, err := f.mq.StakeSaturation(qctx, &mixnettypes.QueryStakeSaturationRequest{NodeId: id})
		require.NoError(t, err)
		require.Contains(t, dom, fmt.Sprintf(`id="pledge">%s unym<`, n.Node.Pledge.Amount))
		require.Contains(t, dom, fmt.Sprintf(`id="delegations">%s unym<`, n.Node.Delegations))
		require.Contains(t, dom, fmt.Sprintf(`id="host">%s<`, n.Node.Host))
		require.Contains(t, dom, `id="saturation">`+percent(sat.Saturation))
		require.Contains(t, dom, n.Node.Owner)
		role := regexp.MustCompile(`id="role">([^<(]+)`).FindStringSubmatch(dom)
		require.NotNil(t, role)
		got := strings.TrimSpace(role[1])
		require.True(t, got == r0[id] || got == r1[id], "node %d: role shown %q, chain %q then %q", id, got, r0[id], r1[id])
	}

	// Addresses: alice's delegation and the operator's node.
	alice := f.chain.Accounts["alice"].String()
	dels, err := f.mq.DelegatorDelegations(qctx, &mixnettypes.QueryDelegatorDelegationsRequest{Delegator: alice})
	require.NoError(t, err)
	require.Len(t, dels.Delegations, 1)
	dom = shot("address-alice", "/address/"+alice)
	require.Contains(t, dom, fmt.Sprintf(`<a href="/node/%d">%d</a>`, dels.Delegations[0].NodeId, dels.Delegations[0].NodeId))
	require.Contains(t, dom, dels.Delegations[0].Amount.String())
	op0 := f.chain.Accounts["op0"].String()
	dom = shot("address-op0", "/address/"+op0)
	require.Contains(t, dom, fmt.Sprintf(`id="owned-node" href="/node/%d"`, f.nodeIDs[0]))

	// The error pages are pages too.
	dom = shot("not-found", "/no-such-page")
	require.Contains(t, dom, `<h1 id="error">No such page</h1>`)
	dom = shot("bad-request", "/nodes?role=%3Cb%3E")
	require.Contains(t, dom, `role "&lt;b&gt;"`)
	t.Logf("screenshots in %s", artifacts)
}

// findChromium returns the browser to drive: $CHROMIUM, else chromium or
// chromium-browser on the PATH.
func findChromium(t *testing.T) string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("headless Chromium not found: install Debian's chromium package (apt-get install chromium; make test-browser does) or set CHROMIUM")
	return ""
}

// chromium runs one headless Chromium command on a page and returns what it
// printed. --no-sandbox: tests run as root in CI, where the sandbox refuses
// to start; the pages are our own.
func chromium(t *testing.T, browser, profile string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--disable-extensions", "--user-data-dir=" + profile, "--virtual-time-budget=2000"}
	cmd := exec.CommandContext(ctx, browser, append(base, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", browser, args, err, errb.String())
	}
	return out.String()
}
