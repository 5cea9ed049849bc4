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

// TestFlagHabits: --grpc-addr, its deprecated alias --grpc, and the
// environment ($NYM_MONITOR_GRPC_ADDR) all set the gRPC endpoint, a flag
// before the environment; an unknown --output is refused before anything
// is written.
func TestFlagHabits(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("NYM_MONITOR_GRPC_ADDR", "127.0.0.1:3")
	for name, args := range map[string][]string{
		"127.0.0.1:1": {"--grpc-addr", "127.0.0.1:1"},
		"127.0.0.1:2": {"--grpc", "127.0.0.1:2"},
		"127.0.0.1:3": nil,
	} {
		h := filepath.Join(dir, name)
		if out, err := execute(t, append([]string{"init", "--home", h, "--chain-id", "nyx-test"}, args...)...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		if cfg, err := monitor.LoadConfig(h); err != nil || cfg.Chain.GRPC != name {
			t.Fatalf("%v: grpc %q, %v", args, cfg.Chain.GRPC, err)
		}
	}
	h := filepath.Join(dir, "yaml")
	if _, err := execute(t, "init", "--home", h, "--chain-id", "nyx-test", "-o", "yaml"); err == nil {
		t.Fatal("init -o yaml")
	}
	if _, err := os.Stat(h); !os.IsNotExist(err) {
		t.Fatalf("init -o yaml wrote %s: %v", h, err)
	}
}
