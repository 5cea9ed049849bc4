package home

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, KeysDir, "a.key")
	key := bytes.Repeat([]byte{7}, 32)
	if err := WriteKey(p, "nyx-test", key); err != nil {
		t.Fatal(err)
	}
	if err := WriteKey(p, "nyx-test", key); err == nil {
		t.Fatal("a key file was overwritten")
	}
	st, _ := os.Stat(p)
	dst, _ := os.Stat(filepath.Dir(p))
	if st.Mode().Perm() != 0o600 || dst.Mode().Perm() != 0o700 {
		t.Fatalf("modes %v %v", st.Mode().Perm(), dst.Mode().Perm())
	}
	got, err := ReadKey(p, "nyx-test", 32)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("read back %x, %v", got, err)
	}
	if _, err := ReadKey(p, "nyx-other", 32); !errors.Is(err, ErrKeyFile) {
		t.Fatalf("wrong label: %v", err)
	}
	if _, err := ReadKey(p, "nyx-test", 33); !errors.Is(err, ErrKeyFile) {
		t.Fatalf("wrong size: %v", err)
	}
	os.Chmod(p, 0o644)
	if _, err := ReadKey(p, "nyx-test", 32); !errors.Is(err, ErrKeyFile) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a key readable by others: %v", err)
	}
}

// TestOldKeyFiles: the key files of homes written before the format was
// shared (hex after the label, or bare hex) still read, to the same key.
func TestOldKeyFiles(t *testing.T) {
	key := bytes.Repeat([]byte{0xab}, 32)
	for _, in := range []string{
		"nyx-test: " + base64.StdEncoding.EncodeToString(key) + "\n",
		"nyx-test: " + hex.EncodeToString(key) + "\n",
		hex.EncodeToString(key) + "\n",
	} {
		got, err := ParseKey("nyx-test", 32, []byte(in))
		if err != nil || !bytes.Equal(got, key) {
			t.Fatalf("%q: %x, %v", in, got, err)
		}
	}
	for _, in := range []string{
		"nyx-other: " + hex.EncodeToString(key),
		"nyx-test: " + base64.StdEncoding.EncodeToString(key[:31]),
		"nyx-test: " + hex.EncodeToString(key[:31]),
		hex.EncodeToString(make([]byte, 32)),
		"nyx-test: " + strings.Repeat("zz", 32),
	} {
		if _, err := ParseKey("nyx-test", 32, []byte(in)); !errors.Is(err, ErrKeyFile) {
			t.Fatalf("%q: %v", in, err)
		}
	}
}

// TestReplaceKey: a registration's key is replaced whole, still owner-only.
func TestReplaceKey(t *testing.T) {
	p := filepath.Join(t.TempDir(), KeysDir, "shared.key")
	a, b := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	if err := ReplaceKey(p, "nyx-test", a); err != nil {
		t.Fatal(err)
	}
	if err := ReplaceKey(p, "nyx-test", b); err != nil {
		t.Fatal(err)
	}
	got, err := ReadKey(p, "nyx-test", 32)
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("%x, %v", got, err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(p)); len(ents) != 1 {
		t.Fatalf("%d files left", len(ents))
	}
}

type testConfig struct {
	A struct {
		N int    `toml:"n"`
		S string `toml:"s"`
	} `toml:"a"`
	Log LogSection `toml:"log"`
}

func TestDecodeConfigStrict(t *testing.T) {
	var c testConfig
	c.A.N, c.A.S, c.Log = 5, "def", DefaultLog()
	if err := DecodeConfig([]byte("[a]\nn = 7\n"), &c); err != nil {
		t.Fatal(err)
	}
	if c.A.N != 7 || c.A.S != "def" {
		t.Fatalf("%+v", c)
	}
	if err := DecodeConfig([]byte("[a]\nnn = 7\n"), &c); err == nil || !strings.Contains(err.Error(), "nn") {
		t.Fatalf("an unknown key: %v", err)
	}
	if err := DecodeConfig([]byte("[a]\nn = \"x\"\n"), &c); err == nil {
		t.Fatal("a string for an int")
	}
	if err := (LogSection{Level: "loud", Format: "text"}).Validate(); err == nil {
		t.Fatal("a bad level")
	}
}

func TestDir(t *testing.T) {
	t.Setenv("NYM_TEST_HOME", "/from/env")
	if d, _ := Dir("/from/flag", "NYM_TEST", "nym-test"); d != "/from/flag" {
		t.Fatal(d)
	}
	if d, _ := Dir("", "NYM_TEST", "nym-test"); d != "/from/env" {
		t.Fatal(d)
	}
	t.Setenv("NYM_TEST_HOME", "")
	if d, _ := Dir("", "NYM_TEST", "nym-test"); !strings.HasSuffix(d, "/.nym-test") {
		t.Fatal(d)
	}
}
