package mixnet_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sidecar/clientcred"
	"github.com/nyx-privacy/nyx/sidecar/gatewayclient"
	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	"github.com/nyx-privacy/nyx/sidecar/tomltime"
	"github.com/nyx-privacy/nyx/testutil/mixnet"
)

// A credential is 2,500,000 bytes here: about 1,000 regular packets, some
// seconds of loop cover at a 5 ms mean gap with its acks, so the three a
// buys are not all used up by cover while the chain is still issuing them.
const (
	credRate    = 2500
	credDeposit = "1000unym"
	credValue   = 1000 * credRate
)

// TestCredentials runs the whole network (a chain with x/coconut, nodes
// whose gateways enforce credentials, clients): a client without a
// credential cannot send and is told why; it buys credentials through the
// chain and sends; its balance falls with its traffic, loop cover
// included; when a credential is spent it presents the next and no message
// is lost; a credential shown at one gateway is refused as spent at
// another; a gateway restart keeps the balances.
func TestCredentials(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain and a network")
	}
	nw := mixnet.Start(t, mixnet.Options{EnforceCredentials: true, CredentialBytesPerUnym: credRate, CredentialMinDeposit: 1000})
	ctx := timeout(t, 3*time.Minute)
	payer := nw.ChainAccount(ctx, t)
	sc := client.DefaultSenderConfig()
	sc.AveragePacketDelay, sc.AverageSendDelay = 0, tomltime.Duration(5*time.Millisecond)
	gwA, gwB := nw.Gateway(0), nw.Gateway(1)
	a := nw.StartClient(t, mixnet.ClientOptions{Gateway: gwA, Sender: sc, LoopCover: true})
	b := nw.StartClient(t, mixnet.ClientOptions{Gateway: gwB})
	if _, err := nw.WaitGateway(ctx, b.Gateway, time.Second); err != nil {
		t.Fatal(err)
	}

	// No credential: the app is told why it cannot send.
	var err error
	eventually(t, "a refused for want of a credential", 10*time.Second, func() bool {
		_, err = a.Send(ctx, b.Address(), []byte("free ride"))
		return errors.Is(err, gatewayclient.ErrNoBandwidth)
	})
	t.Logf("without a credential: %v", err)
	balance := func(c *mixnet.Client) int64 {
		bal, err := c.Gateway.Server().Gateway().Balance(c.Keys.IdentityPublic())
		if err != nil {
			t.Fatal(err)
		}
		return bal
	}
	if bal := balance(a); bal != 0 {
		t.Fatalf("a's balance %d without a credential", bal)
	}

	// Three credentials; a presents the first on its own (its connection
	// is waiting for one) and its loop cover spends it.
	nw.BuyCredential(ctx, t, a, payer, credDeposit, 3)
	eventually(t, "a's first credential accepted", 30*time.Second, func() bool { return balance(a) > 0 })
	// The balance falls with cover alone.
	first := balance(a)
	eventually(t, "cover metered", 10*time.Second, func() bool { return balance(a) < first })

	// Messages sent until the second credential is in use: each one
	// arrives, none lost at the change.
	var want [][]byte
	for i := 0; ; i++ {
		m := []byte(fmt.Sprintf("message %d", i))
		if _, err := a.Send(ctx, b.Address(), m); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		want = append(want, m)
		_, ready, err := a.Wallet.Balance()
		if err != nil {
			t.Fatal(err)
		}
		if ready <= 1 && i >= 10 {
			break
		}
		if i > 2000 {
			t.Fatal("the first credential was never used up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := receiveAll(t, ctx, b, len(want))
	if !sameSet(got, want) {
		t.Fatalf("b did not receive exactly a's %d messages", len(want))
	}
	if bal := balance(a); bal > 2*credValue {
		t.Fatalf("a's balance %d after spending a credential and a half", bal)
	}

	// The same credential at two gateways: c shows it at A (its wallet
	// does, at connection), then a copy of it is shown at B.
	c := nw.StartClient(t, mixnet.ClientOptions{Gateway: gwA, Offline: true})
	rec := nw.BuyCredential(ctx, t, c, payer, credDeposit, 1)[0]
	if err := c.Connect(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "c's credential accepted", 30*time.Second, func() bool { return balance(c) == credValue })
	refusal := showAt(ctx, t, gwB, rec)
	if refusal.Code != gatewayproto.CodeCredentialSpent {
		t.Fatalf("the credential again at another gateway: %q (%s), want credential_spent", refusal.Code, refusal.Message)
	}

	// A restart keeps every balance.
	a.Disconnect()
	c.Disconnect()
	aBal, cBal := balance(a), balance(c)
	nw.StopNode(gwA)
	if err := nw.RestartNode(gwA); err != nil {
		t.Fatal(err)
	}
	if got, gotC := balance(a), balance(c); got != aBal || gotC != cBal {
		t.Fatalf("balances after a restart: %d, %d; before: %d, %d", got, gotC, aBal, cBal)
	}
}

// showAt presents a copy of rec at gateway n, over a session of its own,
// and returns the gateway's answer.
func showAt(ctx context.Context, t *testing.T, n *mixnet.Node, rec *clientcred.Record) *gatewayproto.Control {
	t.Helper()
	_, id, _ := ed25519.GenerateKey(nil)
	gw := n.Identity()
	conn, key, err := gatewayclient.Register(ctx, n.ClientsURL(), ed25519.PublicKey(gw[:]), id)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	conn, err = gatewayclient.DialWithBandwidth(ctx, n.ClientsURL(), ed25519.PublicKey(gw[:]), id, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	eventually(t, "bandwidth frame", 10*time.Second, func() bool { _, on := conn.Balance(); return on })
	nonce, operator := conn.CredentialNonce()
	theta, err := rec.Show(operator, gw[:], nonce[:])
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.WriteFrame(websocket.TextMessage, (&gatewayproto.Control{Type: gatewayproto.TypeCredential, Theta: theta, Nonce: nonce[:]}).Marshal()); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case r := <-conn.Refusals():
			if r.Code != gatewayproto.CodeNoBandwidth {
				return r
			}
		case <-ctx.Done():
			t.Fatal("no answer to the credential")
		}
	}
}
