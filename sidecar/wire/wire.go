// Package wire is the packet framing between Nyx nodes: one long-lived TCP
// connection per neighbour carrying fixed-size Sphinx packets.
//
// A plaintext connection (version 1) starts with an 8-byte preface, Preface,
// written once by the dialling side. Then every frame is
//
//	length (4 bytes, big-endian) | packet (length bytes)
//
// where length is the packet size of one of the accepted Sphinx geometries
// (by default the standard ones: sphinx.StandardGeometries). A reader refuses
// anything else: a wrong preface or a frame of any other length is an error,
// after which the connection must be closed, since the stream can no longer
// be trusted to be in step.
//
// Between nodes the framing runs inside a Noise session (version 2, see
// noise.go): Initiate and Respond run the handshake, and NewSecureReader
// and NewSecureWriter then read and write the same frames encrypted. The
// plaintext framing is what a node refuses; it remains for the benchmark
// that measures what the encryption costs.
package wire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/nyx-privacy/nyx/sphinx"
)

// Preface starts every connection: a magic and the framing version (1).
var Preface = [8]byte{'N', 'Y', 'X', 'M', 'I', 'X', 0, 1}

// HeaderSize is the size of a frame's length prefix.
const HeaderSize = 4

// Errors of the reader. Every error a Reader returns for bad bytes wraps
// ErrPreface or ErrFrameSize; other errors come from the connection.
var (
	// ErrPreface: the connection did not start with Preface.
	ErrPreface = errors.New("wire: bad connection preface")
	// ErrFrameSize: a frame's length is not an accepted packet size.
	ErrFrameSize = errors.New("wire: frame length is not an accepted packet size")
)

// Sizes is a set of accepted packet sizes.
type Sizes struct {
	sizes []int // sorted
	max   int
}

// StandardSizes accepts the packets of every standard Sphinx geometry.
func StandardSizes() Sizes {
	var gs []sphinx.Geometry
	gs = append(gs, sphinx.StandardGeometries()...)
	return SizesOf(gs...)
}

// SizesOf accepts the packets of the given geometries.
func SizesOf(gs ...sphinx.Geometry) Sizes {
	var s Sizes
	for _, g := range gs {
		n := g.PacketSize()
		if !slices.Contains(s.sizes, n) {
			s.sizes = append(s.sizes, n)
		}
		s.max = max(s.max, n)
	}
	slices.Sort(s.sizes)
	return s
}

// Accepts reports whether n is an accepted packet size.
func (s Sizes) Accepts(n int) bool {
	_, ok := slices.BinarySearch(s.sizes, n)
	return ok
}

// Max is the largest accepted packet size.
func (s Sizes) Max() int { return s.max }

// List returns the accepted sizes, smallest first.
func (s Sizes) List() []int { return slices.Clone(s.sizes) }

// ParseHeader decodes a frame header and checks its length is accepted.
func (s Sizes) ParseHeader(h [HeaderSize]byte) (int, error) {
	n := binary.BigEndian.Uint32(h[:])
	if n > uint32(s.max) || !s.Accepts(int(n)) {
		return 0, fmt.Errorf("%w: %d bytes", ErrFrameSize, n)
	}
	return int(n), nil
}

// Reader reads frames from one connection.
type Reader struct {
	r      *bufio.Reader
	sizes  Sizes
	prefOK bool
	sess   *Session
}

// readBuffer is the reader's buffer: it holds a whole encrypted frame of
// the largest packet, so a frame is decrypted from it without a copy.
const readBuffer = 64 << 10

// NewReader returns a reader of the frames on r (which it buffers) that
// accepts the given sizes. The first read checks the preface.
func NewReader(r io.Reader, sizes Sizes) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, readBuffer), sizes: sizes}
}

// NewSecureReader returns a reader of the encrypted frames on r after the
// handshake that gave s (Respond or Initiate).
func NewSecureReader(r io.Reader, sizes Sizes, s *Session) (*Reader, error) {
	if s == nil || s.recv == nil {
		return nil, errors.New("wire: no session")
	}
	if sizes.Max()+TagSize > readBuffer {
		return nil, fmt.Errorf("wire: packets of %d bytes are over the reader's buffer", sizes.Max())
	}
	return &Reader{r: bufio.NewReaderSize(r, readBuffer), sizes: sizes, prefOK: true, sess: s}, nil
}

// ReadPreface reads and checks the connection preface. ReadPacket calls it
// on first use; call it directly to check a new connection early.
func (r *Reader) ReadPreface() error {
	if r.prefOK {
		return nil
	}
	var p [len(Preface)]byte
	if _, err := io.ReadFull(r.r, p[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: connection closed inside it", ErrPreface)
		}
		return err
	}
	if p != Preface {
		return fmt.Errorf("%w: % x", ErrPreface, p[:])
	}
	r.prefOK = true
	return nil
}

// ReadPacket reads the next packet. get returns a buffer of at least n bytes
// (a pool's, typically); the packet is returned in it, sliced to its length.
// io.EOF means the peer closed the connection between two frames.
func (r *Reader) ReadPacket(get func(n int) []byte) ([]byte, error) {
	if err := r.ReadPreface(); err != nil {
		return nil, err
	}
	var h [HeaderSize]byte
	if _, err := io.ReadFull(r.r, h[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: connection closed inside a header", ErrFrameSize)
		}
		return nil, err
	}
	n, err := r.sizes.ParseHeader(h)
	if err != nil {
		return nil, err
	}
	buf := get(n)
	if len(buf) < n {
		return nil, fmt.Errorf("wire: buffer of %d bytes for a %d-byte packet", len(buf), n)
	}
	buf = buf[:n]
	if r.sess != nil {
		return r.open(h, buf)
	}
	if _, err := io.ReadFull(r.r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("read %d-byte packet: %w", n, err)
	}
	return buf, nil
}

// open reads and decrypts an encrypted frame's packet into buf.
func (r *Reader) open(h [HeaderSize]byte, buf []byte) ([]byte, error) {
	ct, err := r.r.Peek(len(buf) + TagSize)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("read %d-byte packet: %w", len(buf), err)
	}
	out, err := r.sess.recv.Decrypt(buf[:0], h[:], ct)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	_, _ = r.r.Discard(len(ct))
	return out, nil
}

// Buffered reports whether a whole frame header (at least) is already
// buffered, so the next read will likely not block.
func (r *Reader) Buffered() int { return r.r.Buffered() }

// Writer writes frames to one connection, buffered: call Flush when no more
// packets are ready.
type Writer struct {
	w    *bufio.Writer
	sess *Session
}

// NewWriter returns a writer of frames to w. It writes the preface first.
func NewWriter(w io.Writer) (*Writer, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.Write(Preface[:]); err != nil {
		return nil, err
	}
	return &Writer{w: bw}, nil
}

// NewSecureWriter returns a writer of encrypted frames to w after the
// handshake that gave s (Initiate or Respond).
func NewSecureWriter(w io.Writer, s *Session) (*Writer, error) {
	if s == nil || s.send == nil {
		return nil, errors.New("wire: no session")
	}
	return &Writer{w: bufio.NewWriterSize(w, 64<<10), sess: s}, nil
}

// WritePacket buffers one frame.
func (w *Writer) WritePacket(packet []byte) error {
	var h [HeaderSize]byte
	binary.BigEndian.PutUint32(h[:], uint32(len(packet)))
	if _, err := w.w.Write(h[:]); err != nil {
		return err
	}
	if w.sess == nil {
		_, err := w.w.Write(packet)
		return err
	}
	// Seal into the writer's own buffer when it has room: no copy.
	if w.w.Available() < len(packet)+TagSize {
		if err := w.w.Flush(); err != nil {
			return err
		}
	}
	ct, err := w.sess.send.Encrypt(w.w.AvailableBuffer(), h[:], packet)
	if err != nil {
		return err
	}
	_, err = w.w.Write(ct)
	return err
}

// Flush sends whatever is buffered.
func (w *Writer) Flush() error { return w.w.Flush() }
