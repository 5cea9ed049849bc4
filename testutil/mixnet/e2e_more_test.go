package mixnet_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/sidecar/wire"
	"github.com/nyx-privacy/nyx/sphinx"
	"github.com/nyx-privacy/nyx/testutil/mixnet"
)

func eventually(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOfflineRecipient: B is registered but offline; A's messages are stored
// at B's gateway, delivered when B connects, and then gone from the store.
func TestOfflineRecipient(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain and a network")
	}
	nw := mixnet.Start(t, mixnet.Options{})
	gwB := nw.Gateway(1)
	a := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(0)})
	b := nw.StartClient(t, mixnet.ClientOptions{Gateway: gwB, Offline: true})
	bID := b.Keys.IdentityPublic()
	store := gwB.Server().Gateway()
	if _, err := nw.WaitGateway(timeout(t, time.Minute), gwB, time.Second); err != nil {
		t.Fatal(err)
	}

	want := messages(t, a, 4)
	for _, m := range want {
		if _, err := a.Send(context.Background(), b.Address(), m); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "messages stored at B's gateway", 30*time.Second, func() bool { return store.StoredMessages(&bID) == len(want) })

	if err := b.Connect(); err != nil {
		t.Fatal(err)
	}
	got := receiveAll(t, timeout(t, 30*time.Second), b, len(want))
	if !sameSet(got, want) {
		t.Fatal("B did not receive exactly the stored messages")
	}
	eventually(t, "store emptied after delivery", 30*time.Second, func() bool { return store.StoredMessages(&bID) == 0 })
}

// storedMetric reads nyx_gateway_stored_messages from a node's /metrics.
func storedMetric(n *mixnet.Node) (int, error) {
	resp, err := http.Get(n.HTTPURL() + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "nyx_gateway_stored_messages "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return int(f), err
		}
	}
	return 0, fmt.Errorf("no nyx_gateway_stored_messages in /metrics")
}

// TestGatewayKilled: B's gateway runs as its own process and holds B's
// messages when it is SIGKILLed; restarted, it delivers every one of them.
func TestGatewayKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain and a network")
	}
	// Node 0 is a separate process. Every node serves clients whatever its
	// role this epoch, so B can register with it; A sends in an epoch in
	// which it is a gateway.
	nw := mixnet.Start(t, mixnet.Options{Process: []int{0}})
	gwB := nw.Nodes[0]
	a := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Nodes[1]})
	b := nw.StartClient(t, mixnet.ClientOptions{Gateway: gwB, Offline: true})
	if _, err := nw.WaitGateway(timeout(t, 2*time.Minute), gwB, time.Second); err != nil {
		t.Fatal(err)
	}

	want := messages(t, a, 5)
	for _, m := range want {
		if _, err := a.Send(context.Background(), b.Address(), m); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "messages stored at B's gateway", 30*time.Second, func() bool {
		n, err := storedMetric(gwB)
		return err == nil && n == len(want)
	})
	if err := nw.KillNode(gwB); err != nil {
		t.Fatal(err)
	}
	if err := nw.StartProcess(gwB); err != nil {
		t.Fatal(err)
	}
	if n, err := storedMetric(gwB); err != nil || n != len(want) {
		t.Fatalf("after the restart the gateway holds %d messages (%v), want %d", n, err, len(want))
	}
	if err := b.Connect(); err != nil {
		t.Fatal(err)
	}
	got := receiveAll(t, timeout(t, 30*time.Second), b, len(want))
	if !sameSet(got, want) {
		t.Fatal("B did not receive exactly the messages stored before the kill")
	}
	eventually(t, "store emptied after delivery", 30*time.Second, func() bool {
		n, err := storedMetric(gwB)
		return err == nil && n == 0
	})
}

// TestRoleChange: the chain draws roles again at every epoch boundary. A
// sends to B all along; the test runs until an epoch in which some node's
// role has changed and B's gateway is again a gateway, checks every node
// took its new role, and that every message A sent, before and after the
// change, arrived. (A client refuses to send while the recipient's gateway
// holds another role; those refusals are not messages sent.)
func TestRoleChange(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain and a network")
	}
	nw := mixnet.Start(t, mixnet.Options{})
	gwB := nw.Nodes[1]
	a := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Nodes[0]})
	b := nw.StartClient(t, mixnet.ClientOptions{Gateway: gwB})
	ctx := timeout(t, 3*time.Minute)

	before, err := nw.WaitGateway(ctx, gwB, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	roles := func(t *topology.Topology) map[[32]byte]topology.Role {
		m := map[[32]byte]topology.Role{}
		for _, n := range t.All() {
			m[n.Identity] = n.Role
		}
		return m
	}
	old := roles(before)

	// Send one message every 50 ms, noting the epoch of each.
	stopSending := sendSteadily(t, nw, a, b, "across the boundary")
	changed, err := nw.Reader.Wait(ctx, func(t *topology.Topology) bool {
		if t.Epoch <= before.Epoch || !t.RoleOf(gwB.Identity()).IsGateway() || time.Until(t.EpochEnd) < time.Second {
			return false
		}
		for id, r := range roles(t) {
			if old[id] != r {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := nw.WaitNodesAt(ctx, changed.Epoch); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // messages in the new epoch
	sent := stopSending()
	moved := 0
	for _, n := range nw.Nodes {
		// Each node follows its own reader; check those still in this epoch.
		if cur := n.Server().Topology().Current(); cur.Epoch == changed.Epoch {
			if got, want := n.Server().Role(), changed.RoleOf(n.Identity()); got != want {
				t.Fatalf("node %d has role %v in epoch %d, the chain says %v", n.Index, got, changed.Epoch, want)
			}
		}
		if old[n.Identity()] != changed.RoleOf(n.Identity()) {
			moved++
		}
	}
	if moved == 0 {
		t.Fatal("no node changed role")
	}
	var bodies [][]byte
	inOld, inNew := 0, 0
	for _, m := range sent {
		bodies = append(bodies, m.body)
		switch {
		case m.epoch == before.Epoch:
			inOld++
		case m.epoch >= changed.Epoch:
			inNew++
		}
	}
	if inOld == 0 || inNew == 0 {
		t.Fatalf("messages sent: %d in epoch %d, %d from epoch %d", inOld, before.Epoch, inNew, changed.Epoch)
	}
	got := receiveAll(t, ctx, b, len(bodies))
	if !sameSet(got, bodies) {
		t.Fatalf("sent %d messages across the role change, received a different set", len(bodies))
	}
	t.Logf("%d nodes changed role from epoch %d to %d; %d messages (%d before, %d after) all arrived",
		moved, before.Epoch, changed.Epoch, len(bodies), inOld, inNew)
}

// gatherValue reads a counter or gauge with the given labels from reg.
func gatherValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.Metric {
			for k, v := range labels {
				found := false
				for _, l := range m.Label {
					if l.GetName() == k && l.GetValue() == v {
						found = true
					}
				}
				if !found {
					continue metrics
				}
			}
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return 0
}

// TestGarbageRefused: garbage on a node's mix port (not our protocol, the
// old plaintext framing, wrong sizes, bad MACs) and on its websocket (bad
// frames, unauthenticated sends)
// is refused and counted, and the network keeps carrying traffic.
func TestGarbageRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain and a network")
	}
	nw := mixnet.Start(t, mixnet.Options{})
	target := nw.Nodes[2]
	srv := target.Server()
	reg := srv.Registry()

	// Mix port: an HTTP request, then a wrong frame size, then packets of the
	// right size with bad MACs.
	c, err := net.Dial("tcp", target.MixAddr())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c.Close()
	// A plaintext link (the old framing) is refused before its frame.
	c, err = net.Dial("tcp", target.MixAddr())
	if err != nil {
		t.Fatal(err)
	}
	w, _ := wire.NewWriter(c)
	_ = w.WritePacket(make([]byte, sphinx.Regular.PacketSize()))
	_ = w.Flush()
	c.Close()
	// An encrypted link opened by a stranger: a wrong frame size ends it;
	// on another, packets with bad MACs are each dropped.
	_, ident, _ := ed25519.GenerateKey(rand.Reader)
	key, _ := wire.NewLinkKey(ident)
	c, w, err = wire.DialLink(t.Context(), target.MixAddr(), key, target.Identity(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = w.WritePacket(make([]byte, 1000))
	_ = w.Flush()
	c.Close()
	c, w, err = wire.DialLink(t.Context(), target.MixAddr(), key, target.Identity(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A dialler that expects the target's key at another node's address
	// finds a node presenting another static key: refused at both ends.
	other := nw.Nodes[3]
	if _, _, err := wire.DialLink(t.Context(), other.MixAddr(), key, target.Identity(), 5*time.Second); !errors.Is(err, wire.ErrHandshake) {
		t.Fatalf("a node with another static key was accepted as the target: %v", err)
	}
	eventually(t, "wrong-key handshake counted", 20*time.Second, func() bool {
		return other.Server().Mix().Stats().Dropped["handshake_failed"] == 1
	})
	for range 3 {
		junk := make([]byte, sphinx.Regular.PacketSize())
		rand.Read(junk)
		_ = w.WritePacket(junk)
	}
	_ = w.Flush()
	eventually(t, "mix garbage counted", 20*time.Second, func() bool {
		st := srv.Mix().Stats()
		return st.Dropped["bad_preface"] == 1 && st.Dropped["plaintext_peer"] == 1 && st.Dropped["bad_frame"] == 1 && st.Dropped["bad_mac"] == 3
	})
	for reason, want := range map[string]float64{"bad_preface": 1, "plaintext_peer": 1, "bad_frame": 1, "bad_mac": 3} {
		if got := gatherValue(t, reg, "nyx_mixnode_packets_dropped_total", map[string]string{"reason": reason}); got != want {
			t.Fatalf("metric dropped{%s} = %v, want %v", reason, got, want)
		}
	}

	// Websocket: a binary packet before any handshake, and a text frame that
	// is not a control message.
	url := target.ClientsURL()
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = ws.WriteMessage(websocket.BinaryMessage, make([]byte, 32+sphinx.Regular.PacketSize()))
	ws.Close()
	ws, _, err = websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte("{not json"))
	ws.Close()
	eventually(t, "websocket garbage counted", 20*time.Second, func() bool {
		return gatherValue(t, reg, "nyx_gateway_refused_total", map[string]string{"reason": "unauthenticated"}) >= 1 &&
			gatherValue(t, reg, "nyx_gateway_refused_total", map[string]string{"reason": "bad_frame"}) >= 1
	})

	// The garbage-hit node still serves: it is both clients' gateway.
	a := nw.StartClient(t, mixnet.ClientOptions{Gateway: target})
	b := nw.StartClient(t, mixnet.ClientOptions{Gateway: target})
	if _, err := nw.WaitGateway(timeout(t, 2*time.Minute), target, time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Send(context.Background(), b.Address(), []byte("after the garbage")); err != nil {
		t.Fatal(err)
	}
	got := receiveAll(t, timeout(t, 30*time.Second), b, 1)
	if string(got[0]) != "after the garbage" {
		t.Fatalf("got %q", got[0])
	}
}

// sentMsg is a message sendSteadily sent, with the epoch of the network's
// topology when it was sent.
type sentMsg struct {
	epoch uint64
	body  []byte
}

// sendSteadily sends a message from a to b every 50 ms until the returned
// stop is called, which returns what was sent. A send refused because b's
// gateway is not in the sender's topology is skipped (it is no message
// sent); any other send error fails the test.
func sendSteadily(t *testing.T, nw *mixnet.Network, a, b *mixnet.Client, label string) (stop func() []sentMsg) {
	var sent []sentMsg
	done := make(chan struct{})
	sendErr := make(chan error, 1)
	to := b.Address() // once: b may reconnect (a new client object) meanwhile
	go func() {
		defer close(sendErr)
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
			epoch := nw.Reader.Current().Epoch
			m := []byte(fmt.Sprintf("%s %d", label, i))
			_, err := a.Send(context.Background(), to, m)
			if errors.Is(err, client.ErrUnknownGateway) {
				continue
			}
			if err != nil {
				sendErr <- err
				return
			}
			sent = append(sent, sentMsg{epoch, m})
		}
	}()
	return func() []sentMsg {
		t.Helper()
		close(done)
		if err := <-sendErr; err != nil {
			t.Fatal(err)
		}
		return sent
	}
}
