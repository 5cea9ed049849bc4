package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/nyx-privacy/nyx/sphinx"
)

func alloc(n int) []byte { return make([]byte, n) }

func frames(t testing.TB, packets ...[]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range packets {
		if err := w.WritePacket(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func packetOf(g sphinx.Geometry, fill byte) []byte {
	return bytes.Repeat([]byte{fill}, g.PacketSize())
}

func TestRoundTripOverTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sent := [][]byte{packetOf(sphinx.Regular, 1), packetOf(sphinx.Ack, 2), packetOf(sphinx.Extended32, 3), packetOf(sphinx.Regular, 4)}
	go func() {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			return
		}
		defer c.Close()
		w, err := NewWriter(c)
		if err != nil {
			return
		}
		for _, p := range sent {
			_ = w.WritePacket(p)
		}
		_ = w.Flush()
	}()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := NewReader(c, StandardSizes())
	for i, want := range sent {
		got, err := r.ReadPacket(alloc)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("packet %d differs", i)
		}
	}
	if _, err := r.ReadPacket(alloc); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last packet: %v, want EOF", err)
	}
}

func TestReaderRefusesGarbage(t *testing.T) {
	good := frames(t, packetOf(sphinx.Regular, 7))
	badLen := bytes.Clone(good)
	binary.BigEndian.PutUint32(badLen[len(Preface):], uint32(sphinx.Regular.PacketSize()+1))
	huge := bytes.Clone(good)
	binary.BigEndian.PutUint32(huge[len(Preface):], 0xffffffff)
	for name, tc := range map[string]struct {
		in    []byte
		want  error
		sizes []sphinx.Geometry // nil: the standard sizes
	}{
		"wrong preface":     {append([]byte("GET / HTTP/1.1\r\n"), good...), ErrPreface, nil},
		"short preface":     {Preface[:5], ErrPreface, nil},
		"wrong length":      {badLen, ErrFrameSize, nil},
		"huge length":       {huge, ErrFrameSize, nil},
		"zero length":       {append(Preface[:], 0, 0, 0, 0), ErrFrameSize, nil},
		"truncated header":  {append(Preface[:], 0, 0), ErrFrameSize, nil},
		"truncated packet":  {good[:len(good)-1], io.ErrUnexpectedEOF, nil},
		"size not accepted": {frames(t, packetOf(sphinx.Extended8, 1)), ErrFrameSize, []sphinx.Geometry{sphinx.Regular, sphinx.Ack}},
	} {
		t.Run(name, func(t *testing.T) {
			sizes := StandardSizes()
			if tc.sizes != nil {
				sizes = SizesOf(tc.sizes...)
			}
			r := NewReader(bytes.NewReader(tc.in), sizes)
			_, err := r.ReadPacket(alloc)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSizes(t *testing.T) {
	s := StandardSizes()
	for _, g := range sphinx.StandardGeometries() {
		if !s.Accepts(g.PacketSize()) {
			t.Fatalf("%v not accepted", g)
		}
	}
	if s.Max() != sphinx.Extended32.PacketSize() || s.Accepts(0) || s.Accepts(sphinx.Regular.PacketSize()-1) {
		t.Fatal("sizes wrong")
	}
	if len(s.List()) != len(sphinx.StandardGeometries()) {
		t.Fatal("list")
	}
}

// FuzzReader reads frames from arbitrary bytes: every packet it returns has
// an accepted size, and any error is one of the documented ones or a
// truncation; it never panics nor allocates more than the largest packet.
func FuzzReader(f *testing.F) {
	f.Add(frames(f, packetOf(sphinx.Ack, 1)))
	f.Add(frames(f, packetOf(sphinx.Ack, 1), packetOf(sphinx.Ack, 2)))
	f.Add(Preface[:])
	f.Add([]byte("NYXMIX\x00\x02\x00\x00\x00\x10"))
	f.Add(append(Preface[:], 0xff, 0xff, 0xff, 0xff))
	f.Add([]byte{})
	sizes := StandardSizes()
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(bytes.NewReader(b), sizes)
		for {
			p, err := r.ReadPacket(func(n int) []byte {
				if n > sizes.Max() {
					t.Fatalf("asked for %d bytes", n)
				}
				return make([]byte, n)
			})
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, ErrPreface) && !errors.Is(err, ErrFrameSize) && !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !sizes.Accepts(len(p)) {
				t.Fatalf("returned a %d-byte packet", len(p))
			}
		}
	})
}
