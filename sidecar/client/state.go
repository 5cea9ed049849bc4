package client

import (
	"crypto/ecdh"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nyx-privacy/nyx/sphinx"
)

// What a client keeps across a restart. When Run returns, the client writes
// its state to Config.StateFile (atomically: a temporary file, fsynced, then
// renamed); New reads it back and removes it. The state is:
//
//   - the chunks it sent and has no ack for (sent again after the restart;
//     the recipient drops those it has);
//   - the messages received and not yet taken by an app, and the chunks of
//     messages not yet complete (the gateway has forgotten them: they were
//     acknowledged to it);
//   - the reports no app has read;
//   - the ids of messages put together (so a chunk sent again is still
//     dropped);
//   - the sender tags it uses and the reply keys of the SURBs it gave out,
//     and the SURBs it holds for other senders' tags.
//
// It is written at a clean stop and at every start (a snapshot); between
// the two, what the client receives is kept in the receive journal
// (journal.go), so a client killed loses nothing it acknowledged to its
// gateway. What it sends, the reports, tags, reply keys and SURBs learnt
// since the start are kept at a clean stop only.

// stateVersion names the file's format.
const stateVersion = "nyx-client-state-v1"

// maxStateFile bounds the state file read back (the bounds on what a
// client holds keep it far below: 200 SURBs of 1000 tags, 20,000 reply
// keys, the receive buffer and the send queue).
const maxStateFile = 1 << 30

type stateFile struct {
	Version  string          `json:"version"`
	Pending  []stateJob      `json:"pending"`
	Inbox    []stateMessage  `json:"inbox"`
	Partial  []statePartial  `json:"partial"`
	Seen     []stateSeen     `json:"seen"`
	Tags     []stateTag      `json:"tags"`
	Keys     []stateReplyKey `json:"reply_keys"`
	Held     []stateHeld     `json:"held"`
	Reports  []stateReport   `json:"reports"`
	Received uint64          `json:"received"`
}

type stateReport struct {
	ID  MessageID `json:"id"`
	Err string    `json:"error,omitempty"`
}

type stateJob struct {
	Message  MessageID `json:"message"`
	Internal bool      `json:"internal,omitempty"`
	Piece    []byte    `json:"piece"`
	To       []byte    `json:"to,omitempty"`
	Tag      []byte    `json:"tag,omitempty"`
	Attempts int       `json:"attempts"`
}

type stateMessage struct {
	ID        MessageID `json:"id"`
	Data      []byte    `json:"data"`
	SenderTag []byte    `json:"sender_tag,omitempty"`
	Reply     bool      `json:"reply,omitempty"`
	ReplyTag  []byte    `json:"reply_tag,omitempty"`
}

type statePartial struct {
	ID      MessageID `json:"id"`
	Chunks  [][]byte  `json:"chunks"`
	Started time.Time `json:"started"`
}

type stateSeen struct {
	ID MessageID `json:"id"`
	At time.Time `json:"at"`
}

type stateTag struct {
	Address []byte `json:"address"`
	Tag     []byte `json:"tag"`
	Given   int    `json:"given"`
}

type stateReplyKey struct {
	Key     []byte    `json:"key"`
	Tag     []byte    `json:"tag"`
	Expires time.Time `json:"expires"`
}

type stateHeld struct {
	Tag   []byte      `json:"tag"`
	Used  time.Time   `json:"used"`
	SURBs []stateSURB `json:"surbs"`
}

type stateSURB struct {
	SURB    []byte    `json:"surb"`
	Key     []byte    `json:"key"`
	Expires time.Time `json:"expires"`
}

var errState = errors.New("client: state file refused")

// saveState writes the client's state; the client no longer runs (or
// does not run yet: keep puts the received messages back in the inbox).
func (c *Client) saveState(keep bool) error {
	if c.cfg.StateFile == "" {
		return nil
	}
	st := stateFile{Version: stateVersion, Received: c.received.Load()}
	s := c.sender
	s.mu.Lock()
	for _, j := range s.pendingJobsLocked() {
		sj := stateJob{Message: j.msg.id, Internal: j.msg.internal, Piece: j.piece, Attempts: j.attempts}
		if j.reply {
			sj.Tag = j.tag[:]
		} else {
			sj.To = j.to.MarshalBinary()
		}
		st.Pending = append(st.Pending, sj)
	}
	r := &s.replies
	for a, tag := range r.tags {
		st.Tags = append(st.Tags, stateTag{Address: a.MarshalBinary(), Tag: tag[:], Given: r.given[tag]})
	}
	for _, k := range r.keys {
		st.Keys = append(st.Keys, stateReplyKey{Key: k.key[:], Tag: k.tag[:], Expires: k.expires})
	}
	for tag, h := range r.held {
		sh := stateHeld{Tag: tag[:], Used: h.used}
		for _, x := range h.surbs {
			b, err := x.SURB.MarshalBinary()
			if err != nil {
				continue
			}
			sh.SURBs = append(sh.SURBs, stateSURB{SURB: b, Key: x.Key[:], Expires: x.Expires})
		}
		st.Held = append(st.Held, sh)
	}
	// Reports are made with s.mu held: drained and put back under it, none
	// comes in between to fill the queue.
	var reports []Report
	for done := false; !done; {
		select {
		case r := <-s.reports:
			sr := stateReport{ID: r.ID}
			if r.Err != nil {
				sr.Err = r.Err.Error()
			}
			st.Reports = append(st.Reports, sr)
			reports = append(reports, r)
		default:
			done = true
		}
	}
	if keep {
		for _, r := range reports {
			s.reports <- r
		}
	}
	s.mu.Unlock()
	var kept []Message
	for done := false; !done; {
		select {
		case m := <-c.inbox:
			<-c.slots
			sm := stateMessage{ID: m.ID, Data: m.Data, Reply: m.Reply}
			if m.SenderTag != nil {
				sm.SenderTag = m.SenderTag[:]
			}
			if m.Reply {
				sm.ReplyTag = m.ReplyTag[:]
			}
			st.Inbox = append(st.Inbox, sm)
			kept = append(kept, m)
		default:
			done = true
		}
	}
	if keep {
		for _, m := range kept {
			c.slots <- struct{}{}
			c.inbox <- m
		}
	}
	for id, p := range c.reasm.partial {
		st.Partial = append(st.Partial, statePartial{ID: id, Chunks: p.chunks, Started: p.started})
	}
	ids, ts := c.reasm.seen.ids()
	for i, id := range ids {
		st.Seen = append(st.Seen, stateSeen{ID: id, At: ts[i]})
	}
	b, err := json.Marshal(&st)
	if err != nil {
		return err
	}
	return writeFileAtomic(c.cfg.StateFile, b)
}

// pendingJobsLocked lists the jobs not acknowledged, given up on or
// finished: queued, to be sent again, waiting for an ack or for SURBs.
func (s *Sender) pendingJobsLocked() []*job {
	var out []*job
	seen := map[*job]bool{}
	add := func(j *job) {
		if !j.done && !j.msg.done && !seen[j] {
			seen[j] = true
			out = append(out, j)
		}
	}
	for _, j := range s.retx {
		add(j)
	}
	for _, j := range s.pending {
		add(j)
	}
	for _, j := range s.queue {
		add(j)
	}
	return out
}

func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".state-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// parseState reads a state file, checking every record.
func parseState(b []byte, geometry sphinx.Geometry) (*stateFile, error) {
	var st stateFile
	if len(b) > maxStateFile {
		return nil, fmt.Errorf("%w: %d bytes", errState, len(b))
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%w: %v", errState, err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("%w: version %q", errState, truncate(st.Version, 40))
	}
	pieceSize := ContentSize(geometry.PayloadSize) - envelopeOverhead
	for _, j := range st.Pending {
		if _, err := parsePiece(j.Piece); err != nil || len(j.Piece) != pieceSize || j.Attempts < 0 {
			return nil, fmt.Errorf("%w: a pending chunk does not parse", errState)
		}
		if (j.To == nil) == (j.Tag == nil) || j.Tag != nil && len(j.Tag) != len(SenderTag{}) {
			return nil, fmt.Errorf("%w: a pending chunk names no recipient", errState)
		}
		if j.To != nil {
			if _, err := ParseAddressBinary(j.To); err != nil {
				return nil, fmt.Errorf("%w: %v", errState, err)
			}
		}
	}
	for _, m := range st.Inbox {
		if len(m.Data) > maxEncodedMessage || m.SenderTag != nil && len(m.SenderTag) != 16 || m.Reply && len(m.ReplyTag) != 16 {
			return nil, fmt.Errorf("%w: a received message", errState)
		}
	}
	if len(st.Reports) > reportQueue {
		return nil, fmt.Errorf("%w: %d reports", errState, len(st.Reports))
	}
	for _, p := range st.Partial {
		if len(p.Chunks) < 2 || len(p.Chunks) > maxFragments(geometry.PayloadSize) {
			return nil, fmt.Errorf("%w: a message of %d chunks", errState, len(p.Chunks))
		}
	}
	for _, t := range st.Tags {
		if len(t.Tag) != 16 || t.Given < 0 {
			return nil, fmt.Errorf("%w: a sender tag", errState)
		}
		if _, err := ParseAddressBinary(t.Address); err != nil {
			return nil, fmt.Errorf("%w: %v", errState, err)
		}
	}
	for _, k := range st.Keys {
		if len(k.Key) != ReplyKeySize || len(k.Tag) != 16 {
			return nil, fmt.Errorf("%w: a reply key", errState)
		}
	}
	for _, h := range st.Held {
		if len(h.Tag) != 16 {
			return nil, fmt.Errorf("%w: a held tag", errState)
		}
		for _, x := range h.SURBs {
			if len(x.Key) != ReplyKeySize {
				return nil, fmt.Errorf("%w: a held SURB's key", errState)
			}
			if _, err := geometry.ParseSURB(x.SURB); err != nil {
				return nil, fmt.Errorf("%w: %v", errState, err)
			}
		}
	}
	return &st, nil
}

// loadState restores the state a stopped client wrote, leaving out the
// received messages an app took (taken, from the journal). The file stays:
// it is the snapshot the journal is replayed over after a kill.
func (c *Client) loadState(taken map[MessageID]bool) error {
	if c.cfg.StateFile == "" {
		return nil
	}
	b, err := os.ReadFile(c.cfg.StateFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read state: %w", err)
	}
	st, err := parseState(b, c.cfg.Sender.Geometry)
	if err != nil {
		return fmt.Errorf("%s: %w", c.cfg.StateFile, err)
	}
	now := time.Now()
	s := c.sender
	s.mu.Lock()
	msgs := map[MessageID]*msgState{}
	var jobs []*job
	for _, sj := range st.Pending {
		ms := msgs[sj.Message]
		if ms == nil {
			ms = &msgState{id: sj.Message, internal: sj.Internal}
			msgs[sj.Message] = ms
		}
		ms.left++
		j := &job{msg: ms, piece: sj.Piece, attempts: sj.Attempts}
		if sj.Tag != nil {
			j.reply, j.tag = true, SenderTag(sj.Tag)
		} else {
			j.to, _ = ParseAddressBinary(sj.To)
			j.enc, _ = ecdhPublic(j.to)
		}
		jobs = append(jobs, j)
	}
	s.inflight += len(jobs)
	s.retx = append(s.retx, jobs...)
	r := &s.replies
	for _, t := range st.Tags {
		a, _ := ParseAddressBinary(t.Address)
		tag := SenderTag(t.Tag)
		r.tags[a], r.tagAddr[tag], r.given[tag] = tag, a, t.Given
	}
	for _, k := range st.Keys {
		if now.Before(k.Expires) {
			key := [ReplyKeySize]byte(k.Key)
			r.keys[replyDigest(key)] = replyKey{key: key, tag: SenderTag(k.Tag), expires: k.Expires}
		}
	}
	for _, h := range st.Held {
		held := &heldSURBs{used: h.Used}
		for _, x := range h.SURBs {
			surb, _ := c.cfg.Sender.Geometry.ParseSURB(x.SURB)
			if now.Before(x.Expires) {
				held.surbs = append(held.surbs, ReplySURB{SURB: surb, Key: [ReplyKeySize]byte(x.Key), Expires: x.Expires})
			}
		}
		r.held[SenderTag(h.Tag)] = held
	}
	s.mu.Unlock()
	s.wakeUp()
	for _, m := range st.Inbox {
		if taken[m.ID] {
			continue
		}
		msg := Message{ID: m.ID, Data: m.Data, Reply: m.Reply}
		if m.SenderTag != nil {
			tag := SenderTag(m.SenderTag)
			msg.SenderTag = &tag
		}
		if m.Reply {
			msg.ReplyTag = SenderTag(m.ReplyTag)
		}
		select {
		case c.slots <- struct{}{}:
			c.inbox <- msg
		default:
			return fmt.Errorf("%s: %d received messages, more than receive_buffer", c.cfg.StateFile, len(st.Inbox))
		}
	}
	for _, r := range st.Reports {
		rep := Report{ID: r.ID}
		if r.Err != "" {
			rep.Err = fmt.Errorf("%w (before a restart: %s)", ErrNotDelivered, r.Err)
		}
		c.sender.reports <- rep
	}
	for _, p := range st.Partial {
		pm := &partialMessage{chunks: p.Chunks, started: p.Started}
		for _, ch := range p.Chunks {
			if ch != nil {
				pm.got++
				pm.size += len(ch)
			}
		}
		c.reasm.partial[p.ID] = pm
		c.reasm.bytes += pm.size
	}
	for _, x := range st.Seen {
		c.reasm.seen.add(x.ID, x.At)
	}
	c.received.Store(st.Received)
	return nil
}

func ecdhPublic(a Address) (*ecdh.PublicKey, error) {
	return ecdh.X25519().NewPublicKey(a.Encryption[:])
}
