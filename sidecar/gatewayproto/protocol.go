// Package gatewayproto is the client-gateway protocol's wire format, shared by
// the gateway (sidecar/gateway) and its clients (sidecar/gatewayclient): the
// control frames and their checks, the binary frames, the handshake's
// transcript, key derivation and MACs. It does no I/O. PROTOCOL.md in
// sidecar/gateway specifies the protocol.
package gatewayproto

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nyx-privacy/nyx/sphinx"
)

// ProtocolVersion is the version of the client-gateway protocol described in
// PROTOCOL.md. A handshake naming another version is refused.
//
// Version 2 replaced version 1's client timestamps and nonce cache with a
// challenge the gateway sends when the websocket opens: every handshake
// signs or MACs a fresh gateway nonce, so none can be replayed, on another
// connection or after a restart, and no shared cache exists for one client
// to fill.
const ProtocolVersion = 2

// Sizes of the protocol's fixed fields, in bytes.
const (
	// IdentitySize is an ed25519 public key: a client's or a gateway's identity.
	IdentitySize = ed25519.PublicKeySize
	// EphemeralSize is an X25519 public key.
	EphemeralSize = 32
	// SharedKeySize is the key a registration derives and authentication uses.
	SharedKeySize = 32
	// NonceSize is the client's nonce in an authentication.
	NonceSize = 16
	// ChallengeSize is the gateway's nonce in "challenge".
	ChallengeSize = 32
	// MACSize is an HMAC-SHA256 output.
	MACSize = sha256.Size
	// NextHopSize prefixes a client's binary frame: the identity of the
	// layer-1 node the packet goes to.
	NextHopSize = sphinx.NodeAddressSize
	// MessageIDSize prefixes a gateway's binary frame: the id the client
	// acknowledges.
	MessageIDSize = 8
	// MaxControlSize bounds a text (control) frame.
	MaxControlSize = 4096
)

// MaxClientFrameSize bounds any websocket frame a client may send: a next-hop
// identity and the largest standard Sphinx packet.
var MaxClientFrameSize = int64(NextHopSize + sphinx.Extended32.PacketSize())

// Control message types (the "type" field of a text frame).
const (
	TypeChallenge         = "challenge"
	TypeRegisterInit      = "register_init"
	TypeRegisterChallenge = "register_challenge"
	TypeRegisterFinish    = "register_finish"
	TypeRegistered        = "registered"
	TypeAuthenticate      = "authenticate"
	TypeAuthenticated     = "authenticated"
	TypeAck               = "ack"
	TypeError             = "error"
	// TypeCredential (client → gateway) presents a bandwidth credential;
	// TypeBandwidth (gateway → client) tells the client its balance and
	// the nonce its next credential must be bound to. See credential.go.
	TypeCredential = "credential"
	TypeBandwidth  = "bandwidth"
)

// Domain-separation labels. Every signature, MAC and key derivation of the
// protocol carries its own label, so no value made for one step is accepted
// by another.
const (
	labelTranscript    = "nyx-gateway-v2 register"
	labelGatewaySig    = "nyx-gateway-v2 gateway-signature"
	labelClientSig     = "nyx-gateway-v2 client-signature"
	labelSharedKey     = "nyx-gateway-v2 shared-key"
	labelRegistered    = "nyx-gateway-v2 registered"
	labelAuthenticate  = "nyx-gateway-v2 authenticate"
	labelAuthenticated = "nyx-gateway-v2 authenticated"
)

// ErrBadFrame is wrapped by every error about a frame that does not parse
// or does not follow the protocol.
var ErrBadFrame = errors.New("gateway: bad frame")

// SharedKey is the 32-byte secret a client and its gateway share after a
// registration.
type SharedKey [SharedKeySize]byte

// Control is a text frame as it travels: a JSON object whose "type" says
// which of the other fields are present. Byte strings are standard base64
// (with padding). Parse* functions check it; the zero value of a field
// means "absent".
type Control struct {
	Type      string `json:"type"`
	Version   int    `json:"version,omitempty"`
	Identity  []byte `json:"identity,omitempty"`
	Gateway   []byte `json:"gateway,omitempty"`
	Ephemeral []byte `json:"ephemeral,omitempty"`
	Nonce     []byte `json:"nonce,omitempty"`
	Signature []byte `json:"signature,omitempty"`
	MAC       []byte `json:"mac,omitempty"`
	UpTo      uint64 `json:"upto,omitempty"`
	Stored    uint64 `json:"stored,omitempty"`
	Code      string `json:"code,omitempty"`
	Message   string `json:"message,omitempty"`
	// Theta is a credential's show (TypeCredential).
	Theta []byte `json:"theta,omitempty"`
	// Balance is the client's bandwidth in bytes (TypeBandwidth); it is
	// negative while deliveries made since the balance ran out are owed.
	Balance int64 `json:"balance,omitempty"`
	// Granted is what the credential just accepted added (TypeBandwidth).
	Granted uint64 `json:"granted,omitempty"`
	// Operator is the chain address that redeems the credentials shown to
	// this gateway, which a show is bound to (TypeBandwidth).
	Operator string `json:"operator,omitempty"`
}

// ParseControl decodes a text frame. It checks only the shape (size, JSON,
// a known type, the fields that type needs with their exact sizes); the
// cryptographic checks are the handshake's.
func ParseControl(b []byte) (*Control, error) {
	if len(b) > MaxControlSize {
		return nil, fmt.Errorf("%w: control frame of %d bytes (max %d)", ErrBadFrame, len(b), MaxControlSize)
	}
	var c Control
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%w: control frame is not JSON: %v", ErrBadFrame, err)
	}
	for _, f := range []*[]byte{&c.Identity, &c.Gateway, &c.Ephemeral, &c.Nonce, &c.Signature, &c.MAC, &c.Theta} {
		if len(*f) == 0 {
			*f = nil // "" and absent mean the same
		}
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Control) check() error {
	need := func(name string, v []byte, size int) error {
		if len(v) != size {
			return fmt.Errorf("%w: %s: field %q has %d bytes, want %d", ErrBadFrame, c.Type, name, len(v), size)
		}
		return nil
	}
	version := func() error {
		if c.Version != ProtocolVersion {
			return fmt.Errorf("%w: %s: protocol version %d, this gateway speaks %d", ErrBadFrame, c.Type, c.Version, ProtocolVersion)
		}
		return nil
	}
	switch c.Type {
	case TypeChallenge:
		return errors.Join(version(), need("gateway", c.Gateway, IdentitySize), need("nonce", c.Nonce, ChallengeSize))
	case TypeRegisterInit:
		return errors.Join(version(), need("identity", c.Identity, IdentitySize), need("ephemeral", c.Ephemeral, EphemeralSize))
	case TypeRegisterChallenge:
		return errors.Join(need("gateway", c.Gateway, IdentitySize), need("ephemeral", c.Ephemeral, EphemeralSize),
			need("signature", c.Signature, ed25519.SignatureSize))
	case TypeRegisterFinish:
		return need("signature", c.Signature, ed25519.SignatureSize)
	case TypeRegistered, TypeAuthenticated:
		return need("mac", c.MAC, MACSize)
	case TypeAuthenticate:
		return errors.Join(version(), need("identity", c.Identity, IdentitySize), need("nonce", c.Nonce, NonceSize),
			need("mac", c.MAC, MACSize))
	case TypeAck:
		if c.UpTo == 0 {
			return fmt.Errorf("%w: ack: field \"upto\" missing or zero", ErrBadFrame)
		}
		return nil
	case TypeError:
		if c.Code == "" {
			return fmt.Errorf("%w: error: field \"code\" missing", ErrBadFrame)
		}
		if c.Nonce != nil {
			// The next credential nonce, after a refused credential.
			return need("nonce", c.Nonce, CredentialNonceSize)
		}
		return nil
	case TypeCredential:
		return errors.Join(need("theta", c.Theta, ThetaSize), need("nonce", c.Nonce, CredentialNonceSize))
	case TypeBandwidth:
		if c.Operator == "" || len(c.Operator) > MaxOperatorSize {
			return fmt.Errorf("%w: bandwidth: field \"operator\" of %d bytes (1 to %d)", ErrBadFrame, len(c.Operator), MaxOperatorSize)
		}
		return need("nonce", c.Nonce, CredentialNonceSize)
	case "":
		return fmt.Errorf("%w: control frame without a type", ErrBadFrame)
	default:
		return fmt.Errorf("%w: unknown control type %q", ErrBadFrame, Truncate(c.Type, 32))
	}
}

// Truncate shortens s, a string from the other side quoted in an error, to n
// bytes.
func Truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Marshal encodes c as a text frame.
func (c *Control) Marshal() []byte {
	b, err := json.Marshal(c)
	if err != nil {
		// Only unsupported types fail json.Marshal; Control has none.
		panic("gatewayproto: marshal control: " + err.Error())
	}
	return b
}

// Transcript is what both sides of a registration sign and derive the
// shared key from.
type Transcript struct {
	Gateway, Client                   [IdentitySize]byte
	ClientEphemeral, GatewayEphemeral [EphemeralSize]byte
	Challenge                         [ChallengeSize]byte // the gateway's, from "challenge"
}

// Hash returns SHA-256("nyx-gateway-v2 register" || gateway || client ||
// client ephemeral || gateway ephemeral || challenge).
func (t *Transcript) Hash() [sha256.Size]byte {
	b := make([]byte, 0, len(labelTranscript)+5*32)
	b = append(b, labelTranscript...)
	b = append(b, t.Gateway[:]...)
	b = append(b, t.Client[:]...)
	b = append(b, t.ClientEphemeral[:]...)
	b = append(b, t.GatewayEphemeral[:]...)
	b = append(b, t.Challenge[:]...)
	return sha256.Sum256(b)
}

func (t *Transcript) signed(label string) []byte {
	h := t.Hash()
	return append([]byte(label), h[:]...)
}

// GatewaySigningBytes is what the gateway signs with its identity key in
// register_challenge.
func (t *Transcript) GatewaySigningBytes() []byte { return t.signed(labelGatewaySig) }

// ClientSigningBytes is what the client signs with its identity key in
// register_finish.
func (t *Transcript) ClientSigningBytes() []byte { return t.signed(labelClientSig) }

// SharedKey derives the registration's shared key from the ephemeral
// Diffie-Hellman secret: HKDF-SHA256(ikm = dh, salt = transcript hash,
// info = "nyx-gateway-v2 shared-key").
func (t *Transcript) SharedKey(dh []byte) (SharedKey, error) {
	var k SharedKey
	h := t.Hash()
	out, err := hkdf.Key(sha256.New, dh, h[:], labelSharedKey, SharedKeySize)
	if err != nil {
		return k, fmt.Errorf("derive shared key: %w", err)
	}
	copy(k[:], out)
	return k, nil
}

// RegisteredMAC is the gateway's key confirmation in "registered".
func (t *Transcript) RegisteredMAC(k SharedKey) []byte {
	h := t.Hash()
	return mac(k, labelRegistered, h[:])
}

// AuthMAC is the client's MAC in "authenticate": over the gateway's
// challenge, so it is good for that connection only.
func AuthMAC(k SharedKey, gateway, client [IdentitySize]byte, challenge [ChallengeSize]byte, nonce [NonceSize]byte) []byte {
	return mac(k, labelAuthenticate, authFields(gateway, client, challenge, nonce))
}

// AuthenticatedMAC is the gateway's answer in "authenticated": proof that it
// holds the same key, over the client's nonce, so the client knows the
// answer is fresh too.
func AuthenticatedMAC(k SharedKey, gateway, client [IdentitySize]byte, challenge [ChallengeSize]byte, nonce [NonceSize]byte) []byte {
	return mac(k, labelAuthenticated, authFields(gateway, client, challenge, nonce))
}

func authFields(gateway, client [IdentitySize]byte, challenge [ChallengeSize]byte, nonce [NonceSize]byte) []byte {
	b := make([]byte, 0, 2*IdentitySize+ChallengeSize+NonceSize)
	b = append(b, gateway[:]...)
	b = append(b, client[:]...)
	b = append(b, challenge[:]...)
	return append(b, nonce[:]...)
}

func mac(k SharedKey, label string, msg []byte) []byte {
	m := hmac.New(sha256.New, k[:])
	m.Write([]byte(label))
	m.Write(msg)
	return m.Sum(nil)
}

// X25519 computes the ephemeral Diffie-Hellman secret, refusing a peer key
// that gives the all-zero secret (a low-order point).
func X25519(priv *ecdh.PrivateKey, peer []byte) ([]byte, error) {
	pub, err := ecdh.X25519().NewPublicKey(peer)
	if err != nil {
		return nil, fmt.Errorf("%w: ephemeral key: %v", ErrBadFrame, err)
	}
	s, err := priv.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: ephemeral key: %v", ErrBadFrame, err)
	}
	return s, nil
}

// ForwardFrame is a client's binary frame: the layer-1 node's identity and
// the Sphinx packet to send it.
func ForwardFrame(next [NextHopSize]byte, packet []byte) []byte {
	b := make([]byte, 0, NextHopSize+len(packet))
	b = append(b, next[:]...)
	return append(b, packet...)
}

// ParseForwardFrame splits a client's binary frame. The packet must have
// the length of a standard Sphinx geometry.
func ParseForwardFrame(b []byte) (next [NextHopSize]byte, packet []byte, err error) {
	if len(b) < NextHopSize {
		return next, nil, fmt.Errorf("%w: binary frame of %d bytes is shorter than a next-hop identity", ErrBadFrame, len(b))
	}
	packet = b[NextHopSize:]
	if _, err := sphinx.GeometryForPacketSize(len(packet)); err != nil {
		return next, nil, fmt.Errorf("%w: packet of %d bytes is no Sphinx packet size", ErrBadFrame, len(packet))
	}
	copy(next[:], b)
	return next, packet, nil
}

// DeliveryFrame is a gateway's binary frame: a message id and a payload.
func DeliveryFrame(id uint64, payload []byte) []byte {
	b := make([]byte, MessageIDSize, MessageIDSize+len(payload))
	binary.BigEndian.PutUint64(b, id)
	return append(b, payload...)
}

// ParseDeliveryFrame splits a gateway's binary frame.
func ParseDeliveryFrame(b []byte) (id uint64, payload []byte, err error) {
	if len(b) < MessageIDSize {
		return 0, nil, fmt.Errorf("%w: delivery frame of %d bytes", ErrBadFrame, len(b))
	}
	id = binary.BigEndian.Uint64(b)
	if id == 0 {
		return 0, nil, fmt.Errorf("%w: delivery frame with message id 0", ErrBadFrame)
	}
	return id, b[MessageIDSize:], nil
}
