package wire

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"filippo.io/edwards25519"
	"github.com/cloudflare/circl/dh/x25519"
	"github.com/flynn/noise"
)

// The encrypted link (version 2 of the framing).
//
// The dialling node writes PrefaceNoise, then the two nodes run
// Noise_XK_25519_AESGCM_SHA256: the dialler knows the static key of the node
// it dials (derived from the identity key bonded on chain, LinkPublicKey)
// and proves its own in the third message, whose payload is its ed25519
// identity. After the handshake every frame is
//
//	length (4 bytes, big-endian) | AES-256-GCM(packet) | tag (16 bytes)
//
// with the length, checked against the accepted packet sizes before a byte
// of the packet is read, as the AEAD's associated data. Each direction has
// its own key and counts its frames as the nonce, so a frame replayed,
// dropped, reordered or altered fails the tag and ends the connection.
//
// The handshake messages have fixed sizes (HandshakeSizes), so nothing in
// them is a length an outside party chooses.

// PrefaceNoise starts an encrypted link: the magic of Preface and version 2.
var PrefaceNoise = [8]byte{'N', 'Y', 'X', 'M', 'I', 'X', 0, 2}

// TagSize is the AEAD tag each encrypted frame carries after its packet.
const TagSize = 16

// Sizes of the three handshake messages: -> e, es; <- e, ee; -> s, se with
// the initiator's identity as payload.
const (
	handshake1Size = 32 + TagSize
	handshake2Size = 32 + TagSize
	handshake3Size = 32 + TagSize + ed25519.PublicKeySize + TagSize
)

// HandshakeSizes are the sizes of the three handshake messages, in order.
var HandshakeSizes = [3]int{handshake1Size, handshake2Size, handshake3Size}

// Errors of the encrypted link, all of them about the peer's bytes:
// ErrPlaintextPeer wraps ErrPreface; ErrDecrypt is a frame that fails its
// tag.
var (
	// ErrPlaintextPeer: the peer opened an unencrypted (version 1) link.
	ErrPlaintextPeer = fmt.Errorf("%w: plaintext link (version 1) refused, links are encrypted (Noise, version 2)", ErrPreface)
	// ErrHandshake: the Noise handshake failed: a peer without the
	// expected static key, or bytes that are no handshake.
	ErrHandshake = errors.New("wire: link handshake failed")
	// ErrDecrypt: an encrypted frame failed its authentication tag.
	ErrDecrypt = errors.New("wire: frame failed authentication")
)

// noiseSuite is X25519 from circl (one scalar multiplication per DH, where
// x/crypto's derives a public key on every call too), AES-256-GCM (hardware
// AES on the machines nodes run on: the cheapest AEAD per packet) and
// SHA-256.
var noiseSuite = noise.NewCipherSuite(dhCircl{}, noise.CipherAESGCM, noise.HashSHA256)

// prologue binds the handshake to this framing and its version: a
// handshake meant for another protocol fails.
var prologue = append([]byte("nyx link "), PrefaceNoise[:]...)

type dhCircl struct{}

func (dhCircl) GenerateKeypair(r io.Reader) (noise.DHKey, error) {
	var priv, pub x25519.Key
	if _, err := io.ReadFull(r, priv[:]); err != nil {
		return noise.DHKey{}, err
	}
	x25519.KeyGen(&pub, &priv)
	return noise.DHKey{Private: priv[:], Public: pub[:]}, nil
}

func (dhCircl) DH(privkey, pubkey []byte) ([]byte, error) {
	var priv, pub, shared x25519.Key
	if len(privkey) != x25519.Size || len(pubkey) != x25519.Size {
		return nil, errors.New("x25519: bad key length")
	}
	copy(priv[:], privkey)
	copy(pub[:], pubkey)
	if !x25519.Shared(&shared, &priv, &pub) {
		return nil, errors.New("x25519: low-order public key")
	}
	return shared[:], nil
}

func (dhCircl) DHLen() int     { return x25519.Size }
func (dhCircl) DHName() string { return "25519" }

// LinkKey is a node's static Noise key: the X25519 form of its ed25519
// identity key (the birational map from Edwards to Montgomery form, the
// private scalar being the one ed25519 signs with). So the static key every
// link is checked against is the identity bonded on chain, which signs the
// bond, names the node in Sphinx routing, and never rotates.
type LinkKey struct {
	id  [32]byte
	key noise.DHKey
}

// NewLinkKey derives the link key of an identity key.
func NewLinkKey(identity ed25519.PrivateKey) (*LinkKey, error) {
	if len(identity) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("wire: identity key of %d bytes", len(identity))
	}
	h := sha512.Sum512(identity.Seed())
	var priv, pub x25519.Key
	copy(priv[:], h[:32]) // clamped by X25519 as ed25519 clamps it
	x25519.KeyGen(&pub, &priv)
	k := &LinkKey{key: noise.DHKey{Private: priv[:], Public: pub[:]}}
	copy(k.id[:], identity.Public().(ed25519.PublicKey))
	return k, nil
}

// Identity is the ed25519 identity the key belongs to.
func (k *LinkKey) Identity() [32]byte { return k.id }

// Public is the X25519 static public key.
func (k *LinkKey) Public() [32]byte { return [32]byte(k.key.Public) }

// LinkPublicKey is the X25519 static key of the node with ed25519 identity
// id, or an error for bytes that are no usable point.
func LinkPublicKey(id [32]byte) ([32]byte, error) {
	p, err := new(edwards25519.Point).SetBytes(id[:])
	if err != nil {
		return [32]byte{}, fmt.Errorf("wire: identity key is no point: %w", err)
	}
	// A small-order identity would give every DH with it the same output.
	if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return [32]byte{}, errors.New("wire: identity key of small order")
	}
	return [32]byte(p.BytesMontgomery()), nil
}

// Session is an established link: one cipher per direction and the
// proven identity of the peer.
type Session struct {
	send, recv *noise.CipherState
	peer       [32]byte
}

// Peer is the ed25519 identity of the node at the other end, proven by
// the handshake.
func (s *Session) Peer() [32]byte { return s.peer }

func newHandshake(self *LinkKey, initiator bool, peerStatic []byte) (*noise.HandshakeState, error) {
	return noise.NewHandshakeState(noise.Config{
		CipherSuite:   noiseSuite,
		Random:        rand.Reader,
		Pattern:       noise.HandshakeXK,
		Initiator:     initiator,
		Prologue:      prologue,
		StaticKeypair: self.key,
		PeerStatic:    peerStatic,
	})
}

// Initiate opens an encrypted link over rw (a new connection) to the node
// with identity peer: it writes PrefaceNoise and runs the handshake. It
// fails with ErrHandshake if the other end does not hold peer's key. The
// caller bounds it with a deadline on the connection.
func Initiate(rw io.ReadWriter, self *LinkKey, peer [32]byte) (*Session, error) {
	rs, err := LinkPublicKey(peer)
	if err != nil {
		return nil, err
	}
	hs, err := newHandshake(self, true, rs[:])
	if err != nil {
		return nil, err
	}
	msg := make([]byte, 0, len(PrefaceNoise)+handshake3Size)
	msg = append(msg, PrefaceNoise[:]...)
	if msg, _, _, err = hs.WriteMessage(msg, nil); err != nil {
		return nil, fmt.Errorf("%w: write message 1: %v", ErrHandshake, err)
	}
	if _, err := rw.Write(msg); err != nil {
		return nil, err
	}
	in := make([]byte, handshake2Size)
	if _, err := io.ReadFull(rw, in); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			// The responder hangs up when message 1 was not for its key.
			return nil, fmt.Errorf("%w: the peer closed the connection (not the bonded key?)", ErrHandshake)
		}
		return nil, err
	}
	if _, _, _, err := hs.ReadMessage(nil, in); err != nil {
		return nil, fmt.Errorf("%w: message 2: %v", ErrHandshake, err)
	}
	msg, send, recv, err := hs.WriteMessage(msg[:0], self.id[:])
	if err != nil || send == nil {
		return nil, fmt.Errorf("%w: write message 3: %v", ErrHandshake, err)
	}
	if _, err := rw.Write(msg); err != nil {
		return nil, err
	}
	return &Session{send: send, recv: recv, peer: peer}, nil
}

// Respond answers an encrypted link on rw (a new incoming connection): it
// reads the preface and runs the handshake, returning the session with the
// initiator's proven identity. A version 1 preface fails with
// ErrPlaintextPeer, any other bad byte with ErrPreface or ErrHandshake. It
// reads exactly the handshake's bytes, so frames sent right after it stay
// unread. The caller bounds it with a deadline on the connection.
func Respond(rw io.ReadWriter, self *LinkKey) (*Session, error) {
	var p [len(PrefaceNoise)]byte
	if _, err := io.ReadFull(rw, p[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: connection closed inside it", ErrPreface)
		}
		return nil, err
	}
	switch p {
	case PrefaceNoise:
	case Preface:
		return nil, ErrPlaintextPeer
	default:
		return nil, fmt.Errorf("%w: % x", ErrPreface, p[:])
	}
	hs, err := newHandshake(self, false, nil)
	if err != nil {
		return nil, err
	}
	in := make([]byte, handshake3Size)
	if err := readHandshake(rw, in[:handshake1Size], 1); err != nil {
		return nil, err
	}
	if _, _, _, err := hs.ReadMessage(nil, in[:handshake1Size]); err != nil {
		return nil, fmt.Errorf("%w: message 1 (not for this node's key?): %v", ErrHandshake, err)
	}
	out, _, _, err := hs.WriteMessage(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: write message 2: %v", ErrHandshake, err)
	}
	if _, err := rw.Write(out); err != nil {
		return nil, err
	}
	if err := readHandshake(rw, in, 3); err != nil {
		return nil, err
	}
	payload, recv, send, err := hs.ReadMessage(nil, in)
	if err != nil || recv == nil {
		return nil, fmt.Errorf("%w: message 3: %v", ErrHandshake, err)
	}
	s, err := acceptIdentity(payload, hs.PeerStatic())
	if err != nil {
		return nil, err
	}
	s.send, s.recv = send, recv
	return s, nil
}

// acceptIdentity checks the identity an initiator claims is the one its
// proven static key belongs to.
func acceptIdentity(payload, static []byte) (*Session, error) {
	if len(payload) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: identity of %d bytes", ErrHandshake, len(payload))
	}
	s := &Session{peer: [32]byte(payload)}
	want, err := LinkPublicKey(s.peer)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHandshake, err)
	}
	if [32]byte(static) != want {
		return nil, fmt.Errorf("%w: the identity claimed is not the static key's", ErrHandshake)
	}
	return s, nil
}

func readHandshake(r io.Reader, buf []byte, msg int) error {
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: connection closed inside message %d", ErrHandshake, msg)
		}
		return err
	}
	return nil
}

// DialLink connects to the node with identity peer at addr and opens an
// encrypted link to it as self, within timeout: what a node does for each
// next hop, and what tools and tests that send packets to a node use.
func DialLink(ctx context.Context, addr string, self *LinkKey, peer [32]byte, timeout time.Duration) (net.Conn, *Writer, error) {
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	_ = c.SetDeadline(time.Now().Add(timeout))
	s, err := Initiate(c, self, peer)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	_ = c.SetDeadline(time.Time{})
	w, err := NewSecureWriter(c, s)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return c, w, nil
}
