package client

import (
	"testing"
	"time"
)

// TestSURBsExpireWithTheirKeys: on a chain that rotates sphinx keys every
// N epochs, a reply SURB expires before its route's keys can go (not after
// the configured hour), so the asker stops counting it outstanding in time
// to give the replier fresh ones; without a schedule the hour holds.
func TestSURBsExpireWithTheirKeys(t *testing.T) {
	n := newTestNet(t, 1)
	alice, bob := mustKeys(t), mustKeys(t)
	bobAddr := bob.Address(n.topo.Exit[0].Identity)
	s := newTestSender(t, n, alice, DefaultSenderConfig(), func([32]byte, []byte) error { return nil }, false)

	now := time.Now()
	n.topo.EpochStart, n.topo.EpochEnd = now, now.Add(30*time.Second)
	n.topo.Epoch, n.topo.KeyRotationEpochs = 7, 10
	until := n.topo.KeysHeldUntil() // the end of epoch 10 less half an epoch
	if want := now.Add(30*time.Second + 3*30*time.Second - 15*time.Second); !until.Equal(want) {
		t.Fatalf("keys held until %v, want %v", until, want)
	}
	tag, surbs, err := s.makeSURBs(n.topo, bobAddr, 5, false)
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range surbs {
		if x.Expires.After(until) || x.Expires.Before(until.Add(-time.Second)) {
			t.Fatalf("SURB %d expires %v, want %v (the hour would be %v)", i, x.Expires, until, now.Add(time.Hour))
		}
	}
	if got := s.outstanding(tag); got != 5 {
		t.Fatalf("%d outstanding, want 5", got)
	}
	s.mu.Lock()
	s.pruneKeysLocked(until.Add(time.Second))
	s.mu.Unlock()
	if got := s.outstanding(tag); got != 0 {
		t.Fatalf("%d outstanding once the keys may be gone, want 0", got)
	}

	n.topo.KeyRotationEpochs = 0
	_, surbs, err = s.makeSURBs(n.topo, bobAddr, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	if hour := now.Add(time.Duration(DefaultReplyConfig().Lifetime)); surbs[0].Expires.Before(hour) {
		t.Fatalf("without a schedule the SURB expires %v, before its lifetime's end %v", surbs[0].Expires, hour)
	}
}
