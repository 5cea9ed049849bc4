package mixnet

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sidecar/clientcred"
	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
)

// ClientOptions shape a client.
type ClientOptions struct {
	// Gateway is the node the client registers with; nil takes the first
	// gateway of the current topology.
	Gateway *Node
	// Sender tunes the sender; the zero value gives zero delays (no mixing
	// delay and packets released at once), which tests want.
	Sender client.SenderConfig
	// Offline registers the client but does not connect it (Connect does).
	Offline bool
	// LoopCover sends loop cover traffic (it needs a positive
	// Sender.AverageSendDelay). Off by default, so that tests can count
	// the packets of their messages.
	LoopCover bool
}

// Client is a registered client of the network.
type Client struct {
	*client.Client
	Keys    *client.Keys
	Gateway *Node
	Shared  gatewayproto.SharedKey
	// Wallet holds the client's bandwidth credentials (BuyCredential),
	// which it presents to a gateway that enforces them.
	Wallet *clientcred.Wallet

	nw     *Network
	cfg    client.Config
	cancel context.CancelFunc
	done   chan error
}

// StartClient registers a new client with its gateway and, unless Offline,
// connects it and waits until it is connected.
func (nw *Network) StartClient(t testing.TB, o ClientOptions) *Client {
	t.Helper()
	gw := o.Gateway
	if gw == nil {
		gw = nw.Gateway(0)
	}
	keys, err := client.GenerateKeys(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	shared, err := client.Register(ctx, gw.ClientsURL(), gw.Identity(), keys)
	if err != nil {
		t.Fatalf("register with gateway %d: %v", gw.Index, err)
	}
	sc := o.Sender
	if sc.Geometry.PayloadSize == 0 {
		sc.Geometry = client.DefaultSenderConfig().Geometry
	}
	if sc.QueueSize == 0 {
		sc.QueueSize = 1024
	}
	wallet, err := clientcred.Open(tempDir(t), keys.Identity)
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{Keys: keys, Gateway: gw, Shared: shared, nw: nw, Wallet: wallet,
		cfg: client.Config{GatewayURL: gw.ClientsURL(), GatewayIdentity: gw.Identity(), Sender: sc, ReconnectMax: 200 * time.Millisecond,
			LoopCover: o.LoopCover, Bandwidth: wallet}}
	if err := c.newClient(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Disconnect)
	if !o.Offline {
		if err := c.Connect(); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func (c *Client) newClient() error {
	id := c.Keys.IdentityPublic()
	cl, err := client.New(c.cfg, c.Keys, c.Shared, c.nw.Reader.Current, c.nw.log.With("client", fmt.Sprintf("%x", id[:4])))
	if err != nil {
		return err
	}
	c.Client = cl
	return nil
}

// Connect runs the client (a new one with the same keys, if it ran before)
// and waits until it is connected to its gateway.
func (c *Client) Connect() error {
	if c.cancel != nil {
		c.Disconnect()
		if err := c.newClient(); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan error, 1)
	cl := c.Client
	go func() { c.done <- cl.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for !cl.Stats().Connected {
		if time.Now().After(deadline) {
			return fmt.Errorf("client not connected to gateway %d after 30s", c.Gateway.Index)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// Disconnect stops the client's connection (its keys stay registered).
func (c *Client) Disconnect() {
	if c.cancel == nil {
		return
	}
	c.cancel()
	<-c.done
	c.cancel = nil
}
