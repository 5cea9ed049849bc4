package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"github.com/nyx-privacy/nyx/testutil/syncbuf"
)

// TestLocalnet runs scripts/localnet.sh (what `make localnet` runs) with
// freshly built binaries: the chain starts and answers RPC and REST, five
// nym-nodes are bonded through the CLI and get their roles, a message sent
// by client alice reaches client bob through the mixnet, and the topology
// shows the performance the localnet's monitor measured, the network
// requester is listed in the chain's service directory, where the SOCKS5
// client found it, all as separate processes; with $CHROMIUM set, every page
// of its explorer is checked in headless Chromium. Ctrl-C stops everything
// cleanly; a second run resumes the same
// chain, nodes and clients (and carries a message again); --fresh starts a
// new chain.
func TestLocalnet(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and runs the whole local network")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := buildNyxd(t)
	dir := filepath.Join(t.TempDir(), "localnet")
	base := freePortBlock(t)

	first := runLocalnet(t, root, bin, dir, base)
	h1 := waitHeight(t, base, 3)
	home := filepath.Join(dir, "node0")
	alice := strings.TrimSpace(run(t, bin, "--home", home, "keys", "show", "alice", "-a"))
	var bal struct {
		Balance struct{ Amount string } `json:"balance"`
	}
	getJSONURL(t, fmt.Sprintf("http://127.0.0.1:%d/cosmos/bank/v1beta1/balances/%s/by_denom?denom=unym", base+3, alice), &bal)
	if bal.Balance.Amount != "1000000000000" {
		t.Fatalf("alice's unym over REST: %q", bal.Balance.Amount)
	}
	var pool map[string]any
	getJSONURL(t, fmt.Sprintf("http://127.0.0.1:%d/nyx/mixnet/v1/reward_pool", base+3), &pool)
	if !strings.Contains(fmt.Sprint(pool), "100000000000") {
		t.Fatalf("localnet reward pool: %v", pool)
	}
	first.waitBanner(t)
	if !strings.Contains(first.out.String(), fmt.Sprintf("http://127.0.0.1:%d", base+1)) {
		t.Fatalf("the script did not print its RPC endpoint:\n%s", first.out.String())
	}
	// Five nodes hold the five roles.
	topo := run(t, bin, "--home", home, "query", "mixnet", "topology", "-o", "json")
	for _, role := range []string{"ROLE_ENTRY_GATEWAY", "ROLE_EXIT_GATEWAY", "ROLE_MIX_LAYER_1", "ROLE_MIX_LAYER_2", "ROLE_MIX_LAYER_3"} {
		if !strings.Contains(topo, role) {
			t.Fatalf("no node holds %s:\n%s", role, topo)
		}
	}
	cliTransactions(t, bin, home, topo)
	sendAndReceive(t, bin, dir, "hello bob, through five processes")
	measuredPerformance(t, bin, home)
	credentialsEnforced(t, dir, base)
	fetchThroughSOCKS5(t, dir, base)
	requesterListed(t, bin, home, dir)
	// Credential counts from the CLI; the explorer's pages in Chromium,
	// against this network's chain.
	coconutStats(t, bin, home)
	explorerInBrowser(t, root, base)
	first.interrupt(t)

	// Resume: the same chain continues, and the same nodes and clients carry
	// traffic again.
	second := runLocalnet(t, root, bin, dir, base)
	if h := waitHeight(t, base, h1+1); h <= h1 {
		t.Fatalf("resumed chain at height %d, stopped at %d", h, h1)
	}
	second.waitBanner(t)
	if !strings.Contains(second.out.String(), "resuming") || strings.Contains(second.out.String(), "bonding") {
		t.Fatalf("second run did not resume without re-bonding:\n%s", second.out.String())
	}
	sendAndReceive(t, bin, dir, "hello again")
	second.interrupt(t)

	// --fresh: a new chain from height 1.
	third := runLocalnet(t, root, bin, dir, base, "--fresh", "--chain-only")
	h := waitHeight(t, base, 1)
	if h > h1 {
		t.Fatalf("--fresh chain is at height %d, beyond the old chain's %d: not fresh", h, h1)
	}
	third.interrupt(t)
}

// requesterListed checks that the localnet's network requester is in the
// chain's service directory (nyxd query mixnet services), and that the
// SOCKS5 client, started without a provider, picked it from there.
func requesterListed(t *testing.T, bin, home, dir string) {
	t.Helper()
	requesterBin := filepath.Join(filepath.Dir(bin), "nym-network-requester")
	addr := strings.TrimSpace(run(t, requesterBin, "--home", filepath.Join(dir, "requester"), "address"))
	var out struct {
		Services []struct {
			ServiceID  string `json:"service_id"`
			Kind       string `json:"kind"`
			NymAddress string `json:"nym_address"`
			Deposit    struct{ Amount string }
		} `json:"services"`
	}
	js := run(t, bin, "--home", home, "query", "mixnet", "services", "--kind", "network-requester", "-o", "json")
	if err := json.Unmarshal([]byte(js), &out); err != nil {
		t.Fatalf("query mixnet services: %v\n%s", err, js)
	}
	if len(out.Services) != 1 || out.Services[0].NymAddress != addr || out.Services[0].Kind != "network-requester" ||
		out.Services[0].Deposit.Amount != "100000000" {
		t.Fatalf("the service directory does not list the requester %s once with its 100 NYM deposit:\n%s", addr, js)
	}
	socksLog, err := os.ReadFile(filepath.Join(dir, "logs", "socks5.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(socksLog), "picked a network requester from the service directory") || !strings.Contains(string(socksLog), addr) {
		t.Fatalf("the SOCKS5 client did not pick the requester from the directory:\n%s", socksLog)
	}
}

// fetchThroughSOCKS5 fetches node0's health page through the localnet's
// SOCKS5 proxy: over the mixnet to the network requester (whose localnet
// policy allows 127.0.0.1) and back, both paying their gateways with the
// credentials they bought at the start.
func fetchThroughSOCKS5(t *testing.T, dir string, base int) {
	t.Helper()
	dialer, err := proxy.SOCKS5("tcp", fmt.Sprintf("127.0.0.1:%d", base+300), nil, proxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{Dial: dialer.Dial}, Timeout: 30 * time.Second}
	url := fmt.Sprintf("http://127.0.0.1:%d/health", base+102)
	direct, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	// The page names the node's epoch and role, which change every few
	// seconds here: the fields that do not change say it is node0's page.
	type health struct {
		Status, Identity string
		ChainAccount     string `json:"chain_account"`
	}
	var want health
	err = json.NewDecoder(direct.Body).Decode(&want)
	direct.Body.Close()
	if err != nil || want.Status != "ok" || want.Identity == "" {
		t.Fatalf("node0's /health: %+v, %v", want, err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := hc.Get(url)
		if err == nil {
			got, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			var h health
			if rerr == nil && resp.StatusCode == http.StatusOK && json.Unmarshal(got, &h) == nil && h == want {
				return
			}
			err = fmt.Errorf("status %d, %+v (want %+v): %v\n%s", resp.StatusCode, h, want, rerr, got)
		}
		if time.Now().After(deadline) {
			var logs strings.Builder
			for _, f := range []string{"socks5.log", "requester.log"} {
				b, _ := os.ReadFile(filepath.Join(dir, "logs", f))
				if len(b) > 8000 {
					b = b[len(b)-8000:]
				}
				fmt.Fprintf(&logs, "--- %s (tail)\n%s\n", f, b)
			}
			t.Fatalf("no page through the SOCKS5 proxy after 90 s: %v\n%s", err, logs.String())
		}
		time.Sleep(2 * time.Second)
	}
}

// credentialsEnforced checks that the localnet's gateways enforce bandwidth
// credentials and accepted the ones alice and bob bought at their start
// (each presents its credential when it connects).
func credentialsEnforced(t *testing.T, dir string, base int) {
	t.Helper()
	accepted := 0.0
	for i := range 5 {
		cfg, err := os.ReadFile(filepath.Join(dir, "nodes", fmt.Sprintf("node%d", i), "config", "config.toml"))
		if err != nil || !strings.Contains(string(cfg), "enforce_credentials = true") {
			t.Fatalf("node%d does not enforce credentials (%v)", i, err)
		}
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", base+102+10*i))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, l := range strings.Split(string(body), "\n") {
			if v, ok := strings.CutPrefix(l, `nyx_gateway_credentials_total{result="accepted"} `); ok {
				n, _ := strconv.ParseFloat(v, 64)
				accepted += n
			}
		}
	}
	if accepted < 2 {
		t.Fatalf("the gateways accepted %v credentials, want alice's and bob's", accepted)
	}
}

// cliTransactions uses the localnet's chain the way its banner says, with
// the nyxd CLI and node0's home: a bank send, a CosmWasm upload by an
// ordinary account, a delegation to a bonded node and a service announced
// and withdrawn, each committed and visible to queries.
func cliTransactions(t *testing.T, bin, home, topo string) {
	t.Helper()
	// send broadcasts a transaction and returns its committed result (with
	// its code: 0 is success) and log.
	send := func(args ...string) (map[string]any, string) {
		t.Helper()
		var sent struct {
			TxHash string `json:"txhash"`
			Code   int    `json:"code"`
			RawLog string `json:"raw_log"`
		}
		out := run(t, bin, append(append([]string{"--home", home, "tx"}, args...), "--gas-prices", "0.025unyx", "-y", "-o", "json")...)
		if err := json.Unmarshal([]byte(lastLine(out)), &sent); err != nil || sent.Code != 0 {
			t.Fatalf("tx %v: %v %s\n%s", args, err, sent.RawLog, out)
		}
		// Polled rather than `query wait-tx`, which can miss a transaction
		// committed while it subscribes (the event before its subscription,
		// the indexer after its first lookup).
		var res map[string]any
		deadline := time.Now().Add(30 * time.Second)
		for {
			out, err := exec.Command(bin, "--home", home, "query", "tx", sent.TxHash, "-o", "json").Output()
			if err == nil {
				if err := json.Unmarshal([]byte(lastLine(string(out))), &res); err != nil {
					t.Fatalf("tx %v: %v\n%s", args, err, out)
				}
				return res, string(out)
			}
			if time.Now().After(deadline) {
				t.Fatalf("tx %v not in a block after 30s", args)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	tx := func(args ...string) map[string]any {
		t.Helper()
		res, out := send(args...)
		if fmt.Sprint(res["code"]) != "0" {
			t.Fatalf("tx %v failed:\n%s", args, out)
		}
		return res
	}
	bob := strings.TrimSpace(run(t, bin, "--home", home, "keys", "show", "bob", "-a"))
	before := run(t, bin, "--home", home, "query", "bank", "balance", bob, "unym", "-o", "json")
	// The node's app.toml (written by testnet init-files) asks a minimum gas
	// price: a transaction without a fee is refused at the mempool.
	free, _ := exec.Command(bin, "--home", home, "tx", "bank", "send", "alice", bob, "1unym", "-y", "-o", "json").CombinedOutput()
	if !strings.Contains(string(free), "insufficient fee") {
		t.Fatalf("a transaction without a fee was not refused for its fee:\n%s", free)
	}
	tx("bank", "send", "alice", bob, "1234unym")
	after := run(t, bin, "--home", home, "query", "bank", "balance", bob, "unym", "-o", "json")
	// Bob started with 1,000,000 NYM and paid 10 NYM to his client's chain
	// account for its bandwidth credential (localnet.sh).
	if !strings.Contains(before, `"999990000000"`) || !strings.Contains(after, `"999990001234"`) {
		t.Fatalf("bob's unym: before %s, after %s", before, after)
	}

	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/CosmWasm/wasmd").Output()
	if err != nil {
		t.Fatalf("locate wasmd module: %v", err)
	}
	wasm := filepath.Join(strings.TrimSpace(string(out)), "x", "wasm", "keeper", "testdata", "hackatom.wasm")
	tx("wasm", "store", wasm, "--from", "alice", "--gas", "auto", "--gas-adjustment", "1.5")
	aliceAddr := strings.TrimSpace(run(t, bin, "--home", home, "keys", "show", "alice", "-a"))
	if codes := run(t, bin, "--home", home, "query", "wasm", "list-code", "-o", "json"); !strings.Contains(codes, aliceAddr) {
		t.Fatalf("no code uploaded by alice:\n%s", codes)
	}

	var tp struct {
		Nodes []struct {
			NodeID string `json:"node_id"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal([]byte(topo), &tp); err != nil || len(tp.Nodes) == 0 {
		t.Fatalf("topology JSON: %v\n%s", err, topo)
	}
	node := tp.Nodes[0].NodeID
	res := tx("mixnet", "delegate", node, "5000000unym", "--from", "carol")
	carol := strings.TrimSpace(run(t, bin, "--home", home, "keys", "show", "carol", "-a"))
	// A delegation is queued for the end of the epoch: the transaction says so.
	ev, _ := json.Marshal(res["events"])
	if !strings.Contains(string(ev), "EventDelegationQueued") || !strings.Contains(string(ev), carol) {
		t.Fatalf("the delegation was not queued for carol:\n%s", ev)
	}

	serviceFromCLI(t, bin, home, send, tx)
	vestingFromCLI(t, bin, home, node, tx)
}

// serviceFromCLI lists bob's client address in the service directory as a
// "chat" service from alice's account, and withdraws it, with the CLI: the
// deposit goes in and comes back.
func serviceFromCLI(t *testing.T, bin, home string, send func(args ...string) (map[string]any, string), tx func(args ...string) map[string]any) {
	t.Helper()
	nymClient, bobHome := filepath.Join(filepath.Dir(bin), "nym-client"), filepath.Join(filepath.Dir(home), "clients", "bob")
	bobAddr := strings.TrimSpace(run(t, nymClient, "--home", bobHome, "address"))
	alice := strings.TrimSpace(run(t, bin, "--home", home, "keys", "show", "alice", "-a"))
	// Bob's identity key signs the terms; without it the chain refuses.
	sig := strings.TrimSpace(run(t, nymClient, "--home", bobHome, "sign-service", "--kind", "chat", "--announcer", alice,
		"--chain-id", "nyx-localnet", "--description", "bob's inbox"))
	forged := strings.Repeat("00", 64)
	if res, out := send("mixnet", "announce-service", "chat", bobAddr, forged, "--description", "bob's inbox", "--from", "alice", "--gas", "400000"); fmt.Sprint(res["code"]) == "0" || !strings.Contains(out, "did not sign") {
		t.Fatalf("an announcement with a forged identity signature was not refused:\n%s", out)
	}
	res := tx("mixnet", "announce-service", "chat", bobAddr, sig, "--description", "bob's inbox", "--from", "alice", "--gas", "400000")
	ev, _ := json.Marshal(res["events"])
	if !strings.Contains(string(ev), "EventServiceAnnounced") || !strings.Contains(string(ev), "100000000") {
		t.Fatalf("the announcement took no deposit:\n%s", ev)
	}
	var list struct {
		Services []struct {
			ServiceID  string `json:"service_id"`
			NymAddress string `json:"nym_address"`
		} `json:"services"`
	}
	js := run(t, bin, "--home", home, "query", "mixnet", "services", "--kind", "chat", "-o", "json")
	if err := json.Unmarshal([]byte(js), &list); err != nil || len(list.Services) != 1 || list.Services[0].NymAddress != bobAddr {
		t.Fatalf("query mixnet services --kind chat: %v\n%s", err, js)
	}
	one := run(t, bin, "--home", home, "query", "mixnet", "service", list.Services[0].ServiceID, "-o", "json")
	if !strings.Contains(one, "bob's inbox") {
		t.Fatalf("query mixnet service %s:\n%s", list.Services[0].ServiceID, one)
	}
	res = tx("mixnet", "withdraw-service", list.Services[0].ServiceID, "--from", "alice", "--gas", "400000")
	if ev, _ := json.Marshal(res["events"]); !strings.Contains(string(ev), "EventServiceWithdrawn") {
		t.Fatalf("the withdrawal emitted no event:\n%s", ev)
	}
	if js := run(t, bin, "--home", home, "query", "mixnet", "services", "--kind", "chat", "-o", "json"); strings.Contains(js, bobAddr) {
		t.Fatalf("the withdrawn service is still listed:\n%s", js)
	}
}

// vestingFromCLI delegates locked coins from dave's genesis vesting account, and
// creates a vesting account for carol (paid by alice) whose locked coins carol
// delegates, all with the CLI.
func vestingFromCLI(t *testing.T, bin, home, node string, tx func(args ...string) map[string]any) {
	t.Helper()
	addr := func(name string) string {
		return strings.TrimSpace(run(t, bin, "--home", home, "keys", "show", name, "-a"))
	}
	balances := func(owner string) map[string]string {
		t.Helper()
		out := run(t, bin, "--home", home, "query", "vesting", "account", owner, "-o", "json")
		var acc struct {
			Balances map[string]string `json:"balances"`
		}
		if err := json.Unmarshal([]byte(out), &acc); err != nil {
			t.Fatalf("vesting account of %s: %v\n%s", owner, err, out)
		}
		return acc.Balances
	}
	dave, carol := addr("dave"), addr("carol")
	if b := balances(dave); b["original"] != "80000000000" || b["locked"] != "80000000000" {
		t.Fatalf("dave's genesis vesting account: %v", b)
	}
	tx("vesting", "delegate-from-vesting", dave, node, "1000000000unym", "--from", "dave")
	if b := balances(dave); b["delegated"] != "1000000000" {
		t.Fatalf("dave's locked coins were not delegated: %v", b)
	}

	period := `{"length_seconds":"7776000","amount":"1000000"}`
	args := []string{"vesting", "create-vesting-account", carol, "8000000unym", strconv.FormatInt(time.Now().Unix(), 10)}
	for i := 0; i < 8; i++ {
		args = append(args, period)
	}
	tx(append(args, "--from", "alice")...)
	tx("vesting", "delegate-from-vesting", carol, node, "700000unym", "--from", "carol")
	want := map[string]string{"original": "8000000", "delegated": "700000", "locked": "8000000", "spendable": "0", "free": "7300000", "pledge_cap": "800000"}
	b := balances(carol)
	for k, v := range want {
		if b[k] != v {
			t.Fatalf("carol's vesting account: %s is %q, want %q (%v)", k, b[k], v, b)
		}
	}
}

// lastLine is the last non-empty line of out (the CLI may print notes such
// as a gas estimate before its JSON).
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

// sendAndReceive sends msg from the localnet's client alice to bob with the
// nym-client CLI and requires bob to print exactly msg.
func sendAndReceive(t *testing.T, bin, dir, msg string) {
	t.Helper()
	client := filepath.Join(filepath.Dir(bin), "nym-client")
	aliceHome, bobHome := filepath.Join(dir, "clients", "alice"), filepath.Join(dir, "clients", "bob")
	bobAddr := strings.TrimSpace(run(t, client, "--home", bobHome, "address"))

	recv := exec.Command(client, "--home", bobHome, "receive", "--count", "1", "--timeout", "60s")
	var out bytes.Buffer
	recv.Stdout, recv.Stderr = &out, &out
	if err := recv.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // let the receiver connect to bob's API
	run(t, client, "--home", aliceHome, "send", "--to", bobAddr, msg)
	if err := recv.Wait(); err != nil {
		t.Fatalf("bob's receive: %v\n%s", err, out.String())
	}
	if got := strings.TrimSpace(out.String()); got != msg {
		t.Fatalf("bob received %q, want %q", got, msg)
	}
}

var (
	nyxdOnce sync.Once
	nyxdBin  string
	nyxdErr  error
)

// buildNyxd builds every command of the repository (nyxd, nym-node,
// nym-client) once per test run, into one directory, and returns nyxd's path.
func buildNyxd(t testing.TB) string {
	t.Helper()
	nyxdOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nyxd-test")
		if err != nil {
			nyxdErr = err
			return
		}
		nyxdBin = filepath.Join(dir, "nyxd")
		if out, err := exec.Command("go", "build", "-o", dir+"/", "github.com/nyx-privacy/nyx/cmd/...").CombinedOutput(); err != nil {
			nyxdErr = fmt.Errorf("build the commands: %v\n%s", err, out)
		}
	})
	if nyxdErr != nil {
		t.Fatal(nyxdErr)
	}
	return nyxdBin
}

var (
	faultyOnce sync.Once
	faultyBin  string
	faultyErr  error
)

// buildFaultyNyxd builds nyxd with the tag dkgfault (x/coconut/types,
// fault_on.go), whose validators deal badly when told to by their
// environment, and returns its path.
func buildFaultyNyxd(t testing.TB) string {
	t.Helper()
	faultyOnce.Do(func() {
		dir := filepath.Dir(buildNyxd(t))
		faultyBin = filepath.Join(dir, "nyxd-dkgfault")
		if out, err := exec.Command("go", "build", "-tags", "dkgfault", "-o", faultyBin, "github.com/nyx-privacy/nyx/cmd/nyxd").CombinedOutput(); err != nil {
			faultyErr = fmt.Errorf("build nyxd with dkgfault: %v\n%s", err, out)
		}
	})
	if faultyErr != nil {
		t.Fatal(faultyErr)
	}
	return faultyBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, f := range atExit {
		f()
	}
	if nyxdBin != "" {
		os.RemoveAll(filepath.Dir(nyxdBin))
	}
	os.Exit(code)
}

type localnet struct {
	cmd  *exec.Cmd
	out  *syncbuf.Buffer
	done chan error
}

func runLocalnet(t *testing.T, root, bin, dir string, base int, extra ...string) *localnet {
	t.Helper()
	args := append([]string{filepath.Join(root, "scripts", "localnet.sh"), "--dir", dir, "--base-port", strconv.Itoa(base)}, extra...)
	cmd := exec.Command("bash", args...)
	cmd.Dir = root
	binDir := filepath.Dir(bin)
	cmd.Env = append(os.Environ(), "NYXD="+bin, "NYM_NODE="+filepath.Join(binDir, "nym-node"),
		"NYM_CLIENT="+filepath.Join(binDir, "nym-client"), "NYM_NETWORK_REQUESTER="+filepath.Join(binDir, "nym-network-requester"),
		"NYM_SOCKS5_CLIENT="+filepath.Join(binDir, "nym-socks5-client"), "NYM_EXPLORER="+filepath.Join(binDir, "nym-explorer"),
		"NYM_MONITOR="+filepath.Join(binDir, "nym-monitor"),
		"LOG_LEVEL=error", "MIXNET_EPOCH=3s")
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l := &localnet{cmd: cmd, out: out, done: make(chan error, 1)}
	go func() { l.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			// SIGTERM makes the script stop every process it started (its
			// trap); a kill would leave them running, and loading the
			// machine, after a failed test.
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-l.done:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-l.done
			}
		}
	})
	return l
}

// waitBanner waits (up to 3 minutes) until the script has started
// everything and printed how to use it.
func (l *localnet) waitBanner(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		if strings.Contains(l.out.String(), "Ctrl-C stops everything") {
			return
		}
		select {
		case err := <-l.done:
			l.done <- err
			t.Fatalf("localnet exited (%v) before it was up:\n%s", err, l.out.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Fatalf("localnet not up within 3 minutes:\n%s", l.out.String())
}

// interrupt sends Ctrl-C and requires a clean exit within 30 s.
func (l *localnet) interrupt(t *testing.T) {
	t.Helper()
	if err := l.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-l.done:
		l.done <- err
		if err != nil {
			t.Fatalf("localnet exited with %v after Ctrl-C:\n%s", err, l.out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("localnet did not stop within 30 s of Ctrl-C:\n%s", l.out.String())
	}
}

// waitHeight polls CometBFT's /status until the chain reaches height h
// (within 60 s) and returns the height seen.
func waitHeight(t testing.TB, base int, h int64) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	url := fmt.Sprintf("http://127.0.0.1:%d/status", base+1)
	var last int64
	for ctx.Err() == nil {
		var st struct {
			Result struct {
				SyncInfo struct {
					Height string `json:"latest_block_height"`
				} `json:"sync_info"`
			} `json:"result"`
		}
		if err := fetchJSON(ctx, url, &st); err == nil {
			last, _ = strconv.ParseInt(st.Result.SyncInfo.Height, 10, 64)
			if last >= h {
				return last
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("chain did not reach height %d (last seen %d)", h, last)
	return 0
}

func fetchJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, body)
	}
	return json.Unmarshal(body, v)
}

func getJSONURL(t *testing.T, url string, v any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	for ctx.Err() == nil {
		if err = fetchJSON(ctx, url, v); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("GET %s: %v", url, err)
}

func run(t testing.TB, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// freePortBlock returns a base port whose four ports are free on 127.0.0.1.
// Bases stay below Linux's ephemeral range (32768 up), with room for the
// localnet's nodes and clients (base+100 to base+300), so that no outgoing
// connection of a test running alongside takes a port the network is about
// to listen on.
func freePortBlock(t testing.TB) int {
	t.Helper()
	for range 50 {
		base := 10000 + 10*rand.IntN(2200)
		if freePortFrom(base) == nil {
			return base
		}
	}
	t.Fatal("no free block of 4 ports")
	return 0
}

func checkFree(port int) error {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return err
	}
	return l.Close()
}

// measuredPerformance waits (up to a minute) for an epoch whose topology
// shows every node's performance as the localnet's monitor reported it.
// The chain lists the monitor, so a node nobody reported on would show 0.
func measuredPerformance(t *testing.T, bin, home string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	var last string
	for time.Now().Before(deadline) {
		var topo struct {
			Nodes []struct {
				Performance string `json:"performance"`
			} `json:"nodes"`
		}
		last = run(t, bin, "--home", home, "query", "mixnet", "topology", "-o", "json")
		if err := json.Unmarshal([]byte(last), &topo); err != nil {
			t.Fatalf("topology: %v\n%s", err, last)
		}
		measured := 0
		for _, n := range topo.Nodes {
			if p, err := strconv.ParseFloat(n.Performance, 64); err == nil && p > 0.5 {
				measured++
			}
		}
		if len(topo.Nodes) == 5 && measured == 5 {
			return
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("no epoch showed the monitor's measurements:\n%s", last)
}
