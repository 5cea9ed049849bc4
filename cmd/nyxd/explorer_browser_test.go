package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nyx-privacy/nyx/sidecar/explorer/browsertest"
)

// explorerInBrowser opens every page of the localnet's explorer (the
// nym-explorer process localnet.sh started, reading the localnet's nyxd) in
// headless Chromium and checks each against the chain's gRPC answers at the
// height the page shows, with screenshots in $NYX_BROWSER_ARTIFACTS (default
// build/test-artifacts/browser). It runs inside TestLocalnet's network when
// $CHROMIUM names a browser: make test-browser installs Debian's chromium
// and sets it, make test sets it when Chromium is installed.
func explorerInBrowser(t *testing.T, root string, base int) {
	browser := browsertest.Browser(t)
	if browser == "" {
		t.Logf("explorer pages not opened in a browser: $%s is not set (make test-browser)", browsertest.Env)
		return
	}
	artifacts := os.Getenv("NYX_BROWSER_ARTIFACTS")
	if artifacts == "" {
		artifacts = filepath.Join(root, "build", "test-artifacts", "browser")
	}
	t.Run("explorer_in_chromium", func(t *testing.T) {
		pages := browsertest.Check(t, browsertest.Options{
			Browser:   browser,
			URL:       fmt.Sprintf("http://127.0.0.1:%d", base+400),
			GRPC:      fmt.Sprintf("127.0.0.1:%d", base+2),
			Artifacts: artifacts,
		})
		// The explorer's own metrics (its [http] listener) counted the
		// browser's visits by route.
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", base+410))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for route, n := range map[string]int{"GET /node/{id}": pages.Nodes, "GET /address/{addr}": pages.Addresses} {
			v, ok := metricValue(string(body), fmt.Sprintf(`nyx_explorer_requests_total{code="200",page="%s"}`, route))
			if !ok || v < float64(n) {
				t.Fatalf("the explorer counted %v visits to %s (found: %v), the browser made %d:\n%s", v, route, ok, n, body)
			}
		}
	})
}

// metricValue finds a sample's value in Prometheus text.
func metricValue(text, sample string) (float64, bool) {
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// coconutStats reads x/coconut's credential counts with the CLI, as the
// banner's users would: the four credentials the localnet's clients, the
// requester and the SOCKS5 client bought at their start were requested and
// issued (in PreBlocker, where no transaction records it), with their
// deposits, and the totals are the sum over the keys.
func coconutStats(t *testing.T, bin, home string) {
	t.Helper()
	out := run(t, bin, "--home", home, "query", "coconut", "stats", "-o", "json")
	type counts struct {
		KeyID     string `json:"key_id"`
		Requested string `json:"requested"`
		Issued    string `json:"issued"`
		Spent     string `json:"spent"`
		Deposited string `json:"deposited"`
	}
	var st struct {
		Total counts   `json:"total"`
		Keys  []counts `json:"keys"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("coconut stats: %v\n%s", err, out)
	}
	n := func(s string) uint64 {
		v, err := strconv.ParseUint(s, 10, 64)
		if s != "" && err != nil {
			t.Fatalf("coconut stats: %q: %v\n%s", s, err, out)
		}
		return v
	}
	if n(st.Total.Requested) < 4 || n(st.Total.Issued) < 4 || n(st.Total.Deposited) < 4*1_000_000 {
		t.Fatalf("coconut stats: want at least the 4 credentials bought at the start, requested and issued:\n%s", out)
	}
	var req, iss, spent uint64
	for _, k := range st.Keys {
		req, iss, spent = req+n(k.Requested), iss+n(k.Issued), spent+n(k.Spent)
	}
	if len(st.Keys) == 0 || req != n(st.Total.Requested) || iss != n(st.Total.Issued) || spent != n(st.Total.Spent) {
		t.Fatalf("coconut stats: the totals are not the sum over the keys:\n%s", out)
	}
}
