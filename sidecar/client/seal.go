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
)

// A message travels end to end sealed to the recipient's encryption key, so
// the recipient's gateway, which sees the Sphinx payload in the clear, learns
// nothing but that a message arrived. The sealed form fills the whole
// payload, whatever the message's length:
//
//	payload = kind (1) || E (32) || ChaCha20-Poly1305(k, nonce 0, ad = kind || E || R, plaintext)
//	plaintext = length (4, big-endian) || message || zero padding
//	k = HKDF-SHA256(ikm = X25519(e, R), salt = E || R, info = "nyx-client-v1 seal", 32)
//
// where (e, E) is a fresh X25519 pair per message and R the recipient's
// encryption key. The key is used once, so a zero nonce is safe.
//
// A loop cover payload is sealed the same way, by the client to itself, with
// the length field set to coverLength and no message: only the client that
// sealed it can tell it from a message.
//
// A message longer than one payload goes as fragments, each sealed on its
// own; the length field has its top bit set and the plaintext a header:
//
//	plaintext = (0x80000000 | chunk length) (4) || message id (8) ||
//	            index (2) || count (2) || chunk || zero padding
//
// with 2 <= count, index < count, and a random message id shared by the
// fragments (see fragment.go for splitting and reassembly).

// Payload kinds: the first byte of a sealed payload.
const (
	KindMessage byte = 1
)

const (
	sealLabel    = "nyx-client-v1 seal"
	sealOverhead = 1 + 32 + chacha20poly1305.Overhead + 4
)

// ErrMessageTooLarge: the message is longer than a payload (Seal) or than
// the longest message the sender splits (Sender.Send).
var ErrMessageTooLarge = errors.New("client: message too large")

// ErrSealed is wrapped by every error about a payload that does not open.
var ErrSealed = errors.New("client: payload does not open")

// ErrCover: the payload opened and is loop cover traffic, not a message.
var ErrCover = errors.New("client: loop cover payload")

// ErrFragment: Open met a fragment of a longer message (OpenPiece takes it).
var ErrFragment = errors.New("client: payload is a fragment of a longer message")

// Length-field values: coverLength marks cover; fragmentFlag, a fragment.
const (
	coverLength    = 0xFFFFFFFF
	fragmentFlag   = 0x80000000
	fragmentHeader = 8 + 2 + 2 // message id, index, count
)

// MaxMessageSize is the largest message one packet of payloadSize bytes
// carries.
func MaxMessageSize(payloadSize int) int { return payloadSize - sealOverhead }

// Seal seals message to the recipient's encryption key into a payload of
// exactly payloadSize bytes.
func Seal(rand io.Reader, recipient *ecdh.PublicKey, message []byte, payloadSize int) ([]byte, error) {
	if len(message) > MaxMessageSize(payloadSize) {
		return nil, fmt.Errorf("%w: %d bytes, at most %d fit", ErrMessageTooLarge, len(message), max(MaxMessageSize(payloadSize), 0))
	}
	return seal(rand, recipient, message, uint32(len(message)), payloadSize)
}

// FragmentCapacity is the most message bytes one fragment carries in a
// payload of payloadSize bytes.
func FragmentCapacity(payloadSize int) int { return MaxMessageSize(payloadSize) - fragmentHeader }

// SealFragment seals fragment index of count of the message with the given
// id to the recipient's encryption key into a payload of payloadSize bytes.
func SealFragment(rand io.Reader, recipient *ecdh.PublicKey, id [8]byte, index, count int, chunk []byte, payloadSize int) ([]byte, error) {
	if count < 2 || count > 0xFFFF || index < 0 || index >= count {
		return nil, fmt.Errorf("client: fragment %d of %d", index, count)
	}
	if len(chunk) == 0 || len(chunk) > FragmentCapacity(payloadSize) {
		return nil, fmt.Errorf("%w: a fragment of %d bytes, at most %d fit", ErrMessageTooLarge, len(chunk), max(FragmentCapacity(payloadSize), 0))
	}
	body := make([]byte, fragmentHeader+len(chunk))
	copy(body, id[:])
	binary.BigEndian.PutUint16(body[8:], uint16(index))
	binary.BigEndian.PutUint16(body[10:], uint16(count))
	copy(body[fragmentHeader:], chunk)
	return seal(rand, recipient, body, fragmentFlag|uint32(len(chunk)), payloadSize)
}

// SealCover seals a loop cover payload of payloadSize bytes to self, the
// client's own encryption key; Open by the client returns ErrCover.
func SealCover(rand io.Reader, self *ecdh.PublicKey, payloadSize int) ([]byte, error) {
	if MaxMessageSize(payloadSize) < 0 {
		return nil, fmt.Errorf("%w: a %d-byte payload holds no sealed payload", ErrMessageTooLarge, payloadSize)
	}
	return seal(rand, self, nil, coverLength, payloadSize)
}

func seal(rand io.Reader, recipient *ecdh.PublicKey, message []byte, length uint32, payloadSize int) ([]byte, error) {
	eph, err := ecdh.X25519().GenerateKey(rand)
	if err != nil {
		return nil, fmt.Errorf("seal: ephemeral key: %w", err)
	}
	shared, err := eph.ECDH(recipient)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	head := append([]byte{KindMessage}, eph.PublicKey().Bytes()...)
	aead, err := sealAEAD(shared, head, recipient)
	if err != nil {
		return nil, err
	}
	plain := make([]byte, payloadSize-len(head)-chacha20poly1305.Overhead)
	binary.BigEndian.PutUint32(plain, length)
	copy(plain[4:], message)
	var nonce [chacha20poly1305.NonceSize]byte
	return aead.Seal(head, nonce[:], plain, adFor(head, recipient)), nil
}

// Piece is what one sealed payload carries: a whole message, or (Fragment)
// chunk Index of Count of the message ID.
type Piece struct {
	Data         []byte
	Fragment     bool
	ID           [8]byte
	Index, Count int
}

// Open opens a payload sealed to priv and returns the message; it returns
// ErrCover for a loop cover payload and ErrFragment for a fragment.
func Open(priv *ecdh.PrivateKey, payload []byte) ([]byte, error) {
	p, err := OpenPiece(priv, payload)
	if err != nil {
		return nil, err
	}
	if p.Fragment {
		return nil, ErrFragment
	}
	return p.Data, nil
}

// OpenPiece opens a payload sealed to priv: a whole message or a fragment,
// or ErrCover for a loop cover payload.
func OpenPiece(priv *ecdh.PrivateKey, payload []byte) (Piece, error) {
	if len(payload) < sealOverhead {
		return Piece{}, fmt.Errorf("%w: %d bytes", ErrSealed, len(payload))
	}
	if payload[0] != KindMessage {
		return Piece{}, fmt.Errorf("%w: kind %d", ErrSealed, payload[0])
	}
	head := payload[:33]
	eph, err := ecdh.X25519().NewPublicKey(head[1:])
	if err != nil {
		return Piece{}, fmt.Errorf("%w: %v", ErrSealed, err)
	}
	shared, err := priv.ECDH(eph)
	if err != nil {
		return Piece{}, fmt.Errorf("%w: %v", ErrSealed, err)
	}
	aead, err := sealAEAD(shared, head, priv.PublicKey())
	if err != nil {
		return Piece{}, err
	}
	var nonce [chacha20poly1305.NonceSize]byte
	plain, err := aead.Open(nil, nonce[:], payload[33:], adFor(head, priv.PublicKey()))
	if err != nil {
		return Piece{}, fmt.Errorf("%w: authentication failed", ErrSealed)
	}
	n, body := binary.BigEndian.Uint32(plain), plain[4:]
	switch {
	case n == coverLength:
		return Piece{}, ErrCover
	case n&fragmentFlag != 0:
		n &^= fragmentFlag
		if len(body) < fragmentHeader || n == 0 || uint64(n) > uint64(len(body)-fragmentHeader) {
			return Piece{}, fmt.Errorf("%w: fragment length %d beyond the payload", ErrSealed, n)
		}
		p := Piece{Fragment: true, ID: [8]byte(body[:8]),
			Index: int(binary.BigEndian.Uint16(body[8:])), Count: int(binary.BigEndian.Uint16(body[10:]))}
		if p.Count < 2 || p.Index >= p.Count {
			return Piece{}, fmt.Errorf("%w: fragment %d of %d", ErrSealed, p.Index, p.Count)
		}
		p.Data = body[fragmentHeader : fragmentHeader+n]
		return p, nil
	case uint64(n) > uint64(len(body)):
		return Piece{}, fmt.Errorf("%w: length %d beyond the payload", ErrSealed, n)
	}
	return Piece{Data: body[:n]}, nil
}

// sealAEAD derives the message key from the shared secret, the payload's
// head (kind || E) and the recipient's key R.
func sealAEAD(shared, head []byte, recipient *ecdh.PublicKey) (cipher.AEAD, error) {
	salt := append(append([]byte(nil), head[1:]...), recipient.Bytes()...)
	k, err := hkdf.Key(sha256.New, shared, salt, sealLabel, chacha20poly1305.KeySize)
	if err != nil {
		return nil, fmt.Errorf("seal: derive key: %w", err)
	}
	return chacha20poly1305.New(k)
}

func adFor(head []byte, recipient *ecdh.PublicKey) []byte {
	return append(append([]byte(nil), head...), recipient.Bytes()...)
}
