package streams

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// Bounds of one stream's receive side.
const (
	// Window is how many frames beyond the next expected one a stream holds
	// while it waits for the missing ones; a frame further ahead breaks
	// the protocol.
	Window = 1024
	// MaxBuffered bounds the bytes received in order but not yet read. There
	// is no flow control yet: a reader that falls this far behind has its
	// stream ended with ReasonProtocol.
	MaxBuffered = 4 << 20
)

// ErrClosed is returned by a stream's methods after Close.
var ErrClosed = errors.New("stream: closed")

// SendFunc sends one frame to the other end.
type SendFunc func(Frame) error

// Stream is one end of a stream: an io.ReadWriteCloser with CloseWrite.
// Its owner (Client, or the requester) feeds it the frames that arrive
// with Deliver.
type Stream struct {
	id      uint64
	send    SendFunc
	answer  SendFunc // for pongs and protocol errors; send if nil
	maxData int
	onEnd   func(*Stream)

	writeMu sync.Mutex // orders Write and CloseWrite

	mu        sync.Mutex
	cond      *sync.Cond
	next      uint32           // next ordered frame expected
	pending   map[uint32]Frame // ordered frames that came early
	buf       []byte           // in order, not yet read
	readEOF   bool
	sendSeq   uint32
	wroteEOF  bool
	err       error // set once: the stream failed or was closed
	heard     time.Time
	moved     time.Time // when next last advanced, or pending last became non-empty
	pinged    time.Time
	first     chan Frame // the ordered frame number 0, once
	ended     bool
	done      chan struct{}
	duplicate uint64
}

// NewStream returns one end of stream id. send carries its frames, each at
// most maxData bytes of data; onEnd (if not nil) is called once when the
// stream has ended both ways or failed.
func NewStream(id uint64, send SendFunc, maxData int, onEnd func(*Stream)) *Stream {
	s := &Stream{id: id, send: send, maxData: maxData, onEnd: onEnd, pending: map[uint32]Frame{},
		heard: time.Now(), moved: time.Now(), first: make(chan Frame, 1), done: make(chan struct{})}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// SetAnswer makes Deliver send its answers (pongs, protocol errors) with
// f instead of the stream's send function: an owner whose receive loop
// calls Deliver passes one that does not block it. Call it before Deliver.
func (s *Stream) SetAnswer(f SendFunc) { s.answer = f }

func (s *Stream) answerFunc() SendFunc {
	if s.answer != nil {
		return s.answer
	}
	return s.send
}

// ID is the stream's id.
func (s *Stream) ID() uint64 { return s.id }

// First delivers the stream's ordered frame number 0 (the client's Open
// or the requester's Connected) when it has arrived.
func (s *Stream) First() <-chan Frame { return s.first }

// Done is closed when the stream has failed or been closed (not when it
// merely ended both ways: buffered data may still be read).
func (s *Stream) Done() <-chan struct{} { return s.done }

// Err is the stream's failure, or nil.
func (s *Stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Heard is when the other end last sent a frame of this stream.
func (s *Stream) Heard() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.heard
}

// Quiet reports whether the stream has gone quiet for d: frames wait for a
// missing one (lost in the mixnet) that has not come for that long (pings
// and pongs keep a stream heard, never unstuck); or nothing has come about
// this stream, nor about any stream from the same other end (peerHeard),
// for that long. A stream waiting its turn behind the other end's busy
// queue while that end still sends is not quiet.
func (s *Stream) Quiet(now time.Time, d time.Duration, peerHeard time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return false
	}
	stalled := len(s.pending) > 0 && now.Sub(s.moved) >= d
	return stalled || (now.Sub(s.heard) >= d && now.Sub(peerHeard) >= d)
}

// Duplicates counts ordered frames received twice.
func (s *Stream) Duplicates() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.duplicate
}

// SendFirst sends the ordered frame number 0 of this end (Open or
// Connected).
func (s *Stream) SendFirst(f Frame) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return s.err
	}
	f.Stream, f.Seq = s.id, s.sendSeq
	s.sendSeq++
	s.mu.Unlock()
	return s.send(f)
}

// Deliver applies a frame of this stream from the other end. It returns an
// error when the frame breaks the protocol; the stream has then failed and
// the other end has been told.
func (s *Stream) Deliver(f Frame) error {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return nil
	}
	s.heard = time.Now()
	switch f.Kind {
	case KindClose:
		s.failLocked(&Error{Reason: ReasonReset, Remote: true})
		s.mu.Unlock()
		return nil
	case KindError:
		s.failLocked(&Error{Reason: f.Reason, Remote: true})
		s.mu.Unlock()
		return nil
	case KindPing:
		s.mu.Unlock()
		_ = s.answerFunc()(Frame{Kind: KindPong, Stream: s.id})
		return nil
	case KindPong:
		s.mu.Unlock()
		return nil
	}
	var err error
	switch {
	case f.Seq < s.next || s.pending[f.Seq].Kind != 0:
		s.duplicate++
	case f.Seq-s.next >= Window:
		err = errors.New("frame beyond the reorder window")
	default:
		if len(s.pending) == 0 {
			// The wait for a missing frame starts now, not when the
			// stream last moved (it may have been idle for long).
			s.moved = s.heard
		}
		s.pending[f.Seq] = f
		err = s.applyLocked()
	}
	if err != nil {
		s.failLocked(&Error{Reason: ReasonProtocol})
		s.mu.Unlock()
		_ = s.answerFunc()(Frame{Kind: KindError, Stream: s.id, Reason: ReasonProtocol})
		return err
	}
	end := s.readEOF && s.wroteEOF && !s.ended
	if end {
		s.ended = true
	}
	s.mu.Unlock()
	if end && s.onEnd != nil {
		s.onEnd(s)
	}
	return nil
}

// applyLocked applies the pending frames that are next in order.
func (s *Stream) applyLocked() error {
	for {
		f, ok := s.pending[s.next]
		if !ok {
			return nil
		}
		delete(s.pending, s.next)
		if s.readEOF {
			return errors.New("frame after eof")
		}
		switch {
		case s.next == 0:
			if f.Kind != KindOpen && f.Kind != KindConnected {
				return errors.New("stream does not start with open or connected")
			}
			s.first <- f
		case f.Kind == KindData:
			if len(s.buf)+len(f.Data) > MaxBuffered {
				return errors.New("receive buffer full")
			}
			s.buf = append(s.buf, f.Data...)
		case f.Kind == KindEOF:
			s.readEOF = true
		default:
			return errors.New("open or connected after the start")
		}
		s.next++
		s.moved = time.Now()
		s.cond.Broadcast()
	}
}

func (s *Stream) failLocked(err error) {
	if s.err != nil {
		return
	}
	s.err = err
	s.pending = nil
	close(s.done)
	s.cond.Broadcast()
	if !s.ended {
		s.ended = true
		if s.onEnd != nil {
			go s.onEnd(s)
		}
	}
}

// Fail ends the stream with reason, tells the other end, and wakes readers.
func (s *Stream) Fail(reason Reason) {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return
	}
	s.failLocked(&Error{Reason: reason})
	s.mu.Unlock()
	_ = s.send(Frame{Kind: KindError, Stream: s.id, Reason: reason})
}

// Read reads the stream's bytes in order; io.EOF after the other end's EOF.
func (s *Stream) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.buf) == 0 && !s.readEOF && s.err == nil {
		s.cond.Wait()
	}
	if s.err != nil {
		return 0, s.err
	}
	if len(s.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	if len(s.buf) == 0 {
		s.buf = nil // let the backing array go
	}
	return n, nil
}

// Write sends p as Data frames.
func (s *Stream) Write(p []byte) (int, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	n := 0
	for len(p) > 0 {
		c := min(len(p), s.maxData)
		s.mu.Lock()
		if s.err != nil {
			s.mu.Unlock()
			return n, s.err
		}
		if s.wroteEOF {
			s.mu.Unlock()
			return n, errors.New("stream: write after CloseWrite")
		}
		seq := s.sendSeq
		s.sendSeq++
		s.mu.Unlock()
		// The frame is marshalled by send before Write returns, so p's
		// bytes need no copy.
		if err := s.send(Frame{Kind: KindData, Stream: s.id, Seq: seq, Data: p[:c]}); err != nil {
			s.Fail(ReasonGeneral)
			return n, err
		}
		n += c
		p = p[c:]
	}
	return n, nil
}

// CloseWrite sends EOF: no more data from this end.
func (s *Stream) CloseWrite() error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	if s.err != nil || s.wroteEOF {
		err := s.err
		s.mu.Unlock()
		return err
	}
	s.wroteEOF = true
	seq := s.sendSeq
	s.sendSeq++
	end := s.readEOF && !s.ended
	if end {
		s.ended = true
	}
	s.mu.Unlock()
	err := s.send(Frame{Kind: KindEOF, Stream: s.id, Seq: seq})
	if end && s.onEnd != nil {
		s.onEnd(s)
	}
	return err
}

// Close ends the stream both ways. If it had not ended both ways, the other
// end is sent Close.
func (s *Stream) Close() error {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return nil
	}
	clean := s.readEOF && s.wroteEOF
	s.failLocked(ErrClosed)
	s.mu.Unlock()
	if !clean {
		_ = s.send(Frame{Kind: KindClose, Stream: s.id})
	}
	return nil
}

// ping sends a Ping if the stream has been quiet for after, and no ping is
// outstanding (sent, and nothing heard since) unless it was sent more than
// again ago: a requester busy sending to other streams answers late, and
// every answer takes one of its release slots.
func (s *Stream) ping(now time.Time, after, again time.Duration) {
	s.mu.Lock()
	outstanding := s.pinged.After(s.heard) && now.Sub(s.pinged) < again
	due := s.err == nil && now.Sub(s.heard) >= after && !outstanding
	if due {
		s.pinged = now
	}
	s.mu.Unlock()
	if due {
		_ = s.send(Frame{Kind: KindPing, Stream: s.id})
	}
}

// coalesceWait is how long Pump waits for more bytes to fill a frame.
const coalesceWait = 2 * time.Millisecond

// Pump copies c to the stream until c's EOF (it does not send EOF) in
// frames as full as the bytes at hand allow: each frame takes one packet
// and one release slot whatever its size, so frames sent half full halve
// the stream's throughput. After a read that does not fill a frame it
// waits coalesceWait for more (nothing, next to the mixnet's delays)
// before sending what it has. It uses c's read deadline.
func (s *Stream) Pump(c net.Conn) error {
	buf := make([]byte, s.maxData)
	for {
		if err := c.SetReadDeadline(time.Time{}); err != nil {
			return err
		}
		n, err := c.Read(buf)
		for err == nil && n < len(buf) {
			c.SetReadDeadline(time.Now().Add(coalesceWait))
			var m int
			m, err = c.Read(buf[n:])
			n += m
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = nil
		}
		if n > 0 {
			if _, werr := s.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
