// Package gatewayclient is the client side of the client-gateway protocol
// (sidecar/gateway/PROTOCOL.md): register with a gateway, authenticate
// later with the shared key, send Sphinx packets, receive and acknowledge
// what the gateway delivers. It links neither the gateway's server nor its
// store.
package gatewayclient

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
)

// Message is a payload the gateway delivered, with the id to acknowledge.
type Message struct {
	ID      uint64
	Payload []byte
}

// ErrRefused is wrapped by the error a handshake returns when the gateway
// answered with an error frame.
var ErrRefused = errors.New("gateway refused")

// Conn is a client's authenticated connection to its gateway.
type Conn struct {
	conn *websocket.Conn
	wmu  sync.Mutex

	// Stored is how many messages the gateway held for the client when it
	// authenticated (0 after a registration).
	Stored uint64

	msgs     chan Message
	refusals chan *gatewayproto.Control
	done     chan struct{}
	err      error
	once     sync.Once

	bw bwState // bandwidth.go
}

// Register registers identity with the gateway at url (ws://host:port/),
// whose identity key the caller knows from the topology. It returns the
// shared key to keep for later Dial calls, and the connection, already
// authenticated.
func Register(ctx context.Context, url string, gateway ed25519.PublicKey, identity ed25519.PrivateKey) (*Conn, gatewayproto.SharedKey, error) {
	var key gatewayproto.SharedKey
	conn, err := dial(ctx, url)
	if err != nil {
		return nil, key, err
	}
	stop := deadlineFromContext(ctx, conn)
	defer stop()
	fail := func(err error) (*Conn, gatewayproto.SharedKey, error) {
		conn.Close()
		return nil, gatewayproto.SharedKey{}, fmt.Errorf("register with gateway %s: %w", url, err)
	}
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return fail(err)
	}
	challenge, err := readChallenge(conn, gateway)
	if err != nil {
		return fail(err)
	}
	t := gatewayproto.Transcript{Challenge: challenge}
	copy(t.Gateway[:], gateway)
	copy(t.Client[:], identity.Public().(ed25519.PublicKey))
	copy(t.ClientEphemeral[:], eph.PublicKey().Bytes())
	err = writeClientControl(conn, &gatewayproto.Control{Type: gatewayproto.TypeRegisterInit, Version: gatewayproto.ProtocolVersion,
		Identity: t.Client[:], Ephemeral: t.ClientEphemeral[:]})
	if err != nil {
		return fail(err)
	}
	ch, err := expect(conn, gatewayproto.TypeRegisterChallenge)
	if err != nil {
		return fail(err)
	}
	if !bytes.Equal(ch.Gateway, gateway) {
		return fail(fmt.Errorf("gateway answered as %x, want %x", ch.Gateway, []byte(gateway)))
	}
	copy(t.GatewayEphemeral[:], ch.Ephemeral)
	if !ed25519.Verify(gateway, t.GatewaySigningBytes(), ch.Signature) {
		return fail(errors.New("gateway's signature over the registration transcript does not verify"))
	}
	dh, err := gatewayproto.X25519(eph, ch.Ephemeral)
	if err != nil {
		return fail(err)
	}
	if key, err = t.SharedKey(dh); err != nil {
		return fail(err)
	}
	err = writeClientControl(conn, &gatewayproto.Control{Type: gatewayproto.TypeRegisterFinish, Signature: ed25519.Sign(identity, t.ClientSigningBytes())})
	if err != nil {
		return fail(err)
	}
	reg, err := expect(conn, gatewayproto.TypeRegistered)
	if err != nil {
		return fail(err)
	}
	if !hmac.Equal(reg.MAC, t.RegisteredMAC(key)) {
		return fail(errors.New("gateway's key confirmation does not verify"))
	}
	// The handshake's deadlines are cleared before the session's reader
	// starts: it may write (a credential) at once.
	stop()
	return newClientConn(conn, 0, nil, t.Gateway), key, nil
}

// Dial connects to the gateway at url and authenticates with the key of an
// earlier registration. The gateway then pushes what it stored.
func Dial(ctx context.Context, url string, gateway ed25519.PublicKey, identity ed25519.PrivateKey, key gatewayproto.SharedKey) (*Conn, error) {
	return dialAuth(ctx, url, gateway, identity, key, nil)
}

func dialAuth(ctx context.Context, url string, gateway ed25519.PublicKey, identity ed25519.PrivateKey, key gatewayproto.SharedKey, bw Bandwidth) (*Conn, error) {
	conn, err := dial(ctx, url)
	if err != nil {
		return nil, err
	}
	stop := deadlineFromContext(ctx, conn)
	defer stop()
	var gw, id [gatewayproto.IdentitySize]byte
	var nonce [gatewayproto.NonceSize]byte
	copy(gw[:], gateway)
	copy(id[:], identity.Public().(ed25519.PublicKey))
	fail := func(err error) (*Conn, error) {
		conn.Close()
		return nil, fmt.Errorf("authenticate with gateway %s: %w", url, err)
	}
	if _, err := rand.Read(nonce[:]); err != nil {
		return fail(err)
	}
	challenge, err := readChallenge(conn, gateway)
	if err != nil {
		return fail(err)
	}
	err = writeClientControl(conn, &gatewayproto.Control{Type: gatewayproto.TypeAuthenticate, Version: gatewayproto.ProtocolVersion,
		Identity: id[:], Nonce: nonce[:], MAC: gatewayproto.AuthMAC(key, gw, id, challenge, nonce)})
	if err != nil {
		return fail(err)
	}
	ok, err := expect(conn, gatewayproto.TypeAuthenticated)
	if err != nil {
		return fail(err)
	}
	if !hmac.Equal(ok.MAC, gatewayproto.AuthenticatedMAC(key, gw, id, challenge, nonce)) {
		return fail(errors.New("gateway's authentication answer does not verify"))
	}
	stop()
	return newClientConn(conn, ok.Stored, bw, gw), nil
}

// readChallenge reads the gateway's first frame, the connection's
// challenge, from the gateway the caller expects.
func readChallenge(conn *websocket.Conn, gateway ed25519.PublicKey) ([gatewayproto.ChallengeSize]byte, error) {
	var challenge [gatewayproto.ChallengeSize]byte
	c, err := expect(conn, gatewayproto.TypeChallenge)
	if err != nil {
		return challenge, err
	}
	if !bytes.Equal(c.Gateway, gateway) {
		return challenge, fmt.Errorf("gateway answered as %x, want %x", c.Gateway, []byte(gateway))
	}
	copy(challenge[:], c.Nonce)
	return challenge, nil
}

func dial(ctx context.Context, url string) (*websocket.Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, ReadBufferSize: 4096, WriteBufferSize: 4096}
	conn, resp, err := d.DialContext(ctx, url, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("connect to gateway %s: %w", url, err)
	}
	conn.SetReadLimit(gatewayproto.MessageIDSize + gatewayproto.MaxClientFrameSize)
	return conn, nil
}

// deadlineFromContext makes the handshake's reads and writes give up when
// ctx ends; stop (idempotent) ends that.
func deadlineFromContext(ctx context.Context, conn *websocket.Conn) (stop func()) {
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetReadDeadline(d)
		_ = conn.SetWriteDeadline(d)
	}
	after := context.AfterFunc(ctx, func() { conn.Close() })
	var once sync.Once
	return func() {
		once.Do(func() {
			after()
			_ = conn.SetReadDeadline(time.Time{})
			_ = conn.SetWriteDeadline(time.Time{})
		})
	}
}

func writeClientControl(conn *websocket.Conn, c *gatewayproto.Control) error {
	return conn.WriteMessage(websocket.TextMessage, c.Marshal())
}

// expect reads the gateway's next control frame, which must be of type want
// (an error frame becomes an error wrapping ErrRefused).
func expect(conn *websocket.Conn, want string) (*gatewayproto.Control, error) {
	mt, data, err := conn.ReadMessage()
	if err != nil {
		return nil, err
	}
	if mt != websocket.TextMessage {
		return nil, fmt.Errorf("%w: binary frame where %s was expected", gatewayproto.ErrBadFrame, want)
	}
	c, err := gatewayproto.ParseControl(data)
	if err != nil {
		return nil, err
	}
	if c.Type == gatewayproto.TypeError {
		return nil, fmt.Errorf("%w: %s: %s", ErrRefused, c.Code, c.Message)
	}
	if c.Type != want {
		return nil, fmt.Errorf("%w: %s where %s was expected", gatewayproto.ErrBadFrame, c.Type, want)
	}
	return c, nil
}

func newClientConn(conn *websocket.Conn, stored uint64, bw Bandwidth, gateway [gatewayproto.IdentitySize]byte) *Conn {
	c := &Conn{
		conn:     conn,
		Stored:   stored,
		msgs:     make(chan Message, 64),
		refusals: make(chan *gatewayproto.Control, 16),
		done:     make(chan struct{}),
		bw:       bwState{src: bw, gateway: gateway, changed: make(chan struct{})},
	}
	go c.readLoop()
	return c
}

func (c *Conn) readLoop() {
	for {
		mt, data, err := c.conn.ReadMessage()
		if err != nil {
			c.end(err)
			return
		}
		if mt == websocket.BinaryMessage {
			id, payload, err := gatewayproto.ParseDeliveryFrame(data)
			if err != nil {
				c.end(err)
				return
			}
			c.received(len(payload))
			select {
			case c.msgs <- Message{ID: id, Payload: payload}:
			case <-c.done:
				return
			}
			continue
		}
		ctl, err := gatewayproto.ParseControl(data)
		if err != nil {
			c.end(err)
			return
		}
		switch ctl.Type {
		case gatewayproto.TypeBandwidth:
			c.onBandwidth(ctl)
		case gatewayproto.TypeError:
			c.onError(ctl)
			select {
			case c.refusals <- ctl:
			default:
			}
		}
	}
}

func (c *Conn) end(err error) {
	c.once.Do(func() {
		c.err = err
		close(c.done)
		c.conn.Close()
	})
}

// Send hands a Sphinx packet to the gateway for the layer-1 node next.
//
// At a gateway that enforces credentials the packet is charged to the
// balance: Send waits while a credential is being presented and fails
// with an error wrapping ErrNoBandwidth, saying why, when none is left.
func (c *Conn) Send(next [gatewayproto.NextHopSize]byte, packet []byte) error {
	if err := c.charge(len(packet)); err != nil {
		return err
	}
	return c.write(websocket.BinaryMessage, gatewayproto.ForwardFrame(next, packet))
}

// Ack tells the gateway the client has every message up to id; the gateway
// then deletes them.
func (c *Conn) Ack(id uint64) error {
	return c.write(websocket.TextMessage, (&gatewayproto.Control{Type: gatewayproto.TypeAck, UpTo: id}).Marshal())
}

// WriteFrame writes one raw websocket frame (websocket.TextMessage or
// BinaryMessage) on the session, as it is: for tools and tests that probe
// how a gateway handles frames the other methods never produce.
func (c *Conn) WriteFrame(messageType int, b []byte) error { return c.write(messageType, b) }

func (c *Conn) write(mt int, b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := c.conn.WriteMessage(mt, b); err != nil {
		c.end(err)
		return fmt.Errorf("write to gateway: %w", err)
	}
	return nil
}

// Receive returns the next message from the gateway, in the order the
// gateway sends them.
func (c *Conn) Receive(ctx context.Context) (Message, error) {
	select {
	case m := <-c.msgs:
		return m, nil
	case <-c.done:
		select {
		case m := <-c.msgs:
			return m, nil
		default:
		}
		return Message{}, c.Err()
	case <-ctx.Done():
		return Message{}, ctx.Err()
	}
}

// Refusals yields the error frames the gateway sent during the session (a
// refused packet, a forward that failed). Unread ones beyond 16 are dropped.
func (c *Conn) Refusals() <-chan *gatewayproto.Control { return c.refusals }

// Done is closed when the connection ends; Err then says why.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended, or nil while it is open.
func (c *Conn) Err() error {
	select {
	case <-c.done:
		return fmt.Errorf("gateway connection closed: %w", c.err)
	default:
		return nil
	}
}

// Close ends the connection.
func (c *Conn) Close() error {
	c.wmu.Lock()
	_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.wmu.Unlock()
	c.end(errors.New("closed by the client"))
	return nil
}
