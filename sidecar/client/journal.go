package client

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// The receive journal: what a client must not lose between acknowledging
// a delivery to its gateway and a clean stop. Before the client
// acknowledges a payload, the chunk it carried (a whole message, or a
// fragment of one) is appended to the journal and fsynced; when an app
// takes a message, a record saying so is appended too. After a kill, New
// reads the state file (the snapshot of the last start), replays the
// journal over it, writes a new snapshot and empties the journal: messages
// received and not taken are back in the inbox, fragments are back in the
// reassembler, and nothing an app took is handed out again.
//
// Writes are group-committed: records queued within commitWindow share one
// write and one fsync, so a burst of deliveries costs a few fsyncs. Every
// delivered payload waits for a commit before its ack, SURB-ACKs included,
// and one that brings nothing to keep (cover, a duplicate) writes a padding
// record as long as a chunk's: the gateway cannot tell cover from messages
// by the timing of the client's ack. (SURB-ACKs, a size class of their
// own, write nothing.)
//
// A record is: length (4 bytes, big endian), CRC-32C of the body (4
// bytes), body. Body: kind 'C' (a chunk): a flags byte (bit 0: it came
// over a reply SURB), the reply tag (16 bytes), the chunk's plaintext;
// kind 'T' (taken): the message id (8 bytes); or kind 'P' (padding, for a
// payload with nothing to keep, as long as a chunk's record). A torn or damaged tail (a
// kill during a write) ends the replay there.

const (
	recChunk = 'C'
	recTaken = 'T'
	// recPad stands in for a payload that brought nothing to keep (cover,
	// a duplicate, garbage): as long as a chunk's record, so that it costs
	// the commit what a chunk would, and skipped at replay.
	recPad = 'P'
	// maxJournalRecord bounds one record read back; a chunk's plaintext
	// is far smaller.
	maxJournalRecord = 1 << 20
	// commitWindow is how long a commit waits to gather more records.
	commitWindow = 2 * time.Millisecond
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// journalRecord is one decoded record.
type journalRecord struct {
	kind  byte
	reply bool
	rtag  SenderTag
	plain []byte    // recChunk
	id    MessageID // recTaken
}

func chunkRecord(plain []byte, reply bool, rtag SenderTag) []byte {
	b := make([]byte, 0, 2+len(rtag)+len(plain))
	flags := byte(0)
	if reply {
		flags = 1
	}
	b = append(b, recChunk, flags)
	b = append(b, rtag[:]...)
	return append(b, plain...)
}

func takenRecord(id MessageID) []byte { return append([]byte{recTaken}, id[:]...) }

// padRecord is as long as the chunk record of a content of n bytes.
func padRecord(n int) []byte {
	b := make([]byte, 2+len(SenderTag{})+max(0, n-envelopeOverhead))
	b[0] = recPad
	return b
}

var (
	errJournal       = errors.New("client: journal record refused")
	errJournalClosed = errors.New("client: journal closed")
)

// parseJournalRecord decodes a record's body.
func parseJournalRecord(b []byte) (journalRecord, error) {
	if len(b) == 0 {
		return journalRecord{}, fmt.Errorf("%w: empty", errJournal)
	}
	switch b[0] {
	case recChunk:
		if len(b) < 2+len(SenderTag{}) || b[1] > 1 {
			return journalRecord{}, fmt.Errorf("%w: chunk record of %d bytes", errJournal, len(b))
		}
		r := journalRecord{kind: recChunk, reply: b[1] == 1, plain: b[2+len(SenderTag{}):]}
		copy(r.rtag[:], b[2:])
		return r, nil
	case recPad:
		return journalRecord{kind: recPad, plain: b[1:]}, nil
	case recTaken:
		if len(b) != 1+len(MessageID{}) {
			return journalRecord{}, fmt.Errorf("%w: taken record of %d bytes", errJournal, len(b))
		}
		r := journalRecord{kind: recTaken}
		copy(r.id[:], b[1:])
		return r, nil
	}
	return journalRecord{}, fmt.Errorf("%w: kind %d", errJournal, b[0])
}

// readJournal decodes the records of a journal file's contents, stopping
// at the first torn or damaged one.
func readJournal(b []byte) []journalRecord {
	var out []journalRecord
	for len(b) >= 8 {
		n := binary.BigEndian.Uint32(b)
		if n == 0 || n > maxJournalRecord || uint64(len(b)-8) < uint64(n) {
			break
		}
		body := b[8 : 8+n]
		if crc32.Checksum(body, crcTable) != binary.BigEndian.Uint32(b[4:]) {
			break
		}
		r, err := parseJournalRecord(body)
		if err != nil {
			break
		}
		out = append(out, r)
		b = b[8+n:]
	}
	return out
}

// journal appends records with group commits.
type journal struct {
	f    *os.File
	size int64 // record bytes queued or written since the file was emptied
	max  int64 // beyond it the loop compacts
	// compact writes a snapshot of all the journal holds (the state
	// file); the loop calls it, with the queue flushed, before it
	// empties the file.
	compact     func() error
	compactions atomic.Uint64
	log         func(msg string, args ...any)
	rotate      chan chan struct{}
	mu          sync.Mutex
	closed      bool
	q           []commitReq
	wake        chan struct{}
	done        chan struct{}
	exited      chan struct{}
}

type commitReq struct {
	rec []byte
	ok  chan error
}

// defaultJournalMax is the journal size that makes the client write a
// snapshot and empty it: received traffic grows the journal, and a
// snapshot holds only what is still unread or incomplete.
const defaultJournalMax = 32 << 20

func openJournal(path string) (*journal, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	j := &journal{f: f, max: defaultJournalMax, rotate: make(chan chan struct{}), log: func(string, ...any) {},
		wake: make(chan struct{}, 1), done: make(chan struct{}), exited: make(chan struct{})}
	go j.loop()
	return j, nil
}

// full reports whether the journal has grown past its bound; the caller
// (the one goroutine that changes what the snapshot reads) then calls
// compactNow.
func (j *journal) full() bool {
	if j == nil || j.compact == nil {
		return false
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.size > j.max
}

// compactNow has the loop write a snapshot and empty the file; it returns
// when that is done (or the journal is closed).
func (j *journal) compactNow() {
	done := make(chan struct{})
	select {
	case j.rotate <- done:
		<-done
	case <-j.exited:
	}
}

// commit queues rec (nil: nothing to write, only wait for the next
// commit) and returns a channel that gets the commit's outcome.
func (j *journal) commit(rec []byte) <-chan error {
	ok := make(chan error, 1)
	if j == nil {
		ok <- nil
		return ok
	}
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		ok <- errJournalClosed
		return ok
	}
	j.q = append(j.q, commitReq{rec: rec, ok: ok})
	j.size += int64(len(rec))
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default:
	}
	return ok
}

func (j *journal) loop() {
	defer close(j.exited)
	for {
		select {
		case <-j.wake:
		case done := <-j.rotate:
			j.flush()
			if err := j.compact(); err != nil {
				j.log("receive journal not compacted: state not written", "err", err)
			} else if err := j.f.Truncate(0); err != nil {
				j.log("receive journal not emptied", "err", err)
			} else {
				// Records queued meanwhile go to the emptied file.
				j.mu.Lock()
				j.size = 0
				for _, r := range j.q {
					j.size += int64(len(r.rec))
				}
				j.mu.Unlock()
				j.compactions.Add(1)
			}
			close(done)
			continue
		case <-j.done:
			j.flush()
			return
		}
		// Let a burst gather, so that it shares one fsync.
		select {
		case <-time.After(commitWindow):
		case <-j.done:
		}
		j.flush()
	}
}

func (j *journal) flush() {
	j.mu.Lock()
	q := j.q
	j.q = nil
	j.mu.Unlock()
	if len(q) == 0 {
		return
	}
	var buf []byte
	for _, r := range q {
		if r.rec == nil {
			continue
		}
		var h [8]byte
		binary.BigEndian.PutUint32(h[:], uint32(len(r.rec)))
		binary.BigEndian.PutUint32(h[4:], crc32.Checksum(r.rec, crcTable))
		buf = append(append(buf, h[:]...), r.rec...)
	}
	var err error
	if len(buf) > 0 {
		if _, err = j.f.Write(buf); err == nil {
			err = j.f.Sync()
		}
	}
	for _, r := range q {
		r.ok <- err
	}
}

// close commits what is queued and closes the file.
func (j *journal) close() error {
	if j == nil {
		return nil
	}
	j.mu.Lock()
	j.closed = true
	j.mu.Unlock()
	close(j.done)
	<-j.exited
	j.flush()
	return j.f.Close()
}

// journalPath is the journal kept next to the state file.
func journalPath(stateFile string) string { return stateFile + ".journal" }

// readJournalFile reads the journal at path (none: no records).
func readJournalFile(path string) ([]journalRecord, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxStateFile))
	if err != nil {
		return nil, err
	}
	return readJournal(b), nil
}

// restore reads the state file and replays the journal over it (a client
// killed wrote no state at its stop), then writes the result as the new
// snapshot and starts an empty journal.
func (c *Client) restore() error {
	if c.cfg.StateFile == "" {
		return nil
	}
	jp := journalPath(c.cfg.StateFile)
	recs, err := readJournalFile(jp)
	if err != nil {
		return fmt.Errorf("read receive journal: %w", err)
	}
	taken := map[MessageID]bool{}
	for _, r := range recs {
		if r.kind == recTaken {
			taken[r.id] = true
		}
	}
	if err := c.loadState(taken); err != nil {
		return err
	}
	now := time.Now()
	for _, r := range recs {
		if r.kind != recChunk {
			continue
		}
		m, ok, _ := c.handlePlain(r.plain, r.reply, r.rtag, now, true)
		if !ok || taken[m.ID] {
			continue
		}
		select {
		case c.slots <- struct{}{}:
			c.inbox <- m
			c.received.Add(1)
		default:
			return fmt.Errorf("%s: more received messages than receive_buffer", jp)
		}
	}
	if err := c.saveState(true); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Remove(jp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	j, err := openJournal(jp)
	if err != nil {
		return fmt.Errorf("open receive journal: %w", err)
	}
	j.compact = func() error { return c.saveState(true) }
	j.log = func(msg string, args ...any) { c.log.Error(msg, args...) }
	c.journal = j
	return nil
}
