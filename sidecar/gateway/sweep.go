package gateway

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The sweep deletes expired messages and forgotten registrations in
// transactions of at most sweepBatch deletions each: bbolt has one writer
// at a time, so a long transaction would hold every delivery's commit
// behind it. Each transaction finds its own place again (a client's oldest
// messages are first in its bucket), so the sweep holds no cursor across
// commits.

// sweepBatch bounds the deletions of one sweep transaction.
const sweepBatch = 256

// sweepStats tells what a sweep did, in how many transactions.
type sweepStats struct {
	messages, clients int // deleted
	txs               int // write transactions
	maxPerTx          int // most deletions in one transaction
}

func (st *sweepStats) tx(deletions int) {
	st.txs++
	st.maxPerTx = max(st.maxPerTx, deletions)
}

// clientIDs lists the registered clients and those with an inbox bucket.
func (s *store) clientIDs() ([][IdentitySize]byte, error) {
	seen := map[[IdentitySize]byte]bool{}
	var ids [][IdentitySize]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		add := func(k []byte) {
			if len(k) == IdentitySize && !seen[[IdentitySize]byte(k)] {
				seen[[IdentitySize]byte(k)] = true
				ids = append(ids, [IdentitySize]byte(k))
			}
		}
		if err := tx.Bucket(bucketClients).ForEach(func(k, _ []byte) error { add(k); return nil }); err != nil {
			return err
		}
		return tx.Bucket(bucketInbox).ForEachBucket(func(k []byte) error { add(k); return nil })
	})
	return ids, err
}

// expire deletes every message stored before cutoff and every record that
// does not parse, and forgets (with their inbox) the clients last seen
// before idleCutoff, except those for which active is true (connected
// now).
func (s *store) expire(cutoff, idleCutoff time.Time, active func([IdentitySize]byte) bool) (sweepStats, error) {
	var st sweepStats
	ids, err := s.clientIDs()
	if err != nil {
		return st, fmt.Errorf("list clients: %w", err)
	}
	for _, id := range ids {
		if err := s.expireMessages(id, cutoff, &st); err != nil {
			return st, fmt.Errorf("expire messages of %x stored before %s: %w", id[:8], cutoff.Format(time.RFC3339), err)
		}
		if active(id) {
			continue
		}
		if err := s.forgetIfIdle(id, idleCutoff, &st); err != nil {
			return st, fmt.Errorf("forget client %x: %w", id[:8], err)
		}
	}
	return st, nil
}

// expireMessages deletes id's messages stored before cutoff (and
// unreadable ones at the head of its inbox), sweepBatch per transaction.
func (s *store) expireMessages(id [IdentitySize]byte, cutoff time.Time, st *sweepStats) error {
	// Most inboxes hold nothing old: look before taking the writer's lock.
	old := false
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketInbox).Bucket(id[:]); b != nil {
			k, v := b.Cursor().First()
			m, err := parseMessage(k, v, s.maxPayload)
			old = k != nil && (err != nil || m.StoredAt.Before(cutoff))
		}
		return nil
	})
	if err != nil || !old {
		return err
	}
	for {
		n, cost, more := 0, int64(0), false
		err := s.db.Update(func(tx *bolt.Tx) error {
			n, cost, more = 0, 0, false
			b := tx.Bucket(bucketInbox).Bucket(id[:])
			if b == nil {
				return nil
			}
			c := b.Cursor()
			for k, v := c.First(); k != nil; k, v = c.First() {
				m, err := parseMessage(k, v, s.maxPayload)
				if err == nil && !m.StoredAt.Before(cutoff) {
					// Sequence order is arrival order: the rest is younger.
					return nil
				}
				if n == sweepBatch {
					more = true
					return nil
				}
				cost += storedCost(v)
				if err := c.Delete(); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return err
		}
		if n > 0 {
			st.tx(n)
			st.messages += n
			s.account(id, -n, -cost)
		}
		if !more {
			return nil
		}
	}
}

// forgetIfIdle deletes the registration of a client last seen before
// cutoff, and its inbox, sweepBatch deletions per transaction; the record
// goes in the transaction that deletes the last messages, and only if the
// client has not been seen meanwhile.
func (s *store) forgetIfIdle(id [IdentitySize]byte, cutoff time.Time, st *sweepStats) error {
	seen := false
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketClients).Get(id[:]); v != nil {
			r, err := parseClientRecord(v)
			seen = err == nil && !r.LastSeen.Before(cutoff)
		}
		return nil
	})
	if err != nil || seen {
		return err
	}
	for {
		n, cost, done, forgot := 0, int64(0), false, false
		err := s.db.Update(func(tx *bolt.Tx) error {
			n, cost, done, forgot = 0, 0, false, false
			clients, inbox := tx.Bucket(bucketClients), tx.Bucket(bucketInbox)
			if v := clients.Get(id[:]); v != nil {
				r, err := parseClientRecord(v)
				if err == nil && !r.LastSeen.Before(cutoff) {
					done = true
					return nil
				}
			}
			if b := inbox.Bucket(id[:]); b != nil {
				c := b.Cursor()
				for k, v := c.First(); k != nil; k, v = c.First() {
					if n == sweepBatch {
						return nil
					}
					cost += storedCost(v)
					if err := c.Delete(); err != nil {
						return err
					}
					n++
				}
				if err := inbox.DeleteBucket(id[:]); err != nil {
					return err
				}
			}
			done = true
			if clients.Get(id[:]) != nil {
				forgot = true
				return clients.Delete(id[:])
			}
			return nil
		})
		if err != nil {
			return err
		}
		if forgot {
			st.clients++
		}
		if n > 0 || done {
			st.tx(n)
			st.messages += n
			s.account(id, -n, -cost)
		}
		if done {
			return nil
		}
	}
}
