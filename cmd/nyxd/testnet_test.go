package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTestnetInitFiles writes a two-validator network with `nyxd testnet
// init-files`, starts both nodes as separate processes and checks they
// agree on blocks (neither alone has 2/3 of the power, so every block needs
// both), then refuses to overwrite the network.
func TestTestnetInitFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds nyxd and runs two validators")
	}
	bin := buildNyxd(t)
	dir := filepath.Join(t.TempDir(), "testnet")
	base := freePortBlock(t)
	for freePortFrom(base+10) != nil {
		base = freePortBlock(t)
	}
	out := run(t, bin, "testnet", "init-files", "--v", "2", "--output-dir", dir,
		"--starting-port", strconv.Itoa(base), "--accounts", "alice", "--timeout-commit", "300ms")
	if !strings.Contains(out, "wrote 2 validator homes") {
		t.Fatalf("init-files output:\n%s", out)
	}
	checkMinimumGasPrices(t, filepath.Join(dir, "node0"))

	for i := 0; i < 2; i++ {
		cmd := exec.Command(bin, "start", "--home", filepath.Join(dir, fmt.Sprintf("node%d", i)), "--log_level", "error")
		logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("node%d.log", i)))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
			logf.Close()
		})
	}
	// Both nodes reach height 3: blocks need both validators' votes.
	h0 := waitHeight(t, base, 3)
	h1 := waitHeight(t, base+10, 3)
	if h0 < 3 || h1 < 3 {
		t.Fatalf("heights %d and %d", h0, h1)
	}
	var st struct {
		Result struct {
			ValidatorInfo struct {
				VotingPower string `json:"voting_power"`
			} `json:"validator_info"`
		} `json:"result"`
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fetchJSON(ctx, fmt.Sprintf("http://127.0.0.1:%d/status", base+11), &st); err != nil {
		t.Fatal(err)
	}
	if st.Result.ValidatorInfo.VotingPower == "0" || st.Result.ValidatorInfo.VotingPower == "" {
		t.Fatalf("node1 is not a validator: voting power %q", st.Result.ValidatorInfo.VotingPower)
	}

	// Writing over an existing network is refused.
	again := exec.Command(bin, "testnet", "init-files", "--v", "2", "--output-dir", dir)
	if b, err := again.CombinedOutput(); err == nil || !strings.Contains(string(b), "already holds a network") {
		t.Fatalf("init-files over an existing network: err %v, output:\n%s", err, b)
	}
}

// freePortFrom reports whether the four ports from base are free.
func freePortFrom(base int) error {
	for p := base; p < base+4; p++ {
		if err := checkFree(p); err != nil {
			return err
		}
	}
	return nil
}

// TestInitWritesMinimumGasPrices: `nyxd init` writes an app.toml whose nodes
// refuse transactions that pay no fee.
func TestInitWritesMinimumGasPrices(t *testing.T) {
	if testing.Short() {
		t.Skip("builds nyxd")
	}
	bin := buildNyxd(t)
	home := filepath.Join(t.TempDir(), "home")
	run(t, bin, "init", "moniker", "--home", home, "--chain-id", "nyx-init-test")
	checkMinimumGasPrices(t, home)
}

// checkMinimumGasPrices fails unless home's app.toml sets the default minimum gas
// prices, in both tokens.
func checkMinimumGasPrices(t *testing.T, home string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(home, "config", "app.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `minimum-gas-prices = "0.025unym,0.025unyx"`) {
		t.Fatalf("app.toml in %s does not set the minimum gas prices:\n%s", home, b)
	}
}
