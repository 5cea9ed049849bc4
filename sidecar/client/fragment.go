package client

import (
	"errors"
	"fmt"
	"time"
)

// MaxLongMessage is the longest message a client sends or reassembles: a
// message longer than one payload goes as fragments (at most 34 with
// regular packets), each in its own packet, and the recipient puts them
// back together. It bounds what a client holds in memory for messages its
// apps have not read (receive_buffer of them) and for each app's queue.
const MaxLongMessage = 64 << 10

// maxFragments is how many fragments a message of MaxLongMessage bytes
// takes in payloads of payloadSize bytes.
func maxFragments(payloadSize int) int {
	c := FragmentCapacity(payloadSize)
	if c <= 0 {
		return 0
	}
	return (MaxLongMessage + c - 1) / c
}

// split cuts message into chunks of at most capacity bytes.
func split(message []byte, capacity int) [][]byte {
	var out [][]byte
	for len(message) > 0 {
		n := min(capacity, len(message))
		out = append(out, message[:n])
		message = message[n:]
	}
	return out
}

// Reassembly limits: the fragments a client holds for messages not yet
// complete. Anyone who knows the client's address can send it fragments,
// so what they may cost is bounded; the oldest incomplete message goes
// first when a bound is reached.
const (
	reassemblyMessages = 64                                  // incomplete messages at once
	reassemblyBytes    = reassemblyMessages * MaxLongMessage // their bytes
	reassemblyTTL      = 10 * time.Minute                    // how long one may stay incomplete
)

// errFragment is wrapped by the reasons a fragment is refused.
var errFragment = errors.New("client: fragment refused")

// reassembler puts fragmented messages back together. It is used by one
// goroutine at a time (the client's gateway session).
type reassembler struct {
	maxFragments int
	maxMessages  int
	maxBytes     int
	ttl          time.Duration

	partial map[[8]byte]*partialMessage
	bytes   int
}

type partialMessage struct {
	chunks  [][]byte
	got     int
	size    int
	started time.Time
}

func newReassembler(payloadSize int) *reassembler {
	return &reassembler{maxFragments: maxFragments(payloadSize), maxMessages: reassemblyMessages,
		maxBytes: reassemblyBytes, ttl: reassemblyTTL, partial: map[[8]byte]*partialMessage{}}
}

// add takes fragment p at time now. It returns the whole message when p
// completes it, and how many incomplete messages it gave up on (expired or
// evicted to make room). A duplicate fragment is ignored.
func (r *reassembler) add(p Piece, now time.Time) (msg []byte, abandoned int, err error) {
	for id, m := range r.partial {
		if now.Sub(m.started) > r.ttl {
			r.drop(id)
			abandoned++
		}
	}
	if p.Count > r.maxFragments {
		return nil, abandoned, fmt.Errorf("%w: %d fragments, at most %d make a message", errFragment, p.Count, r.maxFragments)
	}
	m, ok := r.partial[p.ID]
	if ok && len(m.chunks) != p.Count {
		return nil, abandoned, fmt.Errorf("%w: fragment %d says %d fragments, earlier ones said %d", errFragment, p.Index, p.Count, len(m.chunks))
	}
	if ok && m.chunks[p.Index] != nil {
		return nil, abandoned, nil
	}
	for !ok && len(r.partial) >= r.maxMessages || r.bytes+len(p.Data) > r.maxBytes {
		if !r.dropOldest(p.ID) {
			return nil, abandoned, fmt.Errorf("%w: no room for %d more bytes", errFragment, len(p.Data))
		}
		abandoned++
	}
	if !ok {
		m = &partialMessage{chunks: make([][]byte, p.Count), started: now}
		r.partial[p.ID] = m
	}
	m.chunks[p.Index] = p.Data
	m.got++
	m.size += len(p.Data)
	r.bytes += len(p.Data)
	if m.got < len(m.chunks) {
		return nil, abandoned, nil
	}
	msg = make([]byte, 0, m.size)
	for _, c := range m.chunks {
		msg = append(msg, c...)
	}
	r.drop(p.ID)
	return msg, abandoned, nil
}

func (r *reassembler) drop(id [8]byte) {
	if m, ok := r.partial[id]; ok {
		r.bytes -= m.size
		delete(r.partial, id)
	}
}

// dropOldest gives up on the oldest incomplete message other than keep; it
// reports false if there is none.
func (r *reassembler) dropOldest(keep [8]byte) bool {
	var oldest [8]byte
	found := false
	for id, m := range r.partial {
		if id != keep && (!found || m.started.Before(r.partial[oldest].started)) {
			oldest, found = id, true
		}
	}
	if found {
		r.drop(oldest)
	}
	return found
}

// pending is the number of incomplete messages held.
func (r *reassembler) pending() int { return len(r.partial) }
