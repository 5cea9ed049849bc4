package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func execute(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// TestFlags: the home comes from $NYM_NETWORK_REQUESTER_HOME without
// --home; --grpc still sets the gRPC address, as a deprecated spelling of
// --grpc-addr; an unknown --output is refused before anything is done.
func TestFlags(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "req")
	t.Setenv("NYM_NETWORK_REQUESTER_HOME", dir)
	for _, args := range [][]string{{"address"}, {"chain-address"}, {"announce"}, {"withdraw"}} {
		if _, err := execute(t, args...); err == nil || !strings.Contains(err.Error(), dir) {
			t.Errorf("%v in an empty home: %v, want an error naming %s", args, err, dir)
		}
	}
	for _, flag := range []string{"--grpc-addr", "--grpc"} {
		out, err := execute(t, "init", "--home", filepath.Join(t.TempDir(), "h"), flag, "127.0.0.1:1")
		if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Errorf("init %s 127.0.0.1:1: %v, want an error naming that address", flag, err)
		}
		if deprecated := strings.Contains(out, "deprecated"); deprecated != (flag == "--grpc") {
			t.Errorf("init %s: output %q", flag, out)
		}
	}
	if _, err := execute(t, "init", "--output", "yaml", "--grpc-addr", "127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "yaml") {
		t.Errorf("--output yaml: %v", err)
	}
	if _, err := execute(t, "init", "--description", "a\x1bb", "--grpc-addr", "127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "description") {
		t.Errorf("a description with a control character: %v", err)
	}
	if _, err := execute(t, "withdraw", "0"); err == nil {
		t.Error("withdraw 0 was accepted")
	}
}
