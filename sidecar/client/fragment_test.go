package client

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/sphinx"
)

// TestSealOpenFragment: a fragment opens to its id, index, count and chunk;
// Open refuses it as a fragment; bad fragment shapes are refused at sealing.
func TestSealOpenFragment(t *testing.T) {
	k := mustKeys(t)
	size := sphinx.Regular.PayloadSize
	id := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	for _, chunk := range [][]byte{{0}, bytes.Repeat([]byte{7}, FragmentCapacity(size))} {
		sealed, err := SealFragment(rand.Reader, k.Encryption.PublicKey(), id, 2, 3, chunk, size)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) != size {
			t.Fatalf("sealed %d bytes, want %d", len(sealed), size)
		}
		p, err := OpenPiece(k.Encryption, sealed)
		if err != nil || !p.Fragment || p.ID != id || p.Index != 2 || p.Count != 3 || !bytes.Equal(p.Data, chunk) {
			t.Fatalf("OpenPiece = %+v, %v", p, err)
		}
		if _, err := Open(k.Encryption, sealed); !errors.Is(err, ErrFragment) {
			t.Fatalf("Open of a fragment: %v", err)
		}
	}
	for name, f := range map[string]func() error{
		"count 1": func() error {
			_, err := SealFragment(rand.Reader, k.Encryption.PublicKey(), id, 0, 1, []byte{1}, size)
			return err
		},
		"index=count": func() error {
			_, err := SealFragment(rand.Reader, k.Encryption.PublicKey(), id, 3, 3, []byte{1}, size)
			return err
		},
		"empty chunk": func() error {
			_, err := SealFragment(rand.Reader, k.Encryption.PublicKey(), id, 0, 3, nil, size)
			return err
		},
		"chunk too big": func() error {
			_, err := SealFragment(rand.Reader, k.Encryption.PublicKey(), id, 0, 3, make([]byte, FragmentCapacity(size)+1), size)
			return err
		},
	} {
		if f() == nil {
			t.Errorf("%s: sealed", name)
		}
	}
}

// TestSenderSplits: a long message goes as fragments sharing one id, in
// order, that put back together give the message; a message the queue has
// no room for is refused whole, nothing of it queued.
func TestSenderSplits(t *testing.T) {
	n := newTestNet(t, 1)
	bob := mustKeys(t)
	bobAddr := bob.Address(n.topo.Exit[0].Identity)
	cfg := DefaultSenderConfig()
	cfg.QueueSize = 8
	s, err := NewSender(cfg, func() *topology.Topology { return n.topo }, func([32]byte, []byte) error { return nil }, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	size := cfg.Geometry.PayloadSize
	if want := 8 * FragmentCapacity(size); s.MaxMessageSize() != want {
		t.Fatalf("MaxMessageSize %d with an 8-packet queue, want %d", s.MaxMessageSize(), want)
	}
	msg := make([]byte, 2*FragmentCapacity(size)+1)
	rand.Read(msg)
	if err := s.Send(bobAddr, msg); err != nil {
		t.Fatal(err)
	}
	if len(s.queue) != 3 {
		t.Fatalf("%d packets queued for a 3-fragment message", len(s.queue))
	}
	r := newReassembler(size)
	var got []byte
	var id [8]byte
	for i := range 3 {
		o := <-s.queue
		p, err := OpenPiece(bob.Encryption, o.payload)
		if err != nil || !p.Fragment || p.Index != i || p.Count != 3 {
			t.Fatalf("packet %d: %+v %v", i, p, err)
		}
		if i == 0 {
			id = p.ID
		} else if p.ID != id {
			t.Fatal("fragments of one message carry different ids")
		}
		if got, _, err = r.add(p, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("the fragments do not give the message back")
	}

	// Room for 8: a 6-fragment message fits, another does not, and leaves
	// nothing behind.
	six := make([]byte, 5*FragmentCapacity(size)+1)
	if err := s.Send(bobAddr, six); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(bobAddr, six); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("a message beyond the queue's room: %v", err)
	}
	if len(s.queue) != 6 {
		t.Fatalf("%d packets queued, want 6", len(s.queue))
	}
}

// TestReassembler: fragments in any order, duplicates ignored, a count that
// changes refused, limits on incomplete messages and bytes evict the oldest,
// and a message incomplete for too long is given up.
func TestReassembler(t *testing.T) {
	size := sphinx.Regular.PayloadSize
	now := time.Unix(1000, 0)
	piece := func(id byte, i, n int, data string) Piece {
		return Piece{Fragment: true, ID: [8]byte{id}, Index: i, Count: n, Data: []byte(data)}
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
