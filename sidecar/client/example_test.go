package client_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// Example embeds a client in a Go program: a service that answers every
// anonymous request over the requester's reply SURBs, never learning who
// asked. It runs against a network (make localnet) with a home made by
// "nym-client init --home /tmp/echo".
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	home, err := client.LoadHome("/tmp/echo")
	if err != nil {
		log.Fatal(err)
	}
	conn, err := topology.Dial(home.Config.Chain.GRPC)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	reader := topology.NewReader(mixnettypes.NewQueryClient(conn), topology.ReaderConfig{})
	go reader.Run(ctx)
	if _, err := reader.Wait(ctx, func(*topology.Topology) bool { return true }); err != nil {
		log.Fatal(err)
	}
	// The home's credentials, for gateways that charge for bandwidth.
	bw, stopBW, err := home.Bandwidth(ctx, slog.Default())
	if err != nil {
		log.Fatal(err)
	}
	defer stopBW()
	c, err := home.NewClient(reader.Current, bw, nil)
	if err != nil {
		log.Fatal(err)
	}
	go c.Run(ctx)
	go func() {
		for r := range c.Reports() {
			if r.Err != nil {
				log.Printf("reply %s: %v", r.ID, r.Err)
			}
		}
	}()
	fmt.Println("serving at", c.Address())
	for {
		m, err := c.Receive(ctx)
		if err != nil {
			return
		}
		if m.SenderTag == nil {
			continue // not anonymous: no SURBs to answer over
		}
		if _, err := c.Reply(ctx, *m.SenderTag, append([]byte("echo: "), m.Data...)); err != nil {
			log.Print(err)
		}
	}
}
