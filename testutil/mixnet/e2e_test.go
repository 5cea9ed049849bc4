package mixnet_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/testutil/mixnet"
)

func TestMain(m *testing.M) {
	mixnet.RunNodeProcess()
	os.Exit(m.Run())
}

func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// receiveAll takes n messages from c and returns them.
func receiveAll(t *testing.T, ctx context.Context, c *mixnet.Client, n int) [][]byte {
	t.Helper()
	var got [][]byte
	for len(got) < n {
		m, err := c.Receive(ctx)
		if err != nil {
			t.Fatalf("received %d of %d messages: %v", len(got), n, err)
		}
		got = append(got, m.Data)
	}
	return got
}

// sameSet reports whether got holds exactly the messages of want, in any order.
func sameSet(got, want [][]byte) bool {
	if len(got) != len(want) {
		return false
	}
	used := make([]bool, len(got))
	for _, w := range want {
		found := false
		for i, g := range got {
			if !used[i] && bytes.Equal(g, w) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func messages(t *testing.T, c *mixnet.Client, n int) [][]byte {
	var out [][]byte
	for i := range n {
		m := []byte(fmt.Sprintf("message %d: ", i))
		tail := make([]byte, i*37%200)
		rand.Read(tail)
		out = append(out, append(m, tail...))
	}
	// One of the largest size one packet takes, all bytes random.
	big := make([]byte, client.ChunkCapacity(client.DefaultSenderConfig().Geometry.PayloadSize)-1)
	rand.Read(big)
	return append(out, big)
}

// TestSendReceive: client A sends to client B through the chain-assigned
// network (A's gateway, three layers, B's gateway); B receives exactly the
// bytes, and a message longer than the longest a client sends is refused.
func TestSendReceive(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain and a network")
	}
	nw := mixnet.Start(t, mixnet.Options{})
	a := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(0)})
	b := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(1)})
	ctx := timeout(t, time.Minute)
	if _, err := nw.WaitGateway(ctx, b.Gateway, time.Second); err != nil {
		t.Fatal(err)
	}

	want := messages(t, a, 5)
	for _, m := range want {
		if _, err := a.Send(context.Background(), b.Address(), m); err != nil {
			t.Fatal(err)
		}
	}
	got := receiveAll(t, ctx, b, len(want))
	if !sameSet(got, want) {
		t.Fatal("B did not receive exactly A's messages")
	}
	if _, err := a.Send(context.Background(), b.Address(), make([]byte, a.MaxMessageSize()+1)); err == nil {
		t.Fatal("a message longer than the longest was accepted")
	}
	// Each packet was forwarded four times (A's gateway to layer 1, then
	// by each layer) and delivered once, by B's gateway, and so was its
	// SURB-ACK (from B's gateway, delivered by A's). A node counts a
	// packet once its write or delivery has returned, which can be after B
	// already holds the message, so the counters are read until they settle.
	var forwarded, delivered uint64
	count := func() bool {
		forwarded, delivered = 0, 0
		for _, n := range nw.Nodes {
			st := n.Server().Mix().Stats()
			forwarded += st.Forwarded
			delivered += st.Delivered
		}
		return forwarded >= uint64(4*len(want)) && delivered >= uint64(2*len(want))
	}
	deadline := time.Now().Add(20 * time.Second)
	for !count() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if forwarded < uint64(4*len(want)) || delivered != uint64(2*len(want)) {
		t.Fatalf("network forwarded %d and delivered %d packets for %d messages", forwarded, delivered, len(want))
	}
}
