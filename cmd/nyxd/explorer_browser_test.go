package main

import (
	"fmt"
	"os"
	"path/filepath"
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
		browsertest.Check(t, browsertest.Options{
			Browser:   browser,
			URL:       fmt.Sprintf("http://127.0.0.1:%d", base+400),
			GRPC:      fmt.Sprintf("127.0.0.1:%d", base+2),
			Artifacts: artifacts,
		})
	})
}
