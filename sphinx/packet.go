package sphinx

import (
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/cloudflare/circl/dh/x25519"
)

// NodeAddress names a mix node or gateway in routing information: its
// 32-byte ed25519 identity key, as bonded on chain.
type NodeAddress [NodeAddressSize]byte

// DestinationAddress names the client a packet is delivered to at the final
// hop: the client's 32-byte ed25519 identity key.
type DestinationAddress [DestinationAddressSize]byte

// Identifier is a 16-byte value the sender gives the final hop along with the
// destination. For a SURB it is how the SURB's creator recognizes the reply.
type Identifier [IdentifierSize]byte

func (a NodeAddress) String() string        { return hex.EncodeToString(a[:]) }
func (a DestinationAddress) String() string { return hex.EncodeToString(a[:]) }
func (id Identifier) String() string        { return hex.EncodeToString(id[:]) }

// Hop is one node on a route.
type Hop struct {
	// Address is the node's identity. The previous hop forwards to it; the
	// sender sends the packet to the first hop's Address itself.
	Address NodeAddress
	// PublicKey is the node's current Sphinx key.
	PublicKey *PublicKey
	// Delay is how long this node holds the packet before it forwards or
	// delivers it. It must not be negative.
	Delay time.Duration
}

// Destination is what the final hop learns: whom to deliver to, and an
// identifier for the recipient.
type Destination struct {
	Address    DestinationAddress
	Identifier Identifier
}

// Routing record flags.
const (
	flagForward byte = 0x01
	flagFinal   byte = 0x02
)

// Offsets inside a routing record: flag | address | delay | tail.
const (
	recAddr  = flagSize
	recDelay = recAddr + NodeAddressSize
	recTail  = recDelay + DelaySize
)

// payloadKeys holds the payload key of every hop of a route.
type payloadKeys [MaxHopsLimit][PayloadKeySize]byte

// NewPacket creates a packet that travels route and is delivered to dst
// carrying message, which is at most g.PayloadSize bytes (shorter messages are
// padded with zero bytes; the final hop returns all PayloadSize bytes, so a
// caller that needs the exact length frames the message itself). Send the
// packet to route[0].Address.
//
// It reads 32 bytes (the ephemeral key) and then (g.MaxHops-len(route)) ×
// RoutingRecordSize bytes (padding) from rand, and nothing else.
func (g Geometry) NewPacket(rand io.Reader, route []Hop, dst Destination, message []byte) ([]byte, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	if len(message) > g.PayloadSize {
		return nil, fmt.Errorf("%w: %d bytes, the %s carries %d", ErrMessageSize, len(message), g, g.PayloadSize)
	}
	packet := make([]byte, g.PacketSize())
	var keys payloadKeys
	if err := g.buildHeader(rand, route, &dst, packet[:g.HeaderSize()], &keys); err != nil {
		return nil, err
	}
	payload := packet[g.HeaderSize():]
	copy(payload[IntegritySize:], message)
	encryptPayload(payload, keys[:len(route)])
	return packet, nil
}

// encryptPayload applies the hops' LIONESS layers, last hop innermost, so
// that each hop's decryption removes one.
func encryptPayload(payload []byte, keys [][PayloadKeySize]byte) {
	for i := len(keys) - 1; i >= 0; i-- {
		lionessEncrypt(&keys[i], payload)
	}
}

func (g Geometry) checkRoute(route []Hop) error {
	if len(route) < 1 || len(route) > g.MaxHops {
		return fmt.Errorf("%w: %d hops, want 1..%d", ErrRoute, len(route), g.MaxHops)
	}
	for i := range route {
		if route[i].PublicKey == nil {
			return fmt.Errorf("%w: hop %d has no public key", ErrRoute, i)
		}
		if route[i].Delay < 0 {
			return fmt.Errorf("%w: hop %d has negative delay %v", ErrRoute, i, route[i].Delay)
		}
	}
	return nil
}

// buildHeader writes the header for route and dst into header (HeaderSize
// bytes) and the hops' payload keys into keys.
//
// With x the ephemeral scalar, r = MaxHops, t = RoutingRecordSize,
// L = r·t and n = len(route), hop i (0-based) has
//
//	alpha_0 = X25519(x, 9)                  alpha_{i+1} = X25519(b_i, alpha_i)
//	s_i = X25519(b_{i-1}, … X25519(b_0, X25519(x, pub_i)) …)
//
// where b_i is hop i's blinding key (X25519 clamps x and every b_i, on both
// sides). Since clamped scalars commute, s_i equals X25519(priv_i, alpha_i),
// what hop i computes. The sender pays i+1 multiplications for s_i; a hop
// pays one for s_i and one for alpha_{i+1}.
func (g Geometry) buildHeader(rand io.Reader, route []Hop, dst *Destination, header []byte, keys *payloadKeys) error {
	if err := g.checkRoute(route); err != nil {
		return err
	}
	if rand == nil {
		return fmt.Errorf("%w: nil random source", ErrRoute)
	}
	n, t, L := len(route), RoutingRecordSize, g.RoutingInfoSize()

	var x x25519.Key
	if _, err := io.ReadFull(rand, x[:]); err != nil {
		return fmt.Errorf("sphinx: read ephemeral key: %w", err)
	}
	padding := make([]byte, (g.MaxHops-n)*t)
	if _, err := io.ReadFull(rand, padding); err != nil {
		return fmt.Errorf("sphinx: read routing padding: %w", err)
	}

	hk := make([]hopKeys, n)
	var alpha, alpha0 x25519.Key
	x25519.KeyGen(&alpha, &x)
	alpha0 = alpha
	for i := range route {
		var s x25519.Key
		if !dh(&s, &x, &route[i].PublicKey.point) {
			return fmt.Errorf("%w: hop %d's key gives an all-zero shared secret", ErrInvalidKey, i)
		}
		for j := 0; j < i; j++ {
			var blinded x25519.Key
			if !dh(&blinded, (*x25519.Key)(&hk[j].blinding), &s) {
				return fmt.Errorf("%w: blinding for hop %d failed", ErrInvalidKey, i)
			}
			s = blinded
		}
		deriveHopKeys(&hk[i], (*[32]byte)(&alpha), (*[32]byte)(&s))
		keys[i] = hk[i].payload
		if i+1 < n {
			var next x25519.Key
			if !dh(&next, (*x25519.Key)(&hk[i].blinding), &alpha) {
				return fmt.Errorf("%w: blinding the group element for hop %d failed", ErrInvalidKey, i+1)
			}
			alpha = next
		}
	}

	// Each hop's keystream covers its routing information plus the one
	// record of zeros it appends before shifting.
	streams := make([]byte, n*(L+t)+ctrScratchSize)
	scratch := streams[n*(L+t):]
	stream := func(i int) []byte { return streams[i*(L+t) : (i+1)*(L+t)] }
	for i := range hk {
		var c ctrStream
		newCTRStream(&c, &hk[i].headerStream, scratch)
		ks := stream(i)
		c.xor(ks, ks)
	}

	// The filler is what the shifts of hops 0..n-2 leave at the end of the
	// routing information; the sender must predict it so the MACs cover it.
	filler := make([]byte, (n-1)*t)
	for i := 1; i < n; i++ {
		f := filler[:i*t] // phi_{i-1} || 0^t, then XOR with hop i-1's stream tail
		subtle.XORBytes(f, f, stream(i - 1)[L-(i-1)*t:L+t])
	}

	// The final hop's routing information: its record, random padding, then
	// the filler, all but the filler encrypted with its stream.
	beta := make([]byte, L)
	head := L - (n-1)*t
	putRecord(beta[:t], flagFinal, dst.Address[:], route[n-1].Delay, dst.Identifier[:])
	copy(beta[t:head], padding)
	subtle.XORBytes(beta[:head], beta[:head], stream(n - 1)[:head])
	copy(beta[head:], filler)
	var mac [MACSize]byte
	headerMAC(&mac, &hk[n-1].headerMAC, beta)

	// Wrap outwards: hop i's record names hop i+1 and carries its MAC.
	next := make([]byte, L)
	for i := n - 2; i >= 0; i-- {
		putRecord(next[:t], flagForward, route[i+1].Address[:], route[i].Delay, mac[:])
		copy(next[t:], beta[:L-t])
		subtle.XORBytes(next, next, stream(i)[:L])
		beta, next = next, beta
		headerMAC(&mac, &hk[i].headerMAC, beta)
	}

	copy(header[:GroupElementSize], alpha0[:])
	copy(header[g.betaStart():g.gammaStart()], beta)
	copy(header[g.gammaStart():], mac[:])
	return nil
}

func putRecord(rec []byte, flag byte, addr []byte, delay time.Duration, tail []byte) {
	rec[0] = flag
	copy(rec[recAddr:recDelay], addr)
	binary.BigEndian.PutUint64(rec[recDelay:recTail], uint64(delay))
	copy(rec[recTail:RoutingRecordSize], tail)
}
