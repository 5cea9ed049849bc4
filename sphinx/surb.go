package sphinx

import (
	"fmt"
	"io"

	"github.com/cloudflare/circl/dh/x25519"
)

// SURB is a single-use reply block: a header for a route that ends at its
// creator, the route's first hop, and the payload keys of its hops. The
// creator gives it (inside a message) to a correspondent, who can then send
// one packet back with NewReply without learning the route or the creator's
// address. The reply is built exactly like a forward packet, so no hop,
// the final one included, can tell it from one.
//
// A SURB is single-use because its header is fixed: a second reply made from
// it has the same replay tag at every hop and is dropped by the first.
type SURB struct {
	maxHops  int
	firstHop NodeAddress
	header   []byte
	keys     [][PayloadKeySize]byte
}

// NewSURB creates a SURB for route, ending at dst (the creator's own address
// and an identifier it will recognize the reply by). It reads randomness
// exactly as NewPacket does. The creator keeps nothing: the final hop
// decrypts and checks the reply like any packet.
func (g Geometry) NewSURB(rand io.Reader, route []Hop, dst Destination) (*SURB, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	s := &SURB{maxHops: g.MaxHops, header: make([]byte, g.HeaderSize())}
	var keys payloadKeys
	if err := g.buildHeader(rand, route, &dst, s.header, &keys); err != nil {
		return nil, err
	}
	s.firstHop = route[0].Address
	s.keys = append([][PayloadKeySize]byte(nil), keys[:len(route)]...)
	return s, nil
}

// FirstHop is the node the reply must be sent to.
func (s *SURB) FirstHop() NodeAddress { return s.firstHop }

// Hops is the length of the SURB's route.
func (s *SURB) Hops() int { return len(s.keys) }

// NewReply creates the reply packet carrying message (at most g.PayloadSize
// bytes, zero-padded). Send it to s.FirstHop(). g must have the MaxHops the
// SURB was made for; its PayloadSize is the replier's choice.
func (g Geometry) NewReply(s *SURB, message []byte) ([]byte, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	if s == nil || s.maxHops != g.MaxHops || len(s.header) != g.HeaderSize() || len(s.keys) < 1 || len(s.keys) > g.MaxHops {
		return nil, fmt.Errorf("%w: SURB does not fit the %s", ErrSURB, g)
	}
	if len(message) > g.PayloadSize {
		return nil, fmt.Errorf("%w: %d bytes, the %s carries %d", ErrMessageSize, len(message), g, g.PayloadSize)
	}
	packet := make([]byte, g.PacketSize())
	copy(packet, s.header)
	payload := packet[g.HeaderSize():]
	copy(payload[IntegritySize:], message)
	encryptPayload(payload, s.keys)
	return packet, nil
}

// MarshalBinary encodes the SURB in g.SURBSize() bytes:
//
//	hops (1) | first hop (32) | header (HeaderSize) | MaxHops payload keys (32 each; unused ones zero)
func (s *SURB) MarshalBinary() ([]byte, error) {
	g := Geometry{MaxHops: s.maxHops, PayloadSize: MinPayloadSize}
	if s.maxHops < 1 || s.maxHops > MaxHopsLimit || len(s.header) != g.HeaderSize() || len(s.keys) < 1 || len(s.keys) > s.maxHops {
		return nil, fmt.Errorf("%w: incomplete SURB", ErrSURB)
	}
	b := make([]byte, 0, g.SURBSize())
	b = append(b, byte(len(s.keys)))
	b = append(b, s.firstHop[:]...)
	b = append(b, s.header...)
	for i := 0; i < s.maxHops; i++ {
		var k [PayloadKeySize]byte
		if i < len(s.keys) {
			k = s.keys[i]
		}
		b = append(b, k[:]...)
	}
	return b, nil
}

// ParseSURB decodes a SURB made for a geometry with g's MaxHops. It refuses
// a wrong length, a hop count outside 1..MaxHops, non-zero unused key slots
// and an invalid group element.
func (g Geometry) ParseSURB(b []byte) (*SURB, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	if len(b) != g.SURBSize() {
		return nil, fmt.Errorf("%w: %d bytes, the %s has %d", ErrSURB, len(b), g, g.SURBSize())
	}
	hops := int(b[0])
	if hops < 1 || hops > g.MaxHops {
		return nil, fmt.Errorf("%w: %d hops, want 1..%d", ErrSURB, hops, g.MaxHops)
	}
	s := &SURB{maxHops: g.MaxHops}
	off := 1
	copy(s.firstHop[:], b[off:off+NodeAddressSize])
	off += NodeAddressSize
	s.header = append([]byte(nil), b[off:off+g.HeaderSize()]...)
	off += g.HeaderSize()
	var alpha x25519.Key
	copy(alpha[:], s.header[:GroupElementSize])
	if err := checkPoint(&alpha); err != nil {
		return nil, fmt.Errorf("%w: group element: %w", ErrSURB, err)
	}
	s.keys = make([][PayloadKeySize]byte, hops)
	for i := 0; i < g.MaxHops; i++ {
		k := b[off : off+PayloadKeySize]
		off += PayloadKeySize
		if i < hops {
			copy(s.keys[i][:], k)
		} else if !isZero(k) {
			return nil, fmt.Errorf("%w: unused payload key slot %d is not zero", ErrSURB, i)
		}
	}
	return s, nil
}
