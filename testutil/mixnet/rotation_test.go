package mixnet_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/node"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/sphinx"
	"github.com/nyx-privacy/nyx/testutil/mixnet"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// TestSphinxKeyRotation: the recipient's gateway, which processes the last
// hop of every message, rotates its sphinx key while A sends to B. The node
// takes up the key rotate-sphinx-key wrote, the owner announces it on the
// chain, the chain switches at the next epoch and the node with it; every
// message arrives, the key file now holds the new key, and one epoch later
// the node holds the new key alone.
func TestSphinxKeyRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain and a network")
	}
	nw := mixnet.Start(t, mixnet.Options{})
	gwB := nw.Gateway(1)
	a := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(0)})
	b := nw.StartClient(t, mixnet.ClientOptions{Gateway: gwB})
	ctx := timeout(t, 3*time.Minute)
	if _, err := nw.WaitGateway(ctx, gwB, time.Second); err != nil {
		t.Fatal(err)
	}
	srv := gwB.Server()
	old, _ := srv.SphinxKeys()

	next, err := node.GenerateNextSphinxKey(gwB.Home)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the node to take up the next key", 20*time.Second, func() bool {
		_, n := srv.SphinxKeys()
		return n != nil && n.Equal(next.PublicKey())
	})
	nextHex := hex.EncodeToString(next.PublicKey().Bytes())
	if h := health(t, srv); h.SphinxKey != hex.EncodeToString(old.Bytes()) || h.NextSphinxKey != nextHex || h.Status != "ok" {
		t.Fatalf("/health before the switch: %+v", h)
	}

	stopSending := sendSteadily(t, nw, a, b, "across the key rotation")

	owner := nw.Chain.Accounts[gwB.Owner].String()
	announce := &mixnettypes.MsgUpdateNodeConfig{Owner: owner, NextSphinxKey: next.PublicKey().Bytes()}
	if _, err := nw.Chain.BroadcastTx(ctx, gwB.Owner, announce); err != nil {
		t.Fatalf("announce the next key: %v", err)
	}
	announcedIn := nw.Reader.Current().Epoch
	switched, err := nw.Reader.Wait(ctx, func(t *topology.Topology) bool {
		n, ok := t.ByIdentity(gwB.Identity())
		return ok && n.SphinxKey.Equal(next.PublicKey())
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := nw.WaitNodesAt(ctx, switched.Epoch); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the node to switch keys", 20*time.Second, func() bool {
		cur, n := srv.SphinxKeys()
		return cur.Equal(next.PublicKey()) && n == nil
	})
	if ks := srv.Mix().Keys(); len(ks) != 2 || !ks[0].Equal(next.PublicKey()) || !ks[1].Equal(old) {
		t.Fatalf("after the switch the node accepts %d keys, want the new one then the old one", len(ks))
	}
	if h := health(t, srv); h.SphinxKey != nextHex || h.NextSphinxKey != "" {
		t.Fatalf("/health after the switch: %+v", h)
	}
	time.Sleep(300 * time.Millisecond) // messages under the new key
	sent := stopSending()

	var bodies [][]byte
	before, after := 0, 0
	for _, m := range sent {
		bodies = append(bodies, m.body)
		switch {
		case m.epoch <= announcedIn:
			before++
		case m.epoch >= switched.Epoch:
			after++
		}
	}
	if before == 0 || after == 0 {
		t.Fatalf("messages sent: %d before the switch, %d after", before, after)
	}
	got := receiveAll(t, ctx, b, len(bodies))
	if !sameSet(got, bodies) {
		t.Fatalf("sent %d messages across the key rotation, received a different set", len(bodies))
	}
	keys, err := node.LoadKeys(gwB.Home)
	if err != nil {
		t.Fatal(err)
	}
	if !keys.Sphinx.Equal(next) || keys.NextSphinx != nil {
		t.Fatal("the key files do not hold the new key alone")
	}

	// One epoch on, the old key is gone.
	eventually(t, "the old key to be dropped", 30*time.Second, func() bool { return len(srv.Mix().Keys()) == 1 })
	if ks := srv.Mix().Keys(); !ks[0].Equal(next.PublicKey()) {
		t.Fatal("the node kept the old key instead of the new one")
	}
	t.Logf("key switched in epoch %d; %d messages (%d before, %d after) all arrived", switched.Epoch, len(bodies), before, after)
}

// health reads the node's /health.
func health(t *testing.T, srv *node.Server) node.Status {
	t.Helper()
	resp, err := http.Get("http://" + srv.HTTPAddr() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st node.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("/health: %v", err)
	}
	return st
}

// TestAutomaticSphinxKeyRotation: with sphinx_key_rotation_epochs = 3 every
// node rotates its sphinx key on its own: in the epoch before a boundary it
// makes its next key, announces it with MsgAnnounceSphinxKey signed by its
// identity key and paid from its own chain account (funded at bonding; the
// test sends no transaction), and the chain switches at the boundary. A
// sends to B all along, through every node, over two rounds of rotation;
// every message arrives. Each
// node ends with its key file holding the chain's key and replay filter
// files for exactly the keys it holds.
func TestAutomaticSphinxKeyRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain and a network")
	}
	const every = 3
	nw := mixnet.Start(t, mixnet.Options{SphinxKeyRotationEpochs: every})
	a := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(0)})
	b := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(1)})
	ctx := timeout(t, 3*time.Minute)
	if _, err := nw.WaitGateway(ctx, nw.Gateway(1), time.Second); err != nil {
		t.Fatal(err)
	}
	bonded := map[[32]byte]*sphinx.PublicKey{}
	for _, n := range nw.Nodes {
		bonded[n.Identity()] = n.Keys.Sphinx.PublicKey()
	}
	startEpoch := nw.Reader.Current().Epoch
	stopSending := sendSteadily(t, nw, a, b, "across automatic rotations")

	// Two rounds: the second shows a node rotates again after the first
	// (its previous key dropped, its filter file deleted).
	var rotated *topology.Topology
	for round := 1; round <= 2; round++ {
		var err error
		rotated, err = nw.Reader.Wait(ctx, func(tp *topology.Topology) bool {
			for id, key := range bonded {
				n, ok := tp.ByIdentity(id)
				if !ok || n.SphinxKey.Equal(key) {
					return false
				}
			}
			return true
		})
		if err != nil {
			t.Fatalf("round %d: not every node rotated: %v", round, err)
		}
		if rotated.Epoch%every != 0 {
			t.Fatalf("round %d: the keys switched in epoch %d, not at a rotation boundary", round, rotated.Epoch)
		}
		for id := range bonded {
			n, _ := rotated.ByIdentity(id)
			bonded[id] = n.SphinxKey
		}
	}
	if err := nw.WaitNodesAt(ctx, rotated.Epoch); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // messages under the new keys
	sent := stopSending()
	var bodies [][]byte
	before, after := 0, 0
	for _, m := range sent {
		bodies = append(bodies, m.body)
		switch {
		case m.epoch == startEpoch:
			before++
		case m.epoch >= rotated.Epoch:
			after++
		}
	}
	if before == 0 || after == 0 {
		t.Fatalf("messages sent: %d before any rotation, %d after every node rotated", before, after)
	}
	got := receiveAll(t, ctx, b, len(bodies))
	if !sameSet(got, bodies) {
		t.Fatalf("sent %d messages across the rotations, received a different set", len(bodies))
	}

	for _, n := range nw.Nodes {
		srv := n.Server()
		chainKey := func() *sphinx.PublicKey {
			cn, _ := nw.Reader.Current().ByIdentity(n.Identity())
			return cn.SphinxKey
		}
		eventually(t, "the node to use the chain's key", 20*time.Second, func() bool {
			cur, _ := srv.SphinxKeys()
			return cur.Equal(chainKey())
		})
		keys, err := node.LoadKeys(n.Home)
		if err != nil {
			t.Fatal(err)
		}
		if !keys.Sphinx.PublicKey().Equal(chainKey()) && (keys.NextSphinx == nil || !keys.NextSphinx.PublicKey().Equal(chainKey())) {
			t.Fatalf("node %d: the key files do not hold the chain's key", n.Index)
		}
		eventually(t, "the filter files to follow the keys", 20*time.Second, func() bool {
			files, _ := filepath.Glob(filepath.Join(n.Home, node.ReplayDir, "*.bloom"))
			held := srv.Mix().Keys()
			if len(files) != len(held) {
				return false
			}
			for _, k := range held {
				if !slices.Contains(files, filepath.Join(n.Home, node.ReplayDir, hex.EncodeToString(k.Bytes())+".bloom")) {
					return false
				}
			}
			return true
		})
	}
	t.Logf("every node rotated by epoch %d (rotation every %d epochs, started in %d); %d messages (%d before, %d after) all arrived",
		rotated.Epoch, every, startEpoch, len(bodies), before, after)
}

// TestLostReplayFilterRotatesEarly: a node restarted without the replay
// filter file of its key refuses that key's packets (it could not tell a
// replay) and, with a rotation schedule, announces a fresh key at once
// instead of waiting for its turn (1000 epochs away); the chain switches
// at the next boundary and messages through the node arrive again.
func TestLostReplayFilterRotatesEarly(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain and a network")
	}
	nw := mixnet.Start(t, mixnet.Options{SphinxKeyRotationEpochs: 1000})
	gwB := nw.Gateway(1)
	a := nw.StartClient(t, mixnet.ClientOptions{Gateway: nw.Gateway(0)})
	b := nw.StartClient(t, mixnet.ClientOptions{Gateway: gwB})
	ctx := timeout(t, 2*time.Minute)
	if _, err := nw.WaitGateway(ctx, gwB, time.Second); err != nil {
		t.Fatal(err)
	}
	old, _ := gwB.Server().SphinxKeys()

	nw.StopNode(gwB)
	if err := os.Remove(filepath.Join(gwB.Home, node.ReplayDir, hex.EncodeToString(old.Bytes())+".bloom")); err != nil {
		t.Fatal(err)
	}
	if err := nw.RestartNode(gwB); err != nil {
		t.Fatal(err)
	}
	srv := gwB.Server()
	if cur, _ := srv.SphinxKeys(); !cur.Equal(old) || srv.Mix().ReplayFilter(old) != nil {
		t.Fatal("the restarted node does not hold its key without a filter")
	}

	switched, err := nw.Reader.Wait(ctx, func(tp *topology.Topology) bool {
		n, ok := tp.ByIdentity(gwB.Identity())
		return ok && !n.SphinxKey.Equal(old)
	})
	if err != nil {
		t.Fatalf("the node did not rotate away from the key it lost the filter of: %v", err)
	}
	if switched.Epoch >= 1000 {
		t.Fatalf("rotated in epoch %d, on schedule rather than early", switched.Epoch)
	}
	if err := nw.WaitNodesAt(ctx, switched.Epoch); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the node to serve the new key with a filter", 20*time.Second, func() bool {
		cur, _ := srv.SphinxKeys()
		return !cur.Equal(old) && srv.Mix().ReplayFilter(cur) != nil
	})
	var bodies [][]byte
	for i := range 5 {
		m := []byte(fmt.Sprintf("after the early rotation %d", i))
		if _, err := a.Send(context.Background(), b.Address(), m); err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, m)
	}
	if got := receiveAll(t, ctx, b, len(bodies)); !sameSet(got, bodies) {
		t.Fatal("messages through the node after the early rotation did not all arrive")
	}
}
