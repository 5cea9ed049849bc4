package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/wire"
	"github.com/nyx-privacy/nyx/sphinx"
	"github.com/nyx-privacy/nyx/testutil/syncbuf"
)

// replayHome is a node home whose server runs on loopback ports, with no
// chain to read (the mix port processes packets whatever the topology, and
// nothing here needs one).
type replayHome struct {
	t    *testing.T
	home string
	cfg  Config
	logs *syncbuf.Buffer
}

func newReplayHome(t *testing.T) *replayHome {
	home := filepath.Join(t.TempDir(), "home")
	cfg := DefaultConfig()
	cfg.Gateway.Enabled = false
	cfg.Chain.GRPC = "127.0.0.1:1"
	cfg.Mixnode.ReplayRate, cfg.Mixnode.ReplayWindow = 100, Duration(time.Hour)
	if err := Init(home, cfg); err != nil {
		t.Fatal(err)
	}
	return &replayHome{t: t, home: home, cfg: cfg, logs: &syncbuf.Buffer{}}
}

func (h *replayHome) start() *Server {
	h.t.Helper()
	keys, err := LoadKeys(h.home)
	if err != nil {
		h.t.Fatal(err)
	}
	var ls []net.Listener
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			h.t.Fatal(err)
		}
		ls = append(ls, l)
	}
	s, err := Start(context.Background(), h.home, h.cfg, keys, Options{
		Logger: slog.New(slog.NewTextHandler(h.logs, nil)), MixListener: ls[0], HTTPListener: ls[1]})
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { s.Close() })
	return s
}

// send writes packets to s's mix port over a fresh connection.
func sendPackets(t *testing.T, s *Server, packets ...[]byte) {
	t.Helper()
	_, ident, _ := ed25519.GenerateKey(rand.Reader)
	k, err := wire.NewLinkKey(ident)
	if err != nil {
		t.Fatal(err)
	}
	c, w, err := wire.DialLink(context.Background(), s.MixAddr(), k, s.Identity(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, p := range packets {
		if err := w.WritePacket(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// finalHopPacket is a one-hop packet to s's current sphinx key.
func finalHopPacket(t *testing.T, s *Server, msg string) []byte {
	t.Helper()
	cur, _ := s.SphinxKeys()
	p, err := sphinx.Regular.NewPacket(rand.Reader, []sphinx.Hop{{Address: s.Identity(), PublicKey: cur}},
		sphinx.Destination{Address: [32]byte{1}}, []byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestReplayAfterRestart: a packet the node took before a restart is
// dropped as a replay after it, sent again byte for byte over a real
// socket. Before replay filters were saved, the restarted node started
// with an empty filter and processed the packet a second time.
func TestReplayAfterRestart(t *testing.T) {
	h := newReplayHome(t)
	s := h.start()
	p := finalHopPacket(t, s, "once only")
	other := finalHopPacket(t, s, "another")
	sendPackets(t, s, p)
	// Processed: the final hop has no gateway here, so it counts as no_gateway.
	waitFor(t, "the packet processed", func() bool { return s.Mix().Stats().Dropped["no_gateway"] == 1 })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	cur, _ := s.SphinxKeys()
	if st, err := os.Stat(replayPath(h.home, cur, ".bloom")); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("filter file after shutdown: %v %v", err, st)
	}
	if _, err := os.Stat(replayPath(h.home, cur, ".fresh")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the key is still marked new: %v", err)
	}

	s = h.start()
	sendPackets(t, s, p, other)
	waitFor(t, "two packets handled", func() bool { return s.Mix().Stats().Received == 2 })
	waitFor(t, "the replay dropped", func() bool { return s.Mix().Stats().Dropped["replay"] == 1 })
	waitFor(t, "the new packet processed", func() bool { return s.Mix().Stats().Dropped["no_gateway"] == 1 })
}

// TestCorruptReplayFilterRefusesKey: a damaged filter file makes the node
// refuse its key's packets, with a log line saying why, rather than start
// it with an empty filter.
func TestCorruptReplayFilterRefusesKey(t *testing.T) {
	h := newReplayHome(t)
	s := h.start()
	sendPackets(t, s, finalHopPacket(t, s, "before"))
	waitFor(t, "the packet processed", func() bool { return s.Mix().Stats().Dropped["no_gateway"] == 1 })
	s.Close()
	cur, _ := s.SphinxKeys()
	path := replayPath(h.home, cur, ".bloom")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x10
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}

	s = h.start()
	sendPackets(t, s, finalHopPacket(t, s, "after"))
	waitFor(t, "the packet refused", func() bool { return s.Mix().Stats().Dropped["no_replay_filter"] == 1 })
	if st := s.Mix().Stats(); st.Dropped["no_gateway"] != 0 {
		t.Fatalf("a packet for the refused key was processed: %+v", st)
	}
	logs := h.logs.String()
	if !strings.Contains(logs, "replay filter of a sphinx key cannot be restored") || !strings.Contains(logs, "checksum") ||
		!strings.Contains(logs, hex.EncodeToString(cur.Bytes())) {
		t.Fatalf("no clear log line for the refused key:\n%s", logs)
	}
	// The damaged file is kept (for the operator to look at); it is not
	// replaced by an empty filter at the next save.
	s.Close()
	if after, _ := os.ReadFile(path); string(after) != string(b) {
		t.Fatal("the damaged filter file was overwritten")
	}
}

// TestMissingReplayFilterRefusesKey: a key that was in use and whose filter
// file is gone is refused; a key marked new starts empty.
func TestMissingReplayFilterRefusesKey(t *testing.T) {
	h := newReplayHome(t)
	s := h.start()
	s.Close()
	cur, _ := s.SphinxKeys()
	if err := os.Remove(replayPath(h.home, cur, ".bloom")); err != nil {
		t.Fatal(err)
	}
	s = h.start()
	sendPackets(t, s, finalHopPacket(t, s, "after the file went"))
	waitFor(t, "the packet refused", func() bool { return s.Mix().Stats().Dropped["no_replay_filter"] == 1 })
	if !strings.Contains(h.logs.String(), "is missing and the key is not marked new") {
		t.Fatalf("no clear log line:\n%s", h.logs.String())
	}
}
