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

	"github.com/nyx-privacy/nyx/sidecar/tomltime"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/sphinx"
)

// Errors of the sends.
var (
	ErrQueueFull      = errors.New("client: send queue full")
	ErrNoTopology     = errors.New("client: no topology yet")
	ErrUnknownGateway = errors.New("client: recipient's gateway is not a node of the current topology")
)

// SenderConfig tunes the sender. Delays are used as given (zero means
// none); a zero AckWait, MaxAckWait or MaxRetransmissions takes its default.
// DefaultSenderConfig has Nym's client defaults.
type SenderConfig struct {
	// Geometry is the Sphinx geometry of every packet.
	Geometry sphinx.Geometry `toml:"-"`
	// AveragePacketDelay is the mean of the exponential delay each hop holds
	// a packet.
	AveragePacketDelay tomltime.Duration `toml:"average_packet_delay"`
	// AverageSendDelay is the mean gap between packets of the Poisson
	// release stream.
	AverageSendDelay tomltime.Duration `toml:"average_send_delay"`
	// QueueSize bounds the packets sent and not yet acknowledged, or
	// waiting to be sent; a message beyond it is refused.
	QueueSize int `toml:"send_queue"`
	// AckWait is what the sender waits for an ack beyond 1.5 times the
	// sampled delays of the packet's route and its SURB-ACK's route.
	// Default 1.5 s (Nym's).
	AckWait tomltime.Duration `toml:"ack_wait"`
	// MaxAckWait bounds the wait, which doubles at each retransmission.
	// Default 30 s.
	MaxAckWait tomltime.Duration `toml:"max_ack_wait"`
	// MaxRetransmissions is how often a packet is sent again before its
	// message is reported failed. Default 10.
	MaxRetransmissions int `toml:"max_retransmissions"`
	// Replies bounds and tunes reply SURBs.
	Replies ReplyConfig `toml:"-"`
}

// DefaultSenderConfig returns Nym's client defaults: regular packets, 15 ms
// mean per-hop delay, 20 ms mean gap between packets, and acks waited for
// 1.5 times the sampled delays plus 1.5 s.
func DefaultSenderConfig() SenderConfig {
	return SenderConfig{Geometry: sphinx.Regular, AveragePacketDelay: tomltime.Duration(15 * time.Millisecond), AverageSendDelay: tomltime.Duration(20 * time.Millisecond),
		QueueSize: 1024, AckWait: tomltime.Duration(1500 * time.Millisecond), MaxAckWait: tomltime.Duration(30 * time.Second), MaxRetransmissions: 10,
		Replies: DefaultReplyConfig()}
}

func (c SenderConfig) withDefaults() SenderConfig {
	d := DefaultSenderConfig()
	if c.AckWait == 0 {
		c.AckWait = d.AckWait
	}
	if c.MaxAckWait == 0 {
		c.MaxAckWait = d.MaxAckWait
	}
	if c.MaxRetransmissions == 0 {
		c.MaxRetransmissions = d.MaxRetransmissions
	}
	c.Replies = c.Replies.withDefaults()
	return c
}

// Transmit hands a packet to the client's gateway for the layer-1 node next.
type Transmit func(next [32]byte, packet []byte) error

// Report says what became of a message sent: every chunk acknowledged
// (Err nil), or given up on after the retransmission limit.
type Report struct {
	ID  MessageID
	Err error
}

// ErrNotDelivered is wrapped by a Report's Err.
var ErrNotDelivered = errors.New("client: message not acknowledged")

// Sender turns messages into Sphinx packets, each sealed to its recipient
// (or wrapped for a reply SURB) and carrying a SURB-ACK, routed through one
// random node per mix layer, and releases them as a Poisson stream; it
// keeps every packet until it is acknowledged and sends it again, over a
// fresh route, when its ack does not come in time.
type Sender struct {
	cfg      SenderConfig
	self     Address
	selfEnc  *ecdh.PublicKey
	ackKey   ackKey
	topo     func() *topology.Topology
	transmit Transmit
	cover    bool
	log      *slog.Logger
	rng      *mrand.Rand // under rngMu
	rngMu    sync.Mutex
	wake     chan struct{}
	reports  chan Report

	mu       sync.Mutex
	queue    []*job // new packets, in order
	retx     []*job // packets to send again, before new ones
	inflight int    // jobs queued, parked or waiting for an ack
	pending  map[ackID]*job
	replies  replyState

	sent, retransmitted, failed, coverSent atomic.Uint64
	acked, forgedAcks, otherAcks           atomic.Uint64
	delivered, undelivered, reportsLost    atomic.Uint64
}

// job is one chunk of a message on its way: sealed to an address, or
// (reply) wrapped for a SURB of a sender tag.
type job struct {
	msg      *msgState
	piece    []byte // the padded plaintext
	to       Address
	enc      *ecdh.PublicKey
	reply    bool
	tag      SenderTag
	surb     *ReplySURB // set aside for the next transmission of a reply
	attempts int
	ack      ackID
	timer    *time.Timer
	done     bool
}

type msgState struct {
	id       MessageID
	left     int
	done     bool
	internal bool // SURB requests and top-ups: not reported
}

// NewSender returns the sender of the client at self, with the client's
// keys (for the SURB-ACKs and reply SURBs that come back to it). It reads
// the topology from topo and hands packets to transmit; with cover, every
// slot of the release stream no packet takes sends a loop cover packet.
func NewSender(cfg SenderConfig, keys *Keys, self Address, topo func() *topology.Topology, transmit Transmit, cover bool, log *slog.Logger) (*Sender, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Geometry.Validate(); err != nil {
		return nil, fmt.Errorf("sender: %w", err)
	}
	if cfg.Geometry.MaxHops < 4 {
		return nil, fmt.Errorf("sender: geometry %s has room for %d hops, a route needs 4", cfg.Geometry, cfg.Geometry.MaxHops)
	}
	if ChunkCapacity(cfg.Geometry.PayloadSize) < 64 {
		return nil, fmt.Errorf("sender: geometry %s leaves no room for a message beside the SURB-ACK", cfg.Geometry)
	}
	if cfg.AveragePacketDelay < 0 || cfg.AverageSendDelay < 0 || cfg.QueueSize <= 0 || cfg.AckWait < 0 || cfg.MaxAckWait < cfg.AckWait || cfg.MaxRetransmissions < 0 {
		return nil, errors.New("sender: negative delay, wait or retransmissions, MaxAckWait below AckWait, or non-positive queue size")
	}
	if cover && cfg.AverageSendDelay <= 0 {
		return nil, errors.New("sender: cover traffic needs a positive average send delay")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ak, err := deriveAckKey(keys)
	if err != nil {
		return nil, err
	}
	enc, err := ecdh.X25519().NewPublicKey(self.Encryption[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrAddress, err)
	}
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	s := &Sender{
		cfg: cfg, self: self, selfEnc: enc, ackKey: ak, topo: topo, transmit: transmit, cover: cover, log: log,
		rng: mrand.New(mrand.NewChaCha8(seed)), wake: make(chan struct{}, 1), reports: make(chan Report, reportQueue),
		pending: map[ackID]*job{},
	}
	s.replies.init()
	return s, nil
}

// reportQueue bounds the reports no app has read; beyond it they are
// dropped (counted).
const reportQueue = 4096

// Reports delivers a Report for each message sent with Send or
// SendAnonymous.
func (s *Sender) Reports() <-chan Report { return s.reports }

// MaxMessageSize is the longest message Send takes: MaxLongMessage, or
// less if the send queue cannot hold that many chunks.
func (s *Sender) MaxMessageSize() int {
	return max(0, min(MaxLongMessage, s.cfg.QueueSize*ChunkCapacity(s.cfg.Geometry.PayloadSize)-1))
}

// Send queues message for the recipient: one packet per chunk, queued
// together or not at all. It refuses a message longer than MaxMessageSize,
// a recipient whose gateway is not in the topology, and a queue without
// room for the whole message.
func (s *Sender) Send(to Address, data []byte) (MessageID, error) {
	if err := s.checkSize(data); err != nil {
		return MessageID{}, err
	}
	return s.sendTo(to, &message{kind: kindPlain, data: data}, false)
}

func (s *Sender) checkSize(data []byte) error {
	if len(data) > s.MaxMessageSize() {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrMessageTooLarge, len(data), s.MaxMessageSize())
	}
	return nil
}

// sendTo queues m for the address to.
func (s *Sender) sendTo(to Address, m *message, internal bool) (MessageID, error) {
	t := s.topo()
	if t == nil {
		return MessageID{}, ErrNoTopology
	}
	if _, err := recipientGateway(t, to); err != nil {
		return MessageID{}, err
	}
	enc, err := ecdh.X25519().NewPublicKey(to.Encryption[:])
	if err != nil {
		return MessageID{}, fmt.Errorf("%w: %v", ErrAddress, err)
	}
	b, err := m.marshal()
	if err != nil {
		return MessageID{}, err
	}
	jobs, ms, err := s.jobs(b, internal)
	if err != nil {
		return MessageID{}, err
	}
	for _, j := range jobs {
		j.to, j.enc = to, enc
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.roomLocked(len(jobs)); err != nil {
		return MessageID{}, err
	}
	s.queueLocked(jobs)
	return ms.id, nil
}

// jobs cuts an encoded message into padded pieces.
func (s *Sender) jobs(b []byte, internal bool) ([]*job, *msgState, error) {
	ms := &msgState{internal: internal}
	if _, err := rand.Read(ms.id[:]); err != nil {
		return nil, nil, err
	}
	chunks := split(b, ChunkCapacity(s.cfg.Geometry.PayloadSize))
	if len(chunks) == 0 {
		chunks = [][]byte{{}}
	}
	n := ContentSize(s.cfg.Geometry.PayloadSize) - envelopeOverhead
	jobs := make([]*job, len(chunks))
	for i, c := range chunks {
		piece, err := Piece{ID: ms.id, Index: i, Count: len(chunks), Data: c}.marshal(n)
		if err != nil {
			return nil, nil, err
		}
		jobs[i] = &job{msg: ms, piece: piece}
	}
	ms.left = len(jobs)
	return jobs, ms, nil
}

func (s *Sender) roomLocked(n int) error {
	if s.inflight+n > s.cfg.QueueSize {
		return fmt.Errorf("%w: %d packets wait or are unacknowledged, the message needs %d more, the queue holds %d", ErrQueueFull, s.inflight, n, s.cfg.QueueSize)
	}
	return nil
}

func (s *Sender) queueLocked(jobs []*job) {
	s.inflight += len(jobs)
	s.queue = append(s.queue, jobs...)
	s.wakeUp()
}

func (s *Sender) wakeUp() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
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
// packet and then for an exponential gap before sending it: by the
// memoryless property this is the next slot of a Poisson stream, and an
// idle client costs nothing. With cover traffic every slot sends a packet.
// Retransmissions take slots before new packets.
func (s *Sender) Run(ctx context.Context) error {
	sweep := time.NewTicker(time.Minute)
	defer sweep.Stop()
	defer s.stopTimers()
	for {
		if !s.cover {
			for !s.hasWork() {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-s.wake:
				case <-sweep.C:
					s.sweepReplies(time.Now())
				}
			}
		}
		if err := s.sleep(ctx, s.exp(time.Duration(s.cfg.AverageSendDelay))); err != nil {
			return err
		}
		select {
		case <-sweep.C:
			s.sweepReplies(time.Now())
		default:
		}
		s.release(s.next())
	}
}

func (s *Sender) hasWork() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)+len(s.retx) > 0
}

// next takes the packet for this slot, or nil for cover (or nothing).
func (s *Sender) next() *job {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.retx) > 0 || len(s.queue) > 0 {
		var j *job
		if len(s.retx) > 0 {
			j, s.retx = s.retx[0], s.retx[1:]
		} else {
			j, s.queue = s.queue[0], s.queue[1:]
		}
		if j.msg.done {
			// Its message was given up on: its room comes back.
			s.finishLocked(j)
			continue
		}
		if !j.done {
			return j
		}
	}
	return nil
}

func (s *Sender) stopTimers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.pending {
		j.timer.Stop()
	}
}

// release sends j (or, if nil, a loop cover packet when cover is on).
func (s *Sender) release(j *job) {
	t := s.topo()
	if j == nil {
		if s.cover {
			s.releaseCover(t)
		}
		return
	}
	s.mu.Lock()
	j.attempts++
	if j.attempts > 1 {
		s.retransmitted.Add(1)
	}
	if j.reply && j.surb == nil {
		j.surb = s.takeSURBLocked(j.tag, time.Now())
		if j.surb == nil {
			s.parkLocked(j)
			s.mu.Unlock()
			return
		}
	}
	if _, err := rand.Read(j.ack[:]); err != nil {
		panic(err)
	}
	id := j.ack
	surb := j.surb
	j.surb = nil
	s.mu.Unlock()

	next, packet, rtt, err := s.build(t, j, id, surb)
	// Built or not, it waits for its ack like any packet (one that could
	// not be built or sent is sent again after the same wait); it waits
	// before it goes, so that no ack can come back before it is looked for.
	s.mu.Lock()
	if j.done {
		s.mu.Unlock()
		return
	}
	s.pending[id] = j
	j.timer = time.AfterFunc(s.cfg.ackTimeout(rtt, j.attempts), func() { s.timeout(j, id) })
	s.mu.Unlock()
	if err == nil {
		err = s.transmit(next, packet)
		if err != nil {
			err = fmt.Errorf("gateway did not take it: %w", err)
		}
	}
	if err != nil {
		s.failed.Add(1)
		s.log.Debug("packet not sent; it will be sent again", "message", j.msg.id, "attempt", j.attempts, "err", err)
		return
	}
	s.sent.Add(1)
}

// build makes the packet carrying j with the SURB-ACK id.
func (s *Sender) build(t *topology.Topology, j *job, id ackID, surb *ReplySURB) (next [32]byte, packet []byte, rtt time.Duration, err error) {
	if t == nil {
		return next, nil, 0, ErrNoTopology
	}
	var content []byte
	if j.reply {
		content, err = sealReply(rand.Reader, surb.Key, j.piece)
	} else {
		content, err = seal(rand.Reader, j.enc, j.piece)
	}
	if err != nil {
		return next, nil, 0, err
	}
	payload, ackDelays, err := s.withSURBAck(t, id, content)
	if err != nil {
		return next, nil, 0, err
	}
	if j.reply {
		packet, err = s.cfg.Geometry.NewReply(surb.SURB, payload)
		// The SURB's delays are its creator's: expect ours.
		return [32]byte(surb.SURB.FirstHop()), packet, ackDelays + 4*time.Duration(s.cfg.AveragePacketDelay), err
	}
	gw, err := recipientGateway(t, j.to)
	if err != nil {
		return next, nil, 0, err
	}
	route, delays, err := s.route(t, gw)
	if err != nil {
		return next, nil, 0, err
	}
	var dst sphinx.Destination
	dst.Address = sphinx.DestinationAddress(j.to.Identity)
	if _, err := rand.Read(dst.Identifier[:]); err != nil {
		return next, nil, 0, err
	}
	packet, err = s.cfg.Geometry.NewPacket(rand.Reader, route, dst, payload)
	if err != nil {
		return next, nil, 0, fmt.Errorf("build packet: %w", err)
	}
	return [32]byte(route[0].Address), packet, delays + ackDelays, nil
}

// releaseCover sends a loop cover packet: sealed to the client itself, over
// a fresh route to its own gateway, with a SURB-ACK like any packet.
func (s *Sender) releaseCover(t *topology.Topology) {
	j := &job{to: s.self, enc: s.selfEnc, piece: coverPiece(ContentSize(s.cfg.Geometry.PayloadSize) - envelopeOverhead)}
	var id ackID
	rand.Read(id[:])
	next, packet, _, err := s.build(t, j, id, nil)
	if err == nil {
		err = s.transmit(next, packet)
	}
	if err != nil {
		s.failed.Add(1)
		s.log.Debug("cover packet not sent", "err", err)
		return
	}
	s.coverSent.Add(1)
}

func (s *Sender) exp(mean time.Duration) time.Duration {
	if mean <= 0 {
		return 0
	}
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return time.Duration(s.rng.ExpFloat64() * float64(mean))
}

func (s *Sender) intN(n int) int {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.IntN(n)
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

// SenderStats counts packets: released with a message (Sent, of which
// Retransmitted were sent again) or as loop cover (CoverSent), not sent
// (Failed: no topology, no route, the gateway did not take it); acks that
// ended a packet's wait (Acked), that did not verify (ForgedAcks) or that
// were for no pending packet (OtherAcks: cover's, late ones); messages
// acknowledged whole (Delivered) or given up on (Undelivered); reports no
// app read in time (ReportsLost).
type SenderStats struct {
	Sent, Retransmitted, CoverSent, Failed uint64
	Acked, ForgedAcks, OtherAcks           uint64
	Delivered, Undelivered, ReportsLost    uint64
	Pending                                int
}

// Stats returns the sender's counters.
func (s *Sender) Stats() SenderStats {
	s.mu.Lock()
	inflight := s.inflight
	s.mu.Unlock()
	return SenderStats{Sent: s.sent.Load(), Retransmitted: s.retransmitted.Load(), CoverSent: s.coverSent.Load(), Failed: s.failed.Load(),
		Acked: s.acked.Load(), ForgedAcks: s.forgedAcks.Load(), OtherAcks: s.otherAcks.Load(),
		Delivered: s.delivered.Load(), Undelivered: s.undelivered.Load(), ReportsLost: s.reportsLost.Load(), Pending: inflight}
}
