package sphinx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/cloudflare/circl/dh/x25519"
)

// Action says what a node does with a processed packet.
type Action uint8

const (
	// Forward: send Result.Packet to Result.NextHop after Result.Delay.
	Forward Action = iota + 1
	// Deliver: this was the final hop; hand Result.Payload to
	// Result.Destination (with Result.Identifier) after Result.Delay.
	Deliver
)

func (a Action) String() string {
	switch a {
	case Forward:
		return "forward"
	case Deliver:
		return "deliver"
	default:
		return fmt.Sprintf("Action(%d)", uint8(a))
	}
}

// Result is the outcome of processing one hop.
type Result struct {
	Action Action
	// ReplayTag identifies this packet at this node; check it against the
	// node's ReplayFilter and drop the packet if it was seen.
	ReplayTag ReplayTag
	// Delay is how long to hold the packet, as the sender chose.
	Delay time.Duration

	// NextHop and Packet are set for Forward. Packet is the next packet,
	// of the same length as the one processed.
	NextHop NodeAddress
	Packet  []byte

	// Destination, Identifier and Payload are set for Deliver. Payload is
	// the message, PayloadSize bytes (padded as the sender padded it).
	Destination DestinationAddress
	Identifier  Identifier
	Payload     []byte
}

// ProcessHop processes packet with the node's private key and returns what to
// do with it. packet is not modified; the next packet or the payload is in a
// new buffer. It costs two X25519 multiplications (one at the final hop) and
// two allocations: the output and the AES key schedule.
//
// The header MAC is checked before anything else in the packet is used; if it
// fails, ProcessHop returns an error wrapping ErrMAC and has changed nothing.
// A replay is not detected here: check Result.ReplayTag.
func (g Geometry) ProcessHop(key *PrivateKey, packet []byte) (Result, error) {
	var st hopState
	if err := g.open(key, packet, &st); err != nil {
		return Result{}, err
	}
	out := make([]byte, len(packet))
	copy(out, packet)
	return g.unwrap(&st, out)
}

// ProcessHopInto is ProcessHop writing its output into dst, which must be at
// least g.PacketSize() bytes and may be packet itself (processing in place)
// or overlap it. Result.Packet and Result.Payload are slices of dst. It costs
// one allocation (the AES key schedule).
//
// If the MAC fails, dst is untouched. If a later check fails (only possible
// for a packet its sender built wrongly, or one modified on the way, which
// the final hop detects), dst holds partly processed bytes to be discarded.
func (g Geometry) ProcessHopInto(dst []byte, key *PrivateKey, packet []byte) (Result, error) {
	if g.valid() && len(packet) == g.PacketSize() && len(dst) < g.PacketSize() {
		return Result{}, fmt.Errorf("%w: output buffer is %d bytes, want %d", ErrPacketSize, len(dst), g.PacketSize())
	}
	var st hopState
	if err := g.open(key, packet, &st); err != nil {
		return Result{}, err
	}
	dst = dst[:len(packet)]
	copy(dst, packet)
	return g.unwrap(&st, dst)
}

// ProcessHopFiltered is ProcessHopInto with the replay check built in, at
// the cheapest safe moment: after the MAC has verified (so only genuine
// packets reach the filter) and before the blinding multiplication and the
// payload work (so a replay costs one multiplication). A packet whose tag
// the filter has seen gives ErrReplay and leaves dst untouched; otherwise
// the tag is added and processing goes on. This is what a node's worker
// calls.
func (g Geometry) ProcessHopFiltered(dst []byte, key *PrivateKey, packet []byte, filter *ReplayFilter) (Result, error) {
	if filter == nil {
		return Result{}, errors.New("sphinx: nil replay filter")
	}
	if g.valid() && len(packet) == g.PacketSize() && len(dst) < g.PacketSize() {
		return Result{}, fmt.Errorf("%w: output buffer is %d bytes, want %d", ErrPacketSize, len(dst), g.PacketSize())
	}
	var st hopState
	if err := g.open(key, packet, &st); err != nil {
		return Result{}, err
	}
	if filter.TestAndAdd(st.keys.replayTag) {
		return Result{}, ErrReplay
	}
	dst = dst[:len(packet)]
	copy(dst, packet)
	return g.unwrap(&st, dst)
}

// hopState carries what open learned to unwrap.
type hopState struct {
	keys  hopKeys
	alpha x25519.Key
}

// open checks the packet's size and group element, derives the hop keys and
// verifies the header MAC. It reads packet and writes nothing to it.
func (g Geometry) open(key *PrivateKey, packet []byte, st *hopState) error {
	if !g.valid() {
		return g.Validate()
	}
	if key == nil {
		return fmt.Errorf("%w: nil private key", ErrInvalidKey)
	}
	if len(packet) != g.PacketSize() {
		return fmt.Errorf("%w: %d bytes, the %s has %d", ErrPacketSize, len(packet), g, g.PacketSize())
	}
	copy(st.alpha[:], packet[:GroupElementSize])
	var s x25519.Key
	if !dh(&s, &key.scalar, &st.alpha) {
		return fmt.Errorf("%w: group element of low order", ErrInvalidKey)
	}
	deriveHopKeys(&st.keys, (*[32]byte)(&st.alpha), (*[32]byte)(&s))
	var mac [MACSize]byte
	headerMAC(&mac, &st.keys.headerMAC, packet[g.betaStart():g.gammaStart()])
	if !macEqual(&mac, packet[g.gammaStart():g.HeaderSize()]) {
		return ErrMAC
	}
	return nil
}

// unwrap turns the verified packet in buf into the next packet (or the
// payload) in place.
func (g Geometry) unwrap(st *hopState, buf []byte) (Result, error) {
	t, L := RoutingRecordSize, g.RoutingInfoSize()
	beta := buf[g.betaStart():g.gammaStart()]

	// The group-element field is scratch for the stream until the next
	// group element is written over it (or, at the final hop, cleared).
	scratch := buf[:GroupElementSize]
	var stream ctrStream
	newCTRStream(&stream, &st.keys.headerStream, scratch)
	var rec [RoutingRecordSize]byte
	stream.xor(rec[:], beta[:t])

	delay := binary.BigEndian.Uint64(rec[recDelay:recTail])
	if delay > math.MaxInt64 {
		clear(scratch)
		return Result{}, fmt.Errorf("%w: delay %d ns does not fit a time.Duration", ErrRoutingInfo, delay)
	}
	res := Result{ReplayTag: st.keys.replayTag, Delay: time.Duration(delay)}
	payload := buf[g.HeaderSize():]

	switch rec[0] {
	case flagForward:
		var next x25519.Key
		if !dh(&next, (*x25519.Key)(&st.keys.blinding), &st.alpha) {
			clear(scratch)
			return Result{}, fmt.Errorf("%w: blinded group element is of low order", ErrInvalidKey)
		}
		// Shift out this hop's record, append a record of zeros, decrypt:
		// beta' = (beta[t:] || 0^t) XOR stream[t : L+t].
		copy(beta, beta[t:])
		clear(beta[L-t:])
		stream.xor(beta, beta)
		copy(buf[:GroupElementSize], next[:])
		copy(buf[g.gammaStart():g.HeaderSize()], rec[recTail:])
		lionessDecrypt(&st.keys.payload, payload)
		res.Action = Forward
		copy(res.NextHop[:], rec[recAddr:recDelay])
		res.Packet = buf
		return res, nil

	case flagFinal:
		clear(scratch)
		lionessDecrypt(&st.keys.payload, payload)
		if !isZero(payload[:IntegritySize]) {
			return Result{}, ErrPayloadIntegrity
		}
		res.Action = Deliver
		copy(res.Destination[:], rec[recAddr:recDelay])
		copy(res.Identifier[:], rec[recTail:])
		res.Payload = payload[IntegritySize:]
		return res, nil

	default:
		clear(scratch)
		return Result{}, fmt.Errorf("%w: unknown flag 0x%02x", ErrRoutingInfo, rec[0])
	}
}

// The group-element field must hold the stream's scratch.
var _ [GroupElementSize - ctrScratchSize]struct{}
