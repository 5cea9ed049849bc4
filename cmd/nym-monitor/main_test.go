package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nyx-privacy/nyx/sidecar/monitor"
)

func execute(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// TestInitAndAddress: init writes a home whose config loads and whose
// account chain-address prints, in text and JSON; a second init is
// refused; the home comes from $NYM_MONITOR_HOME without --home.
func TestInitAndAddress(t *testing.T) {
	home := filepath.Join(t.TempDir(), "m")
	out, err := execute(t, "init", "--home", home, "--chain-id", "nyx-test", "--rate", "7")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := monitor.LoadConfig(home)
	if err != nil || cfg.Monitor.Rate != 7 || cfg.Chain.ChainID != "nyx-test" {
		t.Fatalf("config %+v, %v", cfg, err)
	}
	if _, err := execute(t, "init", "--home", home, "--chain-id", "nyx-test"); err == nil {
		t.Fatal("init over an existing home")
	}
	t.Setenv("NYM_MONITOR_HOME", home)
	text, err := execute(t, "chain-address")
	if err != nil || !strings.HasPrefix(text, "n1") || !strings.Contains(out, strings.TrimSpace(text)) {
		t.Fatalf("chain-address %q (%v); init said %q", text, err, out)
	}
	js, err := execute(t, "chain-address", "--output", "json")
	var v struct{ Address string }
	if err != nil || json.Unmarshal([]byte(js), &v) != nil || v.Address != strings.TrimSpace(text) {
		t.Fatalf("chain-address json %q (%v)", js, err)
	}
	if _, err := execute(t, "chain-address", "--output", "yaml"); err == nil {
		t.Fatal("an unknown output format")
	}
	if _, err := os.Stat(filepath.Join(home, monitor.IdentityKeyFile)); err != nil {
		t.Fatal(err)
	}
}
