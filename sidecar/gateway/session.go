package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
)

// session is one authenticated client connection.
//
// Messages for the client flow through inflight, in order: a message is
// appended when it is pushed live (seq 0: in memory only) or read from the
// store (seq > 0), written by the writer goroutine, and removed when the
// client acknowledges its id (and then deleted from the store if it came
// from there). While the session is live (the store holds nothing for the
// client beyond lastSeq and no write for it is under way), Deliver appends
// to inflight directly. Once the session has no room (Window messages, or
// MaxSessionPushedBytes, or the gateway's MaxPushedBytes in flight), it
// stops being live: new messages are stored, and the session reads them
// from the store as the client's acknowledgements make room, after the
// in-memory ones it already sent, so the order holds. When the session
// ends, unacknowledged in-memory messages are stored, so a disconnect loses
// nothing.
type session struct {
	g      *Gateway
	conn   *websocket.Conn
	client [gatewayproto.IdentitySize]byte
	key    gatewayproto.SharedKey

	wake chan struct{}
	ctrl chan []byte
	done chan struct{}
	wmu  sync.Mutex // gorilla allows one writer at a time

	mu       sync.Mutex
	inflight []*pending
	held     int64 // payload bytes in inflight, also counted in g.mem
	nextID   uint64
	live     bool
	lastSeq  uint64
	detached bool

	// acct is the client's balance when the gateway enforces credentials
	// (nil otherwise); cred is the session's side of them.
	acct *account
	cred credState
}

type pending struct {
	id, seq uint64
	payload []byte
	sent    bool
	// ack, for a message pushed from memory, is its SURB-ACK, sent when
	// the client acknowledges the message or it is stored at the
	// session's end.
	ack *surbAck
}

func (s *session) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *session) sendControl(c *gatewayproto.Control) {
	select {
	case s.ctrl <- c.Marshal():
	default:
		// A client that does not read its error frames loses some.
	}
}

// stripe serialises, for the clients it covers, the choice between pushing
// a message and storing it with the attachment of a session and its reads
// of the store. It is held for memory operations only, never across a
// commit: writes are submitted under it (so they commit in that order) and
// waited for after it is released.
type stripe struct {
	sync.Mutex
	// storing counts, per client, the writes of its messages submitted and
	// not yet committed. A session does not go live while its client has
	// one: the store may be about to hold a message it has not read.
	storing map[[gatewayproto.IdentitySize]byte]int
}

func (g *Gateway) stripe(id [gatewayproto.IdentitySize]byte) *stripe { return &g.stripes[id[0]] }

// storeLocked submits the storage of payloads for id (its stripe held) and
// returns a wait that waits for the commit, to call after the stripe is
// released.
func (g *Gateway) storeLocked(st *stripe, id [gatewayproto.IdentitySize]byte, payloads [][]byte) func() error {
	op := g.st.c.submit(&writeOp{kind: opAppend, id: id, now: g.now(), payloads: payloads})
	st.storing[id]++
	return func() error {
		err := op.wait()
		st.Lock()
		left := st.storing[id] - 1
		if left <= 0 {
			delete(st.storing, id)
		} else {
			st.storing[id] = left
		}
		g.mu.Lock()
		s := g.sessions[id]
		g.mu.Unlock()
		if s != nil && err == nil {
			s.takeCommitted(op.seqs, payloads, left)
		}
		st.Unlock()
		if s != nil {
			s.signal()
		}
		if err != nil {
			return fmt.Errorf("store %d messages for %x: %w", len(payloads), id[:8], err)
		}
		return nil
	}
}

// attach makes s the client's session, ending an earlier one.
func (g *Gateway) attach(s *session) bool {
	st := g.stripe(s.client)
	st.Lock()
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		st.Unlock()
		return false
	}
	old := g.sessions[s.client]
	g.sessions[s.client] = s
	g.mu.Unlock()
	wait := func() {}
	if old != nil {
		g.rlog.Info("client session replaced by a new connection", "client", fmt.Sprintf("%x", s.client[:8]))
		wait = g.detachLocked(st, old)
	}
	st.Unlock()
	wait()
	g.m.connected.Inc()
	return true
}

func (g *Gateway) detach(s *session) {
	st := g.stripe(s.client)
	st.Lock()
	wait := g.detachLocked(st, s)
	st.Unlock()
	wait()
}

// detachLocked ends s (its stripe held): it submits the storage of the
// in-memory messages the client has not acknowledged and closes the
// connection. The returned func waits for the storage; call it after
// releasing the stripe.
func (g *Gateway) detachLocked(st *stripe, s *session) (wait func()) {
	s.mu.Lock()
	if s.detached {
		s.mu.Unlock()
		return func() {}
	}
	s.detached = true
	var keep [][]byte
	var keepAcks []*surbAck
	var keepCost int64
	for _, p := range s.inflight {
		if p.seq == 0 {
			keep = append(keep, p.payload)
			keepAcks = append(keepAcks, p.ack)
			keepCost += messageCost(len(p.payload))
		}
	}
	held := s.held
	s.inflight, s.held = nil, 0
	s.mu.Unlock()
	g.mem.give(held)
	g.mu.Lock()
	if g.sessions[s.client] == s {
		delete(g.sessions, s.client)
	}
	g.mu.Unlock()
	close(s.done)
	s.conn.Close()
	if len(keep) == 0 {
		g.m.connected.Dec()
		return func() {}
	}
	// Their bytes stay reserved: they were counted when Deliver accepted
	// them, so storing them cannot be refused for want of room.
	commit := g.storeLocked(st, s.client, keep)
	return func() {
		defer g.m.connected.Dec()
		if err := commit(); err != nil {
			g.st.release(s.client, keepCost)
			g.deliverErr(s.client, err)
			g.rlog.Log(slog.LevelError, "unacknowledged messages lost at disconnect", "unacknowledged messages lost at disconnect",
				"client", fmt.Sprintf("%x", s.client[:8]), "count", len(keep), "err", err)
			return
		}
		g.m.storedTotal.Add(float64(len(keep)))
		for _, a := range keepAcks {
			a.send(g)
		}
	}
}

// takeCommitted hands messages just committed for the client (the stripe
// held, left other writes for it still pending) straight to the session
// if they are the next ones it would read from the store and there is
// room, and makes it live again if nothing else is being written. Without
// it, a session that fell behind under a steady stream of deliveries would
// always find a write pending when it caught up, and every message would
// wait for an fsync.
func (s *session) takeCommitted(seqs []uint64, payloads [][]byte, left int) {
	g := s.g
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.detached || s.live || len(seqs) == 0 || len(seqs) != len(payloads) || s.lastSeq+1 != seqs[0] {
		return
	}
	var size int64
	for _, p := range payloads {
		size += int64(len(p))
	}
	if len(s.inflight)+len(seqs) > g.cfg.Window || s.held+size > g.cfg.MaxSessionPushedBytes || g.mem.take(s, size, size) != size {
		return
	}
	for i, seq := range seqs {
		s.inflight = append(s.inflight, &pending{id: s.nextID, seq: seq, payload: payloads[i]})
		s.nextID++
	}
	s.lastSeq = seqs[len(seqs)-1]
	s.held += size
	s.live = left <= 0
	s.signal()
}

// offer is Deliver's half (the stripe held): push p from memory if the
// session is live and has room, and report whether it did. Otherwise the
// session stops being live and the caller stores p.
func (s *session) offer(p []byte, ack *surbAck) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.g
	if !s.live || s.detached {
		return false
	}
	n := int64(len(p))
	if len(s.inflight) < g.cfg.Window && s.held+n <= g.cfg.MaxSessionPushedBytes && g.mem.take(s, n, n) == n {
		s.inflight = append(s.inflight, &pending{id: s.nextID, payload: p, ack: ack})
		s.nextID++
		s.held += n
		s.signal()
		return true
	}
	// No room: from here on the client's messages go through the store,
	// after the in-memory ones already in flight.
	s.live = false
	return false
}

func (s *session) writeLoop() {
	ping := time.NewTicker(time.Duration(s.g.cfg.PingInterval))
	defer ping.Stop()
	for {
		var err error
		select {
		case <-s.done:
			return
		case b := <-s.ctrl:
			err = s.write(websocket.TextMessage, b)
		case <-s.wake:
			err = s.pump()
		case <-ping.C:
			err = s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Duration(s.g.cfg.WriteTimeout)))
		}
		if err != nil {
			// The reader sees the closed connection and ends the session.
			s.g.rlog.Log(slog.LevelDebug, "write to client failed", "write to client failed", "client", fmt.Sprintf("%x", s.client[:8]), "err", err)
			s.conn.Close()
			return
		}
	}
}

func (s *session) write(mt int, b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(time.Duration(s.g.cfg.WriteTimeout)))
	return s.conn.WriteMessage(mt, b)
}

// pump writes what inflight holds unsent and refills it from the store
// while the client is behind and there is room.
func (s *session) pump() error {
	g := s.g
	for {
		type send struct {
			id      uint64
			payload []byte
			src     string
		}
		s.mu.Lock()
		var out []send
		for _, p := range s.inflight {
			if !p.sent {
				p.sent = true
				src := "live"
				if p.seq != 0 {
					src = "stored"
				}
				out = append(out, send{p.id, p.payload, src})
			}
		}
		live, detached := s.live, s.detached
		s.mu.Unlock()
		if detached {
			return nil
		}
		for _, p := range out {
			if err := s.write(websocket.BinaryMessage, gatewayproto.DeliveryFrame(p.id, p.payload)); err != nil {
				return err
			}
			g.m.pushed.WithLabelValues(p.src).Inc()
			if s.acct != nil {
				// Deliveries are never held back for want of balance (the
				// sender paid its own gateway, and holding them would
				// lose them): a client may owe what it received since its
				// balance ran out, taken from its next credential.
				s.acct.use(int64(len(p.payload)))
				g.cm.delivered.Add(float64(len(p.payload)))
			}
		}
		if live {
			return nil
		}
		n, err := s.refill()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
}

// refill reads the next stored messages into inflight, as many as the
// session's and the gateway's bounds on pushed messages allow, and goes
// live when the store has no more and no write for the client is under
// way.
func (s *session) refill() (int, error) {
	g := s.g
	st := g.stripe(s.client)
	st.Lock()
	defer st.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	room := g.cfg.Window - len(s.inflight)
	roomBytes := g.cfg.MaxSessionPushedBytes - s.held
	if s.detached || s.live || room <= 0 || roomBytes <= 0 {
		return 0, nil
	}
	// A session with nothing in flight may take one message of any size,
	// so it always makes progress.
	least := int64(1)
	if len(s.inflight) == 0 {
		least = int64(g.cfg.MaxPayloadSize)
	}
	granted := g.mem.take(s, roomBytes, least)
	if granted == 0 {
		return 0, nil // woken when other sessions' acknowledgements make room
	}
	msgs, bad, more, err := g.st.after(s.client, s.lastSeq, room, granted)
	if err != nil {
		g.mem.give(granted)
		return 0, err
	}
	if bad > 0 {
		g.rlog.Warn("unreadable stored messages skipped (the sweeper deletes them)", "client", fmt.Sprintf("%x", s.client[:8]), "count", bad)
	}
	var used int64
	for _, m := range msgs {
		s.inflight = append(s.inflight, &pending{id: s.nextID, seq: m.Seq, payload: m.Payload})
		s.nextID++
		s.lastSeq = m.Seq
		used += int64(len(m.Payload))
	}
	s.held += used
	g.mem.give(granted - used)
	if !more && st.storing[s.client] == 0 {
		s.live = true
	}
	return len(msgs), nil
}

// ack handles the client's acknowledgement of every id up to upto.
func (s *session) ack(upto uint64) error {
	s.mu.Lock()
	var seqs []uint64
	var freed, memCost int64
	var acks []*surbAck
	n := 0
	for n < len(s.inflight) && s.inflight[n].id <= upto {
		p := s.inflight[n]
		if !p.sent {
			s.mu.Unlock()
			return refuse(ReasonBadFrame, "ack of message %d, which was not sent", p.id)
		}
		if p.seq != 0 {
			seqs = append(seqs, p.seq)
		} else {
			memCost += messageCost(len(p.payload))
		}
		if p.ack != nil {
			acks = append(acks, p.ack)
		}
		freed += int64(len(p.payload))
		n++
	}
	if upto >= s.nextID {
		s.mu.Unlock()
		return refuse(ReasonBadFrame, "ack of message %d, which was not sent", upto)
	}
	s.inflight = append(s.inflight[:0], s.inflight[n:]...)
	s.held -= freed
	s.mu.Unlock()
	s.g.mem.give(freed)
	s.g.st.release(s.client, memCost)
	// The client has them: their senders may stop retransmitting.
	for _, a := range acks {
		a.send(s.g)
	}
	if _, err := s.g.st.remove(s.client, seqs); err != nil {
		return err
	}
	s.g.m.delivered.Add(float64(n))
	s.signal()
	return nil
}

func (s *session) readLoop() {
	g := s.g
	idle := 2 * g.cfg.PingInterval
	_ = s.conn.SetReadDeadline(time.Now().Add(time.Duration(idle)))
	s.conn.SetPongHandler(func(string) error {
		return s.conn.SetReadDeadline(time.Now().Add(time.Duration(idle)))
	})
	for {
		mt, data, err := s.conn.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				g.m.refused.WithLabelValues(ReasonBadFrame).Inc()
			}
			return
		}
		_ = s.conn.SetReadDeadline(time.Now().Add(time.Duration(idle)))
		if mt == websocket.BinaryMessage {
			s.forward(data)
			continue
		}
		c, err := gatewayproto.ParseControl(data)
		if err == nil {
			switch c.Type {
			case gatewayproto.TypeAck:
				err = s.ack(c.UpTo)
			case gatewayproto.TypeCredential:
				err = s.present(c)
			default:
				err = fmt.Errorf("%w: %q in an authenticated session", gatewayproto.ErrBadFrame, c.Type)
			}
		}
		if err != nil {
			var r *refusal
			if !errors.As(err, &r) {
				r = &refusal{reason: ReasonBadFrame, err: err}
			}
			g.m.refused.WithLabelValues(r.reason).Inc()
			g.rlog.Log(slog.LevelDebug, "session ended on a bad control frame", "session ended on a bad control frame", "client", fmt.Sprintf("%x", s.client[:8]), "err", err)
			_ = s.write(websocket.TextMessage, (&gatewayproto.Control{Type: gatewayproto.TypeError, Code: r.reason, Message: gatewayproto.Truncate(err.Error(), 200)}).Marshal())
			return
		}
	}
}

// forward hands a client's packet to layer 1. A bad packet or a refused
// forward is reported to the client; the session goes on.
func (s *session) forward(frame []byte) {
	g := s.g
	next, packet, err := gatewayproto.ParseForwardFrame(frame)
	if err != nil {
		g.m.refused.WithLabelValues(ReasonBadPacket).Inc()
		s.sendControl(&gatewayproto.Control{Type: gatewayproto.TypeError, Code: ReasonBadPacket, Message: gatewayproto.Truncate(err.Error(), 200)})
		return
	}
	if s.acct != nil && !s.meter(next, packet) {
		return
	}
	s.send(next, packet)
}

// send forwards a packet the client's balance paid for (if metered), and
// refunds it when the forward fails.
func (s *session) send(next [gatewayproto.NextHopSize]byte, packet []byte) {
	g := s.g
	if err := g.fwd.Forward(next, packet); err != nil {
		if s.acct != nil {
			s.acct.use(-int64(len(packet)))
		}
		g.m.refused.WithLabelValues(ReasonForwardFailed).Inc()
		s.sendControl(&gatewayproto.Control{Type: gatewayproto.TypeError, Code: ReasonForwardFailed, Message: gatewayproto.Truncate(err.Error(), 200)})
		return
	}
	g.m.forwarded.Inc()
	if f := g.cfg.Observe; f != nil {
		f(s.client, next, len(packet))
	}
}

// memPool counts the payload bytes of pushed, unacknowledged messages held
// in memory by all sessions, within MaxPushedBytes. A session that finds
// it full waits to be signalled when bytes come back.
type memPool struct {
	mu      sync.Mutex
	used    int64
	max     int64
	waiting map[*session]struct{}
}

// take grants s up to want bytes, or nothing if fewer than least are free
// (then s is signalled when bytes come back).
func (p *memPool) take(s *session, want, least int64) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	free := p.max - p.used
	if free < least || free <= 0 {
		p.waiting[s] = struct{}{}
		return 0
	}
	n := min(want, free)
	p.used += n
	return n
}

func (p *memPool) give(n int64) {
	if n == 0 {
		return
	}
	p.mu.Lock()
	p.used -= n
	var waiting map[*session]struct{}
	if len(p.waiting) > 0 {
		waiting, p.waiting = p.waiting, map[*session]struct{}{}
	}
	p.mu.Unlock()
	for s := range waiting {
		s.signal()
	}
}

func (p *memPool) inUse() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.used
}
