package mixnode

import (
	"bytes"
	"crypto/rand"
	"testing"

	"github.com/nyx-privacy/nyx/sphinx"
)

// TestKeyWithoutFilterRefused: packets for a key held without a replay
// filter are dropped as no_replay_filter, sent over a real socket, while
// the node's other key, with its restored filter, works and remembers the
// tags its filter held.
func TestKeyWithoutFilterRefused(t *testing.T) {
	tn := newTestNet(t)
	a := tn.start(Config{}, "")
	box := newInbox()
	a.SetDeliverer(box)
	var bob [32]byte
	s := dial(t, a.addr)

	lost := a.key
	kept, _ := sphinx.GenerateKey(rand.Reader)
	a.key = kept
	seen := packet(t, bob, []byte("seen before the restart"), a.hop(0))
	restored, _ := sphinx.NewReplayFilterFor(1000, 1e-5)
	if _, err := sphinx.Regular.ProcessHopFiltered(make([]byte, len(seen)), kept, seen, restored); err != nil {
		t.Fatal(err)
	}
	if err := a.SetKeyFilters(KeyFilter{Key: lost}, KeyFilter{Key: kept, Filter: restored}); err != nil {
		t.Fatal(err)
	}
	if a.ReplayFilter(kept.PublicKey()) != restored || a.ReplayFilter(lost.PublicKey()) != nil {
		t.Fatal("ReplayFilter does not return the filters given")
	}

	a.key = lost
	s.send(t, packet(t, bob, []byte("for the key without a filter"), a.hop(0)))
	eventually(t, "refused", func() bool { return a.Stats().Dropped["no_replay_filter"] == 1 })
	s.send(t, seen)
	eventually(t, "replay caught by the restored filter", func() bool { return a.Stats().Dropped["replay"] == 1 })
	a.key = kept
	s.send(t, packet(t, bob, []byte("fresh for the kept key"), a.hop(0)))
	got := box.wait(t, 1)
	if !bytes.HasPrefix(got[0].payload, []byte("fresh for the kept key")) {
		t.Fatal("a new packet for the key with a filter was not delivered")
	}
	if st := a.Stats(); st.Delivered != 1 || st.DroppedTotal() != 2 {
		t.Fatalf("stats %+v", st)
	}
}
