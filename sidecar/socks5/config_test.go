package socks5

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nyx-privacy/nyx/sidecar/client"
)

func TestConfigFile(t *testing.T) {
	provider := client.Address{Identity: [32]byte{1}, Encryption: [32]byte{9}, Gateway: [32]byte{2}}.String()
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, "config"), 0o700)
	if err := InitHome(home, "0.0.0.0:1080", provider); err == nil {
		t.Fatal("a proxy listening beyond loopback was accepted")
	}
	if err := InitHome(home, "127.0.0.1:1080", "nobody"); err == nil {
		t.Fatal("a bad provider address was accepted")
	}
	if err := InitHome(home, "127.0.0.1:1080", provider); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(home, ConfigFile))
	fc, err := ParseConfig(b)
	if err != nil {
		t.Fatalf("the written config does not parse: %v", err)
	}
	if fc.SOCKS5.Provider != provider || fc.StreamConfig().MaxStreams != 256 {
		t.Fatalf("parsed %+v", fc)
	}
	// No provider: one is picked from the chain's directory at each start.
	empty := t.TempDir()
	os.MkdirAll(filepath.Join(empty, "config"), 0o700)
	if err := InitHome(empty, "127.0.0.1:1080", ""); err != nil {
		t.Fatalf("init without a provider: %v", err)
	}
	if fc, err := LoadFileConfig(empty); err != nil || fc.SOCKS5.Provider != "" {
		t.Fatalf("config without a provider: %+v, %v", fc.SOCKS5, err)
	}
	for _, bad := range []struct{ from, to, says string }{
		{"provider = \"" + provider + "\"", `provider = "x@y"`, "socks5.provider"},
		{`keep_alive = "10s"`, `keep_alive = "2m"`, "keep-alive"},
		{"max_connections = 256", "max_connections = -1", "max_connections"},
		{"max_streams = 256", "max_streams = 256\nextra = 1", "extra"},
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
}
