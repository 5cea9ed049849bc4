package mixnet_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sidecar/tomltime"
	"github.com/nyx-privacy/nyx/testutil/mixnet"
)

// TestReliableAndAnonymous runs on one network, with Nym's default delays
// (15 ms per hop, a packet every 20 ms on average):
//
//   - lossy: a real node drops 10% of what it gets; every message still
//     arrives exactly once, by acknowledgements and retransmission;
//   - anonymous: a service answers anonymous requests over reply SURBs,
//     never holding the requester's address, with long replies that need
//     more SURBs than came (asked for and topped up), and refuses SURBs
//     that have expired;
//   - restart: both ends restart with messages unacknowledged, received
//     and not read, and reply SURBs and keys held; nothing is lost or
//     duplicated, and replies go on over the SURBs from before;
//   - gateway gone: a message to a client whose gateway has stopped is
//     reported failed after the retransmission limit (last: it stops a
//     node).
func TestReliableAndAnonymous(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain and a network")
	}
	nw := mixnet.Start(t, mixnet.Options{EpochDuration: 5 * time.Second})
	t.Run("lossy", func(t *testing.T) { testLossy(t, nw) })
	t.Run("anonymous", func(t *testing.T) { testAnonymous(t, nw) })
	t.Run("expired", func(t *testing.T) { testExpiredSURBs(t, nw) })
	t.Run("restart", func(t *testing.T) { testRestart(t, nw) })
	t.Run("gateway gone", func(t *testing.T) { testGatewayGone(t, nw) })
}

func defaultDelays() client.SenderConfig {
	c := client.DefaultSenderConfig()
	c.QueueSize = 4096
	return c
}

// mixNode returns a node holding a mix role in the current epoch.
func mixNode(t *testing.T, nw *mixnet.Network) *mixnet.Node {
	t.Helper()
	n := nw.NodeByIdentity(nw.Reader.Current().Layer(2)[0].Identity)
	if n == nil {
		t.Fatal("no layer-2 node")
	}
	return n
}

func testLossy(t *testing.T, nw *mixnet.Network) {
	a := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(0), Sender: defaultDelays()})
	b := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(1), Sender: defaultDelays()})
	lossy := mixNode(t, nw)
	lossy.SetLoss(0.1)
	defer lossy.SetLoss(0)

	const count = 60
	want := map[string]bool{}
	ids := map[client.MessageID]bool{}
	for i := range count {
		m := fmt.Appendf(nil, "message %d ", i)
		if i%10 == 0 {
			// Some span several packets: each chunk is retransmitted on
			// its own.
			m = append(m, make([]byte, 4000)...)
			rand.Read(m[len(m)-4000:])
		}
		want[string(m)] = true
		id, err := a.Send(context.Background(), b.Address(), m)
		if err != nil {
			t.Fatal(err)
		}
		ids[id] = true
	}
	ctx := timeout(t, 2*time.Minute)
	for len(ids) > 0 {
		select {
		case r := <-a.Reports():
			if r.Err != nil || !ids[r.ID] {
				t.Fatalf("report %+v", r)
			}
			delete(ids, r.ID)
		case <-ctx.Done():
			t.Fatalf("%d messages never reported delivered", len(ids))
		}
	}
	// Every message is acknowledged, so every one is at B or in its inbox.
	got := receiveAll(t, ctx, b, count)
	for _, m := range got {
		if !want[string(m)] {
			t.Fatalf("B received a message twice or one never sent (%d bytes)", len(m))
		}
		delete(want, string(m))
	}
	// Chunks sent again whose first copy did arrive are not handed on.
	quiet, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if m, err := b.Receive(quiet); err == nil {
		t.Fatalf("a message after all were received: %q", m.Data[:min(20, len(m.Data))])
	}
	st := a.Stats()
	if st.Retransmitted == 0 || st.Delivered != count || st.Undelivered != 0 {
		t.Fatalf("sender stats %+v", st)
	}
	if dropped := lossy.Server().Mix().Stats().Dropped["injected"]; dropped == 0 {
		t.Fatal("the lossy node dropped nothing")
	}
	t.Logf("%d messages, %d packets sent, %d sent again, %d duplicates suppressed at B",
		count, st.Sent, st.Retransmitted, b.Stats().Duplicates)
}

func testAnonymous(t *testing.T, nw *mixnet.Network) {
	asker := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(0), Sender: defaultDelays()})
	service := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(1), Sender: defaultDelays()})
	ctx := timeout(t, 2*time.Minute)
	if _, err := asker.SendAnonymous(ctx, service.Address(), []byte("what time is it?"), 3); err != nil {
		t.Fatal(err)
	}
	req, err := service.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if req.SenderTag == nil || string(req.Data) != "what time is it?" {
		t.Fatalf("service got %+v", req)
	}
	tag := *req.SenderTag
	if n := service.HeldSURBs(tag); n != 3 {
		t.Fatalf("service holds %d SURBs, the request carried 3", n)
	}
	// The service knows the tag, not the address: nothing it holds about
	// the asker names the asker's keys or its gateway.
	self := asker.Address()
	for _, secret := range [][]byte{self.Identity[:], self.Encryption[:], self.Gateway[:]} {
		if bytes.Contains(service.HeldSURBBytes(tag), secret) || bytes.Contains(req.Data, secret) {
			t.Fatal("the service holds a key of the asker's address")
		}
	}

	// A reply of 8 chunks over 3 SURBs: the service asks for more, the
	// asker tops them up, the reply arrives whole.
	long := make([]byte, 12000)
	rand.Read(long)
	if _, err := service.Reply(ctx, tag, long); err != nil {
		t.Fatal(err)
	}
	got, err := asker.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Reply || got.ReplyTag != tag || got.SenderTag != nil || !bytes.Equal(got.Data, long) {
		t.Fatalf("asker got reply %v tag %v, %d bytes", got.Reply, got.ReplyTag, len(got.Data))
	}
	// Short replies go on as long as the asker keeps topping up.
	for i := range 5 {
		if _, err := service.Reply(ctx, tag, fmt.Appendf(nil, "tick %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for range 5 {
		m, err := asker.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seen[string(m.Data)] = true
	}
	if len(seen) != 5 {
		t.Fatalf("replies %v", seen)
	}
	for deadline := time.Now().Add(30 * time.Second); service.HeldSURBs(tag) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the asker never topped the service's SURBs up")
		}
	}
	if _, err := service.Reply(ctx, client.SenderTag{1}, []byte("to nobody")); !errors.Is(err, client.ErrUnknownTag) {
		t.Fatalf("reply to an unknown tag: %v", err)
	}
}

// testExpiredSURBs: SURBs made to last one second are not used after it:
// the reply waits for fresh ones, none can be asked for, and it is reported
// failed.
func testExpiredSURBs(t *testing.T, nw *mixnet.Network) {
	sc := defaultDelays()
	sc.Replies.Lifetime = tomltime.Duration(time.Second)
	asker := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(0), Sender: sc})
	sc = defaultDelays()
	sc.Replies.Wait = tomltime.Duration(time.Second)
	service := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(1), Sender: sc})
	ctx := timeout(t, time.Minute)
	if _, err := asker.SendAnonymous(ctx, service.Address(), []byte("q"), 5); err != nil {
		t.Fatal(err)
	}
	req, err := service.Receive(ctx)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(time.Now().Add(1100 * time.Millisecond)))
	if n := service.HeldSURBs(*req.SenderTag); n != 0 {
		t.Fatalf("%d expired SURBs still held", n)
	}
	id, err := service.Reply(ctx, *req.SenderTag, []byte("too late"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-service.Reports():
		if r.ID != id || !errors.Is(r.Err, client.ErrNotDelivered) {
			t.Fatalf("report %+v", r)
		}
	case <-ctx.Done():
		t.Fatal("the reply over expired SURBs was never reported failed")
	}
}

func testGatewayGone(t *testing.T, nw *mixnet.Network) {
	sc := defaultDelays()
	sc.AckWait, sc.MaxRetransmissions = tomltime.Duration(300*time.Millisecond), 2
	a := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(0), Sender: sc})
	gone := nw.Gateway(1)
	b := nw.StartClient(t, mixnet.ClientOptions{Gateway: gone, Offline: true})
	nw.StopNode(gone)
	t.Cleanup(func() { nw.RestartNode(gone) })
	ctx := timeout(t, time.Minute)
	id, err := a.Send(ctx, b.Address(), []byte("into the void"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-a.Reports():
		if r.ID != id || !errors.Is(r.Err, client.ErrNotDelivered) {
			t.Fatalf("report %+v", r)
		}
	case <-ctx.Done():
		t.Fatal("no failure report")
	}
	if st := a.Stats(); st.Retransmitted != 2 || st.Undelivered != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func testRestart(t *testing.T, nw *mixnet.Network) {
	a := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(0), Sender: defaultDelays()})
	b := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(1), Sender: defaultDelays()})
	lossy := mixNode(t, nw)
	lossy.SetLoss(0.1)
	defer lossy.SetLoss(0)
	ctx := timeout(t, 2*time.Minute)

	// Anonymous first: b holds SURBs of a's tag, a their reply keys.
	askID, err := a.SendAnonymous(ctx, b.Address(), []byte("ask"), 10)
	if err != nil {
		t.Fatal(err)
	}
	req, err := b.Receive(ctx)
	if err != nil || req.SenderTag == nil {
		t.Fatalf("request %+v %v", req, err)
	}
	tag := *req.SenderTag
	// Its report may come before or after the restart.

	const count = 30
	want := map[string]bool{}
	ids := map[client.MessageID]bool{askID: true}
	for i := range count {
		m := fmt.Appendf(nil, "across the restart %d", i)
		want[string(m)] = true
		id, err := a.Send(ctx, b.Address(), m)
		if err != nil {
			t.Fatal(err)
		}
		ids[id] = true
	}
	// Some go out, some are received, most are not acknowledged yet.
	time.Sleep(300 * time.Millisecond)
	a.Disconnect()
	b.Disconnect()
	if err := b.Connect(); err != nil {
		t.Fatal(err)
	}
	if err := a.Connect(); err != nil {
		t.Fatal(err)
	}
	if n := b.HeldSURBs(tag); n != 10 {
		t.Fatalf("after the restart b holds %d SURBs, had 10", n)
	}
	for _, m := range receiveAll(t, ctx, b, count) {
		if !want[string(m)] {
			t.Fatalf("b received %q twice or never sent", m)
		}
		delete(want, string(m))
	}
	for len(ids) > 0 {
		select {
		case r := <-a.Reports():
			if r.Err != nil || !ids[r.ID] {
				t.Fatalf("report %+v", r)
			}
			delete(ids, r.ID)
		case <-ctx.Done():
			t.Fatalf("%d messages never reported delivered after the restart", len(ids))
		}
	}
	quiet, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if m, err := b.Receive(quiet); err == nil {
		t.Fatalf("a message after all were received: %q", m.Data)
	}
	if _, err := b.Reply(ctx, tag, []byte("answer after the restart")); err != nil {
		t.Fatal(err)
	}
	got, err := a.Receive(ctx)
	if err != nil || !got.Reply || string(got.Data) != "answer after the restart" {
		t.Fatalf("reply after the restart: %+v %v", got, err)
	}
}
