package mixnode

import (
	"crypto/rand"
	"testing"
)

// TestSetLoss: a node set to lose everything drops every packet it gets,
// counted as injected; set back to zero it delivers again.
func TestSetLoss(t *testing.T) {
	tn := newTestNet(t)
	a := tn.start(Config{}, "")
	box := newInbox()
	a.SetDeliverer(box)
	var dest [32]byte
	rand.Read(dest[:])
	s := dial(t, a.addr)
	a.SetLoss(1)
	for range 20 {
		s.send(t, packet(t, dest, []byte("lost"), a.hop(0)))
	}
	eventually(t, "twenty dropped", func() bool { return a.Stats().Dropped["injected"] == 20 })
	if got := droppedMetric(t, a.reg, "injected"); got != 20 {
		t.Fatalf("injected metric %v", got)
	}
	a.SetLoss(0)
	s.send(t, packet(t, dest, []byte("kept"), a.hop(0)))
	if got := box.wait(t, 1); len(got) != 1 {
		t.Fatalf("%d delivered", len(got))
	}
	if a.Stats().Delivered != 1 {
		eventually(t, "one delivered", func() bool { return a.Stats().Delivered == 1 })
	}
}
