package node

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/home"
	"github.com/nyx-privacy/nyx/testutil/hometest"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

func TestConfigRoundTrip(t *testing.T) {
	def := DefaultConfig()
	b, err := def.Render()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseConfig(b)
	if err != nil {
		t.Fatalf("parse the rendered default: %v\n%s", err, b)
	}
	if !reflect.DeepEqual(got, def) {
		t.Fatalf("round trip differs:\n%+v\n%+v", got, def)
	}
	// Every setting is written out, each after a comment line.
	hometest.CheckDocumented(t, b, def)

	// A changed value survives too.
	c := def
	c.Node.Host, c.Mixnode.MaxDelay, c.Mixnode.ReplayRate, c.Gateway.Enabled = "node.example.org", Duration(3*time.Second), 1234.5, false
	b, _ = c.Render()
	if got, err := ParseConfig(b); err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("changed config: %v", err)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for name, in := range map[string]string{
		"unknown key":     "[node]\nhots = \"x\"\n",
		"bad duration":    "[mixnode]\nmax_delay = \"soon\"\n",
		"bad host":        "[node]\nhost = \"not a host!\"\n",
		"same ports":      "[node]\nmix_port = 9000\n",
		"bad level":       "[log]\nlevel = \"loud\"\n",
		"not toml":        "this is not toml",
		"bad grpc":        "[chain]\ngrpc = \"nohostport\"\n",
		"negative queue":  "[mixnode]\ndelay_queue = -1\n",
		"wrong type":      "[node]\nmix_port = \"x\"\n",
		"port overflow":   "[node]\nmix_port = 70000\n",
		"no store dir":    "[gateway]\nstore_dir = \"\"\n",
		"bad false posit": "[mixnode]\nreplay_false_positive = 2.0\n",
		"tiny quota":      "[gateway]\nmax_stored_bytes_per_client = 100\n",
		"quota over all":  "[gateway]\nmax_stored_bytes_per_client = 2000000\nmax_stored_bytes = 1000000\n",
		"session pushed":  "[gateway]\nmax_session_pushed_bytes = 1000\n",
		"negative idle":   "[gateway]\nmax_client_idle = \"-1h\"\n",
		"negative max cl": "[gateway]\nmax_clients = -1\n",
		"save too often":  "[keys]\nreplay_save_interval = \"10ms\"\n",
		"spend batch 0":   "[gateway]\nspend_batch_interval = \"0s\"\n",
		"negative hold":   "[gateway]\nhold_bytes = -1\n",
		"negative flush":  "[gateway]\nbalance_flush_interval = \"-1s\"\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseConfig([]byte(in)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	// An empty file is the defaults.
	if c, err := ParseConfig(nil); err != nil || !reflect.DeepEqual(c, DefaultConfig()) {
		t.Fatalf("empty config: %v", err)
	}
}

func TestInitAndKeys(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	if err := Init(home, DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{IdentityKeyFile, SphinxKeyFile, ConfigFile} {
		st, err := os.Stat(filepath.Join(home, f))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %v", f, st.Mode().Perm())
		}
	}
	if st, _ := os.Stat(filepath.Join(home, "keys")); st.Mode().Perm() != 0o700 {
		t.Fatalf("keys dir mode %v", st.Mode().Perm())
	}
	keys, err := LoadKeys(home)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadKeys(home)
	if err != nil || !keys.Identity.Equal(again.Identity) || !keys.Sphinx.Equal(again.Sphinx) {
		t.Fatal("keys differ between loads")
	}
	if _, err := LoadConfig(home); err != nil {
		t.Fatal(err)
	}
	if err := Init(home, DefaultConfig()); err == nil {
		t.Fatal("a second init overwrote the home")
	}
	// Keys readable by others are refused.
	if err := os.Chmod(filepath.Join(home, IdentityKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeys(home); !errors.Is(err, ErrKeyFile) {
		t.Fatalf("loose permissions: %v", err)
	}
}

// TestNextSphinxKey: rotate-sphinx-key's file is written owner-only, loaded
// with the keys, refused when loose, when garbled or when it is the current
// key, not replaced while it waits, and promoted over the current key file
// by one rename.
func TestNextSphinxKey(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	if _, err := GenerateNextSphinxKey(home); err == nil {
		t.Fatal("a next key was made in an empty directory")
	}
	if err := Init(home, DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	if k, err := LoadKeys(home); err != nil || k.NextSphinx != nil {
		t.Fatalf("a fresh home has a next key: %v", err)
	}
	next, err := GenerateNextSphinxKey(home)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(home, NextSphinxKeyFile)
	if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("next key file: %v %v", err, st)
	}
	keys, err := LoadKeys(home)
	if err != nil || keys.NextSphinx == nil || !keys.NextSphinx.Equal(next) {
		t.Fatalf("next key not loaded: %v", err)
	}
	if _, err := GenerateNextSphinxKey(home); err == nil {
		t.Fatal("a waiting next key was replaced")
	}
	if again, _ := LoadNextSphinxKey(home); !again.Equal(next) {
		t.Fatal("the waiting next key changed")
	}

	good, _ := os.ReadFile(p)
	for name, mutate := range map[string]func() error{
		"loose":   func() error { return os.Chmod(p, 0o640) },
		"garbled": func() error { return os.WriteFile(p, []byte("nyx-node-sphinx-x25519: !!"), 0o600) },
		"current": func() error {
			b, _ := os.ReadFile(filepath.Join(home, SphinxKeyFile))
			return os.WriteFile(p, b, 0o600)
		},
	} {
		if err := mutate(); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadKeys(home); !errors.Is(err, ErrKeyFile) || !strings.Contains(err.Error(), "next") && name != "loose" {
			t.Fatalf("%s next key file: %v", name, err)
		}
		if err := os.WriteFile(p, good, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	if err := promoteNextSphinxKey(home); err != nil {
		t.Fatal(err)
	}
	keys, err = LoadKeys(home)
	if err != nil || !keys.Sphinx.Equal(next) || keys.NextSphinx != nil {
		t.Fatalf("after promotion: %v", err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the next key file is still there: %v", err)
	}
}

func TestKeyParsing(t *testing.T) {
	keys, err := GenerateKeys(bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	id, err := ParseIdentityKey(home.EncodeKey(identityLabel, keys.Identity.Seed()))
	if err != nil || !id.Equal(keys.Identity) {
		t.Fatalf("identity: %v", err)
	}
	for name, in := range map[string]string{
		"empty":        "",
		"wrong label":  sphinxLabel + ": " + strings.Repeat("A", 43) + "=",
		"short":        identityLabel + ": AAAA",
		"not base64":   identityLabel + ": " + strings.Repeat("!", 44),
		"long":         identityLabel + ": " + strings.Repeat("A", 48),
		"zero sphinx":  sphinxLabel + ": " + strings.Repeat("A", 43) + "=",
		"no separator": identityLabel + strings.Repeat("A", 44),
	} {
		t.Run(name, func(t *testing.T) {
			_, err1 := ParseIdentityKey([]byte(in))
			_, err2 := ParseSphinxKey([]byte(in))
			if name == "zero sphinx" {
				err1 = errors.New("n/a")
			}
			if err1 == nil || !errors.Is(err2, ErrKeyFile) {
				t.Fatalf("accepted: %v %v", err1, err2)
			}
		})
	}
}

func TestBondingInfoVerifies(t *testing.T) {
	keys, err := GenerateKeys(bytes.NewReader(bytes.Repeat([]byte{9}, 64)))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Chain.ChainID = "nyx-test"
	const owner = "n1owner"
	info, err := NewBondingInfo(keys, cfg, owner, 3)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := hex.DecodeString(info.Signature)
	p := BondPayload(keys, cfg, owner, 3)
	if err := mixnettypes.VerifyBondSignature(p, sig); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	p.Nonce = 4
	if mixnettypes.VerifyBondSignature(p, sig) == nil {
		t.Fatal("signature verifies for another nonce")
	}
	if info.IdentityKey != hex.EncodeToString(keys.Identity.Public().(ed25519.PublicKey)) || info.MixPort != DefaultMixPort {
		t.Fatalf("info %+v", info)
	}
	cmd := info.Command("100000000unym", "op")
	if !strings.Contains(cmd, info.Signature) || !strings.HasPrefix(cmd, "nyxd tx mixnet bond-node 100000000unym "+info.IdentityKey) {
		t.Fatalf("command %q", cmd)
	}
	msg, err := BondMsg(keys, cfg, owner, 3, "10000000unym")
	if err != nil {
		t.Fatal(err)
	}
	if err := mixnettypes.VerifyBondSignature(msg.BondPayload(cfg.Chain.ChainID, 3), msg.Signature); err != nil {
		t.Fatalf("BondMsg signature: %v", err)
	}
	if _, err := NewBondingInfo(keys, cfg, "", 0); err == nil {
		t.Fatal("no owner accepted")
	}
	if _, err := BondMsg(keys, cfg, owner, 0, "ten"); err == nil {
		t.Fatal("bad pledge accepted")
	}
}

// FuzzParseConfig: any bytes give a valid config or an error, never a panic.
func FuzzParseConfig(f *testing.F) {
	def, _ := DefaultConfig().Render()
	f.Add(def)
	f.Add([]byte("[node]\nhost = \"h\"\n"))
	f.Add([]byte("[mixnode]\nmax_delay = \"1h\"\nreplay_rate = 1e3\n"))
	f.Add([]byte{})
	f.Add([]byte("[gateway]\nenabled = false\nserve_optimistically = true\n[log]\nformat = \"json\"\n"))
	// A config as init wrote it before the node moved onto sidecar/home.
	if old, err := os.ReadFile("testdata/home-v1/config/config.toml"); err == nil {
		f.Add(old)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseConfig returned an invalid config: %v", err)
		}
	})
}

// FuzzParseKeys: key files of any content parse to a key or give ErrKeyFile.
func FuzzParseKeys(f *testing.F) {
	keys, _ := GenerateKeys(bytes.NewReader(bytes.Repeat([]byte{1}, 64)))
	f.Add(home.EncodeKey(identityLabel, keys.Identity.Seed()))
	f.Add(home.EncodeKey(sphinxLabel, keys.Sphinx.Bytes()))
	f.Add([]byte(sphinxLabel + ": "))
	f.Fuzz(func(t *testing.T, b []byte) {
		if k, err := ParseIdentityKey(b); err == nil && len(k) != ed25519.PrivateKeySize {
			t.Fatal("short identity key")
		} else if err != nil && !errors.Is(err, ErrKeyFile) {
			t.Fatalf("error %v", err)
		}
		if _, err := ParseSphinxKey(b); err != nil && !errors.Is(err, ErrKeyFile) {
			t.Fatalf("error %v", err)
		}
	})
}
