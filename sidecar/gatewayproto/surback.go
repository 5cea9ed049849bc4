package gatewayproto

import (
	"fmt"

	"github.com/nyx-privacy/nyx/sphinx"
)

// Every payload a final hop (a gateway) takes for one of its clients, other
// than an acknowledgement, starts with a SURB-ACK: a complete ack-size
// Sphinx packet the sender made, routed through the mix layers back to the
// sender, and the identity of its first hop. The gateway sends it on when
// it has the payload (pushed to the client or stored), so the sender learns
// that its packet arrived, and delivers the rest to its client:
//
//	final-hop payload = first hop (32) || ack packet (sphinx.Ack.PacketSize()) || content
//
// A payload of exactly sphinx.Ack.PayloadSize bytes is an acknowledgement
// coming back (the final hop of a SURB-ACK) and is delivered whole. Acks,
// real and for loop cover alike, are the only packets of the ack size class,
// and every packet of the other classes carries one, so neither their size
// nor their presence tells a message from cover.

// SURBAckSize is the prefix a SURB-ACK takes in a payload.
var SURBAckSize = NextHopSize + sphinx.Ack.PacketSize()

// AckPayloadSize is the size of a payload that is an acknowledgement.
var AckPayloadSize = sphinx.Ack.PayloadSize

// ContentSize is what a payload of payloadSize bytes carries besides its
// SURB-ACK (negative if it has no room for one).
func ContentSize(payloadSize int) int { return payloadSize - SURBAckSize }

// IsAck reports whether a final-hop payload is an acknowledgement.
func IsAck(payload []byte) bool { return len(payload) == AckPayloadSize }

// JoinSURBAck lays out a payload: the SURB-ACK's first hop and packet, then
// content.
func JoinSURBAck(first [NextHopSize]byte, ack, content []byte) ([]byte, error) {
	if len(ack) != sphinx.Ack.PacketSize() {
		return nil, fmt.Errorf("%w: SURB-ACK of %d bytes, an ack packet has %d", ErrBadFrame, len(ack), sphinx.Ack.PacketSize())
	}
	b := make([]byte, 0, SURBAckSize+len(content))
	b = append(b, first[:]...)
	b = append(b, ack...)
	return append(b, content...), nil
}

// SplitSURBAck splits a final-hop payload that is not an acknowledgement
// into its SURB-ACK (first hop and packet) and content. The slices alias
// payload.
func SplitSURBAck(payload []byte) (first [NextHopSize]byte, ack, content []byte, err error) {
	if IsAck(payload) || len(payload) < SURBAckSize {
		return first, nil, nil, fmt.Errorf("%w: a payload of %d bytes carries no SURB-ACK", ErrBadFrame, len(payload))
	}
	copy(first[:], payload)
	return first, payload[NextHopSize:SURBAckSize], payload[SURBAckSize:], nil
}
