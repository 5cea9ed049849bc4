package streams

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/sphinx"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// RunHomeClient runs the nym-client of an initialised home (no local
// websocket API: the service in the same process is its only app) with a
// topology reader of the chain its config names, sending packets of
// geometry g. fn is called with the running client; when fn returns or ctx
// ends, everything stops.
func RunHomeClient(ctx context.Context, h *client.Home, g sphinx.Geometry, log *slog.Logger, fn func(ctx context.Context, c *client.Client) error) error {
	conn, err := topology.Dial(h.Config.Chain.GRPC)
	if err != nil {
		return fmt.Errorf("connect to nyxd at %s: %w", h.Config.Chain.GRPC, err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := topology.NewReader(mixnettypes.NewQueryClient(conn), topology.ReaderConfig{
		Refresh: time.Duration(h.Config.Chain.Refresh), Logger: log})
	cc, err := h.Config.ClientConfig()
	if err != nil {
		return err
	}
	cc.Sender.Geometry = g
	// The home's credentials, for gateways that charge for bandwidth (and
	// auto_buy, if its config asks).
	bw, stopBW, err := h.Bandwidth(ctx, log)
	if err != nil {
		return err
	}
	defer stopBW()
	cc.Bandwidth = bw
	c, err := client.New(cc, h.Keys, h.Shared, r.Current, log)
	if err != nil {
		return err
	}
	errc := make(chan error, 3)
	go func() { errc <- r.Run(ctx) }()
	go func() { errc <- c.Run(ctx) }()
	go func() { errc <- fn(ctx, c) }()
	err = <-errc
	cancel()
	<-errc
	<-errc
	if ctx.Err() != nil && err == context.Canceled {
		return nil
	}
	return err
}
