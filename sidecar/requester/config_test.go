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
	if err := InitHome(home, "", DefaultFileConfig().Directory); err != nil {
		t.Fatal(err)
	}
	if err := InitHome(home, "", DefaultFileConfig().Directory); err == nil {
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
		{`gas_price = "0.025unym"`, `gas_price = "0unym"`, "directory.gas_price"},
		{`description = ""`, `description = "exit\u001b[2J"`, "directory.description"},
		{`description = ""`, `description = "` + strings.Repeat("x", 257) + `"`, "directory.description"},
		{`announce = false`, `announce = "yes"`, "Announce"},
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
	// A requester.toml written before [directory] existed loads, with its
	// defaults (no announcement).
	old := string(b)[:strings.Index(string(b), "[directory]")]
	fc2, err := ParseConfig([]byte(old))
	if err != nil {
		t.Fatalf("a config without [directory]: %v", err)
	}
	if fc2.Directory != DefaultFileConfig().Directory || fc2.Directory.Announce {
		t.Fatalf("a config without [directory] has %+v", fc2.Directory)
	}
	announcing := strings.Replace(strings.Replace(string(b), "announce = false", "announce = true", 1), `description = ""`, `description = "Exit in Zürich"`, 1)
	fc3, err := ParseConfig([]byte(announcing))
	if err != nil || !fc3.Directory.Announce || fc3.Directory.Description != "Exit in Zürich" {
		t.Fatalf("announce = true: %+v, %v", fc3.Directory, err)
	}
	if again, err := ParseConfig(fc3.Marshal()); err != nil || again != fc3 {
		t.Fatalf("a config does not survive its own Marshal: %+v, %v", again, err)
	}
	os.WriteFile(filepath.Join(home, PolicyFile), []byte("accept *:80\nallow *:81\n"), 0o600)
	if _, err := fc.Config(home); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("a bad policy file: %v", err)
	}
}
