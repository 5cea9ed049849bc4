package client

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/sphinx"
)

// TestSenderSplits: a long message goes as chunks sharing one id, in
// order, that put back together give the message; a message the queue has
// no room for is refused whole, nothing of it queued.
func TestSenderSplits(t *testing.T) {
	n := newTestNet(t, 1)
	alice, bob := mustKeys(t), mustKeys(t)
	bobAddr := bob.Address(n.topo.Exit[0].Identity)
	cfg := DefaultSenderConfig()
	cfg.QueueSize = 8
	s := newTestSender(t, n, alice, cfg, func([32]byte, []byte) error { return nil }, false)
	size := cfg.Geometry.PayloadSize
	if want := 8*ChunkCapacity(size) - 1; s.MaxMessageSize() != want {
		t.Fatalf("MaxMessageSize %d with an 8-packet queue, want %d", s.MaxMessageSize(), want)
	}
	msg := make([]byte, 2*ChunkCapacity(size)+1)
	rand.Read(msg)
	if _, err := s.Send(bobAddr, msg); err != nil {
		t.Fatal(err)
	}
	if len(s.queue) != 3 {
		t.Fatalf("%d packets queued for a 3-chunk message", len(s.queue))
	}
	r := newReassembler(size)
	var got []byte
	var id MessageID
	for i, j := range s.queue {
		p, err := parsePiece(j.piece)
		if err != nil || p.Index != i || p.Count != 3 {
			t.Fatalf("packet %d: %+v %v", i, p, err)
		}
		if i == 0 {
			id = p.ID
		} else if p.ID != id {
			t.Fatal("chunks of one message carry different ids")
		}
		if got, _, err = r.add(p, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	m, err := parseMessage(got)
	if err != nil || m.kind != kindPlain || !bytes.Equal(m.data, msg) {
		t.Fatalf("the chunks do not give the message back: %v", err)
	}

	// Room for 8: a 5-chunk message fits, another does not, and leaves
	// nothing behind.
	five := make([]byte, 4*ChunkCapacity(size)+1)
	if _, err := s.Send(bobAddr, five); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Send(bobAddr, five); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("a message beyond the queue's room: %v", err)
	}
	if len(s.queue) != 8 || s.Stats().Pending != 8 {
		t.Fatalf("%d packets queued, want 8", len(s.queue))
	}
}

// TestReassembler: fragments in any order, duplicates ignored, a count that
// changes refused, limits on incomplete messages and bytes evict the oldest,
// and a message incomplete for too long is given up.
func TestReassembler(t *testing.T) {
	size := sphinx.Regular.PayloadSize
	now := time.Unix(1000, 0)
	piece := func(id byte, i, n int, data string) Piece {
		return Piece{ID: MessageID{id}, Index: i, Count: n, Data: []byte(data)}
	}
	r := newReassembler(size)
	for _, p := range []Piece{piece(1, 2, 3, "c"), piece(1, 0, 3, "a"), piece(1, 0, 3, "a")} {
		if msg, _, err := r.add(p, now); err != nil || msg != nil {
			t.Fatalf("early: %q %v", msg, err)
		}
	}
	if _, _, err := r.add(piece(1, 1, 4, "b"), now); err == nil {
		t.Fatal("a fragment with another count was accepted")
	}
	if msg, _, err := r.add(piece(1, 1, 3, "b"), now); err != nil || string(msg) != "abc" {
		t.Fatalf("complete: %q %v", msg, err)
	}
	if r.pending() != 0 || r.bytes != 0 {
		t.Fatalf("after completion: %d pending, %d bytes", r.pending(), r.bytes)
	}
	// A chunk of it sent again (its ack was lost) is a duplicate, as is a
	// one-chunk message seen before.
	if msg, _, err := r.add(piece(1, 2, 3, "c"), now); !errors.Is(err, errDuplicate) || msg != nil {
		t.Fatalf("a chunk of a message put together: %q %v", msg, err)
	}
	if msg, _, err := r.add(piece(20, 0, 1, "one"), now); err != nil || string(msg) != "one" {
		t.Fatalf("one-chunk message: %q %v", msg, err)
	}
	if _, _, err := r.add(piece(20, 0, 1, "one"), now); !errors.Is(err, errDuplicate) {
		t.Fatalf("one-chunk message again: %v", err)
	}
	if _, _, err := r.add(piece(2, 0, maxFragments(size)+1, "x"), now); err == nil {
		t.Fatal("a message of too many fragments was accepted")
	}

	// At most maxMessages incomplete: the oldest goes.
	r.maxMessages = 2
	r.add(piece(3, 0, 2, "old"), now)
	r.add(piece(4, 0, 2, "mid"), now.Add(time.Second))
	if _, abandoned, _ := r.add(piece(5, 0, 2, "new"), now.Add(2*time.Second)); abandoned != 1 || r.pending() != 2 {
		t.Fatalf("abandoned %d, pending %d", abandoned, r.pending())
	}
	if msg, _, _ := r.add(piece(3, 1, 2, "!"), now.Add(3*time.Second)); msg != nil {
		t.Fatal("the evicted message completed")
	}

	// Bytes: room is made by evicting others.
	r = newReassembler(size)
	r.maxBytes = 10
	r.add(piece(6, 0, 2, "12345"), now)
	r.add(piece(7, 0, 2, "12345"), now.Add(time.Second))
	if _, abandoned, err := r.add(piece(8, 0, 2, "xyz"), now.Add(2*time.Second)); err != nil || abandoned != 1 || r.bytes != 8 {
		t.Fatalf("byte bound: abandoned %d, %d bytes, %v", abandoned, r.bytes, err)
	}
	if _, _, err := r.add(piece(9, 0, 2, "far too many bytes"), now); err == nil {
		t.Fatal("a fragment larger than the whole budget was accepted")
	}

	// Expiry.
	r = newReassembler(size)
	r.add(piece(10, 0, 2, "a"), now)
	if _, abandoned, _ := r.add(piece(11, 0, 2, "b"), now.Add(reassemblyTTL+time.Second)); abandoned != 1 || r.pending() != 1 {
		t.Fatalf("expiry: abandoned %d, pending %d", abandoned, r.pending())
	}
}

// TestReassemblerTakesSmallerPackets: a client that sends extended packets
// puts together a message a sender of regular packets cut into the most
// fragments (an anonymous message with the most SURBs and the longest
// data): senders choose their packet size, not the recipient.
func TestReassemblerTakesSmallerPackets(t *testing.T) {
	k, err := GenerateKeys(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sc := DefaultSenderConfig()
	sc.Geometry = sphinx.Extended8
	c, err := New(Config{GatewayURL: "ws://127.0.0.1:1/", Sender: sc}, k, gatewayproto.SharedKey{}, func() *topology.Topology { return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, maxEncodedMessage)
	rand.Read(msg)
	chunks := split(msg, ChunkCapacity(sphinx.Regular.PayloadSize))
	if len(chunks) <= maxFragments(sphinx.Extended8.PayloadSize) {
		t.Fatalf("%d regular fragments fit the extended bound: the test shows nothing", len(chunks))
	}
	var got []byte
	for i, ch := range chunks {
		b, _, err := c.reasm.add(Piece{ID: MessageID{7}, Index: i, Count: len(chunks), Data: ch}, time.Now())
		if err != nil {
			t.Fatalf("fragment %d of %d: %v", i, len(chunks), err)
		}
		got = b
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("put together %d bytes, want the %d sent", len(got), len(msg))
	}
}
