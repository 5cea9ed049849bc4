package client

import (
	"errors"
	"fmt"
	"time"
)

// MaxLongMessage is the longest message a client sends or reassembles: a
// message longer than one packet's chunk goes as fragments (at most 42 with
// regular packets), each in its own packet, and the recipient puts them
// back together. It bounds what a client holds in memory for messages its
// apps have not read (receive_buffer of them) and for each app's queue.
const MaxLongMessage = 64 << 10

// maxFragments is how many chunks the longest encoded message (an
// anonymous one with the most SURBs) takes in payloads of payloadSize
// bytes.
func maxFragments(payloadSize int) int {
	c := ChunkCapacity(payloadSize)
	if c <= 0 {
		return 0
	}
	return (maxEncodedMessage + c - 1) / c
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
	// A message put together is remembered this long (and at most
	// seenMessages of them), so that a retransmitted chunk of it, whose
	// ack was lost, is not handed to apps again.
	seenTTL      = time.Hour
	seenMessages = 1 << 16
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

	partial map[MessageID]*partialMessage
	bytes   int
	seen    *seenSet
}

type partialMessage struct {
	chunks  [][]byte
	got     int
	size    int
	started time.Time
}

func newReassembler(payloadSize int) *reassembler {
	return &reassembler{maxFragments: maxFragments(payloadSize), maxMessages: reassemblyMessages,
		maxBytes: reassemblyBytes, ttl: reassemblyTTL, partial: map[MessageID]*partialMessage{},
		seen: newSeenSet(seenMessages, seenTTL)}
}

// errDuplicate: a chunk of a message already put together.
var errDuplicate = errors.New("client: chunk of a message already received")

// add takes chunk p at time now. It returns the whole message when p
// completes it, and how many incomplete messages it gave up on (expired or
// evicted to make room). A duplicate chunk of a message still incomplete is
// ignored; one of a message already put together gets errDuplicate.
func (r *reassembler) add(p Piece, now time.Time) (msg []byte, abandoned int, err error) {
	if r.seen.has(p.ID, now) {
		return nil, 0, errDuplicate
	}
	if p.Count == 1 {
		r.seen.add(p.ID, now)
		return p.Data, 0, nil
	}
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
	r.seen.add(p.ID, now)
	return msg, abandoned, nil
}

func (r *reassembler) drop(id MessageID) {
	if m, ok := r.partial[id]; ok {
		r.bytes -= m.size
		delete(r.partial, id)
	}
}

// dropOldest gives up on the oldest incomplete message other than keep; it
// reports false if there is none.
func (r *reassembler) dropOldest(keep MessageID) bool {
	var oldest MessageID
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

// seenSet remembers the ids of messages put together, in arrival order,
// for ttl and at most max of them.
type seenSet struct {
	max   int
	ttl   time.Duration
	at    map[MessageID]time.Time
	order []MessageID // ring, oldest at head
	head  int
}

func newSeenSet(max int, ttl time.Duration) *seenSet {
	return &seenSet{max: max, ttl: ttl, at: map[MessageID]time.Time{}}
}

func (s *seenSet) has(id MessageID, now time.Time) bool {
	t, ok := s.at[id]
	return ok && now.Sub(t) <= s.ttl
}

func (s *seenSet) add(id MessageID, now time.Time) {
	if _, ok := s.at[id]; ok {
		return
	}
	if len(s.order) < s.max {
		s.order = append(s.order, id)
	} else {
		delete(s.at, s.order[s.head])
		s.order[s.head] = id
		s.head = (s.head + 1) % s.max
	}
	s.at[id] = now
}

// ids returns the remembered ids with their times, oldest first.
func (s *seenSet) ids() ([]MessageID, []time.Time) {
	var ids []MessageID
	var ts []time.Time
	for i := range s.order {
		id := s.order[(s.head+i)%len(s.order)]
		if t, ok := s.at[id]; ok {
			ids, ts = append(ids, id), append(ts, t)
		}
	}
	return ids, ts
}
