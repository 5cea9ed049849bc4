// Package streamstest joins a stream client and a network requester in
// one process for tests of the stream protocol: a pair of transports over
// channels that deliver every message after a random delay of up to a
// millisecond, so that frames arrive out of order as they do through the
// mixnet. Whole-network tests use the mixnet itself (testutil/mixnet).
package streamstest

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// MaxMessage is what the pipe carries per message: a regular packet's
// message less the addressed envelope, as over the mixnet.
const MaxMessage = 1995 - 97

// Pipe is a client's and a requester's transports joined.
type Pipe struct {
	toService chan msg
	toClient  chan msg
	// Dropped counts messages handed to a side that did not take them
	// within a second (the pipe does not block its senders for long).
	mu      sync.Mutex
	dropped int
	reorder bool
	cut     bool
}

// Cut drops (while on) every message to the client, as when the requester
// dies before its last messages leave.
func (p *Pipe) Cut(on bool) {
	p.mu.Lock()
	p.cut = on
	p.mu.Unlock()
}

type msg struct {
	tag string
	b   []byte
}

// New returns a pipe; reorder delays each message at random.
func New(reorder bool) *Pipe {
	return &Pipe{toService: make(chan msg, 8192), toClient: make(chan msg, 8192), reorder: reorder}
}

func (p *Pipe) deliver(ctx context.Context, ch chan msg, m msg) error {
	if !p.reorder {
		select {
		case ch <- m:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	time.AfterFunc(time.Duration(rand.IntN(1000))*time.Microsecond, func() {
		select {
		case ch <- m:
		case <-time.After(time.Second):
			p.mu.Lock()
			p.dropped++
			p.mu.Unlock()
		}
	})
	return nil
}

// Client is the client's transport; tag names it at the service.
func (p *Pipe) Client(tag string) *ClientEnd { return &ClientEnd{p: p, tag: tag} }

// ClientEnd is a client's transport.
type ClientEnd struct {
	p   *Pipe
	tag string
}

func (c *ClientEnd) Send(ctx context.Context, b []byte) error {
	return c.p.deliver(ctx, c.p.toService, msg{c.tag, append([]byte(nil), b...)})
}

func (c *ClientEnd) Receive(ctx context.Context) ([]byte, error) {
	select {
	case m := <-c.p.toClient:
		return m.b, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *ClientEnd) MaxMessage() int { return MaxMessage }

// Service is the requester's transport (one client per pipe).
func (p *Pipe) Service() *ServiceEnd { return &ServiceEnd{p} }

// ServiceEnd is a requester's transport.
type ServiceEnd struct{ p *Pipe }

func (s *ServiceEnd) Receive(ctx context.Context) (string, []byte, error) {
	select {
	case m := <-s.p.toService:
		return m.tag, m.b, nil
	case <-ctx.Done():
		return "", nil, ctx.Err()
	}
}

func (s *ServiceEnd) Reply(ctx context.Context, tag string, b []byte) error {
	s.p.mu.Lock()
	cut := s.p.cut
	s.p.mu.Unlock()
	if cut {
		return nil
	}
	return s.p.deliver(ctx, s.p.toClient, msg{tag, append([]byte(nil), b...)})
}

func (s *ServiceEnd) MaxMessage() int { return MaxMessage + 97 }

// Inject hands the service a message as if a client of tag had sent it.
func (p *Pipe) Inject(tag string, b []byte) { p.toService <- msg{tag, b} }

// Dropped counts messages not taken within a second.
func (p *Pipe) Dropped() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dropped
}
