package socks5

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sidecar/requester"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// ErrNoProvider: the chain's service directory lists no network requester
// whose gateway is in the current topology.
var ErrNoProvider = errors.New("socks5: no network requester in the service directory")

// Provider is a network requester picked from the chain's service directory.
type Provider struct {
	Address client.Address
	Service mixnettypes.Service
	// Candidates is how many usable requesters it was picked among.
	Candidates int
}

// PickProvider picks a network requester at random among those the chain's
// service directory lists whose gateway is a node of t: a requester whose
// gateway left the network cannot be reached, whatever its entry says.
// Entries whose address does not parse (the chain checks them, so none
// should) are skipped.
func PickProvider(ctx context.Context, q mixnettypes.QueryClient, t *topology.Topology) (Provider, error) {
	var usable []Provider
	err := requester.WalkServices(ctx, q, requester.Kind, func(s mixnettypes.Service) bool {
		a, err := client.ParseAddress(s.NymAddress)
		if err != nil {
			return true
		}
		if _, ok := t.ByIdentity(a.Gateway); ok {
			usable = append(usable, Provider{Address: a, Service: s})
		}
		return true
	})
	if err != nil {
		return Provider{}, err
	}
	if len(usable) == 0 {
		return Provider{}, ErrNoProvider
	}
	p := usable[rand.IntN(len(usable))]
	p.Candidates = len(usable)
	return p, nil
}

// discoverRetry bounds the wait between looks at the directory while it
// lists no usable requester.
var discoverRetry = struct{ first, max time.Duration }{2 * time.Second, time.Minute}

// discoverProvider reads the topology and picks a requester from the
// directory (PickProvider), looking again, less and less often, while there
// is none or the chain cannot be read, until ctx ends.
func discoverProvider(ctx context.Context, grpcAddr string, log *slog.Logger) (Provider, error) {
	conn, err := topology.Dial(grpcAddr)
	if err != nil {
		return Provider{}, fmt.Errorf("connect to nyxd at %s: %w", grpcAddr, err)
	}
	defer conn.Close()
	q := mixnettypes.NewQueryClient(conn)
	reader := topology.NewReader(q, topology.ReaderConfig{})
	wait := discoverRetry.first
	for {
		var p Provider
		t, err := reader.Refresh(ctx)
		if err == nil {
			p, err = PickProvider(ctx, q, t)
		}
		if err == nil {
			return p, nil
		}
		if ctx.Err() != nil {
			return Provider{}, ctx.Err()
		}
		log.Warn("no network requester to use yet; looking again", "err", err, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return Provider{}, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, discoverRetry.max)
	}
}
