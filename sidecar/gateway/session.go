package gateway

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/nyx-privacy/nyx/sphinx"
)

// maxFrameSize bounds any websocket frame a client may send: a next-hop
// identity and the largest standard Sphinx packet.
var maxFrameSize = int64(NextHopSize + sphinx.Extended32.PacketSize())

// refusal is an error the gateway reports to the client in an error frame
// and counts under its reason.
type refusal struct {
	reason string
	err    error
}

func (r *refusal) Error() string { return r.reason + ": " + r.err.Error() }
func (r *refusal) Unwrap() error { return r.err }

func refuse(reason string, format string, args ...any) *refusal {
	return &refusal{reason: reason, err: fmt.Errorf(format, args...)}
}

// Handler returns the websocket endpoint for clients. It upgrades any
// request on any path; a request that is not a websocket upgrade gets an
// HTTP error.
func (g *Gateway) Handler() http.Handler {
	return http.HandlerFunc(g.serveHTTP)
}

func (g *Gateway) serveHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		http.Error(w, "gateway closed", http.StatusServiceUnavailable)
		return
	}
	if len(g.conns) >= g.cfg.MaxConnections {
		g.mu.Unlock()
		g.m.refused.WithLabelValues(ReasonTooManyConns).Inc()
		http.Error(w, "too many connections", http.StatusServiceUnavailable)
		return
	}
	g.wg.Add(1)
	g.mu.Unlock()
	defer g.wg.Done()

	conn, err := g.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// The upgrader has answered the request with an HTTP error.
		g.m.refused.WithLabelValues(ReasonBadFrame).Inc()
		return
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		conn.Close()
		return
	}
	g.conns[conn] = struct{}{}
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.conns, conn)
		g.mu.Unlock()
		conn.Close()
	}()
	g.serveConn(conn, r.RemoteAddr)
}

func (g *Gateway) serveConn(conn *websocket.Conn, remote string) {
	log := g.log.With("remote", remote)
	conn.SetReadLimit(maxFrameSize)
	_ = conn.SetReadDeadline(time.Now().Add(g.cfg.HandshakeTimeout))
	client, key, answer, err := g.handshake(conn)
	if err != nil {
		g.refuseConn(conn, log, err)
		return
	}
	s := &session{
		g:      g,
		conn:   conn,
		client: client,
		key:    key,
		log:    log.With("client", fmt.Sprintf("%x", client[:8])),
		wake:   make(chan struct{}, 1),
		ctrl:   make(chan []byte, 16),
		done:   make(chan struct{}),
		nextID: 1,
	}
	// Attach before answering: once the client has its answer, it is the
	// client's newest session, and a later connection replaces it, never the
	// reverse. Nothing is written to it before the writer starts.
	if !g.attach(s) {
		return
	}
	defer g.detach(s)
	if answer.Type == TypeRegistered {
		g.m.registrations.Inc()
		s.log.Info("client registered")
	} else {
		g.m.auths.Inc()
	}
	if err := g.writeControl(conn, answer); err != nil {
		return
	}
	s.log.Debug("client session open")
	var writer sync.WaitGroup
	writer.Add(1)
	go func() {
		defer writer.Done()
		s.writeLoop()
	}()
	s.signal()
	s.readLoop()
	g.detach(s)
	writer.Wait()
	s.log.Debug("client session closed")
}

// refuseConn counts a refused handshake, tells the client why (best effort)
// and lets the caller close the connection.
func (g *Gateway) refuseConn(conn *websocket.Conn, log *slog.Logger, err error) {
	reason := ReasonBadFrame
	var r *refusal
	switch {
	case errors.As(err, &r):
		reason = r.reason
	case isTimeout(err):
		reason = ReasonTimeout
	case isClosed(err):
		// The client went away mid-handshake: nothing to refuse.
		return
	}
	g.m.refused.WithLabelValues(reason).Inc()
	log.Debug("handshake refused", "reason", reason, "err", err)
	_ = conn.SetWriteDeadline(time.Now().Add(g.cfg.WriteTimeout))
	_ = conn.WriteMessage(websocket.TextMessage, (&Control{Type: TypeError, Code: reason, Message: truncate(err.Error(), 200)}).Marshal())
	_ = conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, reason))
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

func isClosed(err error) bool {
	var ce *websocket.CloseError
	return errors.As(err, &ce) || errors.Is(err, websocket.ErrCloseSent)
}

// readControl reads one frame that must be a control message.
func readControl(conn *websocket.Conn) (*Control, error) {
	mt, data, err := conn.ReadMessage()
	if err != nil {
		if errors.Is(err, websocket.ErrReadLimit) {
			return nil, refuse(ReasonBadFrame, "frame above %d bytes", maxFrameSize)
		}
		return nil, err
	}
	if mt != websocket.TextMessage {
		return nil, refuse(ReasonUnauthenticated, "binary frame before the handshake completed")
	}
	c, err := ParseControl(data)
	if err != nil {
		return nil, refuse(ReasonBadFrame, "%w", err)
	}
	return c, nil
}

func (g *Gateway) writeControl(conn *websocket.Conn, c *Control) error {
	_ = conn.SetWriteDeadline(time.Now().Add(g.cfg.WriteTimeout))
	return conn.WriteMessage(websocket.TextMessage, c.Marshal())
}

// handshake runs a registration or an authentication and returns the
// client's identity and shared key.
func (g *Gateway) handshake(conn *websocket.Conn) ([IdentitySize]byte, SharedKey, *Control, error) {
	var id [IdentitySize]byte
	c, err := readControl(conn)
	if err != nil {
		return id, SharedKey{}, nil, err
	}
	switch c.Type {
	case TypeRegisterInit:
		return g.register(conn, c)
	case TypeAuthenticate:
		return g.authenticate(conn, c)
	default:
		return id, SharedKey{}, nil, refuse(ReasonUnauthenticated, "%q before a handshake", c.Type)
	}
}

func (g *Gateway) register(conn *websocket.Conn, init *Control) ([IdentitySize]byte, SharedKey, *Control, error) {
	now := g.now()
	t := Transcript{Gateway: g.id, Timestamp: init.Timestamp}
	copy(t.Client[:], init.Identity)
	copy(t.ClientEphemeral[:], init.Ephemeral)
	if !skewOK(init.Timestamp, now, g.cfg.MaxClockSkew) {
		return t.Client, SharedKey{}, nil, refuse(ReasonSkew, "register_init timestamp %d is more than %s from the gateway's clock", init.Timestamp, g.cfg.MaxClockSkew)
	}
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return t.Client, SharedKey{}, nil, fmt.Errorf("ephemeral key: %w", err)
	}
	dh, err := x25519(eph, init.Ephemeral)
	if err != nil {
		return t.Client, SharedKey{}, nil, refuse(ReasonBadFrame, "%w", err)
	}
	copy(t.GatewayEphemeral[:], eph.PublicKey().Bytes())
	err = g.writeControl(conn, &Control{
		Type:      TypeRegisterChallenge,
		Gateway:   g.id[:],
		Ephemeral: t.GatewayEphemeral[:],
		Signature: ed25519.Sign(g.identity, t.GatewaySigningBytes()),
	})
	if err != nil {
		return t.Client, SharedKey{}, nil, err
	}
	fin, err := readControl(conn)
	if err != nil {
		return t.Client, SharedKey{}, nil, err
	}
	if fin.Type != TypeRegisterFinish {
		return t.Client, SharedKey{}, nil, refuse(ReasonBadFrame, "%q where register_finish was expected", fin.Type)
	}
	if !ed25519.Verify(ed25519.PublicKey(t.Client[:]), t.ClientSigningBytes(), fin.Signature) {
		return t.Client, SharedKey{}, nil, refuse(ReasonBadSignature, "client signature over the registration transcript does not verify")
	}
	key, err := t.SharedKey(dh)
	if err != nil {
		return t.Client, SharedKey{}, nil, err
	}
	if err := g.st.putClient(t.Client, clientRecord{Key: key, RegisteredAt: now}); err != nil {
		return t.Client, SharedKey{}, nil, err
	}
	return t.Client, key, &Control{Type: TypeRegistered, MAC: t.RegisteredMAC(key)}, nil
}

func (g *Gateway) authenticate(conn *websocket.Conn, a *Control) ([IdentitySize]byte, SharedKey, *Control, error) {
	var id [IdentitySize]byte
	var nonce [NonceSize]byte
	copy(id[:], a.Identity)
	copy(nonce[:], a.Nonce)
	now := g.now()
	if !skewOK(a.Timestamp, now, g.cfg.MaxClockSkew) {
		return id, SharedKey{}, nil, refuse(ReasonSkew, "authenticate timestamp %d is more than %s from the gateway's clock", a.Timestamp, g.cfg.MaxClockSkew)
	}
	rec, err := g.st.client(id)
	if errors.Is(err, ErrUnknownClient) {
		return id, SharedKey{}, nil, refuse(ReasonUnknownClient, "client %x has not registered here", id[:8])
	}
	if err != nil {
		return id, SharedKey{}, nil, err
	}
	if !hmac.Equal(a.MAC, AuthMAC(rec.Key, g.id, id, nonce, a.Timestamp)) {
		return id, SharedKey{}, nil, refuse(ReasonBadMAC, "authentication MAC does not verify")
	}
	fresh, err := g.nonces.add(id, nonce, now, time.UnixMilli(a.Timestamp).Add(g.cfg.MaxClockSkew+time.Second))
	if err != nil {
		return id, SharedKey{}, nil, refuse(ReasonBusy, "%w", err)
	}
	if !fresh {
		return id, SharedKey{}, nil, refuse(ReasonReplay, "authentication nonce already used")
	}
	stored, _ := g.st.count(&id)
	return id, rec.Key, &Control{
		Type:   TypeAuthenticated,
		MAC:    AuthenticatedMAC(rec.Key, g.id, id, nonce, a.Timestamp),
		Stored: uint64(stored),
	}, nil
}

// session is one authenticated client connection.
//
// Messages for the client flow through inflight, in order: a message is
// appended when it is pushed live (seq 0: in memory only) or read from the
// store (seq > 0), written by the writer goroutine, and removed when the
// client acknowledges its id (and then deleted from the store if it came
// from there). While the session is live (the store holds nothing for the
// client beyond lastSeq), Deliver appends to inflight directly; once the
// window is full it stores the in-memory ones first and then the new one,
// and the session reads from the store again as the client acknowledges.
// When the session ends, unacknowledged in-memory messages are stored, so a
// disconnect loses nothing.
type session struct {
	g      *Gateway
	conn   *websocket.Conn
	client [IdentitySize]byte
	key    SharedKey
	log    *slog.Logger

	wake chan struct{}
	ctrl chan []byte
	done chan struct{}
	wmu  sync.Mutex // gorilla allows one writer at a time

	mu       sync.Mutex
	inflight []*pending
	nextID   uint64
	live     bool
	lastSeq  uint64
	detached bool
}

type pending struct {
	id, seq uint64
	payload []byte
	sent    bool
}

func (s *session) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *session) sendControl(c *Control) {
	select {
	case s.ctrl <- c.Marshal():
	default:
		// A client that does not read its error frames loses some.
	}
}

// attach makes s the client's session, ending an earlier one.
func (g *Gateway) attach(s *session) bool {
	lock := &g.stripes[s.client[0]]
	lock.Lock()
	defer lock.Unlock()
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return false
	}
	old := g.sessions[s.client]
	g.sessions[s.client] = s
	g.mu.Unlock()
	if old != nil {
		old.log.Info("client session replaced by a new connection")
		g.detachLocked(old)
	}
	g.m.connected.Inc()
	return true
}

func (g *Gateway) detach(s *session) {
	lock := &g.stripes[s.client[0]]
	lock.Lock()
	defer lock.Unlock()
	g.detachLocked(s)
}

// detachLocked ends s (its stripe held): it stores the in-memory messages
// the client has not acknowledged and closes the connection.
func (g *Gateway) detachLocked(s *session) {
	s.mu.Lock()
	if s.detached {
		s.mu.Unlock()
		return
	}
	s.detached = true
	var keep [][]byte
	for _, p := range s.inflight {
		if p.seq == 0 {
			keep = append(keep, p.payload)
		}
	}
	s.inflight = nil
	s.mu.Unlock()
	g.mu.Lock()
	if g.sessions[s.client] == s {
		delete(g.sessions, s.client)
	}
	g.mu.Unlock()
	g.m.connected.Dec()
	if len(keep) > 0 {
		if _, err := g.st.append(s.client, g.now(), keep...); err != nil {
			g.deliverErr(s.client, err)
			s.log.Error("unacknowledged messages lost at disconnect", "count", len(keep), "err", err)
		} else {
			g.m.storedTotal.Add(float64(len(keep)))
		}
	}
	close(s.done)
	s.conn.Close()
}

// offer is Deliver's half (the stripe held): push p if the session is live
// and has room, otherwise store it.
func (s *session) offer(p []byte) (pushed bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.signal()
	g := s.g
	if s.live && len(s.inflight) < g.cfg.Window {
		s.inflight = append(s.inflight, &pending{id: s.nextID, payload: p})
		s.nextID++
		return true, nil
	}
	if !s.live {
		_, err := g.st.append(s.client, g.now(), p)
		return false, err
	}
	// The client is behind: from here on its messages go through the store,
	// the in-memory ones first so the order holds.
	var mem []*pending
	var payloads [][]byte
	for _, q := range s.inflight {
		if q.seq == 0 {
			mem = append(mem, q)
			payloads = append(payloads, q.payload)
		}
	}
	seqs, err := g.st.append(s.client, g.now(), append(payloads, p)...)
	if err != nil {
		return false, err
	}
	for i, q := range mem {
		q.seq = seqs[i]
		s.lastSeq = seqs[i]
	}
	g.m.storedTotal.Add(float64(len(mem)))
	s.live = false
	return false, nil
}

func (s *session) writeLoop() {
	ping := time.NewTicker(s.g.cfg.PingInterval)
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
			err = s.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.g.cfg.WriteTimeout))
		}
		if err != nil {
			// The reader sees the closed connection and ends the session.
			s.log.Debug("write to client failed", "err", err)
			s.conn.Close()
			return
		}
	}
}

func (s *session) write(mt int, b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = s.conn.SetWriteDeadline(time.Now().Add(s.g.cfg.WriteTimeout))
	return s.conn.WriteMessage(mt, b)
}

// pump writes what inflight holds unsent and refills it from the store
// while the client is behind and the window has room.
func (s *session) pump() error {
	g := s.g
	for {
		// What to write is copied under the lock: offer may give an
		// in-memory message a store sequence number meanwhile.
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
			if err := s.write(websocket.BinaryMessage, DeliveryFrame(p.id, p.payload)); err != nil {
				return err
			}
			g.m.pushed.WithLabelValues(p.src).Inc()
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

// refill reads the next stored messages into inflight and goes live when
// the store has no more.
func (s *session) refill() (int, error) {
	g := s.g
	lock := &g.stripes[s.client[0]]
	lock.Lock()
	defer lock.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	room := g.cfg.Window - len(s.inflight)
	if s.detached || s.live || room <= 0 {
		return 0, nil
	}
	msgs, bad, err := g.st.after(s.client, s.lastSeq, room)
	if err != nil {
		return 0, err
	}
	if bad > 0 {
		s.log.Warn("unreadable stored messages skipped (the sweeper deletes them)", "count", bad)
	}
	for _, m := range msgs {
		s.inflight = append(s.inflight, &pending{id: s.nextID, seq: m.Seq, payload: m.Payload})
		s.nextID++
		s.lastSeq = m.Seq
	}
	if len(msgs) < room {
		s.live = true
	}
	return len(msgs), nil
}

// ack handles the client's acknowledgement of every id up to upto.
func (s *session) ack(upto uint64) error {
	s.mu.Lock()
	var seqs []uint64
	n := 0
	for n < len(s.inflight) && s.inflight[n].id <= upto {
		p := s.inflight[n]
		if !p.sent {
			s.mu.Unlock()
			return refuse(ReasonBadFrame, "ack of message %d, which was not sent", p.id)
		}
		if p.seq != 0 {
			seqs = append(seqs, p.seq)
		}
		n++
	}
	if upto >= s.nextID {
		s.mu.Unlock()
		return refuse(ReasonBadFrame, "ack of message %d, which was not sent", upto)
	}
	s.inflight = append(s.inflight[:0], s.inflight[n:]...)
	s.mu.Unlock()
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
	_ = s.conn.SetReadDeadline(time.Now().Add(idle))
	s.conn.SetPongHandler(func(string) error {
		return s.conn.SetReadDeadline(time.Now().Add(idle))
	})
	for {
		mt, data, err := s.conn.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				g.m.refused.WithLabelValues(ReasonBadFrame).Inc()
			}
			return
		}
		_ = s.conn.SetReadDeadline(time.Now().Add(idle))
		if mt == websocket.BinaryMessage {
			s.forward(data)
			continue
		}
		c, err := ParseControl(data)
		if err == nil && c.Type != TypeAck {
			err = fmt.Errorf("%w: %q in an authenticated session", ErrBadFrame, c.Type)
		}
		if err == nil {
			err = s.ack(c.UpTo)
		}
		if err != nil {
			var r *refusal
			if !errors.As(err, &r) {
				r = &refusal{reason: ReasonBadFrame, err: err}
			}
			g.m.refused.WithLabelValues(r.reason).Inc()
			s.log.Debug("session ended on a bad control frame", "err", err)
			_ = s.write(websocket.TextMessage, (&Control{Type: TypeError, Code: r.reason, Message: truncate(err.Error(), 200)}).Marshal())
			return
		}
	}
}

// forward hands a client's packet to layer 1. A bad packet or a refused
// forward is reported to the client; the session goes on.
func (s *session) forward(frame []byte) {
	g := s.g
	next, packet, err := ParseForwardFrame(frame)
	if err != nil {
		g.m.refused.WithLabelValues(ReasonBadPacket).Inc()
		s.sendControl(&Control{Type: TypeError, Code: ReasonBadPacket, Message: truncate(err.Error(), 200)})
		return
	}
	if err := g.fwd.Forward(next, packet); err != nil {
		g.m.refused.WithLabelValues(ReasonForwardFailed).Inc()
		s.sendControl(&Control{Type: TypeError, Code: ReasonForwardFailed, Message: truncate(err.Error(), 200)})
		return
	}
	g.m.forwarded.Inc()
}
