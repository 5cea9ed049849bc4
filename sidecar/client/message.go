package client

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/mr-tron/base58"

	"github.com/nyx-privacy/nyx/sphinx"
)

// MessageID names a message: the sender's report about it (Report) and,
// inside its pieces, the recipient's reassembly and duplicate suppression.
// It is random, so it links nothing but the pieces of one message.
type MessageID [8]byte

// String is the id in hex.
func (id MessageID) String() string { return hex.EncodeToString(id[:]) }

// SenderTag stands for an anonymous sender: a random value it sends with
// its messages and reply SURBs instead of its address. The recipient
// replies to the tag and never learns who the sender is.
type SenderTag [16]byte

// String is the tag in base58 (as Nym writes sender tags).
func (t SenderTag) String() string { return base58.Encode(t[:]) }

// ParseSenderTag reads a tag's text form.
func ParseSenderTag(s string) (SenderTag, error) {
	b, err := base58.Decode(s)
	if err != nil || len(b) != len(SenderTag{}) {
		return SenderTag{}, fmt.Errorf("%w: sender tag %q is not 16 bytes of base58", ErrRequest, truncate(s, 40))
	}
	return SenderTag(b), nil
}

// A message, as its chunks put back together carry it, is a kind and a body:
//
//	plain      1 || data
//	anonymous  2 || tag (16) || n (1) || n reply SURBs || data
//	surbs      3 || tag (16) || n (1) || n reply SURBs           (top-up; no data)
//	reply      4 || data                                         (over a reply SURB)
//	surbAsk    5 || wanted (2)                                   (over a reply SURB)
//
//	reply SURB = expiry (8, Unix seconds) || reply key (32) || SURB (sphinx SURBSize)
//
// plain and anonymous carry an app's message; surbs gives the recipient
// more SURBs for the tag; reply answers a tag; surbAsk asks the holder of
// a tag for more SURBs.
const (
	kindPlain     byte = 1
	kindAnonymous byte = 2
	kindSURBs     byte = 3
	kindReply     byte = 4
	kindSURBAsk   byte = 5
)

// MaxSURBsPerMessage bounds the reply SURBs one message carries.
const MaxSURBsPerMessage = 50

// surbRecordSize is one reply SURB in a message.
var surbRecordSize = 8 + ReplyKeySize + sphinx.Regular.SURBSize()

// maxEncodedMessage is the longest message as encoded: an anonymous one
// with the most SURBs and the longest data.
var maxEncodedMessage = 1 + 16 + 1 + MaxSURBsPerMessage*surbRecordSize + MaxLongMessage

// ReplySURB is a SURB with the reply key its reply is sealed with and the
// time its route's keys stop being good.
type ReplySURB struct {
	SURB    *sphinx.SURB
	Key     [ReplyKeySize]byte
	Expires time.Time
}

// message is a decoded message.
type message struct {
	kind  byte
	tag   SenderTag
	surbs []ReplySURB
	data  []byte
	want  int
}

var errMessage = errors.New("client: malformed message")

func (m *message) marshal() ([]byte, error) {
	switch m.kind {
	case kindPlain, kindReply:
		return append([]byte{m.kind}, m.data...), nil
	case kindSURBAsk:
		return binary.BigEndian.AppendUint16([]byte{m.kind}, uint16(m.want)), nil
	case kindAnonymous, kindSURBs:
	default:
		return nil, fmt.Errorf("%w: kind %d", errMessage, m.kind)
	}
	if len(m.surbs) > MaxSURBsPerMessage {
		return nil, fmt.Errorf("%w: %d SURBs, at most %d", errMessage, len(m.surbs), MaxSURBsPerMessage)
	}
	b := make([]byte, 0, 18+len(m.surbs)*surbRecordSize+len(m.data))
	b = append(b, m.kind)
	b = append(b, m.tag[:]...)
	b = append(b, byte(len(m.surbs)))
	for _, s := range m.surbs {
		enc, err := s.SURB.MarshalBinary()
		if err != nil {
			return nil, err
		}
		b = binary.BigEndian.AppendUint64(b, uint64(s.Expires.Unix()))
		b = append(b, s.Key[:]...)
		b = append(b, enc...)
	}
	if m.kind == kindAnonymous {
		b = append(b, m.data...)
	}
	return b, nil
}

// parseMessage decodes a message put back together from its chunks.
func parseMessage(b []byte) (*message, error) {
	if len(b) < 1 {
		return nil, fmt.Errorf("%w: empty", errMessage)
	}
	m := &message{kind: b[0]}
	b = b[1:]
	switch m.kind {
	case kindPlain, kindReply:
		m.data = b
		return m, nil
	case kindSURBAsk:
		if len(b) != 2 {
			return nil, fmt.Errorf("%w: SURB request of %d bytes", errMessage, len(b))
		}
		m.want = int(binary.BigEndian.Uint16(b))
		return m, nil
	case kindAnonymous, kindSURBs:
	default:
		return nil, fmt.Errorf("%w: kind %d", errMessage, m.kind)
	}
	if len(b) < 17 {
		return nil, fmt.Errorf("%w: anonymous message of %d bytes", errMessage, len(b))
	}
	m.tag = SenderTag(b[:16])
	n := int(b[16])
	b = b[17:]
	if n > MaxSURBsPerMessage || len(b) < n*surbRecordSize {
		return nil, fmt.Errorf("%w: %d SURBs in %d bytes", errMessage, n, len(b))
	}
	for range n {
		s, err := sphinx.Regular.ParseSURB(b[8+ReplyKeySize : surbRecordSize])
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errMessage, err)
		}
		exp := binary.BigEndian.Uint64(b)
		if exp > 1<<40 {
			return nil, fmt.Errorf("%w: SURB expiry %d", errMessage, exp)
		}
		m.surbs = append(m.surbs, ReplySURB{SURB: s, Key: [ReplyKeySize]byte(b[8 : 8+ReplyKeySize]), Expires: time.Unix(int64(exp), 0)})
		b = b[surbRecordSize:]
	}
	if m.kind == kindSURBs && len(b) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after a SURB top-up", errMessage, len(b))
	}
	m.data = b
	return m, nil
}
