package gateway

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/nyx-privacy/nyx/sidecar/gatewayclient"
	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	"github.com/nyx-privacy/nyx/sphinx"
)

func TestRegisterThenAuthenticate(t *testing.T) {
	g := newTestGateway(t, Config{}, nil)
	client := newClientKey(t)
	c, key := register(t, g, client)
	c.Close()
	if key == (gatewayproto.SharedKey{}) {
		t.Fatal("zero shared key")
	}
	rec, err := g.st.client(idOf(client))
	if err != nil || rec.Key != key {
		t.Fatalf("stored key %x, %v; client derived %x", rec.Key, err, key)
	}
	c2, err := gatewayclient.Dial(ctx(t), g.url, g.Identity(), client, key)
	if err != nil {
		t.Fatal(err)
	}
	c2.Close()
	if got := value(g.m.registrations); got != 1 {
		t.Errorf("registrations = %v", got)
	}
	if got := value(g.m.auths); got != 1 {
		t.Errorf("authentications = %v", got)
	}

	// A wrong key is refused with bad_mac, an unknown client with unknown_client.
	var wrong gatewayproto.SharedKey
	wrong[0] = 1
	if _, err := gatewayclient.Dial(ctx(t), g.url, g.Identity(), client, wrong); !errors.Is(err, gatewayclient.ErrRefused) || !strings.Contains(err.Error(), ReasonBadMAC) {
		t.Errorf("wrong key: %v", err)
	}
	if _, err := gatewayclient.Dial(ctx(t), g.url, g.Identity(), newClientKey(t), key); !errors.Is(err, gatewayclient.ErrRefused) || !strings.Contains(err.Error(), ReasonUnknownClient) {
		t.Errorf("unknown client: %v", err)
	}
	if refused(g, ReasonBadMAC) != 1 || refused(g, ReasonUnknownClient) != 1 {
		t.Errorf("refusals not counted: bad_mac %v unknown_client %v", refused(g, ReasonBadMAC), refused(g, ReasonUnknownClient))
	}
}

func TestClientChecksGatewayIdentity(t *testing.T) {
	g := newTestGateway(t, Config{}, nil)
	impostor := newClientKey(t).Public().(ed25519.PublicKey)
	if _, _, err := gatewayclient.Register(ctx(t), g.url, impostor, newClientKey(t)); err == nil || !strings.Contains(err.Error(), "answered as") {
		t.Fatalf("registration with the wrong gateway identity: %v", err)
	}
}

// rawConn is a websocket connection driven frame by frame, for replays and
// garbage. It has read the gateway's challenge.
func rawConn(t *testing.T, g *testGateway) *websocket.Conn {
	conn, _ := rawConnChallenge(t, g)
	return conn
}

func rawConnChallenge(t *testing.T, g *testGateway) (*websocket.Conn, [gatewayproto.ChallengeSize]byte) {
	t.Helper()
	conn, resp, err := websocket.DefaultDialer.DialContext(ctx(t), g.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	t.Cleanup(func() { conn.Close() })
	c := next(t, conn)
	if c.Type != gatewayproto.TypeChallenge || !bytes.Equal(c.Gateway, g.Identity()) {
		t.Fatalf("first frame %s from %x", c.Type, c.Gateway)
	}
	return conn, [gatewayproto.ChallengeSize]byte(c.Nonce)
}

func send(t *testing.T, conn *websocket.Conn, c *gatewayproto.Control) {
	t.Helper()
	if err := conn.WriteMessage(websocket.TextMessage, c.Marshal()); err != nil {
		t.Fatal(err)
	}
}

func next(t *testing.T, conn *websocket.Conn) *gatewayproto.Control {
	t.Helper()
	mt, data, err := conn.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if mt != websocket.TextMessage {
		t.Fatalf("binary frame where a control was expected")
	}
	c, err := gatewayproto.ParseControl(data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func expectRefusal(t *testing.T, conn *websocket.Conn, reason string) {
	t.Helper()
	c := next(t, conn)
	if c.Type != gatewayproto.TypeError || c.Code != reason {
		t.Fatalf("got %s %q (%s), want error %q", c.Type, c.Code, c.Message, reason)
	}
	// The gateway then closes the connection.
	if _, _, err := conn.ReadMessage(); err == nil {
		t.Fatal("connection still open after a refusal")
	}
}

// TestAuthenticationReplayRefused records a genuine authentication on the
// wire and replays it: on the same connection, on a new one, and on a new
// one after a gateway restart. The MAC covers the connection's challenge,
// so every replay fails. Version 1 (client timestamp and nonce, a cache of
// nonces in memory) accepted the replay after a restart.
func TestAuthenticationReplayRefused(t *testing.T) {
	dir := t.TempDir()
	_, gwKey, _ := ed25519.GenerateKey(rand.Reader)
	g := newTestGateway(t, Config{StoreDir: dir}, gwKey)
	client := newClientKey(t)
	c, key := register(t, g, client)
	c.Close()

	var gw [32]byte
	copy(gw[:], g.Identity())
	id := idOf(client)
	var nonce [gatewayproto.NonceSize]byte
	rand.Read(nonce[:])
	first, challenge := rawConnChallenge(t, g)
	auth := &gatewayproto.Control{Type: gatewayproto.TypeAuthenticate, Version: gatewayproto.ProtocolVersion, Identity: id[:], Nonce: nonce[:], MAC: gatewayproto.AuthMAC(key, gw, id, challenge, nonce)}
	send(t, first, auth)
	if c := next(t, first); c.Type != gatewayproto.TypeAuthenticated {
		t.Fatalf("first authentication: %s %s", c.Type, c.Message)
	}
	// On the same connection: a session takes no second handshake.
	send(t, first, auth)
	expectRefusal(t, first, ReasonBadFrame)

	again := rawConn(t, g)
	send(t, again, auth)
	expectRefusal(t, again, ReasonBadMAC)

	g.Close()
	g = newTestGateway(t, Config{StoreDir: dir}, gwKey)
	restarted := rawConn(t, g)
	send(t, restarted, auth)
	expectRefusal(t, restarted, ReasonBadMAC)
	if refused(g, ReasonBadMAC) != 1 || value(g.m.auths) != 0 {
		t.Errorf("after the restart: bad_mac %v, authentications %v", refused(g, ReasonBadMAC), value(g.m.auths))
	}
	// The genuine client still gets in.
	dialT(t, g, client, key)
}

// TestBadAuthenticationFloodLocksNobodyOut: one client floods the gateway
// with authentications, good and bad, and another authenticates between
// them. There is no shared replay cache to fill: version 1 refused
// everyone ("busy") once one client's fresh nonces filled it.
func TestBadAuthenticationFloodLocksNobodyOut(t *testing.T) {
	g := newTestGateway(t, Config{}, nil)
	attacker, victim := newClientKey(t), newClientKey(t)
	c, attackerKey := register(t, g, attacker)
	c.Close()
	c, victimKey := register(t, g, victim)
	c.Close()
	var gw [32]byte
	copy(gw[:], g.Identity())
	id := idOf(attacker)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				conn, resp, err := websocket.DefaultDialer.DialContext(ctx(t), g.url, nil)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				_, data, err := conn.ReadMessage()
				ch, perr := gatewayproto.ParseControl(data)
				if err != nil || perr != nil {
					t.Error(err, perr)
					conn.Close()
					return
				}
				var nonce [gatewayproto.NonceSize]byte
				rand.Read(nonce[:])
				k := attackerKey
				if (w+i)%2 == 0 {
					k = gatewayproto.SharedKey{1} // a bad MAC
				}
				conn.WriteMessage(websocket.TextMessage, (&gatewayproto.Control{Type: gatewayproto.TypeAuthenticate, Version: gatewayproto.ProtocolVersion, Identity: id[:],
					Nonce: nonce[:], MAC: gatewayproto.AuthMAC(k, gw, id, [gatewayproto.ChallengeSize]byte(ch.Nonce), nonce)}).Marshal())
				conn.ReadMessage()
				conn.Close()
			}
		}()
	}
	for range 5 {
		dialT(t, g, victim, victimKey).Close()
	}
	wg.Wait()
	dialT(t, g, victim, victimKey)
	if refused(g, ReasonBadMAC) != 100 {
		t.Fatalf("bad_mac refusals %v, want 100", refused(g, ReasonBadMAC))
	}
}

func TestRegistrationReplayRefused(t *testing.T) {
	g := newTestGateway(t, Config{}, nil)
	client := newClientKey(t)
	id := idOf(client)

	// A genuine registration, recorded frame by frame.
	conn, challenge := rawConnChallenge(t, g)
	var eph [32]byte
	rand.Read(eph[:])
	ephKey, _ := ecdhKey(eph[:])
	init := &gatewayproto.Control{Type: gatewayproto.TypeRegisterInit, Version: gatewayproto.ProtocolVersion, Identity: id[:], Ephemeral: ephKey.PublicKey().Bytes()}
	send(t, conn, init)
	ch := next(t, conn)
	if ch.Type != gatewayproto.TypeRegisterChallenge {
		t.Fatalf("got %s", ch.Type)
	}
	tr := gatewayproto.Transcript{Challenge: challenge}
	copy(tr.Gateway[:], g.Identity())
	tr.Client = id
	copy(tr.ClientEphemeral[:], init.Ephemeral)
	copy(tr.GatewayEphemeral[:], ch.Ephemeral)
	finish := &gatewayproto.Control{Type: gatewayproto.TypeRegisterFinish, Signature: ed25519.Sign(client, tr.ClientSigningBytes())}
	send(t, conn, finish)
	if c := next(t, conn); c.Type != gatewayproto.TypeRegistered {
		t.Fatalf("got %s %s", c.Type, c.Message)
	}

	// The same two frames replayed: the gateway's new ephemeral key changes
	// the transcript, so the recorded signature no longer verifies.
	replay := rawConn(t, g)
	send(t, replay, init)
	if c := next(t, replay); c.Type != gatewayproto.TypeRegisterChallenge || bytes.Equal(c.Ephemeral, ch.Ephemeral) {
		t.Fatalf("second challenge: %s, same ephemeral %v", c.Type, bytes.Equal(c.Ephemeral, ch.Ephemeral))
	}
	send(t, replay, finish)
	expectRefusal(t, replay, ReasonBadSignature)

	// Someone else's identity without its key: the signature fails too.
	other := rawConn(t, g)
	send(t, other, init)
	next(t, other)
	send(t, other, &gatewayproto.Control{Type: gatewayproto.TypeRegisterFinish, Signature: ed25519.Sign(newClientKey(t), tr.ClientSigningBytes())})
	expectRefusal(t, other, ReasonBadSignature)

	if got := refused(g, ReasonBadSignature); got != 2 {
		t.Errorf("bad_signature refusals = %v", got)
	}
	rec, err := g.st.client(id)
	if err != nil {
		t.Fatal(err)
	}
	if key, _ := tr.SharedKey(mustDH(t, ephKey, ch.Ephemeral)); rec.Key != key {
		t.Error("the refused registrations changed the stored key")
	}
}

func TestBadFramesRefusedAndCounted(t *testing.T) {
	g := newTestGateway(t, Config{}, nil)

	cases := []struct {
		name   string
		mt     int
		data   []byte
		reason string
	}{
		{"not json", websocket.TextMessage, []byte("hello"), ReasonBadFrame},
		{"unknown type", websocket.TextMessage, []byte(`{"type":"gimme"}`), ReasonBadFrame},
		{"short identity", websocket.TextMessage, []byte(`{"type":"register_init","version":1,"identity":"AAAA","ephemeral":"AAAA"}`), ReasonBadFrame},
		{"wrong version", websocket.TextMessage, (&gatewayproto.Control{Type: gatewayproto.TypeRegisterInit, Version: 9, Identity: make([]byte, 32), Ephemeral: make([]byte, 32)}).Marshal(), ReasonBadFrame},
		{"version 1 authenticate", websocket.TextMessage, (&gatewayproto.Control{Type: gatewayproto.TypeAuthenticate, Version: 1, Identity: make([]byte, 32), Nonce: make([]byte, 16), MAC: make([]byte, 32)}).Marshal(), ReasonBadFrame},
		{"ack before auth", websocket.TextMessage, []byte(`{"type":"ack","upto":3}`), ReasonUnauthenticated},
		{"packet before auth", websocket.BinaryMessage, make([]byte, gatewayproto.NextHopSize+sphinx.Regular.PacketSize()), ReasonUnauthenticated},
		{"low-order ephemeral", websocket.TextMessage, (&gatewayproto.Control{Type: gatewayproto.TypeRegisterInit, Version: gatewayproto.ProtocolVersion, Identity: make([]byte, 32), Ephemeral: make([]byte, 32)}).Marshal(), ReasonBadFrame},
		{"oversized frame", websocket.BinaryMessage, make([]byte, gatewayproto.MaxClientFrameSize+1), ReasonBadFrame},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := refused(g, tc.reason)
			conn := rawConn(t, g)
			if err := conn.WriteMessage(tc.mt, tc.data); err != nil {
				t.Fatal(err)
			}
			if tc.name == "oversized frame" {
				// gorilla answers a frame over the read limit with a close frame.
				if _, _, err := conn.ReadMessage(); err == nil {
					t.Fatal("connection still open")
				}
			} else {
				expectRefusal(t, conn, tc.reason)
			}
			waitFor(t, "the refusal to be counted", func() bool { return refused(g, tc.reason) == before+1 })
		})
	}

	// An authenticated session: a packet of the wrong size is refused and
	// reported, and the session goes on; a bad control frame ends it.
	client := newClientKey(t)
	c, _ := register(t, g, client)
	if err := c.WriteFrame(websocket.BinaryMessage, make([]byte, gatewayproto.NextHopSize+100)); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-c.Refusals():
		if r.Code != ReasonBadPacket {
			t.Fatalf("refusal %q", r.Code)
		}
	case <-ctx(t).Done():
		t.Fatal("no refusal for a bad packet")
	}
	packet := make([]byte, sphinx.Regular.PacketSize())
	rand.Read(packet)
	if err := c.Send([32]byte{7}, packet); err != nil {
		t.Fatal(err)
	}
	if f := <-g.fwd.ch; f.next != [32]byte{7} || !bytes.Equal(f.packet, packet) {
		t.Fatal("packet after a refused one not forwarded intact")
	}
	if err := c.WriteFrame(websocket.TextMessage, []byte(`{"type":"register_finish","signature":"`+strings.Repeat("A", 88)+`"}`)); err != nil {
		t.Fatal(err)
	}
	<-c.Done()
	if refused(g, ReasonBadPacket) != 1 {
		t.Errorf("bad_packet refusals = %v", refused(g, ReasonBadPacket))
	}

	// The gateway still serves.
	c2, _ := register(t, g, newClientKey(t))
	if err := c2.Send([32]byte{8}, packet); err != nil {
		t.Fatal(err)
	}
	if f := <-g.fwd.ch; f.next != [32]byte{8} {
		t.Fatal("gateway stopped forwarding after garbage")
	}
}
