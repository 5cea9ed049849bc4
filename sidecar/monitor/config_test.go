package monitor

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nyx-privacy/nyx/testutil/hometest"
)

func testConfig() Config {
	c := DefaultConfig()
	c.Chain.ChainID = "nyx-test"
	return c
}

// TestConfigRoundTrip: the rendered config writes out every default and
// reads back as the same config.
func TestConfigRoundTrip(t *testing.T) {
	c := testConfig()
	b, err := c.Render()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	if got != c {
		t.Fatalf("read back %+v, want %+v", got, c)
	}
	hometest.CheckDocumented(t, b, c)
}

func TestConfigRefused(t *testing.T) {
	for name, toml := range map[string]string{
		"unknown key":   "[monitor]\nrat = 5\n",
		"no chain id":   "[chain]\nchain_id = \"\"\n",
		"rate":          "[chain]\nchain_id = \"x\"\n[monitor]\nrate = -1\n",
		"report_after":  "[chain]\nchain_id = \"x\"\n[monitor]\nreport_after = 1.5\n",
		"bad duration":  "[chain]\nchain_id = \"x\"\n[monitor]\npacket_timeout = \"soon\"\n",
		"bad listen":    "[chain]\nchain_id = \"x\"\n[http]\nlisten = \"nowhere\"\n",
		"bad log level": "[chain]\nchain_id = \"x\"\n[log]\nlevel = \"loud\"\n",
		"bad gas price": "[chain]\nchain_id = \"x\"\ngas_price = \"free\"\n",
		"bad deposit":   "[chain]\nchain_id = \"x\"\n[credentials]\ndeposit = \"-5unym\"\n",
	} {
		if _, err := ParseConfig([]byte(toml)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestInitAndLoad(t *testing.T) {
	dir := t.TempDir()
	keys, err := Init(dir, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Init(dir, testConfig()); err == nil {
		t.Fatal("init over an existing home")
	}
	got, err := LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Identity.Equal(keys.Identity) || !got.Account.Equals(keys.Account) {
		t.Fatal("keys read back differ")
	}
	if _, err := LoadConfig(dir); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(dir, IdentityKeyFile), 0o644)
	if _, err := LoadKeys(dir); err == nil {
		t.Fatal("an identity key readable by others was loaded")
	}
}
