package sphinx

import (
	"errors"
	"fmt"
)

// Fixed sizes of the format, in bytes. Every other size is derived from these
// and from a Geometry.
const (
	// SecurityParameter is k: 16 bytes (128 bits). It is the size of the
	// header MAC, of the payload's integrity prefix and of an Identifier.
	SecurityParameter = 16

	// GroupElementSize is the size of the header's group element: an X25519
	// u-coordinate.
	GroupElementSize = 32

	// KeySize is the size of an X25519 private or public key.
	KeySize = 32

	// NodeAddressSize is the size of a NodeAddress: the 32-byte ed25519
	// identity key of a mix node or gateway.
	NodeAddressSize = 32

	// DestinationAddressSize is the size of a DestinationAddress: the 32-byte
	// ed25519 identity key of the receiving client.
	DestinationAddressSize = 32

	// IdentifierSize is the size of an Identifier carried to the final hop.
	IdentifierSize = SecurityParameter

	// DelaySize is the size of a per-hop delay: a big-endian uint64 count of
	// nanoseconds.
	DelaySize = 8

	// MACSize is the size of the header MAC: HMAC-SHA256 truncated to k.
	MACSize = SecurityParameter

	// IntegritySize is the size of the all-zero prefix that the sender puts
	// in front of the message and the final hop checks.
	IntegritySize = SecurityParameter

	// RoutingRecordSize is the size of one hop's record in the routing
	// information: a flag byte, an address, a delay and a 16-byte tail (the
	// next hop's MAC, or the Identifier at the final hop).
	RoutingRecordSize = flagSize + NodeAddressSize + DelaySize + MACSize

	// ReplayTagSize is the size of a ReplayTag.
	ReplayTagSize = SecurityParameter

	// PayloadKeySize is the size of one hop's payload key (the LIONESS key
	// from which its four subkeys are expanded).
	PayloadKeySize = 32

	flagSize = 1
)

// A final-hop record has the same layout as a forward record, with the
// destination in the address field and the identifier in the MAC field.
// The two declarations below fail to compile if that stops being true.
var (
	_ [RoutingRecordSize - (flagSize + DestinationAddressSize + DelaySize + IdentifierSize)]struct{}
	_ [(flagSize + DestinationAddressSize + DelaySize + IdentifierSize) - RoutingRecordSize]struct{}
)

// Bounds on a Geometry. They keep every derived size well inside an int and
// every packet well inside what a node would want to buffer.
const (
	// MaxHopsLimit is the largest MaxHops a Geometry may have.
	MaxHopsLimit = 32
	// MinPayloadSize is the smallest PayloadSize a Geometry may have: the
	// payload block must be larger than one LIONESS half (32 bytes).
	MinPayloadSize = 17
	// MaxPayloadSize is the largest PayloadSize a Geometry may have (1 MiB).
	MaxPayloadSize = 1 << 20
)

// Geometry is the one value from which every size of the format is derived:
// the number of hops a header has room for and the number of message bytes a
// payload carries. Packets of one Geometry all have the same length.
//
// A Geometry is a plain value; the zero Geometry is invalid. The standard
// geometries are Regular, Ack, Extended8, Extended16 and Extended32.
type Geometry struct {
	// MaxHops is the number of routing records in a header (r). A route may
	// have 1..MaxHops hops.
	MaxHops int
	// PayloadSize is the number of message bytes a packet carries.
	PayloadSize int
}

// The standard geometries. All have room for 5 hops; they differ in payload.
// Treat them as constants.
var (
	// Regular carries 2048 bytes: the packet of ordinary traffic.
	Regular = Geometry{MaxHops: 5, PayloadSize: 2 * 1024}
	// Ack carries 32 bytes: enough for a 16-byte nonce and a 16-byte
	// encrypted fragment identifier sent back to the sender as an ack.
	Ack = Geometry{MaxHops: 5, PayloadSize: 32}
	// Extended8 carries 8 KiB.
	Extended8 = Geometry{MaxHops: 5, PayloadSize: 8 * 1024}
	// Extended16 carries 16 KiB.
	Extended16 = Geometry{MaxHops: 5, PayloadSize: 16 * 1024}
	// Extended32 carries 32 KiB.
	Extended32 = Geometry{MaxHops: 5, PayloadSize: 32 * 1024}
)

// StandardGeometries returns the standard geometries, smallest packet first.
func StandardGeometries() []Geometry {
	return []Geometry{Ack, Regular, Extended8, Extended16, Extended32}
}

// GeometryForPacketSize returns the standard geometry whose packets are n
// bytes long. A node uses it to pick the geometry of a packet it received.
func GeometryForPacketSize(n int) (Geometry, error) {
	for _, g := range StandardGeometries() {
		if g.PacketSize() == n {
			return g, nil
		}
	}
	return Geometry{}, fmt.Errorf("%w: no standard geometry has %d-byte packets", ErrPacketSize, n)
}

// Validate reports whether g is a usable geometry.
func (g Geometry) Validate() error {
	if g.MaxHops < 1 || g.MaxHops > MaxHopsLimit {
		return fmt.Errorf("%w: MaxHops %d is outside 1..%d", ErrGeometry, g.MaxHops, MaxHopsLimit)
	}
	if g.PayloadSize < MinPayloadSize || g.PayloadSize > MaxPayloadSize {
		return fmt.Errorf("%w: PayloadSize %d is outside %d..%d", ErrGeometry, g.PayloadSize, MinPayloadSize, MaxPayloadSize)
	}
	return nil
}

func (g Geometry) valid() bool {
	return g.MaxHops >= 1 && g.MaxHops <= MaxHopsLimit &&
		g.PayloadSize >= MinPayloadSize && g.PayloadSize <= MaxPayloadSize
}

// RoutingInfoSize is the size of the header's encrypted routing information
// (beta): MaxHops records.
func (g Geometry) RoutingInfoSize() int { return g.MaxHops * RoutingRecordSize }

// HeaderSize is the size of a header: group element, routing information
// and MAC.
func (g Geometry) HeaderSize() int {
	return GroupElementSize + g.RoutingInfoSize() + MACSize
}

// WirePayloadSize is the size of the encrypted payload that follows the
// header: the integrity prefix and the message.
func (g Geometry) WirePayloadSize() int { return IntegritySize + g.PayloadSize }

// PacketSize is the size of every packet of this geometry, at every hop.
func (g Geometry) PacketSize() int { return g.HeaderSize() + g.WirePayloadSize() }

// SURBSize is the size of a serialized SURB: a hop count, the first hop's
// address, a header and MaxHops payload keys.
func (g Geometry) SURBSize() int {
	return 1 + NodeAddressSize + g.HeaderSize() + g.MaxHops*PayloadKeySize
}

// String describes g, naming the standard geometries.
func (g Geometry) String() string {
	name := "custom"
	switch g {
	case Regular:
		name = "regular"
	case Ack:
		name = "ack"
	case Extended8:
		name = "extended8"
	case Extended16:
		name = "extended16"
	case Extended32:
		name = "extended32"
	}
	return fmt.Sprintf("%s(%d hops, %d-byte payload, %d-byte packet)", name, g.MaxHops, g.PayloadSize, g.PacketSize())
}

// Offsets of the header fields inside a packet.
func (g Geometry) betaStart() int  { return GroupElementSize }
func (g Geometry) gammaStart() int { return GroupElementSize + g.RoutingInfoSize() }

// Errors. Every error the package returns wraps one of these, so callers can
// sort failures with errors.Is.
var (
	// ErrGeometry: the Geometry is invalid.
	ErrGeometry = errors.New("sphinx: invalid geometry")
	// ErrPacketSize: a packet, header or SURB has the wrong length.
	ErrPacketSize = errors.New("sphinx: wrong packet size")
	// ErrInvalidKey: a key or group element is malformed, not canonical,
	// not on the curve, or of low order.
	ErrInvalidKey = errors.New("sphinx: invalid key")
	// ErrMAC: the header MAC did not verify. Nothing in the packet is
	// trusted and nothing was changed.
	ErrMAC = errors.New("sphinx: header MAC mismatch")
	// ErrRoutingInfo: a verified routing record is unusable (unknown flag,
	// delay out of range). Only the sender can cause it.
	ErrRoutingInfo = errors.New("sphinx: malformed routing information")
	// ErrPayloadIntegrity: the payload at the final hop failed its integrity
	// check: it was modified somewhere on the way.
	ErrPayloadIntegrity = errors.New("sphinx: payload integrity check failed")
	// ErrReplay: ProcessHopFiltered's filter has seen the packet's replay
	// tag: the packet is a replay (or, rarely, a false positive).
	ErrReplay = errors.New("sphinx: replayed packet")
	// ErrRoute: a route given to NewPacket or NewSURB is unusable.
	ErrRoute = errors.New("sphinx: invalid route")
	// ErrMessageSize: a message is longer than the geometry's PayloadSize.
	ErrMessageSize = errors.New("sphinx: message too long")
	// ErrSURB: a SURB is malformed or does not fit the geometry.
	ErrSURB = errors.New("sphinx: invalid SURB")
)
