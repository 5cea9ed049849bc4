package streams

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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
// message that does not carry a frame: a message that is not anonymous
// (it came with no sender tag to reply to).
var ErrEnvelope = errors.New("streams: message is not an anonymous stream message")

// anonymousHeader is what an anonymous message without SURBs adds to its
// frame (kind, sender tag, SURB count); a reply adds its kind only.
const (
	anonymousHeader = 1 + len(client.SenderTag{}) + 1
	replyHeader     = 1
)

// singleMessage is the longest data one packet of geometry g carries as a
// message with header bytes of its own: frames are sent one a packet, so a
// lost or late packet costs one frame only. g must be the geometry of c's
// sender.
func singleMessage(c *client.Client, g sphinx.Geometry, header int) int {
	g = geometry(g)
	return min(c.MaxMessageSize(), client.ChunkCapacity(g.PayloadSize)-header)
}

func geometry(g sphinx.Geometry) sphinx.Geometry {
	if g.PayloadSize == 0 {
		return sphinx.Regular
	}
	return g
}

// busyWait is how long a send waits before it looks for room again.
const busyWait = 2 * time.Millisecond

// MaxQueued bounds the transport's packets waiting in the client's release
// queue. The queue is first come first served: kept this shallow, a new
// stream's first frame (or a pong) waits behind at most MaxQueued packets
// of the other streams instead of a whole queue of them (1,024, 20 s at
// Nym's default rate), the streams waiting for room take turns at random,
// and no message is sealed only to be refused by a full queue. A reply
// waiting for SURBs holds its place until they come (or it fails), so
// the requester cannot run ahead of the SURBs its clients give it.
const MaxQueued = 32

// gate admits sends into a client's release queue while fewer than
// MaxQueued of them wait there; the client's counters of released packets
// say how many have left.
type gate struct {
	c        *client.Client
	mu       sync.Mutex
	admitted uint64 // packets admitted, less those refused
	base     uint64 // packets released before the gate began
}

func newGate(c *client.Client) *gate {
	st := c.Stats()
	return &gate{c: c, base: st.Sent + st.Failed}
}

// send queues a message of packets packets with queue, waiting while the
// gate or the client's queue is full.
func (g *gate) send(ctx context.Context, packets int, queue func() error) error {
	for {
		g.mu.Lock()
		st := g.c.Stats()
		released := st.Sent + st.Failed - g.base
		room := g.admitted < released+MaxQueued
		if room {
			g.admitted += uint64(packets)
		}
		g.mu.Unlock()
		if room {
			err := queue()
			if err == nil {
				return nil
			}
			g.mu.Lock()
			g.admitted -= uint64(packets)
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

// unadmit takes back packets admitted that were not queued.
func (g *gate) unadmit(packets int) {
	g.mu.Lock()
	g.admitted -= uint64(packets)
	g.mu.Unlock()
}

// Reply SURBs. The requester answers only over the SURBs the client gives
// it: every frame it sends costs one, and the streams protocol has no
// acknowledgements, so the SURBs are its window. An Open carries openSURBs
// (a small page comes back without waiting) and a Ping one (for its Pong:
// a requester that lost the client's SURBs can still answer); other frames
// carry none, so they stay one packet. As replies come, the client keeps
// the SURBs outstanding with the requester at poolLow or more, giving
// topUpSURBs at a time (the client's own top-up, at its low-water mark of
// 5, is far too late for a download: the window would be a round trip of
// a handful of packets). poolLow + topUpSURBs stays below the default
// bound of SURBs a replier holds per tag (max_surbs_per_tag, 200), so the
// requester keeps every SURB it is given.
const (
	openSURBs  = 10
	poolLow    = 100
	topUpSURBs = client.MaxSURBsPerMessage
)

// errNothingGiven: a top-up found the SURBs outstanding at their bound.
var errNothingGiven = errors.New("streams: no reply SURBs given: the bound is reached")

type mixnetClient struct {
	c         *client.Client
	gate      *gate
	max       int
	requester client.Address
	payload   int // payload size of c's packets
	topping   atomic.Bool
}

// NewMixnetClientTransport carries a stream client's frames through c (whose
// packets have geometry g; zero means sphinx.Regular) to the network
// requester at requester as anonymous messages: with c's sender tag and
// reply SURBs, never c's address.
func NewMixnetClientTransport(c *client.Client, g sphinx.Geometry, requester client.Address) ClientTransport {
	return &mixnetClient{c: c, gate: newGate(c), max: singleMessage(c, g, anonymousHeader), payload: geometry(g).PayloadSize, requester: requester}
}

func (m *mixnetClient) Send(ctx context.Context, msg []byte) error {
	surbs := 0
	if len(msg) > 0 {
		switch Kind(msg[0]) {
		case KindOpen:
			surbs = openSURBs
			if m.c.OutstandingSURBs(m.requester) >= poolLow+topUpSURBs {
				surbs = 1
			}
		case KindPing:
			surbs = 1
		}
	}
	return m.gate.send(ctx, client.SURBMessagePackets(m.payload, surbs, len(msg)), func() error {
		_, err := m.c.SendAnonymous(ctx, m.requester, msg, surbs)
		return err
	})
}

func (m *mixnetClient) Receive(ctx context.Context) ([]byte, error) {
	msg, err := m.c.Receive(ctx)
	if err == nil && msg.Reply && m.c.OutstandingSURBs(m.requester) < poolLow && m.topping.CompareAndSwap(false, true) {
		// Off the receive path: making SURBs takes a while.
		go func() {
			defer m.topping.Store(false)
			// Through the gate like the frames, so that it counts the
			// top-up's packets as its own. A top-up that cannot go is
			// tried again at the next reply; the requester also asks
			// when it runs short.
			_ = m.gate.send(ctx, client.SURBMessagePackets(m.payload, topUpSURBs, 0), func() error {
				n, err := m.c.GiveSURBs(ctx, m.requester, topUpSURBs)
				if err == nil && n == 0 {
					return errNothingGiven
				}
				if err == nil {
					// Fewer than asked (the bound) may take fewer packets.
					m.gate.unadmit(client.SURBMessagePackets(m.payload, topUpSURBs, 0) - client.SURBMessagePackets(m.payload, n, 0))
				}
				return err
			})
		}()
	}
	return msg.Data, err
}

func (m *mixnetClient) MaxMessage() int { return m.max }

type mixnetService struct {
	c    *client.Client
	gate *gate
	max  int
}

// NewMixnetServiceTransport serves the anonymous messages received by c
// (whose packets have geometry g; zero means sphinx.Regular), replying to
// each one's sender tag over the reply SURBs its sender gave: the requester
// never learns a client's address. A message without a sender tag is
// refused (ErrEnvelope).
func NewMixnetServiceTransport(c *client.Client, g sphinx.Geometry) ServiceTransport {
	return mixnetService{c: c, gate: newGate(c), max: singleMessage(c, g, replyHeader)}
}

func (m mixnetService) Receive(ctx context.Context) (string, []byte, error) {
	msg, err := m.c.Receive(ctx)
	if err != nil {
		return "", nil, err
	}
	if msg.SenderTag == nil || msg.Reply {
		return "", nil, fmt.Errorf("%w: %d bytes without a sender tag", ErrEnvelope, len(msg.Data))
	}
	return string(msg.SenderTag[:]), msg.Data, nil
}

func (m mixnetService) Reply(ctx context.Context, tag string, msg []byte) error {
	if len(tag) != len(client.SenderTag{}) {
		return fmt.Errorf("%w: sender tag of %d bytes", ErrEnvelope, len(tag))
	}
	t := client.SenderTag([]byte(tag))
	return m.gate.send(ctx, 1, func() error {
		_, err := m.c.Reply(ctx, t, msg)
		return err
	})
}

func (m mixnetService) MaxMessage() int { return m.max }
