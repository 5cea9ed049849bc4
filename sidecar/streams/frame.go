// Package streams carries TCP-like byte streams over mixnet messages:
// the protocol between the SOCKS5 client (sidecar/socks5) and the network
// requester (sidecar/requester). Each message is one frame:
//
//	kind (1) ‖ stream id (8) ‖ sequence number (4) ‖ body
//
// A stream id is chosen at random by the client. Each direction of a stream
// numbers its ordered frames from 0: the client's Open (body: port (2) ‖
// host length (1) ‖ host) and the requester's Connected are number 0, then
// Data frames, then at most one EOF (half-close: no more data this way).
// Messages take different routes through the mixnet and arrive in any
// order; the receiver holds frames that come early (at most Window of them)
// and applies them in order, dropping duplicates. Close (the stream torn
// down), Error (with a Reason the SOCKS5 client turns into its reply code),
// Ping and Pong act at once, whatever their number. A stream ends when both
// sides have sent EOF, or at a Close or Error. A side that hears nothing of
// a stream for its quiet timeout ends it; the client pings streams that are
// quiet so that the requester, if it has restarted and lost them, says so
// with Error(ReasonUnknownStream) instead of leaving the app hanging.
//
// The streams run over a small transport (ClientTransport,
// ServiceTransport); NewMixnetClientTransport and NewMixnetServiceTransport
// implement it over a nym-client with anonymous messages: the client sends
// each frame with its sender tag (and reply SURBs) instead of its address,
// the requester replies to the tag over the SURBs, and never learns whom it
// serves. The SURBs are the requester's window: the client tops them up as
// replies come (see NewMixnetClientTransport).
package streams

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Kind is a frame's type.
type Kind byte

// Frame kinds.
const (
	KindOpen      Kind = 1 // client → requester, number 0: connect to host:port
	KindConnected Kind = 2 // requester → client, number 0: connected
	KindData      Kind = 3 // ordered bytes
	KindEOF       Kind = 4 // ordered: no more data this way
	KindClose     Kind = 5 // at once: the stream is torn down
	KindError     Kind = 6 // at once: the stream failed, body is a Reason
	KindPing      Kind = 7 // at once: are you there?
	KindPong      Kind = 8 // at once: yes
)

func (k Kind) String() string {
	switch k {
	case KindOpen:
		return "open"
	case KindConnected:
		return "connected"
	case KindData:
		return "data"
	case KindEOF:
		return "eof"
	case KindClose:
		return "close"
	case KindError:
		return "error"
	case KindPing:
		return "ping"
	case KindPong:
		return "pong"
	}
	return fmt.Sprintf("kind(%d)", byte(k))
}

// ordered reports whether frames of kind k are applied in sequence order.
func (k Kind) ordered() bool {
	return k == KindOpen || k == KindConnected || k == KindData || k == KindEOF
}

// Sizes.
const (
	HeaderSize  = 13
	MaxHostSize = 255
	// MaxFrameSize bounds any frame: a long mixnet message.
	MaxFrameSize = 64 << 10
)

// ErrFrame is wrapped by every error of ParseFrame.
var ErrFrame = errors.New("streams: malformed frame")

// Frame is one message of the stream protocol.
type Frame struct {
	Kind   Kind
	Stream uint64
	Seq    uint32
	// Data is the bytes of a Data frame.
	Data []byte
	// Host and Port are an Open's destination.
	Host string
	Port uint16
	// Reason is an Error's.
	Reason Reason
}

// Marshal encodes f. It does not check f: ParseFrame does, on receipt.
func (f Frame) Marshal() []byte {
	b := make([]byte, HeaderSize, HeaderSize+len(f.Data)+3+len(f.Host))
	b[0] = byte(f.Kind)
	binary.BigEndian.PutUint64(b[1:9], f.Stream)
	binary.BigEndian.PutUint32(b[9:13], f.Seq)
	switch f.Kind {
	case KindOpen:
		b = binary.BigEndian.AppendUint16(b, f.Port)
		b = append(b, byte(len(f.Host)))
		b = append(b, f.Host...)
	case KindData:
		b = append(b, f.Data...)
	case KindError:
		b = append(b, byte(f.Reason))
	}
	return b
}

// ParseFrame decodes one frame; its Data aliases b.
func ParseFrame(b []byte) (Frame, error) {
	var f Frame
	if len(b) < HeaderSize {
		return f, fmt.Errorf("%w: %d bytes, a header is %d", ErrFrame, len(b), HeaderSize)
	}
	if len(b) > MaxFrameSize {
		return f, fmt.Errorf("%w: %d bytes, at most %d", ErrFrame, len(b), MaxFrameSize)
	}
	f.Kind = Kind(b[0])
	f.Stream = binary.BigEndian.Uint64(b[1:9])
	f.Seq = binary.BigEndian.Uint32(b[9:13])
	body := b[HeaderSize:]
	switch f.Kind {
	case KindOpen:
		if f.Seq != 0 {
			return f, fmt.Errorf("%w: open numbered %d, not 0", ErrFrame, f.Seq)
		}
		if len(body) < 4 || int(body[2]) != len(body)-3 {
			return f, fmt.Errorf("%w: open body is port, host length and host", ErrFrame)
		}
		f.Port = binary.BigEndian.Uint16(body)
		f.Host = string(body[3:])
		if err := CheckHost(f.Host); err != nil {
			return f, fmt.Errorf("%w: %v", ErrFrame, err)
		}
		if f.Port == 0 {
			return f, fmt.Errorf("%w: open to port 0", ErrFrame)
		}
	case KindConnected:
		if f.Seq != 0 || len(body) != 0 {
			return f, fmt.Errorf("%w: connected is number 0 and has no body", ErrFrame)
		}
	case KindData:
		if f.Seq == 0 || len(body) == 0 {
			return f, fmt.Errorf("%w: data is numbered from 1 and not empty", ErrFrame)
		}
		f.Data = body
	case KindEOF:
		if f.Seq == 0 || len(body) != 0 {
			return f, fmt.Errorf("%w: eof is numbered from 1 and has no body", ErrFrame)
		}
	case KindError:
		if len(body) != 1 || !Reason(body[0]).valid() {
			return f, fmt.Errorf("%w: error body is one known reason", ErrFrame)
		}
		f.Reason = Reason(body[0])
	case KindClose, KindPing, KindPong:
		if len(body) != 0 {
			return f, fmt.Errorf("%w: %s has no body", ErrFrame, f.Kind)
		}
	default:
		return f, fmt.Errorf("%w: unknown kind %d", ErrFrame, b[0])
	}
	return f, nil
}

// CheckHost accepts a host name or IP literal as a SOCKS client sends it:
// 1 to 255 printable ASCII bytes, no spaces.
func CheckHost(h string) error {
	if len(h) == 0 || len(h) > MaxHostSize {
		return fmt.Errorf("host of %d bytes, 1 to %d", len(h), MaxHostSize)
	}
	for i := 0; i < len(h); i++ {
		if h[i] <= ' ' || h[i] >= 0x7f {
			return fmt.Errorf("host has byte 0x%02x", h[i])
		}
	}
	return nil
}

// Reason says why a stream failed.
type Reason byte

// Reasons.
const (
	ReasonGeneral         Reason = 1
	ReasonPolicy          Reason = 2 // the exit policy does not allow the destination
	ReasonHostNotFound    Reason = 3
	ReasonRefused         Reason = 4 // the destination refused the connection
	ReasonNetUnreachable  Reason = 5
	ReasonHostUnreachable Reason = 6
	ReasonTimeout         Reason = 7 // connecting, or the stream went quiet
	ReasonLimit           Reason = 8 // too many streams at the requester
	ReasonProtocol        Reason = 9 // frames that break the protocol, or overflow
	ReasonUnknownStream   Reason = 10
	ReasonReset           Reason = 11 // the destination reset the connection
)

func (r Reason) valid() bool { return r >= ReasonGeneral && r <= ReasonReset }

func (r Reason) String() string {
	switch r {
	case ReasonGeneral:
		return "general failure"
	case ReasonPolicy:
		return "not allowed by the exit policy"
	case ReasonHostNotFound:
		return "host not found"
	case ReasonRefused:
		return "connection refused"
	case ReasonNetUnreachable:
		return "network unreachable"
	case ReasonHostUnreachable:
		return "host unreachable"
	case ReasonTimeout:
		return "timed out"
	case ReasonLimit:
		return "too many streams at the network requester"
	case ReasonProtocol:
		return "stream protocol violation"
	case ReasonUnknownStream:
		return "the network requester does not know the stream (it may have restarted)"
	case ReasonReset:
		return "connection reset"
	}
	return fmt.Sprintf("reason %d", byte(r))
}

// Error is a stream's failure, as the requester or the local side reported it.
type Error struct {
	Reason Reason
	// Remote is true when the other side sent the error.
	Remote bool
}

func (e *Error) Error() string {
	if e.Remote {
		return "stream: " + e.Reason.String() + " (reported by the other end)"
	}
	return "stream: " + e.Reason.String()
}
