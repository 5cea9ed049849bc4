package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/nyx-privacy/nyx/sidecar/gatewayclient"
	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	"github.com/nyx-privacy/nyx/sphinx"
)

// TestAnonymousThroughGateways: an anonymous request and its replies
// through real gateways: the replier holds the SURBs under the tag, a
// reply the SURBs cannot carry is parked and SURBs are asked for, the
// asker tops a tag up unasked when replies use most of what it gave, and
// outside bytes are dropped and counted: a reply envelope with an unknown
// digest, a SURB request sealed to the address instead of over a SURB, a
// reply over an expired SURB, an oversized reply.
func TestAnonymousThroughGateways(t *testing.T) {
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	n := newTestNet(t, 2)
	urlA, _ := startGateway(t, n, 0)
	urlB, _ := startGateway(t, n, 1)
	asker, _ := startClient(t, ctx, n, 0, urlA)
	service, _ := startClient(t, ctx, n, 1, urlB)
	waitConnected(t, asker)
	waitConnected(t, service)

	if _, err := asker.SendAnonymous(ctx, service.Address(), []byte("q"), 6); err != nil {
		t.Fatal(err)
	}
	req, err := service.Receive(ctx)
	if err != nil || req.SenderTag == nil {
		t.Fatalf("request %+v %v", req, err)
	}
	tag := *req.SenderTag
	if got := asker.sender.outstanding(tag); got != 6 {
		t.Fatalf("asker counts %d SURBs outstanding, gave 6", got)
	}
	// Two one-chunk replies leave 4 SURBs: below the low water mark of 5,
	// so the asker tops up unasked as the replies come in (the service,
	// holding 5 and then 4 after keeping one back, asks too).
	for _, r := range []string{"a1", "a2"} {
		if _, err := service.Reply(ctx, tag, []byte(r)); err != nil {
			t.Fatal(err)
		}
		if m, err := asker.Receive(ctx); err != nil || !m.Reply || string(m.Data) != r {
			t.Fatalf("reply %q: %+v %v", r, m, err)
		}
	}
	waitUntil(t, "the SURBs topped up", func() bool { return service.HeldSURBs(tag) >= 10 })

	// Oversized: refused at once.
	if _, err := service.Reply(ctx, tag, make([]byte, MaxLongMessage+1)); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("oversized reply: %v", err)
	}

	// Outside bytes, straight into the receive path.
	before := asker.Stats()
	var unknownKey [ReplyKeySize]byte
	rand.Read(unknownKey[:])
	plain, _ := Piece{ID: MessageID{9}, Count: 1, Data: []byte{kindReply, 'x'}}.marshal(ContentSize(sphinx.Regular.PayloadSize) - envelopeOverhead)
	forged, _ := sealReply(rand.Reader, unknownKey, plain)
	if _, ok, _ := asker.handle(forged); ok {
		t.Fatal("a reply over an unknown SURB was handed on")
	}
	ask, _ := (&message{kind: kindSURBAsk, want: 50}).marshal()
	plain, _ = Piece{ID: MessageID{10}, Count: 1, Data: ask}.marshal(ContentSize(sphinx.Regular.PayloadSize) - envelopeOverhead)
	sealed, _ := seal(rand.Reader, asker.keys.Encryption.PublicKey(), plain)
	if _, ok, _ := asker.handle(sealed); ok {
		t.Fatal("a SURB request by address was handed on")
	}
	if st := asker.Stats(); st.Undecryptable != before.Undecryptable+1 || st.BadMessages != before.BadMessages+1 {
		t.Fatalf("undecryptable %d, bad messages %d", st.Undecryptable-before.Undecryptable, st.BadMessages-before.BadMessages)
	}

	// An expired reply key: the reply is refused, and the key is gone.
	var key [ReplyKeySize]byte
	rand.Read(key[:])
	asker.sender.mu.Lock()
	asker.sender.replies.keys[replyDigest(key)] = replyKey{key: key, tag: tag, expires: time.Now().Add(-time.Second)}
	asker.sender.mu.Unlock()
	plain, _ = Piece{ID: MessageID{11}, Count: 1, Data: []byte{kindReply, 'y'}}.marshal(ContentSize(sphinx.Regular.PayloadSize) - envelopeOverhead)
	late, _ := sealReply(rand.Reader, key, plain)
	if _, ok, _ := asker.handle(late); ok {
		t.Fatal("a reply over an expired SURB was handed on")
	}
	asker.sender.mu.Lock()
	_, kept := asker.sender.replies.keys[replyDigest(key)]
	asker.sender.mu.Unlock()
	if kept {
		t.Fatal("the expired reply key is still kept")
	}

	// A long reply over the SURBs held: more chunks than SURBs, parked,
	// asked for, sent.
	long := make([]byte, 20*ChunkCapacity(sphinx.Regular.PayloadSize))
	rand.Read(long)
	if _, err := service.Reply(ctx, tag, long); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := asker.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(m.Data, long) {
			break
		}
	}
}

// TestForgedTrafficOverGateways: someone who knows a client's address
// sends it, through real gateways, an ack packet with a forged payload, a
// message packet whose content is random, and a packet with a SURB-ACK but
// a reply envelope for a SURB the client never made. Each is counted and
// dropped: no message reaches the client's apps, no report changes.
func TestForgedTrafficOverGateways(t *testing.T) {
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	n := newTestNet(t, 1)
	urlA, _ := startGateway(t, n, 0)
	urlB, _ := startGateway(t, n, 1)
	victim, _ := startClient(t, ctx, n, 1, urlB)
	waitConnected(t, victim)
	_, attackerID, _ := ed25519.GenerateKey(rand.Reader)
	conn, _, err := gatewayclient.Register(ctx, urlA, ed25519.PublicKey(n.gwIDs[0].Public().(ed25519.PublicKey)), attackerID)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	to := victim.Address()
	route := func() []sphinx.Hop {
		var r []sphinx.Hop
		for l := 1; l <= 3; l++ {
			r = append(r, n.topo.Layer(l)[0].Hop(0))
		}
		gw, _ := n.topo.ByIdentity(to.Gateway)
		return append(r, gw.Hop(0))
	}
	send := func(g sphinx.Geometry, payload []byte) {
		t.Helper()
		r := route()
		p, err := g.NewPacket(rand.Reader, r, sphinx.Destination{Address: sphinx.DestinationAddress(to.Identity)}, payload)
		if err != nil {
			t.Fatal(err)
		}
		if err := conn.Send([32]byte(r[0].Address), p); err != nil {
			t.Fatal(err)
		}
	}
	forgedAck := make([]byte, sphinx.Ack.PayloadSize)
	rand.Read(forgedAck)
	send(sphinx.Ack, forgedAck)
	// A SURB-ACK back to the attacker's own gateway, so the gateway takes
	// the payload; then random content, and a reply envelope.
	ackPacket, err := sphinx.Ack.NewPacket(rand.Reader, route()[:3], sphinx.Destination{}, make([]byte, sphinx.Ack.PayloadSize))
	if err != nil {
		t.Fatal(err)
	}
	content := make([]byte, ContentSize(sphinx.Regular.PayloadSize))
	rand.Read(content)
	withAck, _ := gatewayproto.JoinSURBAck([32]byte(route()[0].Address), ackPacket, content)
	send(sphinx.Regular, withAck)
	var key [ReplyKeySize]byte
	rand.Read(key[:])
	plain, _ := Piece{ID: MessageID{1}, Count: 1, Data: []byte{kindReply, 'x'}}.marshal(ContentSize(sphinx.Regular.PayloadSize) - envelopeOverhead)
	reply, _ := sealReply(rand.Reader, key, plain)
	withAck, _ = gatewayproto.JoinSURBAck([32]byte(route()[0].Address), ackPacket, reply)
	send(sphinx.Regular, withAck)

	waitUntil(t, "the forged packets counted", func() bool {
		st := victim.Stats()
		return st.ForgedAcks == 1 && st.Undecryptable == 2
	})
	quiet, stop := context.WithTimeout(ctx, 300*time.Millisecond)
	defer stop()
	if m, err := victim.Receive(quiet); err == nil {
		t.Fatalf("forged traffic reached the apps: %q", m.Data)
	}
	if st := victim.Stats(); st.Received != 0 || st.Acked != 0 || st.OtherAcks != 0 || st.BadMessages != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestAnonymousOverTheLocalAPI: an app sends anonymously with
// sendAnonymous; the other app gets the message with a senderTag and no
// address, answers with reply to the tag (JSON and binary), and the first
// app gets the replies; a reply to an unknown tag is an error frame.
func TestAnonymousOverTheLocalAPI(t *testing.T) {
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	n := newTestNet(t, 1)
	urlA, _ := startGateway(t, n, 0)
	urlB, _ := startGateway(t, n, 1)
	clientA, apiA := startClient(t, ctx, n, 0, urlA)
	clientB, apiB := startClient(t, ctx, n, 1, urlB)
	waitConnected(t, clientA)
	waitConnected(t, clientB)
	appA, appB := appConn(t, apiA), appConn(t, apiB)
	// An answer shows each app is registered for what comes next.
	for _, app := range []*websocket.Conn{appA, appB} {
		app.WriteMessage(websocket.TextMessage, []byte(`{"type":"selfAddress"}`))
		readJSON(t, app)
	}
	req, _ := json.Marshal(map[string]any{"type": "sendAnonymous", "recipient": clientB.Address().String(), "message": "who am I talking to?", "replySurbs": 4})
	appA.WriteMessage(websocket.TextMessage, req)
	if j := readJSON(t, appA); j.Type != "sent" {
		t.Fatalf("answer: %+v", j)
	}
	got := readSkipping(t, appB, "delivered")
	if got.Type != "received" || got.SenderTag == "" || *got.Message != "who am I talking to?" || got.Recipient != "" || got.Address != "" {
		t.Fatalf("B's app got %+v", got)
	}
	reply, _ := json.Marshal(map[string]any{"type": "reply", "senderTag": got.SenderTag, "message": "a service"})
	appB.WriteMessage(websocket.TextMessage, reply)
	if j := readJSON(t, appB); j.Type != "sent" {
		t.Fatalf("answer to the reply: %+v", j)
	}
	if j := readSkipping(t, appA, "delivered"); j.Type != "received" || *j.Message != "a service" || j.SenderTag != "" {
		t.Fatalf("A's app got %+v", j)
	}
	tag, _ := ParseSenderTag(got.SenderTag)
	appB.WriteMessage(websocket.BinaryMessage, append(append([]byte{BinaryReply}, tag[:]...), "binary"...))
	if j := readSkipping(t, appA, "delivered"); j.Type != "received" || *j.Message != "binary" {
		t.Fatalf("A's app got %+v", j)
	}
	unknown, _ := json.Marshal(map[string]any{"type": "reply", "senderTag": SenderTag{1}.String(), "message": "x"})
	appB.WriteMessage(websocket.TextMessage, unknown)
	if j := readSkipping(t, appB, "sent", "delivered"); j.Type != "error" || !strings.Contains(j.Error, "no reply SURBs") {
		t.Fatalf("reply to an unknown tag: %+v", j)
	}
}
