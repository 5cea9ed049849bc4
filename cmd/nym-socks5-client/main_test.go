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

// TestFlags: the home comes from $NYM_SOCKS5_CLIENT_HOME without --home;
// --grpc still sets the gRPC address, as a deprecated spelling of
// --grpc-addr; --provider is optional but checked when given; an unknown
// --output is refused.
func TestFlags(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "socks")
	t.Setenv("NYM_SOCKS5_CLIENT_HOME", dir)
	for _, args := range [][]string{{"address"}, {"providers"}, {"run"}} {
		if _, err := execute(t, args...); err == nil || !strings.Contains(err.Error(), dir) {
			t.Errorf("%v in an empty home: %v, want an error naming %s", args, err, dir)
		}
	}
	for _, flag := range []string{"--grpc-addr", "--grpc"} {
		out, err := execute(t, "init", "--home", filepath.Join(t.TempDir(), "h"), flag, "127.0.0.1:1")
		if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Errorf("init %s 127.0.0.1:1 without --provider: %v, want an error naming that address", flag, err)
		}
		if deprecated := strings.Contains(out, "deprecated"); deprecated != (flag == "--grpc") {
			t.Errorf("init %s: output %q", flag, out)
		}
	}
	if _, err := execute(t, "init", "--provider", "nobody", "--grpc-addr", "127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "--provider") {
		t.Errorf("a bad --provider: %v", err)
	}
	if _, err := execute(t, "init", "--output", "yaml", "--grpc-addr", "127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "yaml") {
		t.Errorf("--output yaml: %v", err)
	}
}
