package client

import (
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
)

// What a packet carries end to end. The recipient's gateway sees a packet's
// final payload in the clear; after the SURB-ACK it sends back
// (gatewayproto.SplitSURBAck) comes the content, which is one of two
// envelopes of the same size, each hiding a piece:
//
//	sealed  = E (32) || ChaCha20-Poly1305(k, nonce 0, ad = E || R, piece)
//	          k = HKDF-SHA256(X25519(e, R), salt = E || R, "nyx-client-v2 seal", 32)
//	reply   = D (16) || S (16) || ChaCha20-Poly1305(k, nonce 0, ad = D || S, piece)
//	          k = HKDF-SHA256(K, salt = S, "nyx-client-v2 reply", 32), D = SHA-256(K)[:16]
//
// A sealed envelope goes to a client's address: (e, E) is a fresh X25519
// pair and R the recipient's encryption key. A reply envelope travels over a
// reply SURB: K is the reply key its creator made with the SURB and keeps
// (by D) to open the reply; S is random. Both start with 32 random-looking
// bytes, so the gateway cannot tell a reply from a message; each key opens
// one envelope, so a zero nonce is safe.
//
// The piece fills the rest of the envelope, whatever the message's length:
//
//	piece = flags (1) || message id (8) || index (2) || count (2) || length (2) || chunk || zero padding
//
// flags 0 is loop cover (all else zero), 1 a chunk of a message: chunk index
// of count (1 <= count, index < count) of the message with that random id.
// The message is put back together from its chunks (fragment.go) and then
// decoded (message.go).

// Envelope and piece sizes.
const (
	envelopeOverhead = 32 + chacha20poly1305.Overhead
	pieceHeader      = 1 + 8 + 2 + 2 + 2
	sealLabel        = "nyx-client-v2 seal"
	replyLabel       = "nyx-client-v2 reply"
	// ReplyKeySize is the size of the key that comes with a reply SURB.
	ReplyKeySize = 32
	// replyDigestSize prefixes a reply envelope.
	replyDigestSize = 16
)

// Piece flags.
const (
	flagCover byte = 0
	flagChunk byte = 1
)

// ErrMessageTooLarge: the message is longer than the client sends.
var ErrMessageTooLarge = errors.New("client: message too large")

// ErrSealed is wrapped by every error about a payload that does not open.
var ErrSealed = errors.New("client: payload does not open")

// ErrCover: the payload opened and is loop cover traffic, not a message.
var ErrCover = errors.New("client: loop cover payload")

// ContentSize is the envelope size in a packet of payloadSize bytes.
func ContentSize(payloadSize int) int { return gatewayproto.ContentSize(payloadSize) }

// ChunkCapacity is the most message bytes one packet of payloadSize bytes
// carries.
func ChunkCapacity(payloadSize int) int {
	return ContentSize(payloadSize) - envelopeOverhead - pieceHeader
}

// Piece is the plaintext of one envelope: chunk Index of Count of the
// message ID.
type Piece struct {
	ID           MessageID
	Index, Count int
	Data         []byte
}

// marshal writes the piece's plaintext, padded to n bytes.
func (p Piece) marshal(n int) ([]byte, error) {
	if p.Count < 1 || p.Count > 0xFFFF || p.Index < 0 || p.Index >= p.Count || len(p.Data) > n-pieceHeader {
		return nil, fmt.Errorf("%w: chunk %d of %d with %d bytes in a %d-byte piece", ErrMessageTooLarge, p.Index, p.Count, len(p.Data), n)
	}
	b := make([]byte, n)
	b[0] = flagChunk
	copy(b[1:9], p.ID[:])
	binary.BigEndian.PutUint16(b[9:], uint16(p.Index))
	binary.BigEndian.PutUint16(b[11:], uint16(p.Count))
	binary.BigEndian.PutUint16(b[13:], uint16(len(p.Data)))
	copy(b[pieceHeader:], p.Data)
	return b, nil
}

// parsePiece reads a piece's plaintext; ErrCover for cover.
func parsePiece(b []byte) (Piece, error) {
	if len(b) < pieceHeader {
		return Piece{}, fmt.Errorf("%w: piece of %d bytes", ErrSealed, len(b))
	}
	switch b[0] {
	case flagCover:
		return Piece{}, ErrCover
	case flagChunk:
	default:
		return Piece{}, fmt.Errorf("%w: piece flags %d", ErrSealed, b[0])
	}
	p := Piece{ID: MessageID(b[1:9]), Index: int(binary.BigEndian.Uint16(b[9:])), Count: int(binary.BigEndian.Uint16(b[11:]))}
	n := int(binary.BigEndian.Uint16(b[13:]))
	if p.Count < 1 || p.Index >= p.Count || n > len(b)-pieceHeader {
		return Piece{}, fmt.Errorf("%w: chunk %d of %d, %d bytes", ErrSealed, p.Index, p.Count, n)
	}
	p.Data = b[pieceHeader : pieceHeader+n]
	return p, nil
}

// coverPiece is the plaintext of a loop cover envelope.
func coverPiece(n int) []byte { return make([]byte, n) }

// SealCover seals a loop cover envelope to self (the sender's own encryption
// key) for a packet whose payload has payloadSize bytes: the content that
// follows the payload's SURB-ACK, exactly as a client's own loop cover has it.
// The network monitor sends its test packets so.
func SealCover(rand io.Reader, self *ecdh.PublicKey, payloadSize int) ([]byte, error) {
	n := ContentSize(payloadSize) - envelopeOverhead
	if n < pieceHeader {
		return nil, fmt.Errorf("%w: a %d-byte payload holds no envelope", ErrMessageTooLarge, payloadSize)
	}
	return seal(rand, self, coverPiece(n))
}

// seal seals a piece's plaintext (already padded) to the recipient's
// encryption key.
func seal(rand io.Reader, recipient *ecdh.PublicKey, plain []byte) ([]byte, error) {
	eph, err := ecdh.X25519().GenerateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("seal: ephemeral key: %w", err)
	}
	shared, err := eph.ECDH(recipient)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	head := eph.PublicKey().Bytes()
	ad := append(append([]byte(nil), head...), recipient.Bytes()...)
	aead, err := envelopeAEAD(shared, ad, sealLabel)
	if err != nil {
		return nil, err
	}
	var nonce [chacha20poly1305.NonceSize]byte
	return aead.Seal(head, nonce[:], plain, ad), nil
}

// openSealed opens a sealed envelope with the client's encryption key.
func openSealed(priv *ecdh.PrivateKey, content []byte) ([]byte, error) {
	if len(content) < envelopeOverhead {
		return nil, fmt.Errorf("%w: %d bytes", ErrSealed, len(content))
	}
	eph, err := ecdh.X25519().NewPublicKey(content[:32])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSealed, err)
	}
	shared, err := priv.ECDH(eph)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSealed, err)
	}
	ad := append(append([]byte(nil), content[:32]...), priv.PublicKey().Bytes()...)
	aead, err := envelopeAEAD(shared, ad, sealLabel)
	if err != nil {
		return nil, err
	}
	var nonce [chacha20poly1305.NonceSize]byte
	plain, err := aead.Open(nil, nonce[:], content[32:], ad)
	if err != nil {
		return nil, fmt.Errorf("%w: authentication failed", ErrSealed)
	}
	return plain, nil
}

// replyDigest names a reply key in the envelopes made with it.
func replyDigest(key [ReplyKeySize]byte) [replyDigestSize]byte {
	h := sha256.Sum256(key[:])
	return [replyDigestSize]byte(h[:replyDigestSize])
}

// sealReply wraps a piece's plaintext for a reply SURB that came with key.
func sealReply(rand io.Reader, key [ReplyKeySize]byte, plain []byte) ([]byte, error) {
	d := replyDigest(key)
	head := make([]byte, 32)
	copy(head, d[:])
	if _, err := io.ReadFull(rand, head[16:]); err != nil {
		return nil, err
	}
	aead, err := envelopeAEAD(key[:], head, replyLabel)
	if err != nil {
		return nil, err
	}
	var nonce [chacha20poly1305.NonceSize]byte
	return aead.Seal(head, nonce[:], plain, head), nil
}

// openReply opens a reply envelope with its reply key.
func openReply(key [ReplyKeySize]byte, content []byte) ([]byte, error) {
	if len(content) < envelopeOverhead {
		return nil, fmt.Errorf("%w: %d bytes", ErrSealed, len(content))
	}
	head := content[:32]
	aead, err := envelopeAEAD(key[:], head, replyLabel)
	if err != nil {
		return nil, err
	}
	var nonce [chacha20poly1305.NonceSize]byte
	plain, err := aead.Open(nil, nonce[:], content[32:], head)
	if err != nil {
		return nil, fmt.Errorf("%w: reply authentication failed", ErrSealed)
	}
	return plain, nil
}

// envelopeAEAD derives an envelope's key: the salt is the envelope's head
// (and, sealed, the recipient's key), so a changed head gives another key.
func envelopeAEAD(secret, salt []byte, label string) (cipher.AEAD, error) {
	k, err := hkdf.Key(sha256.New, secret, salt, label, chacha20poly1305.KeySize)
	if err != nil {
		return nil, fmt.Errorf("envelope: derive key: %w", err)
	}
	return chacha20poly1305.New(k)
}
