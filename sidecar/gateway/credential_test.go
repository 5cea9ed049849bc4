package gateway

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/nyx-privacy/nyx/sidecar/gatewayclient"
	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	"github.com/nyx-privacy/nyx/sphinx"
)

// The credential path against a chain is tested in sidecar/gatewaycred
// (TestEnforce); these tests cover metering, holding, the store and the
// control frames, with balances seeded in the store.

func enforcing(t *testing.T) *testGateway {
	t.Helper()
	cfg := DefaultConfig(t.TempDir())
	cfg.EnforceCredentials = true
	cfg.HoldBytes = int64(2 * sphinx.Regular.PacketSize())
	return newTestGateway(t, cfg, nil)
}

// seed gives a registered client a stored balance (what a redeemed
// credential leaves) while it has no session.
// seed writes a client's stored balance. It waits for the client's
// earlier sessions (its registration) to have let go of the account first:
// the last one writes the balance it held back, which would undo the seed.
func seed(t *testing.T, g *testGateway, id [32]byte, bal int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g.acctMu.Lock()
		held := g.accts[id] != nil
		g.acctMu.Unlock()
		if !held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the client's earlier session still holds its account after 10 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := g.st.saveBalances(map[[32]byte]int64{id: bal}); err != nil {
		t.Fatal(err)
	}
}

func dialBW(t *testing.T, g *testGateway, client []byte, key gatewayproto.SharedKey) *gatewayclient.Conn {
	t.Helper()
	c, err := gatewayclient.DialWithBandwidth(ctx(t), g.url, g.Identity(), client, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, on := c.Balance(); on {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatal("no bandwidth frame after authentication")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func nextRefusal(t *testing.T, c *gatewayclient.Conn) *gatewayproto.Control {
	t.Helper()
	select {
	case r := <-c.Refusals():
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no error frame")
		return nil
	}
}

// TestMetering: every packet a client sends is charged, and every payload
// pushed to it; at zero its packets are held (up to HoldBytes) and then
// refused, with a no_bandwidth frame, and the client's own connection
// stops sending and says why; the balance survives the session and a
// restart of the gateway.
func TestMetering(t *testing.T) {
	g := enforcing(t)
	client := newClientKey(t)
	reg, key := register(t, g, client)
	reg.Close()
	id := idOf(client)
	size := sphinx.Regular.PacketSize()
	seed(t, g, id, int64(3*size))

	c := dialBW(t, g, client, key)
	if bal, _ := c.Balance(); bal != int64(3*size) {
		t.Fatalf("client sees balance %d, want %d", bal, 3*size)
	}
	packet := make([]byte, size)
	for i := range 3 {
		if err := c.Send([32]byte{9}, packet); err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		<-g.fwd.ch
	}
	if bal, _ := g.Balance(id); bal != 0 {
		t.Fatalf("balance %d after three packets, want 0", bal)
	}
	// The client's own connection knows the balance is spent and has no
	// credentials: it refuses to send, saying why.
	err := c.Send([32]byte{9}, packet)
	if !errors.Is(err, gatewayclient.ErrNoBandwidth) {
		t.Fatalf("send at zero: %v, want ErrNoBandwidth", err)
	}

	// A client that ignores its balance (raw frames): two packets are
	// held, the third refused.
	for range 3 {
		if err := c.WriteFrame(websocket.BinaryMessage, gatewayproto.ForwardFrame([32]byte{9}, packet)); err != nil {
			t.Fatal(err)
		}
	}
	if r := nextRefusal(t, c); r.Code != gatewayproto.CodeNoBandwidth {
		t.Fatalf("refusal %q, want no_bandwidth", r.Code)
	}
	if r := nextRefusal(t, c); r.Code != gatewayproto.CodeNoBandwidth {
		t.Fatalf("refusal %q, want no_bandwidth", r.Code)
	}
	select {
	case <-g.fwd.ch:
		t.Fatal("a packet beyond the balance was forwarded")
	case <-time.After(100 * time.Millisecond):
	}
	if v := value(g.cm.noBandwidth.WithLabelValues("held")); v != 2 {
		t.Fatalf("held %v packets, want 2", v)
	}
	if v := value(g.cm.noBandwidth.WithLabelValues("refused")); v != 1 {
		t.Fatalf("refused %v packets, want 1", v)
	}

	// Deliveries are charged as they are pushed, even below zero.
	if err := g.store(id, make([]byte, 500)); err != nil {
		t.Fatal(err)
	}
	m, err := c.Receive(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ack(m.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if bal, _ := g.Balance(id); bal == -500 {
			break
		}
		if time.Now().After(deadline) {
			bal, _ := g.Balance(id)
			t.Fatalf("balance %d after a delivery of 500 bytes, want -500", bal)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if v := value(g.cm.used.WithLabelValues("sent")); v != float64(3*size) {
		t.Fatalf("metered %v bytes sent, want %d", v, 3*size)
	}

	// The balance is written back when the session ends and read again at
	// the next one, also after a restart.
	c.Close()
	deadline = time.Now().Add(5 * time.Second)
	for {
		if b, err := g.st.balance(id); err == nil && b == -500 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("balance not stored at the end of the session")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCredentialFrames: without a chain connection, a credential is refused
// as chain_unavailable, one bound to another nonce as replayed, and a
// gateway that does not enforce credentials ends the session on one (a bad
// frame); none changes a balance.
func TestCredentialFrames(t *testing.T) {
	g := enforcing(t)
	client := newClientKey(t)
	reg, key := register(t, g, client)
	reg.Close()
	seed(t, g, idOf(client), 1000)
	c := dialBW(t, g, client, key)
	nonce, operator := c.CredentialNonce()
	if operator != "-" {
		t.Fatalf("operator %q without a redeemer", operator)
	}
	theta := make([]byte, gatewayproto.ThetaSize)
	frame := func(n [32]byte) []byte {
		return (&gatewayproto.Control{Type: gatewayproto.TypeCredential, Theta: theta, Nonce: n[:]}).Marshal()
	}
	if err := c.WriteFrame(websocket.TextMessage, frame(nonce)); err != nil {
		t.Fatal(err)
	}
	r := nextRefusal(t, c)
	if r.Code != gatewayproto.CodeChainUnavailable || len(r.Nonce) != 32 || bytes.Equal(r.Nonce, nonce[:]) {
		t.Fatalf("refusal %+v, want chain_unavailable with a new nonce", r)
	}
	// The old nonce again: replayed, whatever the show.
	if err := c.WriteFrame(websocket.TextMessage, frame(nonce)); err != nil {
		t.Fatal(err)
	}
	if r := nextRefusal(t, c); r.Code != gatewayproto.CodeCredentialReplayed {
		t.Fatalf("refusal %q, want credential_replayed", r.Code)
	}
	if bal, _ := g.Balance(idOf(client)); bal != 1000 {
		t.Fatalf("balance %d after refused credentials, want 1000", bal)
	}
	if v := value(g.cm.credentials.WithLabelValues(gatewayproto.CodeCredentialReplayed)); v != 1 {
		t.Fatalf("replayed counted %v times", v)
	}

	// Not enforcing: a credential frame is out of place.
	plain := newTestGateway(t, Config{}, nil)
	pc, _ := register(t, plain, newClientKey(t))
	if err := pc.WriteFrame(websocket.TextMessage, frame(nonce)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pc.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("session not ended")
	}
	if v := refused(plain, ReasonBadFrame); v != 1 {
		t.Fatalf("bad frames %v, want 1", v)
	}
}

// TestBalanceStore: a redemption writes the tag and the balance at once and
// refuses a tag already there, changing nothing; balances and tags survive
// a reopen.
func TestBalanceStore(t *testing.T) {
	dir := t.TempDir()
	st, err := openStore(dir, 1<<20, 1<<30, 10, 1<<16)
	if err != nil {
		t.Fatal(err)
	}
	id := [32]byte{1}
	tag := [SpendTagSize]byte{2}
	if err := st.redeem(id, tag, 5000, time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	if err := st.redeem(id, tag, 9000, time.Unix(1700000000, 0)); !errors.Is(err, ErrAlreadyRedeemed) {
		t.Fatalf("second redemption: %v", err)
	}
	if err := st.saveBalances(map[[32]byte]int64{{3}: -20}); err != nil {
		t.Fatal(err)
	}
	if err := st.close(); err != nil {
		t.Fatal(err)
	}
	st, err = openStore(dir, 1<<20, 1<<30, 10, 1<<16)
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	for want, who := range map[int64][32]byte{5000: id, -20: {3}, 0: {4}} {
		if b, err := st.balance(who); err != nil || b != want {
			t.Fatalf("balance of %x: %d, %v; want %d", who[:1], b, err, want)
		}
	}
	if ok, err := st.redeemed(tag); err != nil || !ok {
		t.Fatalf("tag not remembered: %v %v", ok, err)
	}
}
