package sphinx

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
)

// The encoding of a ReplayFilter (MarshalBinary, WriteTo):
//
//	magic "NYXRPLAY" (8) || version (4) || k (4) || m (8) || n (8) || count (8)
//	|| the m/64 words, each little-endian (m/8)
//	|| SHA-256 of everything before (32)
//
// All integers are little-endian. The checksum covers the header too, so a
// torn write, a flipped bit or a file of another filter's size is refused
// as a whole rather than read as a filter that forgot tags.
const (
	replayMagic          = "NYXRPLAY"
	replayVersion        = 1
	replayHeaderSize     = 40
	replayChecksumSize   = sha256.Size
	replayEncodingFixed  = replayHeaderSize + replayChecksumSize
	replayWriteChunkSize = 64 << 10
)

// ErrReplayEncoding: bytes are not a ReplayFilter's encoding (wrong magic,
// version, size or checksum, or parameters out of range).
var ErrReplayEncoding = errors.New("sphinx: bad replay filter encoding")

// EncodedSize is the length of the filter's encoding.
func (f *ReplayFilter) EncodedSize() int64 { return replayEncodingFixed + int64(f.m/8) }

// Capacity is the number of tags the filter was sized for (n): past it,
// Full reports true and the false-positive rate climbs above the target.
func (f *ReplayFilter) Capacity() uint64 { return f.n }

// WriteTo writes the filter's encoding to w, streaming (it does not build
// the encoding in memory).
//
// It may run while other goroutines add tags. The words are read one by
// one with atomic loads and no lock: bits are only ever set, never
// cleared, so the copy holds every tag that was complete before WriteTo
// began, and of a tag being added meanwhile perhaps only some bits. Such a
// tag reads as new after a restore, which is what a save a moment earlier
// would have given; a node that must lose no tag saves after it stops
// accepting packets (as it does at shutdown). The count is read first, so
// it never exceeds the tags in the copy.
func (f *ReplayFilter) WriteTo(w io.Writer) (int64, error) {
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h)}
	var hdr [replayHeaderSize]byte
	f.putHeader(&hdr, f.added.Load())
	if _, err := cw.Write(hdr[:]); err != nil {
		return cw.n, err
	}
	buf := make([]byte, 0, replayWriteChunkSize)
	for i := range f.words {
		buf = binary.LittleEndian.AppendUint64(buf, atomic.LoadUint64(&f.words[i]))
		if len(buf) == cap(buf) {
			if _, err := cw.Write(buf); err != nil {
				return cw.n, err
			}
			buf = buf[:0]
		}
	}
	if _, err := cw.Write(buf); err != nil {
		return cw.n, err
	}
	_, err := w.Write(h.Sum(nil))
	if err == nil {
		cw.n += replayChecksumSize
	}
	return cw.n, err
}

// MarshalBinary returns the filter's encoding (see WriteTo).
func (f *ReplayFilter) MarshalBinary() ([]byte, error) {
	var b bytes.Buffer
	b.Grow(int(f.EncodedSize()))
	if _, err := f.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func (f *ReplayFilter) putHeader(hdr *[replayHeaderSize]byte, count uint64) {
	copy(hdr[0:8], replayMagic)
	binary.LittleEndian.PutUint32(hdr[8:12], replayVersion)
	binary.LittleEndian.PutUint32(hdr[12:16], uint32(f.k))
	binary.LittleEndian.PutUint64(hdr[16:24], f.m)
	binary.LittleEndian.PutUint64(hdr[24:32], f.n)
	binary.LittleEndian.PutUint64(hdr[32:40], count)
}

// parseReplayHeader checks a header and returns the empty filter it
// describes, with its count set. size is the whole encoding's length,
// which must match m: the words are allocated only for a header that
// agrees with the bytes actually there.
func parseReplayHeader(hdr []byte, size int64) (*ReplayFilter, error) {
	if len(hdr) < replayHeaderSize || string(hdr[0:8]) != replayMagic {
		return nil, fmt.Errorf("%w: not a replay filter", ErrReplayEncoding)
	}
	if v := binary.LittleEndian.Uint32(hdr[8:12]); v != replayVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrReplayEncoding, v, replayVersion)
	}
	k := binary.LittleEndian.Uint32(hdr[12:16])
	m := binary.LittleEndian.Uint64(hdr[16:24])
	n := binary.LittleEndian.Uint64(hdr[24:32])
	count := binary.LittleEndian.Uint64(hdr[32:40])
	switch {
	case k < 1 || k > 32:
		return nil, fmt.Errorf("%w: %d bits per tag is outside 1..32", ErrReplayEncoding, k)
	case m == 0 || m%64 != 0 || m > MaxReplayFilterBits:
		return nil, fmt.Errorf("%w: %d bits is not a positive multiple of 64 up to %d", ErrReplayEncoding, m, uint64(MaxReplayFilterBits))
	case n == 0:
		return nil, fmt.Errorf("%w: sized for 0 tags", ErrReplayEncoding)
	case size != replayEncodingFixed+int64(m/8):
		return nil, fmt.Errorf("%w: %d bytes for a filter of %d bits (want %d)", ErrReplayEncoding, size, m, replayEncodingFixed+int64(m/8))
	}
	f := &ReplayFilter{words: make([]uint64, m/64), m: m, k: int(k), n: n}
	f.added.Store(count)
	return f, nil
}

// UnmarshalReplayFilter decodes a filter written by MarshalBinary or
// WriteTo. Any damage gives ErrReplayEncoding.
func UnmarshalReplayFilter(b []byte) (*ReplayFilter, error) {
	f, err := parseReplayHeader(b, int64(len(b)))
	if err != nil {
		return nil, err
	}
	body := len(b) - replayChecksumSize
	if sum := sha256.Sum256(b[:body]); !bytes.Equal(sum[:], b[body:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrReplayEncoding)
	}
	for i := range f.words {
		f.words[i] = binary.LittleEndian.Uint64(b[replayHeaderSize+8*i:])
	}
	return f, nil
}

// ReadReplayFilter decodes a filter of size encoded bytes (a file's size)
// from r, without holding the encoding in memory. The size must be known
// beforehand so that a damaged header cannot make it allocate more than
// the bytes it is given could fill.
func ReadReplayFilter(r io.Reader, size int64) (*ReplayFilter, error) {
	if size < replayEncodingFixed {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrReplayEncoding, size)
	}
	br := bufio.NewReaderSize(r, replayWriteChunkSize)
	h := sha256.New()
	var hdr [replayHeaderSize]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, readErr(err)
	}
	f, err := parseReplayHeader(hdr[:], size)
	if err != nil {
		return nil, err
	}
	h.Write(hdr[:])
	buf := make([]byte, replayWriteChunkSize)
	for i := 0; i < len(f.words); {
		chunk := buf[:8*min(len(f.words)-i, len(buf)/8)]
		if _, err := io.ReadFull(br, chunk); err != nil {
			return nil, readErr(err)
		}
		h.Write(chunk)
		for ; len(chunk) > 0; chunk, i = chunk[8:], i+1 {
			f.words[i] = binary.LittleEndian.Uint64(chunk)
		}
	}
	var got [replayChecksumSize]byte
	if _, err := io.ReadFull(br, got[:]); err != nil {
		return nil, readErr(err)
	}
	if !bytes.Equal(h.Sum(nil), got[:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrReplayEncoding)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("%w: more bytes than its header says", ErrReplayEncoding)
	}
	return f, nil
}

func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated", ErrReplayEncoding)
	}
	return err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
