package streams

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

func sampleFrames() []Frame {
	return []Frame{
		{Kind: KindOpen, Stream: 7, Host: "example.com", Port: 443},
		{Kind: KindOpen, Stream: 7, Host: "2001:db8::1", Port: 80},
		{Kind: KindConnected, Stream: 1<<63 + 5},
		{Kind: KindData, Stream: 9, Seq: 1, Data: []byte("hello")},
		{Kind: KindEOF, Stream: 9, Seq: 2},
		{Kind: KindClose, Stream: 9},
		{Kind: KindError, Stream: 9, Reason: ReasonPolicy},
		{Kind: KindPing, Stream: 3},
		{Kind: KindPong, Stream: 3, Seq: 4},
	}
}

func TestFrameRoundTrip(t *testing.T) {
	for _, f := range sampleFrames() {
		g, err := ParseFrame(f.Marshal())
		if err != nil {
			t.Fatalf("%s: %v", f.Kind, err)
		}
		if g.Kind != f.Kind || g.Stream != f.Stream || g.Seq != f.Seq || !bytes.Equal(g.Data, f.Data) ||
			g.Host != f.Host || g.Port != f.Port || g.Reason != f.Reason {
			t.Fatalf("%s: %+v back as %+v", f.Kind, f, g)
		}
	}
}

func TestParseFrameRefuses(t *testing.T) {
	bad := [][]byte{
		nil, make([]byte, HeaderSize-1), make([]byte, MaxFrameSize+1),
		Frame{Kind: 0, Stream: 1}.Marshal(), Frame{Kind: 99, Stream: 1}.Marshal(),
		Frame{Kind: KindOpen, Seq: 1, Host: "a", Port: 1}.Marshal(),
		Frame{Kind: KindOpen, Host: "", Port: 1}.Marshal(),
		Frame{Kind: KindOpen, Host: "a b", Port: 1}.Marshal(),
		Frame{Kind: KindOpen, Host: "a\x00", Port: 1}.Marshal(),
		Frame{Kind: KindOpen, Host: "a", Port: 0}.Marshal(),
		append(Frame{Kind: KindOpen, Host: "a", Port: 1}.Marshal(), 'x'),
		Frame{Kind: KindConnected, Seq: 1}.Marshal(),
		Frame{Kind: KindData, Seq: 0, Data: []byte("x")}.Marshal(),
		Frame{Kind: KindData, Seq: 1}.Marshal(),
		Frame{Kind: KindEOF, Seq: 0}.Marshal(),
		append(Frame{Kind: KindEOF, Seq: 1}.Marshal(), 1),
		Frame{Kind: KindError, Reason: 0}.Marshal(),
		Frame{Kind: KindError, Reason: 200}.Marshal(),
		append(Frame{Kind: KindPing}.Marshal(), 1),
	}
	for i, b := range bad {
		if _, err := ParseFrame(b); !errors.Is(err, ErrFrame) {
			t.Errorf("case %d: %v, want ErrFrame", i, err)
		}
	}
}

// collect is a SendFunc that keeps what it is given.
type collect struct{ frames []Frame }

func (c *collect) send(f Frame) error { c.frames = append(c.frames, f); return nil }

// TestReassembly: data frames delivered in a random order, with
// duplicates, read back in order; a duplicate is counted, not applied.
func TestReassembly(t *testing.T) {
	var out collect
	s := NewStream(1, out.send, 100, nil)
	want := make([]byte, 100*300)
	for i := range want {
		want[i] = byte(rand.IntN(256))
	}
	frames := []Frame{{Kind: KindConnected, Stream: 1}}
	for i := range 300 {
		frames = append(frames, Frame{Kind: KindData, Stream: 1, Seq: uint32(i + 1), Data: want[i*100 : (i+1)*100]})
	}
	frames = append(frames, Frame{Kind: KindEOF, Stream: 1, Seq: 301})
	frames = append(frames, frames[5], frames[77]) // duplicates
	rand.Shuffle(len(frames), func(i, j int) { frames[i], frames[j] = frames[j], frames[i] })
	for _, f := range frames {
		if err := s.Deliver(f); err != nil {
			t.Fatal(err)
		}
	}
	var got bytes.Buffer
	if _, err := got.ReadFrom(s); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatal("reassembled bytes differ")
	}
	if s.Duplicates() < 1 {
		t.Fatal("duplicates not counted")
	}
}

// TestWindowAndOverflow: a frame beyond the window, and data beyond the
// buffer, end the stream with a protocol error sent to the other end.
func TestWindowAndOverflow(t *testing.T) {
	var out collect
	s := NewStream(1, out.send, 100, nil)
	if err := s.Deliver(Frame{Kind: KindData, Stream: 1, Seq: Window + 1, Data: []byte("x")}); err == nil {
		t.Fatal("frame beyond the window accepted")
	}
	var e *Error
	if !errors.As(s.Err(), &e) || e.Reason != ReasonProtocol {
		t.Fatalf("stream error %v, want protocol", s.Err())
	}
	if len(out.frames) != 1 || out.frames[0].Kind != KindError || out.frames[0].Reason != ReasonProtocol {
		t.Fatalf("other end told %+v", out.frames)
	}

	s = NewStream(2, out.send, 100, nil)
	s.Deliver(Frame{Kind: KindConnected, Stream: 2})
	big := make([]byte, 60000)
	var err error
	for i := 1; err == nil && i < 200; i++ {
		err = s.Deliver(Frame{Kind: KindData, Stream: 2, Seq: uint32(i), Data: big})
	}
	if err == nil {
		t.Fatal("unread data beyond MaxBuffered accepted")
	}
}

// TestHalfClose: after the other end's EOF, this end still writes; the
// stream ends (onEnd) when both have sent EOF.
func TestHalfClose(t *testing.T) {
	var out collect
	ended := make(chan struct{})
	s := NewStream(1, out.send, 4, func(*Stream) { close(ended) })
	s.Deliver(Frame{Kind: KindConnected, Stream: 1})
	s.Deliver(Frame{Kind: KindEOF, Stream: 1, Seq: 1})
	if n, err := s.Read(make([]byte, 10)); n != 0 || err == nil {
		t.Fatalf("read after eof: %d, %v", n, err)
	}
	if _, err := s.Write([]byte("0123456789")); err != nil {
		t.Fatalf("write after the other end's eof: %v", err)
	}
	if len(out.frames) != 3 || out.frames[2].Seq != 2 || string(out.frames[2].Data) != "89" {
		t.Fatalf("data frames %+v", out.frames)
	}
	select {
	case <-ended:
		t.Fatal("ended before this end's eof")
	default:
	}
	s.CloseWrite()
	select {
	case <-ended:
	case <-time.After(time.Second):
		t.Fatal("not ended after both eofs")
	}
	if out.frames[3].Kind != KindEOF || out.frames[3].Seq != 3 {
		t.Fatalf("eof frame %+v", out.frames[3])
	}
}

// TestQuietWithGap: a stream whose frames wait for one that never comes
// is quiet after the timeout even though frames keep arriving.
func TestQuietWithGap(t *testing.T) {
	var out collect
	s := NewStream(1, out.send, 100, nil)
	s.Deliver(Frame{Kind: KindConnected, Stream: 1})
	s.Deliver(Frame{Kind: KindData, Stream: 1, Seq: 2, Data: []byte("x")}) // 1 is lost
	now := time.Now()
	if s.Quiet(now, time.Minute, now) {
		t.Fatal("quiet at once")
	}
	s.Deliver(Frame{Kind: KindPong, Stream: 1})
	if !s.Quiet(now.Add(2*time.Minute), time.Minute, now.Add(2*time.Minute)) {
		t.Fatal("a stream stuck on a lost frame is not quiet after the timeout")
	}
	s.Deliver(Frame{Kind: KindData, Stream: 1, Seq: 1, Data: []byte("y")})
	if s.Quiet(time.Now(), time.Minute, time.Now()) {
		t.Fatal("quiet after the gap filled")
	}
}

// TestQuietPeer: a stream nothing has come about is not quiet while the
// other end is heard about other streams.
func TestQuietPeer(t *testing.T) {
	var out collect
	s := NewStream(1, out.send, 100, nil)
	later := time.Now().Add(2 * time.Minute)
	if s.Quiet(later, time.Minute, later) {
		t.Fatal("quiet though the other end was heard just now")
	}
	if !s.Quiet(later, time.Minute, time.Now()) {
		t.Fatal("not quiet though nothing came for two minutes")
	}
}

// TestQuietAfterIdle: a stream idle for longer than the timeout whose
// frames then come out of order is not quiet at once.
func TestQuietAfterIdle(t *testing.T) {
	var out collect
	s := NewStream(1, out.send, 100, nil)
	s.Deliver(Frame{Kind: KindConnected, Stream: 1})
	s.mu.Lock()
	s.moved = s.moved.Add(-time.Hour) // idle for an hour
	s.mu.Unlock()
	s.Deliver(Frame{Kind: KindData, Stream: 1, Seq: 2, Data: []byte("x")}) // 1 comes later
	if now := time.Now(); s.Quiet(now, time.Minute, now) {
		t.Fatal("quiet as soon as a frame came early after a long idle time")
	}
}
