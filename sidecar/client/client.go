// Package client is nym-client's engine, and the client a Go program embeds:
// the client's keys and address, its registration with and connection to
// its gateway, the sender that turns messages into Sphinx packets released
// as a Poisson stream, acknowledged end to end and sent again when lost,
// anonymous messages and replies over reply SURBs, and the local websocket
// API apps use (see README.md).
//
// Embedding: open a home (LoadHome, or Init a new one), make a Client
// with New, Run it, then Send, SendAnonymous, Reply and Receive; Reports
// tells what became of each message sent.
package client

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/gatewayclient"
	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	"github.com/nyx-privacy/nyx/sidecar/topology"
	"github.com/nyx-privacy/nyx/sphinx"
)

// ErrNotConnected: there is no open connection to the gateway.
var ErrNotConnected = errors.New("client: not connected to the gateway")

// Config is what a client needs besides its keys.
type Config struct {
	// GatewayURL is the websocket URL of the client's gateway
	// (ws://host:clients_port/).
	GatewayURL string
	// GatewayIdentity is the gateway's ed25519 identity key.
	GatewayIdentity [32]byte
	// Sender tunes packet building, release, acknowledgements and replies.
	Sender SenderConfig
	// ReceiveBuffer bounds the received messages no app has taken yet;
	// beyond it the client stops taking (and acknowledging) what its
	// gateway delivers, cover and messages alike, and the gateway keeps
	// the rest.
	ReceiveBuffer int
	// ReconnectMax bounds the backoff between attempts to reach the gateway.
	ReconnectMax time.Duration
	// LoopCover fills every slot of the release stream that no message
	// takes with a loop cover packet to the client itself, so that the
	// client sends at the same rate whether it has something to say or not.
	// It needs a positive Sender.AverageSendDelay.
	LoopCover bool
	// Bandwidth supplies credentials to gateways that enforce them (the
	// home's wallet, bandwidth.go); nil presents none.
	Bandwidth gatewayclient.Bandwidth
	// StateFile, if set, keeps the client's state across a restart (see
	// state.go): written when Run returns, read back by New; received
	// chunks are journaled beside it (journal.go) before they are
	// acknowledged to the gateway, so a kill loses none either.
	StateFile string
}

// Message is a message received.
type Message struct {
	// ID is the sender's id of the message.
	ID MessageID
	// Data is the message.
	Data []byte
	// SenderTag is set when the sender is anonymous: Reply to it.
	SenderTag *SenderTag
	// Reply is set when the message answers one this client sent
	// anonymously; ReplyTag is the tag that message carried.
	Reply    bool
	ReplyTag SenderTag
}

// Client is a running nym-client.
type Client struct {
	cfg    Config
	keys   *Keys
	shared gatewayproto.SharedKey
	topo   func() *topology.Topology
	log    *slog.Logger
	sender *Sender
	inbox  chan Message
	// slots holds one token per received message not yet taken by an app;
	// the session takes one before it handles any delivered payload, so
	// that cover and messages are acknowledged to the gateway alike.
	slots chan struct{}

	mu    sync.Mutex
	conn  *gatewayclient.Conn
	ready chan struct{} // closed while conn is set

	reasm *reassembler // the gateway session's

	journal *journal // nil without a StateFile
	// abandon, set by tests, makes Run return as a kill would: without
	// writing the state.
	abandon atomic.Bool

	received, undecryptable, coverReceived atomic.Uint64
	incomplete, badFragments, duplicates   atomic.Uint64
	badMessages                            atomic.Uint64
}

// Register registers keys with the gateway and returns the shared key to
// keep (see SaveSharedKey).
func Register(ctx context.Context, url string, gw [32]byte, keys *Keys) (gatewayproto.SharedKey, error) {
	conn, key, err := gatewayclient.Register(ctx, url, ed25519.PublicKey(gw[:]), keys.Identity)
	if err != nil {
		return key, err
	}
	conn.Close()
	return key, nil
}

// New returns a client; Run connects it. topo returns the current topology
// (a topology.Reader's Current).
func New(cfg Config, keys *Keys, shared gatewayproto.SharedKey, topo func() *topology.Topology, log *slog.Logger) (*Client, error) {
	if cfg.GatewayURL == "" {
		return nil, errors.New("client: no gateway URL")
	}
	if cfg.ReceiveBuffer <= 0 {
		cfg.ReceiveBuffer = 1024
	}
	if cfg.ReconnectMax <= 0 {
		cfg.ReconnectMax = 30 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{cfg: cfg, keys: keys, shared: shared, topo: topo, log: log.With("component", "client"),
		inbox: make(chan Message, cfg.ReceiveBuffer), slots: make(chan struct{}, cfg.ReceiveBuffer), ready: make(chan struct{}),
		// Each sender picks its own packet size: a message may come in as
		// many fragments as regular packets (the smallest that carry
		// messages) cut it into, whatever this client sends.
		reasm: newReassembler(min(cfg.Sender.Geometry.PayloadSize, sphinx.Regular.PayloadSize))}
	s, err := NewSender(cfg.Sender, keys, c.Address(), topo, c.transmit, cfg.LoopCover, c.log)
	if err != nil {
		return nil, err
	}
	c.sender = s
	if err := c.restore(); err != nil {
		return nil, err
	}
	return c, nil
}

// Address returns the client's address.
func (c *Client) Address() Address { return c.keys.Address(c.cfg.GatewayIdentity) }

// Send queues data for the recipient and returns the message's id; Reports
// says later whether it was delivered.
func (c *Client) Send(ctx context.Context, to Address, data []byte) (MessageID, error) {
	if err := ctx.Err(); err != nil {
		return MessageID{}, err
	}
	if err := c.bandwidthStopped(); err != nil {
		return MessageID{}, err
	}
	return c.sender.Send(to, data)
}

// SendAnonymous queues data for the recipient without this client's
// address: with a sender tag and surbs reply SURBs (a negative surbs takes
// the configured default) over which the recipient can Reply.
func (c *Client) SendAnonymous(ctx context.Context, to Address, data []byte, surbs int) (MessageID, error) {
	if err := ctx.Err(); err != nil {
		return MessageID{}, err
	}
	if err := c.bandwidthStopped(); err != nil {
		return MessageID{}, err
	}
	return c.sender.SendAnonymous(to, data, surbs)
}

// Reply queues data for the anonymous sender of tag, over the reply SURBs
// it sent.
func (c *Client) Reply(ctx context.Context, tag SenderTag, data []byte) (MessageID, error) {
	if err := ctx.Err(); err != nil {
		return MessageID{}, err
	}
	if err := c.bandwidthStopped(); err != nil {
		return MessageID{}, err
	}
	return c.sender.Reply(tag, data)
}

// OutstandingSURBs is how many reply SURBs this client has given the
// recipient to (over SendAnonymous and top-ups) and not yet seen used or
// expire: the replies to can still send without asking.
func (c *Client) OutstandingSURBs(to Address) int { return c.sender.outstandingTo(to) }

// GiveSURBs sends the recipient to, which this client has sent anonymous
// messages to, n more reply SURBs (at most MaxSURBsPerMessage, and no more
// than keeps the SURBs outstanding with to within the configured bound), so
// that a stream of replies need not wait for the replier to ask. It returns
// how many it gave (none, when the bound is reached); they go as one
// message of SURBMessagePackets packets.
func (c *Client) GiveSURBs(ctx context.Context, to Address, n int) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := c.bandwidthStopped(); err != nil {
		return 0, err
	}
	return c.sender.topUpTo(to, n)
}

// SURBMessagePackets is how many packets of payloadSize bytes an anonymous
// message of dataLen bytes with surbs reply SURBs takes (a top-up: no data).
func SURBMessagePackets(payloadSize, surbs, dataLen int) int {
	c := ChunkCapacity(payloadSize)
	return max(1, (1+len(SenderTag{})+1+surbs*surbRecordSize+dataLen+c-1)/c)
}

// Reports delivers a Report for every message this client sent.
func (c *Client) Reports() <-chan Report { return c.sender.Reports() }

// HeldSURBs is how many reply SURBs the client holds for tag.
func (c *Client) HeldSURBs(tag SenderTag) int { return c.sender.HeldSURBs(tag) }

// HeldSURBBytes returns the encoded reply SURBs the client holds for tag:
// all it knows of that anonymous sender.
func (c *Client) HeldSURBBytes(tag SenderTag) []byte { return c.sender.HeldSURBBytes(tag) }

// MaxMessageSize is the largest message Send takes.
func (c *Client) MaxMessageSize() int { return c.sender.MaxMessageSize() }

// Receive returns the next message for this client.
func (c *Client) Receive(ctx context.Context) (Message, error) {
	select {
	case m := <-c.inbox:
		<-c.slots
		// Once an app has it, a restart must not hand it out again.
		if err := <-c.journal.commit(takenRecord(m.ID)); err != nil && !errors.Is(err, errJournalClosed) {
			c.log.Error("taken message not written to the journal: a restart after a kill may hand it out again", "err", err)
		}
		return m, nil
	case <-ctx.Done():
		return Message{}, ctx.Err()
	}
}

// Stats are the client's counters: messages received (whole, or put back
// together from fragments), loop cover packets back, payloads that did not
// open, fragments refused, fragmented messages given up on incomplete
// (expired or evicted, see MaxLongMessage), chunks of messages received
// already (Duplicates: retransmissions whose ack was lost), and messages
// that opened but did not decode.
type Stats struct {
	SenderStats
	Received, CoverReceived, Undecryptable uint64
	BadFragments, Incomplete, Duplicates   uint64
	BadMessages                            uint64
	Connected                              bool
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	connected := c.conn != nil
	c.mu.Unlock()
	return Stats{SenderStats: c.sender.Stats(), Received: c.received.Load(),
		CoverReceived: c.coverReceived.Load(), Undecryptable: c.undecryptable.Load(),
		BadFragments: c.badFragments.Load(), Incomplete: c.incomplete.Load(), Duplicates: c.duplicates.Load(),
		BadMessages: c.badMessages.Load(), Connected: connected}
}

// transmitWait is how long a released packet waits for a gateway
// connection before it is dropped; the release stream pauses meanwhile.
const transmitWait = 10 * time.Second

func (c *Client) transmit(next [32]byte, packet []byte) error {
	c.mu.Lock()
	conn, ready := c.conn, c.ready
	c.mu.Unlock()
	if conn == nil {
		t := time.NewTimer(transmitWait)
		defer t.Stop()
		select {
		case <-ready:
		case <-t.C:
			return ErrNotConnected
		}
		c.mu.Lock()
		conn = c.conn
		c.mu.Unlock()
		if conn == nil {
			return ErrNotConnected
		}
	}
	return conn.Send(next, packet)
}

// Run connects to the gateway (reconnecting with backoff when the
// connection drops), receives, and releases packets until ctx ends.
//
// When it returns it writes the client's state to StateFile (if set); the
// client is not to be run again (New a new one, which reads the state).
func (c *Client) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.sender.Run(ctx)
	}()
	defer func() {
		wg.Wait()
		if c.abandon.Load() {
			return
		}
		if err := c.journal.close(); err != nil {
			c.log.Error("receive journal not closed", "err", err)
		}
		if err := c.saveState(false); err != nil {
			c.log.Error("client state not saved: messages pending or held may be lost", "file", c.cfg.StateFile, "err", err)
			return
		}
		if c.cfg.StateFile != "" {
			// The state holds all the journal did.
			if err := os.Remove(journalPath(c.cfg.StateFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
				c.log.Error("receive journal not removed", "err", err)
			}
		}
	}()
	backoff := 100 * time.Millisecond
	for {
		start := time.Now()
		err := c.session(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Since(start) > time.Minute {
			backoff = 100 * time.Millisecond
		}
		c.log.Warn("gateway connection ended; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, c.cfg.ReconnectMax)
	}
}

// session runs one gateway connection.
func (c *Client) session(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	conn, err := gatewayclient.DialWithBandwidth(dctx, c.cfg.GatewayURL, ed25519.PublicKey(c.cfg.GatewayIdentity[:]), c.keys.Identity, c.shared, c.cfg.Bandwidth)
	cancel()
	if err != nil {
		return err
	}
	c.log.Info("connected to gateway", "url", c.cfg.GatewayURL, "stored", conn.Stored)
	c.mu.Lock()
	c.conn = conn
	close(c.ready)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.conn = nil
		c.ready = make(chan struct{})
		c.mu.Unlock()
		conn.Close()
	}()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	acks := make(chan pendingAck, c.cfg.ReceiveBuffer)
	ackerDone, ackErr := make(chan struct{}), make(chan error, 1)
	go func() {
		defer close(ackerDone)
		err := c.ackCommitted(conn, acks)
		ackErr <- err
		if err != nil {
			conn.Close()
		}
	}()
	defer close(acks)
	for {
		select {
		case r := <-conn.Refusals():
			c.log.Warn("gateway refused", "code", r.Code, "message", r.Message)
			continue
		default:
		}
		m, err := conn.Receive(ctx)
		if err != nil {
			return err
		}
		// Every payload, cover or not, waits for room for a message before
		// it is handled and acknowledged: the gateway sees the same timing
		// whatever the payload was.
		select {
		case c.slots <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		case <-conn.Done():
			return conn.Err()
		}
		msg, ok, rec := c.handle(m.Payload)
		if rec == nil && !gatewayproto.IsAck(m.Payload) {
			// Cover costs the commit what a chunk does: the gateway
			// cannot tell them apart by when the ack comes.
			rec = padRecord(len(m.Payload))
		}
		if ok {
			c.inbox <- msg
			c.received.Add(1)
		} else {
			<-c.slots
		}
		// The gateway may delete the payload once what it brought is on
		// disk; every payload waits for a commit, kept or not (journal.go).
		select {
		case acks <- pendingAck{id: m.ID, committed: c.journal.commit(rec)}:
		case <-ackerDone:
			return <-ackErr
		}
		if c.journal.full() {
			// Here, between payloads, nothing changes the reassembler
			// the snapshot reads.
			c.journal.compactNow()
		}
	}
}

type pendingAck struct {
	id        uint64
	committed <-chan error
}

// ackCommitted acknowledges each payload to the gateway, in order, once
// its journal commit is done.
func (c *Client) ackCommitted(conn *gatewayclient.Conn, acks <-chan pendingAck) error {
	for a := range acks {
		if err := <-a.committed; err != nil {
			c.log.Error("received payload not written to the journal: not acknowledged", "err", err)
			return fmt.Errorf("journal: %w", err)
		}
		if err := conn.Ack(a.id); err != nil {
			return fmt.Errorf("acknowledge message %d: %w", a.id, err)
		}
	}
	return nil
}

// handle takes one payload the gateway delivered and returns the message
// for apps it completes, if any, and the journal record that keeps what
// the payload brought (nil: nothing to keep).
func (c *Client) handle(payload []byte) (Message, bool, []byte) {
	if gatewayproto.IsAck(payload) {
		c.sender.handleAck(payload)
		return Message{}, false, nil
	}
	now := time.Now()
	plain, reply, rtag, err := c.sender.openContent(c, payload, now)
	if err != nil {
		// Not for us or damaged: nothing to hand on, nothing to keep.
		c.undecryptable.Add(1)
		return Message{}, false, nil
	}
	m, ok, kept := c.handlePlain(plain, reply, rtag, now, false)
	if !kept {
		return m, ok, nil
	}
	return m, ok, chunkRecord(plain, reply, rtag)
}

// handlePlain takes a decrypted chunk; kept reports whether it changed
// what the client holds (so it is to be journaled). A replay (from the
// journal) asks for no SURB top-ups: they were asked for the first time.
func (c *Client) handlePlain(plain []byte, reply bool, rtag SenderTag, now time.Time, replay bool) (_ Message, _ bool, kept bool) {
	p, err := parsePiece(plain)
	switch {
	case errors.Is(err, ErrCover) && !reply:
		c.coverReceived.Add(1)
		return Message{}, false, false
	case err != nil:
		c.undecryptable.Add(1)
		return Message{}, false, false
	}
	b, abandoned, err := c.reasm.add(p, now)
	c.incomplete.Add(uint64(abandoned))
	switch {
	case errors.Is(err, errDuplicate):
		c.duplicates.Add(1)
		return Message{}, false, false
	case err != nil:
		c.badFragments.Add(1)
		return Message{}, false, false
	case b == nil:
		return Message{}, false, true
	}
	m, err := parseMessage(b)
	if err != nil {
		c.badMessages.Add(1)
		return Message{}, false, true
	}
	// What came over a reply SURB may only be a reply or a request for
	// SURBs; the rest only sealed to our address.
	if reply != (m.kind == kindReply || m.kind == kindSURBAsk) {
		c.badMessages.Add(1)
		return Message{}, false, true
	}
	switch m.kind {
	case kindPlain:
		return Message{ID: p.ID, Data: m.data}, true, true
	case kindAnonymous:
		c.sender.addSURBs(m.tag, m.surbs, now)
		tag := m.tag
		return Message{ID: p.ID, Data: m.data, SenderTag: &tag}, true, true
	case kindSURBs:
		c.sender.addSURBs(m.tag, m.surbs, now)
	case kindReply:
		if !replay && c.sender.outstanding(rtag) < c.cfg.Sender.Replies.withDefaults().LowWater {
			c.topUp(rtag, c.cfg.Sender.Replies.withDefaults().SURBs)
		}
		return Message{ID: p.ID, Data: m.data, Reply: true, ReplyTag: rtag}, true, true
	case kindSURBAsk:
		if !replay {
			c.topUp(rtag, m.want)
		}
	}
	return Message{}, false, true
}

func (c *Client) topUp(tag SenderTag, n int) {
	if err := c.sender.topUp(tag, n); err != nil {
		c.log.Debug("reply SURB top-up not sent", "tag", tag, "err", err)
	}
}
