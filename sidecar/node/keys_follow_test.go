package node

import (
	"crypto/rand"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/home"
	"github.com/nyx-privacy/nyx/sidecar/mixnode"
	"github.com/nyx-privacy/nyx/sidecar/tomltime"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/sphinx"
	"github.com/nyx-privacy/nyx/testutil/syncbuf"
)

// TestFollowKeys walks the key rotation logic of a node through synthetic
// topologies, against a real mix engine and real key files (the whole
// network does it in testutil/mixnet's TestSphinxKeyRotation): the next key
// file is taken up, the switch happens when the chain's record says so, the
// old key goes an epoch later, and a key the node let go is never taken up
// again.
func TestFollowKeys(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "home")
	if err := Init(dir, DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	keys, err := LoadKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	mix, err := mixnode.New(mixnode.Config{ReplayRate: 10, ReplayWindow: tomltime.Duration(time.Minute), Identity: keys.Identity}, keys.Sphinx, func([32]byte) (string, bool) { return "", false }, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mix.Close()
	s := &Server{id: keys.IdentityPublic(), log: log, mix: mix, home: dir, sphinxKey: keys.Sphinx}
	topo := func(epoch uint64, cur, next *sphinx.PublicKey) *topology.Topology {
		return &topology.Topology{Epoch: epoch, Layers: [3][]topology.Node{{{Identity: s.id, Role: topology.Layer1, SphinxKey: cur, NextSphinxKey: next}}}}
	}
	follow := func(t *topology.Topology) {
		me, in := t.ByIdentity(s.id)
		s.followKeys(t, me, in)
	}
	want := func(what string, ks ...*sphinx.PublicKey) {
		t.Helper()
		got := mix.Keys()
		if len(got) != len(ks) {
			t.Fatalf("%s: the engine holds %d keys, want %d", what, len(got), len(ks))
		}
		for i := range ks {
			if !got[i].Equal(ks[i]) {
				t.Fatalf("%s: key %d differs", what, i)
			}
		}
	}
	old := keys.Sphinx.PublicKey()

	follow(topo(1, old, nil))
	want("no next key", old)
	next, err := GenerateNextSphinxKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !s.syncNextKeyFile() {
		t.Fatal("the next key file was not taken up")
	}
	_ = s.applyKeys()
	want("next key taken up", old, next.PublicKey())
	follow(topo(1, old, next.PublicKey()))
	want("announced", old, next.PublicKey())
	if strings.Contains(logs.String(), "does not hold") {
		t.Fatal("a held next key was reported missing")
	}

	follow(topo(2, next.PublicKey(), nil))
	want("switched", next.PublicKey(), old)
	on, err := LoadKeys(dir)
	if err != nil || !on.Sphinx.Equal(next) || on.NextSphinx != nil {
		t.Fatalf("key files after the switch: %v", err)
	}
	follow(topo(2, next.PublicKey(), nil))
	want("same epoch", next.PublicKey(), old)
	follow(topo(3, next.PublicKey(), nil))
	want("old key dropped", next.PublicKey())

	// The old key back in the next key file is refused.
	if err := os.WriteFile(filepath.Join(dir, NextSphinxKeyFile), home.EncodeKey(sphinxLabel, keys.Sphinx.Bytes()), 0o600); err != nil {
		t.Fatal(err)
	}
	if s.syncNextKeyFile() {
		t.Fatal("a retired key was taken up")
	}
	if !strings.Contains(logs.String(), "used before and let go") {
		t.Fatal("the retired key was not reported")
	}
	want("retired key refused", next.PublicKey())
	os.Remove(filepath.Join(dir, NextSphinxKeyFile))

	// A next key whose file goes away is dropped, and refused if it comes
	// back.
	third, err := GenerateNextSphinxKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	follow(topo(3, next.PublicKey(), nil))
	want("third key taken up", next.PublicKey(), third.PublicKey())
	b, _ := os.ReadFile(filepath.Join(dir, NextSphinxKeyFile))
	os.Remove(filepath.Join(dir, NextSphinxKeyFile))
	follow(topo(3, next.PublicKey(), nil))
	want("third key's file gone", next.PublicKey())
	if err := os.WriteFile(filepath.Join(dir, NextSphinxKeyFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	follow(topo(3, next.PublicKey(), nil))
	want("third key back", next.PublicKey())

	// The chain announcing a key the node does not hold is reported.
	stranger, _ := sphinx.GenerateKey(rand.Reader)
	follow(topo(4, next.PublicKey(), stranger.PublicKey()))
	if !strings.Contains(logs.String(), "does not hold") {
		t.Fatal("an announced next key the node lacks was not reported")
	}
}
