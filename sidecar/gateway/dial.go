package gateway

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
)

// This file is the client side of the protocol: what nym-client (and the
// tests) use to register with a gateway and talk to it.

// Message is a payload the gateway delivered, with the id to acknowledge.
type Message struct {
	ID      uint64
	Payload []byte
}

// ErrRefused is wrapped by the error a handshake returns when the gateway
// answered with an error frame.
var ErrRefused = errors.New("gateway refused")

// ClientConn is a client's authenticated connection to its gateway.
type ClientConn struct {
	conn *websocket.Conn
	wmu  sync.Mutex

	// Stored is how many messages the gateway held for the client when it
	// authenticated (0 after a registration).
	Stored uint64

	msgs     chan Message
	refusals chan *Control
	done     chan struct{}
	err      error
	once     sync.Once
}

// Register registers identity with the gateway at url (ws://host:port/),
// whose identity key the caller knows from the topology. It returns the
// shared key to keep for later Dial calls, and the connection, already
// authenticated.
func Register(ctx context.Context, url string, gateway ed25519.PublicKey, identity ed25519.PrivateKey) (*ClientConn, SharedKey, error) {
	var key SharedKey
	conn, err := dial(ctx, url)
	if err != nil {
		return nil, key, err
	}
	stop := deadlineFromContext(ctx, conn)
	defer stop()
	fail := func(err error) (*ClientConn, SharedKey, error) {
		conn.Close()
		return nil, SharedKey{}, fmt.Errorf("register with gateway %s: %w", url, err)
	}
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return fail(err)
	}
	challenge, err := readChallenge(conn, gateway)
	if err != nil {
		return fail(err)
	}
	t := Transcript{Challenge: challenge}
	copy(t.Gateway[:], gateway)
	copy(t.Client[:], identity.Public().(ed25519.PublicKey))
	copy(t.ClientEphemeral[:], eph.PublicKey().Bytes())
	err = writeClientControl(conn, &Control{Type: TypeRegisterInit, Version: ProtocolVersion,
		Identity: t.Client[:], Ephemeral: t.ClientEphemeral[:]})
	if err != nil {
		return fail(err)
	}
	ch, err := expect(conn, TypeRegisterChallenge)
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
	dh, err := x25519(eph, ch.Ephemeral)
	if err != nil {
		return fail(err)
	}
	if key, err = t.SharedKey(dh); err != nil {
		return fail(err)
	}
	err = writeClientControl(conn, &Control{Type: TypeRegisterFinish, Signature: ed25519.Sign(identity, t.ClientSigningBytes())})
	if err != nil {
		return fail(err)
	}
	reg, err := expect(conn, TypeRegistered)
	if err != nil {
		return fail(err)
	}
	if !hmac.Equal(reg.MAC, t.RegisteredMAC(key)) {
		return fail(errors.New("gateway's key confirmation does not verify"))
	}
	return newClientConn(conn, 0), key, nil
}

// Dial connects to the gateway at url and authenticates with the key of an
// earlier registration. The gateway then pushes what it stored.
func Dial(ctx context.Context, url string, gateway ed25519.PublicKey, identity ed25519.PrivateKey, key SharedKey) (*ClientConn, error) {
	conn, err := dial(ctx, url)
	if err != nil {
		return nil, err
	}
	stop := deadlineFromContext(ctx, conn)
	defer stop()
	var gw, id [IdentitySize]byte
	var nonce [NonceSize]byte
	copy(gw[:], gateway)
	copy(id[:], identity.Public().(ed25519.PublicKey))
	fail := func(err error) (*ClientConn, error) {
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
	err = writeClientControl(conn, &Control{Type: TypeAuthenticate, Version: ProtocolVersion,
		Identity: id[:], Nonce: nonce[:], MAC: AuthMAC(key, gw, id, challenge, nonce)})
	if err != nil {
		return fail(err)
	}
	ok, err := expect(conn, TypeAuthenticated)
	if err != nil {
		return fail(err)
	}
	if !hmac.Equal(ok.MAC, AuthenticatedMAC(key, gw, id, challenge, nonce)) {
		return fail(errors.New("gateway's authentication answer does not verify"))
	}
	return newClientConn(conn, ok.Stored), nil
}

// readChallenge reads the gateway's first frame, the connection's
// challenge, from the gateway the caller expects.
func readChallenge(conn *websocket.Conn, gateway ed25519.PublicKey) ([ChallengeSize]byte, error) {
	var challenge [ChallengeSize]byte
	c, err := expect(conn, TypeChallenge)
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
	conn.SetReadLimit(MessageIDSize + maxFrameSize)
	return conn, nil
}

// deadlineFromContext makes the handshake's reads and writes give up when
// ctx ends.
func deadlineFromContext(ctx context.Context, conn *websocket.Conn) (stop func()) {
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetReadDeadline(d)
		_ = conn.SetWriteDeadline(d)
	}
	after := context.AfterFunc(ctx, func() { conn.Close() })
	return func() {
		after()
		_ = conn.SetReadDeadline(time.Time{})
		_ = conn.SetWriteDeadline(time.Time{})
	}
}

func writeClientControl(conn *websocket.Conn, c *Control) error {
	return conn.WriteMessage(websocket.TextMessage, c.Marshal())
}

// expect reads the gateway's next control frame, which must be of type want
// (an error frame becomes an error wrapping ErrRefused).
func expect(conn *websocket.Conn, want string) (*Control, error) {
	mt, data, err := conn.ReadMessage()
	if err != nil {
		return nil, err
	}
	if mt != websocket.TextMessage {
		return nil, fmt.Errorf("%w: binary frame where %s was expected", ErrBadFrame, want)
	}
	c, err := ParseControl(data)
	if err != nil {
		return nil, err
	}
	if c.Type == TypeError {
		return nil, fmt.Errorf("%w: %s: %s", ErrRefused, c.Code, c.Message)
	}
	if c.Type != want {
		return nil, fmt.Errorf("%w: %s where %s was expected", ErrBadFrame, c.Type, want)
	}
	return c, nil
}

func newClientConn(conn *websocket.Conn, stored uint64) *ClientConn {
	c := &ClientConn{
		conn:     conn,
		Stored:   stored,
		msgs:     make(chan Message, 64),
		refusals: make(chan *Control, 16),
		done:     make(chan struct{}),
	}
	go c.readLoop()
	return c
}

func (c *ClientConn) readLoop() {
	for {
		mt, data, err := c.conn.ReadMessage()
		if err != nil {
			c.end(err)
			return
		}
		if mt == websocket.BinaryMessage {
			id, payload, err := ParseDeliveryFrame(data)
			if err != nil {
				c.end(err)
				return
			}
			select {
			case c.msgs <- Message{ID: id, Payload: payload}:
			case <-c.done:
				return
			}
			continue
		}
		ctl, err := ParseControl(data)
		if err != nil {
			c.end(err)
			return
		}
		if ctl.Type == TypeError {
			select {
			case c.refusals <- ctl:
			default:
			}
		}
	}
}

func (c *ClientConn) end(err error) {
	c.once.Do(func() {
		c.err = err
		close(c.done)
		c.conn.Close()
	})
}

// Send hands a Sphinx packet to the gateway for the layer-1 node next.
func (c *ClientConn) Send(next [NextHopSize]byte, packet []byte) error {
	return c.write(websocket.BinaryMessage, ForwardFrame(next, packet))
}

// Ack tells the gateway the client has every message up to id; the gateway
// then deletes them.
func (c *ClientConn) Ack(id uint64) error {
	return c.write(websocket.TextMessage, (&Control{Type: TypeAck, UpTo: id}).Marshal())
}

func (c *ClientConn) write(mt int, b []byte) error {
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
func (c *ClientConn) Receive(ctx context.Context) (Message, error) {
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
func (c *ClientConn) Refusals() <-chan *Control { return c.refusals }

// Done is closed when the connection ends; Err then says why.
func (c *ClientConn) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended, or nil while it is open.
func (c *ClientConn) Err() error {
	select {
	case <-c.done:
		return fmt.Errorf("gateway connection closed: %w", c.err)
	default:
		return nil
	}
}

// Close ends the connection.
func (c *ClientConn) Close() error {
	c.wmu.Lock()
	_ = c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.wmu.Unlock()
	c.end(errors.New("closed by the client"))
	return nil
}
