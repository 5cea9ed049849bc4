package mixnet_test

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sidecar/tomltime"
	"github.com/nyx-privacy/nyx/testutil/mixnet"
)

// TestLoopCoverThroughTheNetwork: a client with loop cover traffic keeps
// sending packets through the three layers back to itself while idle; the
// cover comes back and is dropped, never handed to the app, and a message to
// another client still arrives once, exactly.
func TestLoopCoverThroughTheNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain and a network")
	}
	nw := mixnet.Start(t, mixnet.Options{})
	sc := client.DefaultSenderConfig()
	sc.AveragePacketDelay, sc.AverageSendDelay = 0, tomltime.Duration(10*time.Millisecond)
	a := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(0), Sender: sc, LoopCover: true})
	b := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(1)})
	ctx := timeout(t, time.Minute)
	if _, err := nw.WaitGateway(ctx, b.Gateway, time.Second); err != nil {
		t.Fatal(err)
	}
	eventually(t, "loop cover to come back", 30*time.Second, func() bool { return a.Stats().CoverReceived >= 20 })
	if _, err := a.Send(context.Background(), b.Address(), []byte("among the cover")); err != nil {
		t.Fatal(err)
	}
	got := receiveAll(t, ctx, b, 1)
	if string(got[0]) != "among the cover" {
		t.Fatalf("b received %q", got[0])
	}
	// The sender counts a packet once the gateway has taken it, which can be
	// after the packet is back: compare with counts read before.
	back := a.Stats().CoverReceived
	eventually(t, "a's send counters", 20*time.Second, func() bool {
		st := a.Stats()
		return st.Sent == 1 && st.CoverSent >= back
	})
	if st := a.Stats(); st.Sent != 1 || st.Received != 0 || st.Undecryptable != 0 {
		t.Fatalf("a's counters: %+v", st)
	}
	// A message is counted once the client has queued it for apps, which
	// can be just after the app has it.
	eventually(t, "b's receive counter", 20*time.Second, func() bool { return b.Stats().Received == 1 })
	if bs := b.Stats(); bs.CoverReceived != 0 || bs.Received != 1 {
		t.Fatalf("b's counters: %+v", bs)
	}
}

// TestLongMessage: messages longer than one packet, up to the longest a
// client sends, go through the network in fragments (each its own packet,
// over its own route, with per-hop delays that reorder them) and B gets
// each exactly, once, with loop cover running on both sides.
func TestLongMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain and a network")
	}
	nw := mixnet.Start(t, mixnet.Options{})
	sc := client.DefaultSenderConfig()
	sc.AveragePacketDelay, sc.AverageSendDelay = tomltime.Duration(2*time.Millisecond), tomltime.Duration(5*time.Millisecond)
	a := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(0), Sender: sc, LoopCover: true})
	b := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(1), Sender: sc, LoopCover: true})
	ctx := timeout(t, 2*time.Minute)
	if _, err := nw.WaitGateway(ctx, b.Gateway, time.Second); err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for _, n := range []int{client.ChunkCapacity(sc.Geometry.PayloadSize) + 1, 10_000, a.MaxMessageSize()} {
		m := make([]byte, n)
		rand.Read(m)
		want = append(want, m)
		if _, err := a.Send(context.Background(), b.Address(), m); err != nil {
			t.Fatal(err)
		}
	}
	got := receiveAll(t, ctx, b, len(want))
	if !sameSet(got, want) {
		t.Fatal("B did not receive exactly A's long messages")
	}
	eventually(t, "b's receive counter", 20*time.Second, func() bool { return b.Stats().Received == uint64(len(want)) })
	if st := b.Stats(); st.Received != uint64(len(want)) || st.BadFragments != 0 || st.Incomplete != 0 {
		t.Fatalf("b's counters: %+v", st)
	}
}
