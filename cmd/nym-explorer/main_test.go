package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommands: init writes a home once and refuses bad flags with a clear
// error; run refuses a home without a config, and a config that does not
// validate, before anything listens.
func TestCommands(t *testing.T) {
	dir := t.TempDir()
	exec := func(args ...string) (string, error) {
		cmd := newRootCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(args)
		err := cmd.Execute()
		return out.String(), err
	}
	home := filepath.Join(dir, "explorer")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--home", home}, "config.toml"},
		{[]string{"init", "--home", home, "--grpc", "nyxd"}, `chain.grpc "nyxd" is not host:port`},
		{[]string{"init", "--home", home, "--listen", "127.0.0.1:1", "--http-listen", "127.0.0.1:1"}, "both"},
		{[]string{"init", "--home", home, "--no-such-flag"}, "unknown flag"},
		{[]string{"serve"}, `unknown command "serve"`},
	} {
		_, err := exec(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want it to say %q", tc.args, err, tc.want)
		}
	}
	out, err := exec("init", "--home", home, "--grpc", "127.0.0.1:1", "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.2:0")
	if err != nil || !strings.Contains(out, home) {
		t.Fatalf("init: %v\n%s", err, out)
	}
	if _, err := exec("init", "--home", home); err == nil {
		t.Fatal("a second init overwrote the config")
	}
}
