package topology_test

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/testutil/chain"
	"github.com/nyx-privacy/nyx/testutil/mixnet"
	"github.com/nyx-privacy/nyx/testutil/syncbuf"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// TestReaderOnChain runs a real chain with 2-second epochs: before any node
// is bonded the topology is unusable; five nodes bonded through real
// transactions get every role at the next epoch boundary; the reader follows
// the epochs and tells its subscriber; when the chain stops it keeps the last
// good topology and logs that the chain is unreachable.
func TestReaderOnChain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain")
	}
	operators := []string{"op0", "op1", "op2", "op3", "op4"}
	c := chain.Start(t, chain.Options{Accounts: operators, Genesis: mixnet.Genesis(mixnet.GenesisParams{SphinxKeyRotationEpochs: 1000})})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	q := mixnettypes.NewQueryClient(c.GRPC(t))

	logs := &syncbuf.Buffer{}
	r := topology.NewReader(q, topology.ReaderConfig{
		Refresh: time.Second, EpochPoll: 100 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if _, err := r.Refresh(ctx); err == nil {
		t.Fatal("a chain with no bonded node gave a usable topology")
	}
	if r.Current() != nil {
		t.Fatal("current topology before any was usable")
	}
	updates, unsubscribe := r.Subscribe()
	defer unsubscribe()
	runCtx, stopRun := context.WithCancel(ctx)
	runDone := make(chan error, 1)
	go func() { runDone <- r.Run(runCtx) }()
	defer func() { stopRun(); <-runDone }()

	bonded := map[[32]byte]uint64{}
	for i, name := range operators {
		k, err := mixnet.NewNodeKeys(uint16(20000+3*i), uint16(20001+3*i), uint16(20002+3*i))
		if err != nil {
			t.Fatal(err)
		}
		id, err := mixnet.Bond(ctx, c, q, name, k)
		if err != nil {
			t.Fatal(err)
		}
		var ident [32]byte
		copy(ident[:], k.Identity.Public().(ed25519.PublicKey))
		bonded[ident] = id
	}

	var first *topology.Topology
	select {
	case u := <-updates:
		first = u.Topology
		if u.Previous != nil || !u.Diff.EpochChanged || len(u.Diff.Added) != len(operators) {
			t.Fatalf("first update: previous %v diff %+v", u.Previous, u.Diff)
		}
	case <-ctx.Done():
		t.Fatal("no topology after bonding")
	}
	params, err := q.Params(ctx, &mixnettypes.QueryParamsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(params.Params.SphinxKeyRotationEpochs); first.KeyRotationEpochs != want || want == 0 {
		t.Fatalf("key rotation schedule %d, the chain's is %d", first.KeyRotationEpochs, want)
	}
	all := first.All()
	if len(all) != len(operators) || len(first.Entry) != 1 || len(first.Exit) != 1 {
		t.Fatalf("topology of epoch %d: %d nodes, %d entry, %d exit", first.Epoch, len(all), len(first.Entry), len(first.Exit))
	}
	for _, n := range all {
		if id, ok := bonded[n.Identity]; !ok || id != n.ID {
			t.Fatalf("node %d in the topology is not the one bonded (%d, %v)", n.ID, id, ok)
		}
	}

	// The next epoch reaches the subscriber with its new id.
	select {
	case u := <-updates:
		if u.Topology.Epoch <= first.Epoch || !u.Diff.EpochChanged || u.Previous != first {
			t.Fatalf("second update: epoch %d after %d, diff %+v", u.Topology.Epoch, first.Epoch, u.Diff)
		}
	case <-ctx.Done():
		t.Fatal("no update at the next epoch")
	}
	got, err := r.Wait(ctx, func(t *topology.Topology) bool { return t.Epoch > first.Epoch })
	if err != nil || got.Epoch <= first.Epoch {
		t.Fatalf("Wait: %v", err)
	}

	// Chain gone: the last good topology stays, and the logs say why.
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	last := r.Current()
	if _, err := r.Refresh(ctx); err == nil {
		t.Fatal("refresh succeeded with the chain stopped")
	}
	for !strings.Contains(logs.String(), "chain unreachable, keeping the last good topology") {
		select {
		case <-ctx.Done():
			t.Fatalf("no unreachable log; logs:\n%s", logs)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if r.Current() == nil || r.Current().Epoch < last.Epoch || r.Err() == nil {
		t.Fatalf("after the chain stopped: current %v, err %v", r.Current(), r.Err())
	}
}
