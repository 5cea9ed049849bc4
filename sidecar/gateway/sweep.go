package gateway

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
)

// The sweep deletes expired messages and forgotten registrations in
// transactions of at most sweepBatch deletions each: bbolt has one writer
// at a time, so a long transaction would hold every delivery's commit
// behind it. A transaction carries on across clients until its budget is
// spent (so many clients with a little to delete cost few fsyncs), and
// each finds its own place again (a client's oldest messages are first in
// its bucket), so the sweep holds no cursor across commits. Clients are
// read a page at a time, so the sweep's memory does not grow with their
// number.

// sweepBatch bounds the deletions of one sweep transaction.
const sweepBatch = 256

// sweepPage is how many client identities the sweep reads at a time.
const sweepPage = 1024

// sweepStats tells what a sweep did, in how many transactions.
type sweepStats struct {
	messages, clients int // deleted
	txs               int // write transactions
	maxPerTx          int // most deletions in one transaction

	stop <-chan struct{}
}

// idsAfter returns up to sweepPage identities after the given one (from
// the start if after is nil): the keys of the clients bucket, or the names
// of the inbox bucket's client buckets.
func (s *store) idsAfter(bucket []byte, after *[gatewayproto.IdentitySize]byte) ([][gatewayproto.IdentitySize]byte, error) {
	var ids [][gatewayproto.IdentitySize]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucket).Cursor()
		k, _ := c.First()
		if after != nil {
			k, _ = c.Seek(after[:])
			if k != nil && string(k) == string(after[:]) {
				k, _ = c.Next()
			}
		}
		for ; k != nil && len(ids) < sweepPage; k, _ = c.Next() {
			if len(k) == gatewayproto.IdentitySize {
				ids = append(ids, [gatewayproto.IdentitySize]byte(k))
			}
		}
		return nil
	})
	return ids, err
}

// eachPage calls f with every identity in bucket, a page at a time.
func (s *store) eachPage(bucket []byte, f func([][gatewayproto.IdentitySize]byte) error) error {
	var after *[gatewayproto.IdentitySize]byte
	for {
		ids, err := s.idsAfter(bucket, after)
		if err != nil {
			return err
		}
		if err := f(ids); err != nil {
			return err
		}
		if len(ids) < sweepPage {
			return nil
		}
		after = &ids[len(ids)-1]
	}
}

// sweepTx collects what one sweep transaction deleted, applied to the
// store's counts once it has committed.
type sweepTx struct {
	messages, clients int
	deleted           map[[gatewayproto.IdentitySize]byte]usage
}

func (t *sweepTx) message(id [gatewayproto.IdentitySize]byte, v []byte) {
	u := t.deleted[id]
	u.messages++
	u.bytes += storedCost(v)
	t.deleted[id] = u
	t.messages++
}

// stepFunc deletes up to budget things (messages, records) of client id
// in tx and says how many, and whether it is done with that client.
type stepFunc func(tx *bolt.Tx, t *sweepTx, id [gatewayproto.IdentitySize]byte, budget int) (n int, finished bool, err error)

// errSweepStopped: the sweep gave up between two transactions because the
// gateway is closing.
var errSweepStopped = errors.New("gateway: sweep stopped")

// expire deletes every message stored before cutoff and every record that
// does not parse, and forgets (with their inbox) the clients last seen
// before idleCutoff, except those for which active is true (connected
// now). It stops between two transactions when stop is closed.
func (s *store) expire(cutoff, idleCutoff time.Time, active func([gatewayproto.IdentitySize]byte) bool, stop <-chan struct{}) (sweepStats, error) {
	st := sweepStats{stop: stop}
	err := s.eachPage(bucketInbox, func(ids [][gatewayproto.IdentitySize]byte) error {
		ids = s.candidates(ids, func(tx *bolt.Tx, id [gatewayproto.IdentitySize]byte) bool { return s.hasOld(tx, id, cutoff) })
		return s.sweepTxs(ids, func(tx *bolt.Tx, t *sweepTx, id [gatewayproto.IdentitySize]byte, budget int) (int, bool, error) {
			return s.expireStep(tx, t, id, cutoff, budget)
		}, &st)
	})
	if err != nil {
		return st, fmt.Errorf("expire messages stored before %s: %w", cutoff.Format(time.RFC3339), err)
	}
	err = s.eachPage(bucketClients, func(ids [][gatewayproto.IdentitySize]byte) error {
		ids = s.candidates(ids, func(tx *bolt.Tx, id [gatewayproto.IdentitySize]byte) bool {
			return !active(id) && idle(tx, id, idleCutoff)
		})
		return s.sweepTxs(ids, func(tx *bolt.Tx, t *sweepTx, id [gatewayproto.IdentitySize]byte, budget int) (int, bool, error) {
			return forgetStep(tx, t, id, idleCutoff, budget)
		}, &st)
	})
	if err != nil {
		return st, fmt.Errorf("forget clients last seen before %s: %w", idleCutoff.Format(time.RFC3339), err)
	}
	return st, nil
}

// candidates keeps the ids for which want holds, read without the
// writer's lock: most clients have nothing to sweep.
func (s *store) candidates(ids [][gatewayproto.IdentitySize]byte, want func(*bolt.Tx, [gatewayproto.IdentitySize]byte) bool) [][gatewayproto.IdentitySize]byte {
	var out [][gatewayproto.IdentitySize]byte
	_ = s.db.View(func(tx *bolt.Tx) error {
		for _, id := range ids {
			if want(tx, id) {
				out = append(out, id)
			}
		}
		return nil
	})
	return out
}

func (s *store) hasOld(tx *bolt.Tx, id [gatewayproto.IdentitySize]byte, cutoff time.Time) bool {
	b := tx.Bucket(bucketInbox).Bucket(id[:])
	if b == nil {
		return false
	}
	k, v := b.Cursor().First()
	if k == nil {
		return false
	}
	m, err := parseMessage(k, v, s.maxPayload)
	return err != nil || m.StoredAt.Before(cutoff)
}

// idle reports whether the client was last seen before cutoff (a record
// that does not parse counts as idle).
func idle(tx *bolt.Tx, id [gatewayproto.IdentitySize]byte, cutoff time.Time) bool {
	v := tx.Bucket(bucketClients).Get(id[:])
	if v == nil {
		return false
	}
	r, err := parseClientRecord(v)
	return err != nil || r.LastSeen.Before(cutoff)
}

// sweepTxs runs step over ids in write transactions of at most sweepBatch
// deletions each, and applies each transaction's deletions to the counts
// once it has committed.
func (s *store) sweepTxs(ids [][gatewayproto.IdentitySize]byte, step stepFunc, st *sweepStats) error {
	for len(ids) > 0 {
		select {
		case <-st.stop:
			return errSweepStopped
		default:
		}
		var t sweepTx
		done, deleted := 0, 0
		err := s.db.Update(func(tx *bolt.Tx) error {
			t = sweepTx{deleted: map[[gatewayproto.IdentitySize]byte]usage{}}
			done, deleted = 0, 0
			for done < len(ids) && deleted < sweepBatch {
				n, finished, err := step(tx, &t, ids[done], sweepBatch-deleted)
				if err != nil {
					return err
				}
				deleted += n
				if !finished {
					break
				}
				done++
			}
			return nil
		})
		if err != nil {
			return err
		}
		st.txs++
		st.maxPerTx = max(st.maxPerTx, deleted)
		st.messages += t.messages
		st.clients += t.clients
		for id, u := range t.deleted {
			s.account(id, -u.messages, -u.bytes)
		}
		if t.clients > 0 {
			s.mu.Lock()
			s.clients -= t.clients
			s.mu.Unlock()
		}
		ids = ids[done:]
	}
	return nil
}

// expireStep deletes id's messages stored before cutoff (and unreadable
// ones at the head of its inbox), up to budget.
func (s *store) expireStep(tx *bolt.Tx, t *sweepTx, id [gatewayproto.IdentitySize]byte, cutoff time.Time, budget int) (int, bool, error) {
	b := tx.Bucket(bucketInbox).Bucket(id[:])
	if b == nil {
		return 0, true, nil
	}
	n := 0
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.First() {
		m, err := parseMessage(k, v, s.maxPayload)
		if err == nil && !m.StoredAt.Before(cutoff) {
			// Sequence order is arrival order: the rest is younger.
			return n, true, nil
		}
		if n == budget {
			return n, false, nil
		}
		t.message(id, v)
		if err := c.Delete(); err != nil {
			return n, false, err
		}
		n++
	}
	return n, true, nil
}

// forgetStep deletes the registration of a client still last seen before
// cutoff, and its inbox, up to budget deletions; the record goes last, so
// an interrupted sweep leaves a client that is still registered.
func forgetStep(tx *bolt.Tx, t *sweepTx, id [gatewayproto.IdentitySize]byte, cutoff time.Time, budget int) (int, bool, error) {
	if !idle(tx, id, cutoff) {
		return 0, true, nil // seen since the candidates were read
	}
	clients, inbox := tx.Bucket(bucketClients), tx.Bucket(bucketInbox)
	n := 0
	if b := inbox.Bucket(id[:]); b != nil {
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.First() {
			if n == budget {
				return n, false, nil
			}
			t.message(id, v)
			if err := c.Delete(); err != nil {
				return n, false, err
			}
			n++
		}
		if err := inbox.DeleteBucket(id[:]); err != nil {
			return n, false, err
		}
	}
	if n == budget {
		return n, false, nil
	}
	if err := clients.Delete(id[:]); err != nil {
		return n, false, err
	}
	t.clients++
	return n + 1, true, nil
}
