package node

import (
	"encoding/hex"
	"reflect"
	"testing"

	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/testutil/hometest"
)

// TestHomeV1Loads: a home written by "nym-node init" before the node moved
// onto sidecar/home (testdata/home-v1: nym-node init --host 127.0.0.1
// --chain-id nyx-localnet --grpc 127.0.0.1:26658) loads unchanged: the same
// keys, and the config init wrote, which is today's defaults with those
// flags.
func TestHomeV1Loads(t *testing.T) {
	dir := hometest.Copy(t, "testdata/home-v1")
	keys, err := LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	id := keys.IdentityPublic()
	if got := hex.EncodeToString(id[:]); got != "f7ffd0436d743616a352ea2b684acf90cdce91fdd047d0a3e8d746de0d590f1a" {
		t.Fatalf("identity key %s", got)
	}
	if got := hex.EncodeToString(keys.Sphinx.PublicKey().Bytes()); got != "be8b79726226ef66b14849425514a10933c7c31220b29241da494b8f06074b38" {
		t.Fatalf("sphinx key %s", got)
	}
	if addr, err := chaintx.Address(keys.Account, ""); err != nil || addr != "n13vm709nm6arhsuugcdu95xysktncwfyweeg86e" {
		t.Fatalf("chain account %s, %v", addr, err)
	}
	cfg, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Chain.ChainID, want.Chain.GRPC = "nyx-localnet", "127.0.0.1:26658"
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("config\n%+v\nwant\n%+v", cfg, want)
	}
}
