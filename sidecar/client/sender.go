package client

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/sphinx"
)

// Errors of Send.
var (
	ErrQueueFull      = errors.New("client: send queue full")
	ErrNoTopology     = errors.New("client: no topology yet")
	ErrUnknownGateway = errors.New("client: recipient's gateway is not a node of the current topology")
)

// SenderConfig tunes the sender. Values are used as given (zero delays mean
// none); DefaultSenderConfig has Nym's client defaults.
type SenderConfig struct {
	// Geometry is the Sphinx geometry of every packet.
	Geometry sphinx.Geometry
	// AveragePacketDelay is the mean of the exponential delay each hop holds
	// a packet.
	AveragePacketDelay time.Duration
	// AverageSendDelay is the mean gap between packets of the Poisson
	// release stream.
	AverageSendDelay time.Duration
	// QueueSize bounds the messages waiting for a release slot.
	QueueSize int
}

// DefaultSenderConfig returns Nym's client defaults: regular packets, 15 ms
// mean per-hop delay, 20 ms mean gap between packets.
func DefaultSenderConfig() SenderConfig {
	return SenderConfig{Geometry: sphinx.Regular, AveragePacketDelay: 15 * time.Millisecond, AverageSendDelay: 20 * time.Millisecond, QueueSize: 1024}
}

// Transmit hands a packet to the client's gateway for the layer-1 node next.
type Transmit func(next [32]byte, packet []byte) error

// Cover makes a cover packet for a release slot no real message takes (and
// reports false if it has none). Loopix's drop and loop cover traffic plugs
// in here: with a Cover, every slot of the Poisson stream sends a packet,
// so an observer cannot tell when the client has something to say.
type Cover func(t *topology.Topology) (next [32]byte, packet []byte, ok bool)

// Sender turns messages into Sphinx packets, each sealed to its recipient,
// routed through one random node per mix layer to the recipient's gateway,
// and releases them as a Poisson stream.
type Sender struct {
	cfg      SenderConfig
	topo     func() *topology.Topology
	transmit Transmit
	cover    Cover
	log      *slog.Logger
	queue    chan outgoing
	queueMu  sync.Mutex  // held by Send while it checks for room and queues
	rng      *mrand.Rand // used by Run only

	sent, failed, coverSent atomic.Uint64
}

type outgoing struct {
	to      Address
	payload []byte
}

// NewSender returns a sender that reads the topology from topo, hands
// packets to transmit and, if cover is not nil, fills empty slots with it.
func NewSender(cfg SenderConfig, topo func() *topology.Topology, transmit Transmit, cover Cover, log *slog.Logger) (*Sender, error) {
	if err := cfg.Geometry.Validate(); err != nil {
		return nil, fmt.Errorf("sender: %w", err)
	}
	if cfg.Geometry.MaxHops < 4 {
		return nil, fmt.Errorf("sender: geometry %s has room for %d hops, a route needs 4", cfg.Geometry, cfg.Geometry.MaxHops)
	}
	if cfg.AveragePacketDelay < 0 || cfg.AverageSendDelay < 0 || cfg.QueueSize <= 0 {
		return nil, errors.New("sender: negative delay or non-positive queue size")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	return &Sender{
		cfg: cfg, topo: topo, transmit: transmit, cover: cover, log: log,
		queue: make(chan outgoing, cfg.QueueSize),
		rng:   mrand.New(mrand.NewChaCha8(seed)),
	}, nil
}

// MaxMessageSize is the largest message Send takes: MaxLongMessage, or
// less if the send queue cannot hold that many fragments.
func (s *Sender) MaxMessageSize() int {
	single := MaxMessageSize(s.cfg.Geometry.PayloadSize)
	if s.cfg.QueueSize < 2 {
		return single
	}
	return max(single, min(MaxLongMessage, s.cfg.QueueSize*FragmentCapacity(s.cfg.Geometry.PayloadSize)))
}

// Send seals message to the recipient and queues it for the next release
// slots: one packet, or, for a message longer than one payload, one packet
// per fragment, queued together or not at all. It refuses a message longer
// than MaxMessageSize, a recipient whose gateway is not in the topology,
// and a queue without room for the whole message.
func (s *Sender) Send(to Address, message []byte) error {
	if len(message) > s.MaxMessageSize() {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrMessageTooLarge, len(message), s.MaxMessageSize())
	}
	t := s.topo()
	if t == nil {
		return ErrNoTopology
	}
	if _, err := recipientGateway(t, to); err != nil {
		return err
	}
	enc, err := ecdh.X25519().NewPublicKey(to.Encryption[:])
	if err != nil {
		return fmt.Errorf("%w: %v", ErrAddress, err)
	}
	size := s.cfg.Geometry.PayloadSize
	var payloads [][]byte
	if len(message) <= MaxMessageSize(size) {
		payload, err := Seal(rand.Reader, enc, message, size)
		if err != nil {
			return err
		}
		payloads = [][]byte{payload}
	} else {
		var id [8]byte
		if _, err := rand.Read(id[:]); err != nil {
			return err
		}
		chunks := split(message, FragmentCapacity(size))
		for i, c := range chunks {
			payload, err := SealFragment(rand.Reader, enc, id, i, len(chunks), c, size)
			if err != nil {
				return err
			}
			payloads = append(payloads, payload)
		}
	}
	// Only Send adds to the queue, under queueMu: the room seen here is
	// there for the whole message.
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	if room := cap(s.queue) - len(s.queue); room < len(payloads) {
		return fmt.Errorf("%w: %d packets wait, room for %d more, the message needs %d", ErrQueueFull, len(s.queue), room, len(payloads))
	}
	for _, p := range payloads {
		s.queue <- outgoing{to: to, payload: p}
	}
	return nil
}

// recipientGateway finds the recipient's gateway in the topology. Any role
// will do: the chain draws every role again each epoch, but a nym-node keeps
// serving its registered clients (and taking final-hop packets for them)
// whatever role it holds, so a client stays reachable at its gateway while
// that node is a mix node or on standby. Only a node absent from the
// topology cannot be reached.
func recipientGateway(t *topology.Topology, to Address) (topology.Node, error) {
	gw, ok := t.ByIdentity(to.Gateway)
	if !ok {
		return gw, fmt.Errorf("%w (epoch %d)", ErrUnknownGateway, t.Epoch)
	}
	return gw, nil
}

// Run releases packets until ctx ends. Without cover traffic it waits for a
// message and then for an exponential gap before sending it: by the memoryless
// property this is the next slot of a Poisson stream, and an idle client costs
// nothing. With cover traffic every slot sends a packet.
func (s *Sender) Run(ctx context.Context) error {
	for {
		var msg *outgoing
		if s.cover == nil {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case m := <-s.queue:
				msg = &m
			}
		}
		if err := s.sleep(ctx, s.exp(s.cfg.AverageSendDelay)); err != nil {
			return err
		}
		if msg == nil {
			select {
			case m := <-s.queue:
				msg = &m
			default:
			}
		}
		s.release(msg)
	}
}

func (s *Sender) release(msg *outgoing) {
	t := s.topo()
	if t == nil {
		s.failed.Add(1)
		s.log.Warn("packet dropped: no topology")
		return
	}
	var next [32]byte
	var packet []byte
	if msg != nil {
		var err error
		next, packet, err = s.build(t, msg)
		if err != nil {
			s.failed.Add(1)
			s.log.Warn("packet dropped", "err", err)
			return
		}
	} else {
		var ok bool
		if next, packet, ok = s.cover(t); !ok {
			return
		}
	}
	if err := s.transmit(next, packet); err != nil {
		s.failed.Add(1)
		s.log.Warn("packet dropped: gateway did not take it", "err", err)
		return
	}
	if msg == nil {
		s.coverSent.Add(1)
		return
	}
	s.sent.Add(1)
}

// LoopCover returns the Cover of Loopix's loop traffic for the client at
// self: a packet over a fresh random route (one node per mix layer, then the
// client's own gateway) back to the client, sealed to its own encryption
// key so that only the client can tell it from a message (see SealCover).
// Every hop and the gateway see a packet like any other; the client drops
// it when it comes back. Cover traffic needs a positive AverageSendDelay:
// every slot of the stream then sends a packet.
func (s *Sender) LoopCover(self Address) (Cover, error) {
	if s.cfg.AverageSendDelay <= 0 {
		return nil, errors.New("sender: cover traffic needs a positive average send delay")
	}
	enc, err := ecdh.X25519().NewPublicKey(self.Encryption[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAddress, err)
	}
	var lastErr string // Run's goroutine only
	return func(t *topology.Topology) ([32]byte, []byte, bool) {
		payload, err := SealCover(rand.Reader, enc, s.cfg.Geometry.PayloadSize)
		if err == nil {
			var next [32]byte
			var packet []byte
			if next, packet, err = s.build(t, &outgoing{to: self, payload: payload}); err == nil {
				if lastErr != "" {
					s.log.Info("cover packets built again")
					lastErr = ""
				}
				return next, packet, true
			}
		}
		s.failed.Add(1)
		// A cause such as the client's gateway missing from the topology
		// lasts: say it once, not at every slot.
		if msg := err.Error(); msg != lastErr {
			s.log.Warn("cover packets not built", "err", err)
			lastErr = msg
		}
		return [32]byte{}, nil, false
	}, nil
}

// build makes the packet for msg over a fresh random route.
func (s *Sender) build(t *topology.Topology, msg *outgoing) ([32]byte, []byte, error) {
	gw, err := recipientGateway(t, msg.to)
	if err != nil {
		return [32]byte{}, nil, err
	}
	route := make([]sphinx.Hop, 0, 4)
	for l := 1; l <= 3; l++ {
		layer := t.Layer(l)
		if len(layer) == 0 {
			return [32]byte{}, nil, fmt.Errorf("mix layer %d is empty in epoch %d", l, t.Epoch)
		}
		route = append(route, layer[s.rng.IntN(len(layer))].Hop(s.exp(s.cfg.AveragePacketDelay)))
	}
	route = append(route, gw.Hop(s.exp(s.cfg.AveragePacketDelay)))
	var dst sphinx.Destination
	dst.Address = sphinx.DestinationAddress(msg.to.Identity)
	if _, err := rand.Read(dst.Identifier[:]); err != nil {
		return [32]byte{}, nil, err
	}
	packet, err := s.cfg.Geometry.NewPacket(rand.Reader, route, dst, msg.payload)
	if err != nil {
		return [32]byte{}, nil, fmt.Errorf("build packet: %w", err)
	}
	return [32]byte(route[0].Address), packet, nil
}

func (s *Sender) exp(mean time.Duration) time.Duration {
	if mean <= 0 {
		return 0
	}
	return time.Duration(s.rng.ExpFloat64() * float64(mean))
}

func (s *Sender) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// SenderStats counts packets released: messages (Sent) and loop cover
// (CoverSent), and those dropped (Failed).
type SenderStats struct{ Sent, CoverSent, Failed uint64 }

// Stats returns the sender's counters.
func (s *Sender) Stats() SenderStats {
	return SenderStats{Sent: s.sent.Load(), CoverSent: s.coverSent.Load(), Failed: s.failed.Load()}
}
