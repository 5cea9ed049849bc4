package client

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/testutil/hometest"
)

// TestHomeV1Loads: a home as "nym-client init" wrote it before the client
// moved onto sidecar/home (testdata/home-v1: keys in bare hex, the default
// config with its gateway) loads unchanged, to the same keys and config.
func TestHomeV1Loads(t *testing.T) {
	dir := hometest.Copy(t, "testdata/home-v1")
	h, err := LoadHome(dir)
	if err != nil {
		t.Fatal(err)
	}
	hexKey := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata/home-v1", KeysDir, name))
		if err != nil {
			t.Fatal(err)
		}
		k, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	if !h.Keys.Identity.Equal(ed25519.NewKeyFromSeed(hexKey(IdentityKeyFile))) {
		t.Fatal("identity key differs")
	}
	if !bytes.Equal(h.Keys.Encryption.Bytes(), hexKey(EncryptionKeyFile)) {
		t.Fatal("encryption key differs")
	}
	if !bytes.Equal(h.Shared[:], hexKey(GatewayKeyFile)) {
		t.Fatal("gateway shared key differs")
	}
	if _, err := chaintx.LoadKeyFile(filepath.Join(dir, ChainKeyFile)); err != nil {
		t.Fatal(err)
	}
	want := DefaultFileConfig()
	want.Gateway = GatewaySection{Identity: "7S8nyhfqRwXRcE6vWDFgb8LDH5FDPrJMisWPSJaFazr", URL: "ws://127.0.0.1:9000/"}
	if !reflect.DeepEqual(h.Config, want) {
		t.Fatalf("config\n%+v\nwant\n%+v", h.Config, want)
	}
	// A new registration's key replaces the old file in the new format.
	var k [32]byte
	k[0] = 9
	if err := SaveSharedKey(filepath.Join(dir, KeysDir), k); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadSharedKey(filepath.Join(dir, KeysDir)); err != nil || got != k {
		t.Fatalf("replaced shared key: %x, %v", got, err)
	}
}
