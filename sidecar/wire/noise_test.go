package wire

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sphinx"
)

func newLinkKey(t testing.TB) *LinkKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewLinkKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// linkPair runs one handshake over a real TCP connection: the dialler
// expects peer's key, the listener holds self. It returns both ends'
// results and connections.
type linkEnd struct {
	conn net.Conn
	sess *Session
	err  error
}

func linkPair(t *testing.T, dialer *LinkKey, expect [32]byte, listener *LinkKey) (in, out linkEnd) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan linkEnd, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- linkEnd{err: err}
			return
		}
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		s, err := Respond(c, listener)
		if err != nil {
			c.Close()
		}
		done <- linkEnd{conn: c, sess: s, err: err}
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	s, err := Initiate(c, dialer, expect)
	out = linkEnd{conn: c, sess: s, err: err}
	in = <-done
	if in.conn != nil {
		t.Cleanup(func() { in.conn.Close() })
	}
	return in, out
}

// TestLinkKeyIsTheIdentity: the static key derived from the private
// identity is the one anybody derives from the public identity.
func TestLinkKeyIsTheIdentity(t *testing.T) {
	for range 20 {
		k := newLinkKey(t)
		pub, err := LinkPublicKey(k.Identity())
		if err != nil {
			t.Fatal(err)
		}
		if pub != k.Public() {
			t.Fatalf("static key %x, derived from the identity %x", k.Public(), pub)
		}
	}
	if _, err := LinkPublicKey([32]byte{1}); err == nil { // the neutral point: small order
		t.Fatal("a small-order identity gave a link key")
	}
}

func TestLinkRoundTripOverTCP(t *testing.T) {
	a, b := newLinkKey(t), newLinkKey(t)
	in, out := linkPair(t, a, b.Identity(), b)
	if in.err != nil || out.err != nil {
		t.Fatalf("handshake: responder %v, initiator %v", in.err, out.err)
	}
	if in.sess.Peer() != a.Identity() || out.sess.Peer() != b.Identity() {
		t.Fatal("a session names the wrong peer")
	}
	w, err := NewSecureWriter(out.conn, out.sess)
	if err != nil {
		t.Fatal(err)
	}
	var sent [][]byte
	for i, g := range sphinx.StandardGeometries() {
		p := packetOf(g, byte(i+1))
		sent = append(sent, p)
		if err := w.WritePacket(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r, err := NewSecureReader(in.conn, StandardSizes(), in.sess)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range sent {
		got, err := r.ReadPacket(alloc)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("packet of %d bytes came back altered", len(want))
		}
	}
	// On the wire, the packet bytes are not to be seen.
	_ = out.conn.Close()
	if _, err := r.ReadPacket(alloc); !errors.Is(err, io.EOF) {
		t.Fatalf("after close: %v", err)
	}
}

// TestLinkCiphertextHidesPackets: what crosses the wire is not the packet.
func TestLinkCiphertextHidesPackets(t *testing.T) {
	a, b := newLinkKey(t), newLinkKey(t)
	in, out := linkPair(t, a, b.Identity(), b)
	if in.err != nil || out.err != nil {
		t.Fatalf("handshake: %v, %v", in.err, out.err)
	}
	var buf bytes.Buffer
	w, _ := NewSecureWriter(&buf, out.sess)
	p := packetOf(sphinx.StandardGeometries()[0], 0xAB)
	_ = w.WritePacket(p)
	_ = w.Flush()
	if bytes.Contains(buf.Bytes(), p[:64]) || buf.Len() != HeaderSize+len(p)+TagSize {
		t.Fatalf("frame of %d bytes shows the packet", buf.Len())
	}
}

// TestLinkWrongKeyRefused: a listener that does not hold the key the
// dialler expects (the identity bonded for that address) fails the
// handshake at both ends.
func TestLinkWrongKeyRefused(t *testing.T) {
	a, b, impostor := newLinkKey(t), newLinkKey(t), newLinkKey(t)
	in, out := linkPair(t, a, b.Identity(), impostor)
	if !errors.Is(in.err, ErrHandshake) {
		t.Fatalf("impostor's end: %v", in.err)
	}
	if !errors.Is(out.err, ErrHandshake) {
		t.Fatalf("dialler's end: %v", out.err)
	}
}

// TestLinkClaimedIdentityChecked: an initiator whose proven static key is
// not the identity it claims is refused.
func TestLinkClaimedIdentityChecked(t *testing.T) {
	a, b, other := newLinkKey(t), newLinkKey(t), newLinkKey(t)
	liar := &LinkKey{id: other.id, key: a.key}
	in, _ := linkPair(t, liar, b.Identity(), b)
	if !errors.Is(in.err, ErrHandshake) {
		t.Fatalf("responder accepted a claimed identity: %v", in.err)
	}
}

func TestLinkPlaintextPeerRefused(t *testing.T) {
	b := newLinkKey(t)
	rw := struct {
		io.Reader
		io.Writer
	}{bytes.NewReader(frames(t, packetOf(sphinx.StandardGeometries()[0], 1))), io.Discard}
	if _, err := Respond(rw, b); !errors.Is(err, ErrPlaintextPeer) || !errors.Is(err, ErrPreface) {
		t.Fatalf("plaintext peer: %v", err)
	}
}

// TestLinkTamperedFrame: a flipped bit in a frame's packet or length fails
// the frame.
func TestLinkTamperedFrame(t *testing.T) {
	g := sphinx.StandardGeometries()[0]
	for _, at := range []int{3, HeaderSize + 10, HeaderSize + g.PacketSize() + 2} {
		a, b := newLinkKey(t), newLinkKey(t)
		in, out := linkPair(t, a, b.Identity(), b)
		if in.err != nil || out.err != nil {
			t.Fatal(in.err, out.err)
		}
		var buf bytes.Buffer
		w, _ := NewSecureWriter(&buf, out.sess)
		_ = w.WritePacket(packetOf(g, 1))
		_ = w.Flush()
		frame := buf.Bytes()
		frame[at] ^= 1
		r, _ := NewSecureReader(bytes.NewReader(frame), StandardSizes(), in.sess)
		if _, err := r.ReadPacket(alloc); !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrFrameSize) {
			t.Fatalf("byte %d flipped: %v", at, err)
		}
	}
}

// TestLinkReplayedFrame: the same frame twice fails the second time.
func TestLinkReplayedFrame(t *testing.T) {
	a, b := newLinkKey(t), newLinkKey(t)
	in, out := linkPair(t, a, b.Identity(), b)
	if in.err != nil || out.err != nil {
		t.Fatal(in.err, out.err)
	}
	var buf bytes.Buffer
	w, _ := NewSecureWriter(&buf, out.sess)
	_ = w.WritePacket(packetOf(sphinx.StandardGeometries()[0], 1))
	_ = w.Flush()
	twice := append(bytes.Clone(buf.Bytes()), buf.Bytes()...)
	r, _ := NewSecureReader(bytes.NewReader(twice), StandardSizes(), in.sess)
	if _, err := r.ReadPacket(alloc); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadPacket(alloc); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("replayed frame: %v", err)
	}
}
