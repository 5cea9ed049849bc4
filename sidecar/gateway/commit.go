package gateway

import (
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
)

// The committer is the store's group commit. Writers submit an op and wait
// for it; one goroutine takes every op waiting at that moment (up to
// maxBatchOps), applies them in submission order in one bbolt transaction
// and commits it (one pair of fsyncs), then wakes their writers. While it
// commits, new ops queue up for the next batch, so the more writers wait,
// the more each fsync carries, and a lone writer waits for nothing but its
// own commit (no batching delay, unlike bbolt's Batch).
//
// An op that cannot apply (its client is unknown) fails alone: the others
// in its transaction commit. Only an I/O error fails the whole batch. No
// quota is checked here (store.reserve did it before the op was
// submitted), so a client at its quota costs the others nothing.

// maxBatchOps bounds one transaction, so one commit never grows without
// bound however many writers wait.
const maxBatchOps = 1024

type opKind int

const (
	opAppend opKind = iota
	opRemove
	opTouch
	opPutClient
)

type writeOp struct {
	kind     opKind
	id       [gatewayproto.IdentitySize]byte
	now      time.Time
	payloads [][]byte     // opAppend
	record   clientRecord // opPutClient
	seqs     []uint64     // opRemove: in; opAppend: out

	// Results, valid once done is closed.
	removed      int   // opRemove
	removedBytes int64 // opRemove: their quota cost
	replaced     bool  // opPutClient: the identity was registered already
	err          error
	done         chan struct{}
}

func (op *writeOp) wait() error {
	<-op.done
	return op.err
}

type committer struct {
	s *store

	mu     sync.Mutex
	queue  []*writeOp
	closed bool
	wake   chan struct{}
	exited chan struct{}

	// Statistics for tests and benchmarks.
	commits, ops int
}

func newCommitter(s *store) *committer {
	c := &committer{s: s, wake: make(chan struct{}, 1), exited: make(chan struct{})}
	go c.run()
	return c
}

// submit queues op; the caller then waits on it. Ops submitted by one
// goroutine, or under one lock, commit in that order.
func (c *committer) submit(op *writeOp) *writeOp {
	op.done = make(chan struct{})
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		op.err = errStoreClosed
		close(op.done)
		return op
	}
	c.queue = append(c.queue, op)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return op
}

// close commits what is queued and stops the goroutine.
func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	<-c.exited
}

func (c *committer) run() {
	defer close(c.exited)
	for range c.wake {
		for {
			c.mu.Lock()
			n := min(len(c.queue), maxBatchOps)
			batch := c.queue[:n:n]
			c.queue = append([]*writeOp(nil), c.queue[n:]...)
			closed := c.closed && len(c.queue) == 0
			c.mu.Unlock()
			if n > 0 {
				c.commit(batch)
			}
			if closed {
				return
			}
			if n == 0 {
				break
			}
		}
	}
}

func (c *committer) commit(batch []*writeOp) {
	s := c.s
	err := s.db.Update(func(tx *bolt.Tx) error {
		clients, inbox := tx.Bucket(bucketClients), tx.Bucket(bucketInbox)
		for _, op := range batch {
			op.err, op.removed, op.removedBytes = nil, 0, 0
			var err error
			switch op.kind {
			case opAppend:
				op.seqs, op.err, err = appendTx(clients, inbox, op)
			case opRemove:
				err = removeTx(inbox, op)
			case opTouch:
				err = touchTx(clients, op)
			case opPutClient:
				err = putClientTx(clients, inbox, op)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	c.mu.Lock()
	c.commits++
	c.ops += len(batch)
	c.mu.Unlock()
	for _, op := range batch {
		if err != nil {
			op.err = fmt.Errorf("commit to the inbox store: %w", err)
		} else if op.err == nil {
			switch op.kind {
			case opAppend:
				s.account(op.id, len(op.seqs), 0)
			case opRemove:
				s.account(op.id, -op.removed, -op.removedBytes)
			}
		}
		close(op.done)
	}
}

// appendTx stores op's payloads in order. A client that is not (or no
// longer) registered fails the op alone; other errors fail the batch.
func appendTx(clients, inbox *bolt.Bucket, op *writeOp) (seqs []uint64, opErr, txErr error) {
	if clients.Get(op.id[:]) == nil {
		return nil, ErrUnknownClient, nil
	}
	b, err := inbox.CreateBucketIfNotExists(op.id[:])
	if err != nil {
		return nil, nil, err
	}
	// Keys only ever grow: fill pages instead of splitting them in half.
	b.FillPercent = 0.95
	for _, p := range op.payloads {
		seq, err := b.NextSequence()
		if err != nil {
			return nil, nil, err
		}
		if err := b.Put(seqKey(seq), marshalMessage(op.now, p)); err != nil {
			return nil, nil, err
		}
		seqs = append(seqs, seq)
	}
	return seqs, nil, nil
}

func removeTx(inbox *bolt.Bucket, op *writeOp) error {
	b := inbox.Bucket(op.id[:])
	if b == nil {
		return nil
	}
	for _, seq := range op.seqs {
		k := seqKey(seq)
		v := b.Get(k)
		if v == nil {
			continue
		}
		cost := storedCost(v)
		if err := b.Delete(k); err != nil {
			return err
		}
		op.removed++
		op.removedBytes += cost
	}
	return nil
}

// touchTx records that the client was seen at op.now.
func touchTx(clients *bolt.Bucket, op *writeOp) error {
	v := clients.Get(op.id[:])
	if v == nil {
		return nil
	}
	r, err := parseClientRecord(v)
	if err != nil {
		return nil
	}
	r.LastSeen = op.now
	return clients.Put(op.id[:], r.marshal())
}

// putClientTx stores a registration, replacing an earlier one of the same
// identity, and creates its inbox.
func putClientTx(clients, inbox *bolt.Bucket, op *writeOp) error {
	op.replaced = clients.Get(op.id[:]) != nil
	if err := clients.Put(op.id[:], op.record.marshal()); err != nil {
		return err
	}
	_, err := inbox.CreateBucketIfNotExists(op.id[:])
	return err
}

// putClient stores a registration durably; concurrent registrations share
// a commit like deliveries. A new identity takes one of MaxClients places
// (refused with ErrTooManyClients when none is left); a known one
// re-registers in its own place.
func (s *store) putClient(id [gatewayproto.IdentitySize]byte, r clientRecord) error {
	_, err := s.client(id)
	isNew := errors.Is(err, ErrUnknownClient)
	s.mu.Lock()
	if isNew && s.clients >= s.maxClients {
		s.mu.Unlock()
		return fmt.Errorf("%w: %d registered (MaxClients)", ErrTooManyClients, s.maxClients)
	}
	if isNew {
		s.clients++
	}
	s.mu.Unlock()
	op := s.c.submit(&writeOp{kind: opPutClient, id: id, record: r})
	err = op.wait()
	if isNew && (err != nil || op.replaced) {
		// Not stored, or a concurrent registration of the same identity
		// took the place first.
		s.mu.Lock()
		s.clients--
		s.mu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("store client %x: %w", id[:8], err)
	}
	return nil
}

// append stores payloads for a registered client, in order, and returns
// their sequence numbers once they are on disk. Their bytes must have been
// reserved.
func (s *store) append(id [gatewayproto.IdentitySize]byte, now time.Time, payloads ...[]byte) ([]uint64, error) {
	op := s.c.submit(&writeOp{kind: opAppend, id: id, now: now, payloads: payloads})
	if err := op.wait(); err != nil {
		return nil, fmt.Errorf("store %d messages for %x: %w", len(payloads), id[:8], err)
	}
	return op.seqs, nil
}

// remove deletes the given messages (absent ones are ignored), gives back
// their bytes, and returns how many it deleted.
func (s *store) remove(id [gatewayproto.IdentitySize]byte, seqs []uint64) (int, error) {
	if len(seqs) == 0 {
		return 0, nil
	}
	op := s.c.submit(&writeOp{kind: opRemove, id: id, seqs: seqs})
	if err := op.wait(); err != nil {
		return 0, fmt.Errorf("delete %d messages of %x: %w", len(seqs), id[:8], err)
	}
	return op.removed, nil
}

// touch records that the client authenticated at now.
func (s *store) touch(id [gatewayproto.IdentitySize]byte, now time.Time) error {
	return s.c.submit(&writeOp{kind: opTouch, id: id, now: now}).wait()
}

// commitStats returns how many transactions the committer made and how
// many ops they carried.
func (s *store) commitStats() (commits, ops int) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.c.commits, s.c.ops
}
