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

	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
)

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
	conn.SetReadLimit(gatewayproto.MaxClientFrameSize)
	_ = conn.SetReadDeadline(time.Now().Add(time.Duration(g.cfg.HandshakeTimeout)))
	client, key, answer, err := g.handshake(conn)
	if err != nil {
		g.refuseConn(conn, remote, err)
		return
	}
	s := &session{
		g:      g,
		conn:   conn,
		client: client,
		key:    key,
		wake:   make(chan struct{}, 1),
		ctrl:   make(chan []byte, 16),
		done:   make(chan struct{}),
		nextID: 1,
	}
	if g.cfg.EnforceCredentials {
		if s.acct, err = g.acquire(client); err != nil {
			g.refuseConn(conn, remote, err)
			return
		}
		defer g.release(client)
		s.cred.nonce = newNonce()
	}
	// Attach before answering: once the client has its answer, it is the
	// client's newest session, and a later connection replaces it, never the
	// reverse. Nothing is written to it before the writer starts.
	if !g.attach(s) {
		return
	}
	defer g.detach(s)
	if answer.Type == gatewayproto.TypeRegistered {
		g.m.registrations.Inc()
		// Anyone may register any number of identities: rate-limited.
		g.rlog.Info("client registered", "remote", remote, "client", fmt.Sprintf("%x", client[:8]))
	} else {
		g.m.auths.Inc()
	}
	if err := g.writeControl(conn, answer); err != nil {
		return
	}
	if s.acct != nil {
		// The client learns its balance and the nonce its first
		// credential must be bound to before it sends anything.
		if err := g.writeControl(conn, s.bandwidthFrame(0)); err != nil {
			return
		}
	}
	g.rlog.Log(slog.LevelDebug, "client session open", "client session open", "remote", remote, "client", fmt.Sprintf("%x", client[:8]))
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
	g.rlog.Log(slog.LevelDebug, "client session closed", "client session closed", "remote", remote, "client", fmt.Sprintf("%x", client[:8]))
}

// refuseConn counts a refused handshake, tells the client why (best effort)
// and lets the caller close the connection.
func (g *Gateway) refuseConn(conn *websocket.Conn, remote string, err error) {
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
	g.rlog.Log(slog.LevelDebug, "handshake refused", "handshake refused", "remote", remote, "reason", reason, "err", err)
	_ = conn.SetWriteDeadline(time.Now().Add(time.Duration(g.cfg.WriteTimeout)))
	_ = conn.WriteMessage(websocket.TextMessage, (&gatewayproto.Control{Type: gatewayproto.TypeError, Code: reason, Message: gatewayproto.Truncate(err.Error(), 200)}).Marshal())
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
func readControl(conn *websocket.Conn) (*gatewayproto.Control, error) {
	mt, data, err := conn.ReadMessage()
	if err != nil {
		if errors.Is(err, websocket.ErrReadLimit) {
			return nil, refuse(ReasonBadFrame, "frame above %d bytes", gatewayproto.MaxClientFrameSize)
		}
		return nil, err
	}
	if mt != websocket.TextMessage {
		return nil, refuse(ReasonUnauthenticated, "binary frame before the handshake completed")
	}
	c, err := gatewayproto.ParseControl(data)
	if err != nil {
		return nil, refuse(ReasonBadFrame, "%w", err)
	}
	return c, nil
}

func (g *Gateway) writeControl(conn *websocket.Conn, c *gatewayproto.Control) error {
	_ = conn.SetWriteDeadline(time.Now().Add(time.Duration(g.cfg.WriteTimeout)))
	return conn.WriteMessage(websocket.TextMessage, c.Marshal())
}

// handshake sends the connection's challenge, then runs a registration or
// an authentication and returns the client's identity and shared key.
func (g *Gateway) handshake(conn *websocket.Conn) ([gatewayproto.IdentitySize]byte, gatewayproto.SharedKey, *gatewayproto.Control, error) {
	var id [gatewayproto.IdentitySize]byte
	var challenge [gatewayproto.ChallengeSize]byte
	if _, err := rand.Read(challenge[:]); err != nil {
		return id, gatewayproto.SharedKey{}, nil, fmt.Errorf("challenge: %w", err)
	}
	if err := g.writeControl(conn, &gatewayproto.Control{Type: gatewayproto.TypeChallenge, Version: gatewayproto.ProtocolVersion, Gateway: g.id[:], Nonce: challenge[:]}); err != nil {
		return id, gatewayproto.SharedKey{}, nil, err
	}
	c, err := readControl(conn)
	if err != nil {
		return id, gatewayproto.SharedKey{}, nil, err
	}
	switch c.Type {
	case gatewayproto.TypeRegisterInit:
		return g.register(conn, c, challenge)
	case gatewayproto.TypeAuthenticate:
		return g.authenticate(c, challenge)
	default:
		return id, gatewayproto.SharedKey{}, nil, refuse(ReasonUnauthenticated, "%q before a handshake", c.Type)
	}
}

func (g *Gateway) register(conn *websocket.Conn, init *gatewayproto.Control, challenge [gatewayproto.ChallengeSize]byte) ([gatewayproto.IdentitySize]byte, gatewayproto.SharedKey, *gatewayproto.Control, error) {
	t := gatewayproto.Transcript{Gateway: g.id, Challenge: challenge}
	copy(t.Client[:], init.Identity)
	copy(t.ClientEphemeral[:], init.Ephemeral)
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return t.Client, gatewayproto.SharedKey{}, nil, fmt.Errorf("ephemeral key: %w", err)
	}
	dh, err := gatewayproto.X25519(eph, init.Ephemeral)
	if err != nil {
		return t.Client, gatewayproto.SharedKey{}, nil, refuse(ReasonBadFrame, "%w", err)
	}
	copy(t.GatewayEphemeral[:], eph.PublicKey().Bytes())
	err = g.writeControl(conn, &gatewayproto.Control{
		Type:      gatewayproto.TypeRegisterChallenge,
		Gateway:   g.id[:],
		Ephemeral: t.GatewayEphemeral[:],
		Signature: ed25519.Sign(g.identity, t.GatewaySigningBytes()),
	})
	if err != nil {
		return t.Client, gatewayproto.SharedKey{}, nil, err
	}
	fin, err := readControl(conn)
	if err != nil {
		return t.Client, gatewayproto.SharedKey{}, nil, err
	}
	if fin.Type != gatewayproto.TypeRegisterFinish {
		return t.Client, gatewayproto.SharedKey{}, nil, refuse(ReasonBadFrame, "%q where register_finish was expected", fin.Type)
	}
	if !ed25519.Verify(ed25519.PublicKey(t.Client[:]), t.ClientSigningBytes(), fin.Signature) {
		return t.Client, gatewayproto.SharedKey{}, nil, refuse(ReasonBadSignature, "client signature over the registration transcript does not verify")
	}
	key, err := t.SharedKey(dh)
	if err != nil {
		return t.Client, gatewayproto.SharedKey{}, nil, err
	}
	now := g.now()
	err = g.st.putClient(t.Client, clientRecord{Key: key, RegisteredAt: now, LastSeen: now})
	if errors.Is(err, ErrTooManyClients) {
		g.rlog.Warn("registrations refused: MaxClients reached", "max_clients", g.cfg.MaxClients)
		return t.Client, gatewayproto.SharedKey{}, nil, refuse(ReasonTooManyClients, "%w", err)
	}
	if err != nil {
		return t.Client, gatewayproto.SharedKey{}, nil, err
	}
	return t.Client, key, &gatewayproto.Control{Type: gatewayproto.TypeRegistered, MAC: t.RegisteredMAC(key)}, nil
}

// authenticate checks the client's MAC over this connection's challenge.
// The challenge is fresh, so a recorded authentication fails on any other
// connection, before or after a restart: no replay cache is needed.
func (g *Gateway) authenticate(a *gatewayproto.Control, challenge [gatewayproto.ChallengeSize]byte) ([gatewayproto.IdentitySize]byte, gatewayproto.SharedKey, *gatewayproto.Control, error) {
	var id [gatewayproto.IdentitySize]byte
	var nonce [gatewayproto.NonceSize]byte
	copy(id[:], a.Identity)
	copy(nonce[:], a.Nonce)
	rec, err := g.st.client(id)
	if errors.Is(err, ErrUnknownClient) {
		return id, gatewayproto.SharedKey{}, nil, refuse(ReasonUnknownClient, "client %x has not registered here", id[:8])
	}
	if err != nil {
		return id, gatewayproto.SharedKey{}, nil, err
	}
	if !hmac.Equal(a.MAC, gatewayproto.AuthMAC(rec.Key, g.id, id, challenge, nonce)) {
		return id, gatewayproto.SharedKey{}, nil, refuse(ReasonBadMAC, "authentication MAC does not verify")
	}
	// The record says when the client was last seen (to the hour), so an
	// identity nobody uses is forgotten after MaxClientIdle.
	if now := g.now(); now.Sub(rec.LastSeen) >= time.Hour {
		if err := g.st.touch(id, now); err != nil {
			return id, gatewayproto.SharedKey{}, nil, err
		}
	}
	return id, rec.Key, &gatewayproto.Control{
		Type:   gatewayproto.TypeAuthenticated,
		MAC:    gatewayproto.AuthenticatedMAC(rec.Key, g.id, id, challenge, nonce),
		Stored: uint64(g.st.count(&id)),
	}, nil
}
