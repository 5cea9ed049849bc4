package streams

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sphinx"
)

// ServiceTransport carries a network requester's frames: from any number
// of clients, each known by an opaque tag, and replies to a tag.
type ServiceTransport interface {
	// Receive returns the next message and its sender's tag. An error
	// wrapping ErrEnvelope is one message that could not be read: the
	// caller counts it and goes on.
	Receive(ctx context.Context) (tag string, msg []byte, err error)
	// Reply sends msg to the client of tag, waiting while the transport
	// is busy, until ctx ends.
	Reply(ctx context.Context, tag string, msg []byte) error
	// MaxMessage is the longest message Reply takes.
	MaxMessage() int
}

// ErrEnvelope is wrapped by ServiceTransport.Receive's errors about one
// message that does not carry a frame.
var ErrEnvelope = errors.New("streams: message is not a stream envelope")

// The addressed envelope of a client's message to the requester: version,
// then the client's address to reply to, then the frame. Reply SURBs will
// replace the address (issue: reliable and anonymous messaging).
const (
	envelopeVersion = 1
	envelopeSize    = 1 + client.AddressSize
)

// singleMessage is the longest message one packet of geometry g carries:
// frames are sent one a packet, so a lost or late packet costs one frame
// only. g must be the geometry of c's sender.
func singleMessage(c *client.Client, g sphinx.Geometry) int {
	if g.PayloadSize == 0 {
		g = sphinx.Regular
	}
	return min(c.MaxMessageSize(), client.MaxMessageSize(g.PayloadSize))
}

// busyWait is how long a send waits before it looks for room again.
const busyWait = 2 * time.Millisecond

// MaxQueued bounds the transport's packets waiting in the client's release
// queue. The queue is first come first served: kept this shallow, a new
// stream's first frame (or a pong) waits behind at most MaxQueued packets
// of the other streams instead of a whole queue of them (1,024, 20 s at
// Nym's default rate), the streams waiting for room take turns at random,
// and no message is sealed only to be refused by a full queue.
const MaxQueued = 32

// gate admits sends into a client's release queue while fewer than
// MaxQueued of them wait there; the client's counters of released packets
// say how many have left.
type gate struct {
	c        *client.Client
	mu       sync.Mutex
	admitted uint64 // sends admitted, less those refused
	base     uint64 // packets released before the gate began
}

func newGate(c *client.Client) *gate {
	st := c.Stats()
	return &gate{c: c, base: st.Sent + st.Failed}
}

func (g *gate) send(ctx context.Context, to client.Address, msg []byte) error {
	for {
		g.mu.Lock()
		st := g.c.Stats()
		released := st.Sent + st.Failed - g.base
		room := g.admitted < released+MaxQueued
		if room {
			g.admitted++
		}
		g.mu.Unlock()
		if room {
			err := g.c.Send(to, msg)
			if err == nil {
				return nil
			}
			g.mu.Lock()
			g.admitted--
			g.mu.Unlock()
			// A full queue (other senders on the client), or no topology
			// with the recipient's gateway yet (an epoch boundary): wait.
			if !(errors.Is(err, client.ErrQueueFull) || errors.Is(err, client.ErrUnknownGateway) || errors.Is(err, client.ErrNoTopology)) {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (waiting for room in the send queue)", ctx.Err())
		case <-time.After(busyWait):
		}
	}
}

type mixnetClient struct {
	c         *client.Client
	gate      *gate
	max       int
	requester client.Address
	self      []byte
}

// NewMixnetClientTransport carries a stream client's frames through c (whose
// packets have geometry g; zero means sphinx.Regular) to the network
// requester at requester, with c's address for the replies.
func NewMixnetClientTransport(c *client.Client, g sphinx.Geometry, requester client.Address) ClientTransport {
	return &mixnetClient{c: c, gate: newGate(c), max: singleMessage(c, g) - envelopeSize, requester: requester, self: c.Address().MarshalBinary()}
}

func (m *mixnetClient) Send(ctx context.Context, msg []byte) error {
	b := make([]byte, 0, envelopeSize+len(msg))
	b = append(b, envelopeVersion)
	b = append(b, m.self...)
	return m.gate.send(ctx, m.requester, append(b, msg...))
}

func (m *mixnetClient) Receive(ctx context.Context) ([]byte, error) { return m.c.Receive(ctx) }

func (m *mixnetClient) MaxMessage() int { return m.max }

type mixnetService struct {
	c    *client.Client
	gate *gate
	max  int
}

// NewMixnetServiceTransport serves clients' frames received by c (whose
// packets have geometry g; zero means sphinx.Regular), replying to the
// address in each message's envelope.
func NewMixnetServiceTransport(c *client.Client, g sphinx.Geometry) ServiceTransport {
	return mixnetService{c: c, gate: newGate(c), max: singleMessage(c, g)}
}

func (m mixnetService) Receive(ctx context.Context) (string, []byte, error) {
	b, err := m.c.Receive(ctx)
	if err != nil {
		return "", nil, err
	}
	if len(b) < envelopeSize || b[0] != envelopeVersion {
		return "", nil, fmt.Errorf("%w: %d bytes", ErrEnvelope, len(b))
	}
	if _, err := client.ParseAddressBinary(b[1:envelopeSize]); err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrEnvelope, err)
	}
	return string(b[1:envelopeSize]), b[envelopeSize:], nil
}

func (m mixnetService) Reply(ctx context.Context, tag string, msg []byte) error {
	a, err := client.ParseAddressBinary([]byte(tag))
	if err != nil {
		return err
	}
	return m.gate.send(ctx, a, msg)
}

func (m mixnetService) MaxMessage() int { return m.max }
