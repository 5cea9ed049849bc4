package requester

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nyx-privacy/nyx/sidecar/exitpolicy"
)

func TestConfigFile(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, "config"), 0o700)
	if err := InitHome(home, ""); err != nil {
		t.Fatal(err)
	}
	if err := InitHome(home, ""); err == nil {
		t.Fatal("a second init overwrote the config")
	}
	b, err := os.ReadFile(filepath.Join(home, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	fc, err := ParseConfig(b)
	if err != nil {
		t.Fatalf("the written config does not parse: %v", err)
	}
	cfg, err := fc.Config(home)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Policy.Rules) != len(exitpolicy.Default().Rules) || cfg.MaxStreams != DefaultConfig().MaxStreams {
		t.Fatalf("config from the written file: %+v", cfg)
	}
	for _, bad := range []struct{ from, to, says string }{
		{"max_streams = 1024", "max_streams = 1024\nmax_stream = 3", "max_stream"},
		{"max_streams_per_client = 64", "max_streams_per_client = 0", "max_streams_per_client"},
		{"max_streams = 1024", "max_streams = 10", "per client at most the total"},
		{`quiet_timeout = "2m0s"`, `quiet_timeout = "0s"`, "quiet_timeout"},
		{`exit_policy_file = "exit-policy.txt"`, `exit_policy_file = ""`, "exit_policy_file"},
		{`packet_size = "extended8"`, `packet_size = "huge"`, "packet_size"},
	} {
		s := string(b)
		if !strings.Contains(s, bad.from) {
			t.Fatalf("config has no %q:\n%s", bad.from, s)
		}
		_, err := ParseConfig([]byte(strings.Replace(s, bad.from, bad.to, 1)))
		if err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("%q: %v, want an error naming %q", bad.to, err, bad.says)
		}
	}
	os.WriteFile(filepath.Join(home, PolicyFile), []byte("accept *:80\nallow *:81\n"), 0o600)
	if _, err := fc.Config(home); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("a bad policy file: %v", err)
	}
}
