package gateway

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The store is one bbolt file. bbolt commits with fsync (fdatasync) of the
// data pages and then of the meta page, so a transaction that returned nil
// survives a crash of the process or the machine, and one that did not
// return leaves no trace.
//
// Layout:
//
//	clients/<client identity (32)>          → client record
//	inbox/<client identity (32)>/<seq (8)>  → message record
//
// seq is the client's inbox bucket's own sequence (big-endian, so a cursor
// walks messages in arrival order).

var (
	bucketClients = []byte("clients")
	bucketInbox   = []byte("inbox")
)

// Record versions: the first byte of every stored value.
const (
	clientRecordV1  = 1
	messageRecordV1 = 1
)

const (
	clientRecordSize  = 1 + SharedKeySize + 8
	messageHeaderSize = 1 + 8
)

// ErrCorruptRecord is wrapped by errors about a stored value that does not
// parse.
var ErrCorruptRecord = errors.New("gateway: corrupt stored record")

// ErrInboxFull: the client's inbox holds as many messages as it may.
var ErrInboxFull = errors.New("gateway: inbox full")

// ErrUnknownClient: no client with this identity has registered here.
var ErrUnknownClient = errors.New("gateway: unknown client")

type clientRecord struct {
	Key          SharedKey
	RegisteredAt time.Time
}

func (r clientRecord) marshal() []byte {
	b := make([]byte, clientRecordSize)
	b[0] = clientRecordV1
	copy(b[1:], r.Key[:])
	binary.BigEndian.PutUint64(b[1+SharedKeySize:], uint64(r.RegisteredAt.Unix()))
	return b
}

func parseClientRecord(b []byte) (clientRecord, error) {
	var r clientRecord
	if len(b) != clientRecordSize {
		return r, fmt.Errorf("%w: client record of %d bytes, want %d", ErrCorruptRecord, len(b), clientRecordSize)
	}
	if b[0] != clientRecordV1 {
		return r, fmt.Errorf("%w: client record version %d", ErrCorruptRecord, b[0])
	}
	copy(r.Key[:], b[1:])
	secs := binary.BigEndian.Uint64(b[1+SharedKeySize:])
	if secs > 1<<40 {
		return r, fmt.Errorf("%w: client record time %d out of range", ErrCorruptRecord, secs)
	}
	r.RegisteredAt = time.Unix(int64(secs), 0)
	return r, nil
}

type storedMessage struct {
	Seq      uint64
	StoredAt time.Time
	Payload  []byte
}

func marshalMessage(storedAt time.Time, payload []byte) []byte {
	b := make([]byte, messageHeaderSize, messageHeaderSize+len(payload))
	b[0] = messageRecordV1
	binary.BigEndian.PutUint64(b[1:], uint64(storedAt.UnixNano()))
	return append(b, payload...)
}

// parseMessage decodes a message record. The payload is copied out: bbolt's
// memory is valid only inside its transaction.
func parseMessage(seqKey, b []byte, maxPayload int) (storedMessage, error) {
	var m storedMessage
	if len(seqKey) != 8 {
		return m, fmt.Errorf("%w: message key of %d bytes", ErrCorruptRecord, len(seqKey))
	}
	if len(b) < messageHeaderSize {
		return m, fmt.Errorf("%w: message record of %d bytes", ErrCorruptRecord, len(b))
	}
	if b[0] != messageRecordV1 {
		return m, fmt.Errorf("%w: message record version %d", ErrCorruptRecord, b[0])
	}
	if len(b)-messageHeaderSize > maxPayload {
		return m, fmt.Errorf("%w: message payload of %d bytes (max %d)", ErrCorruptRecord, len(b)-messageHeaderSize, maxPayload)
	}
	m.Seq = binary.BigEndian.Uint64(seqKey)
	ns := binary.BigEndian.Uint64(b[1:])
	if ns > 1<<63-1 {
		return m, fmt.Errorf("%w: message time out of range", ErrCorruptRecord)
	}
	m.StoredAt = time.Unix(0, int64(ns))
	m.Payload = append([]byte(nil), b[messageHeaderSize:]...)
	return m, nil
}

func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

type store struct {
	db           *bolt.DB
	maxPerClient int
	maxPayload   int

	// counts holds the number of stored messages per client, so a quota
	// check costs no bucket walk. The process owns the file (bbolt locks
	// it), so the counts cannot drift from what is on disk.
	mu     sync.Mutex
	counts map[[IdentitySize]byte]int
	total  int
}

func openStore(dir string, maxPerClient, maxPayload int) (*store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create store directory: %w", err)
	}
	path := filepath.Join(dir, "inbox.db")
	// The freelist is rebuilt at open instead of written at every commit:
	// less to write (and fsync) per delivery.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("open inbox store %s: %w", path, err)
	}
	// Batch coalesces the commits of concurrent deliveries into one pair of
	// fsyncs; a lone delivery waits at most this long for company.
	db.MaxBatchDelay = time.Millisecond
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketClients, bucketInbox} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("initialise inbox store %s: %w", path, err)
	}
	s := &store{db: db, maxPerClient: maxPerClient, maxPayload: maxPayload, counts: map[[IdentitySize]byte]int{}}
	err = db.View(func(tx *bolt.Tx) error {
		inbox := tx.Bucket(bucketInbox)
		return inbox.ForEachBucket(func(k []byte) error {
			n := inbox.Bucket(k).Stats().KeyN
			if len(k) == IdentitySize && n > 0 {
				s.counts[[IdentitySize]byte(k)] = n
				s.total += n
			}
			return nil
		})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("count stored messages in %s: %w", path, err)
	}
	return s, nil
}

func (s *store) adjust(id [IdentitySize]byte, delta int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.counts[id] + delta
	if n <= 0 {
		delete(s.counts, id)
	} else {
		s.counts[id] = n
	}
	s.total += delta
}

func (s *store) close() error { return s.db.Close() }

func (s *store) putClient(id [IdentitySize]byte, r clientRecord) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketClients).Put(id[:], r.marshal()); err != nil {
			return err
		}
		_, err := tx.Bucket(bucketInbox).CreateBucketIfNotExists(id[:])
		return err
	})
	if err != nil {
		return fmt.Errorf("store client %x: %w", id[:8], err)
	}
	return nil
}

func (s *store) client(id [IdentitySize]byte) (clientRecord, error) {
	var r clientRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketClients).Get(id[:])
		if v == nil {
			return ErrUnknownClient
		}
		var err error
		r, err = parseClientRecord(v)
		return err
	})
	return r, err
}

// append stores payloads for a registered client in one transaction, in
// order, and returns their sequence numbers once they are on disk.
func (s *store) append(id [IdentitySize]byte, now time.Time, payloads ...[]byte) ([]uint64, error) {
	var seqs []uint64
	err := s.db.Batch(func(tx *bolt.Tx) error {
		seqs = seqs[:0]
		if tx.Bucket(bucketClients).Get(id[:]) == nil {
			return ErrUnknownClient
		}
		b, err := tx.Bucket(bucketInbox).CreateBucketIfNotExists(id[:])
		if err != nil {
			return err
		}
		if have, _ := s.count(&id); have+len(payloads) > s.maxPerClient {
			return ErrInboxFull
		}
		for _, p := range payloads {
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			if err := b.Put(seqKey(seq), marshalMessage(now, p)); err != nil {
				return err
			}
			seqs = append(seqs, seq)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store %d messages for %x: %w", len(payloads), id[:8], err)
	}
	s.adjust(id, len(seqs))
	return seqs, nil
}

// after returns up to max messages with sequence numbers above seq, oldest
// first. A corrupt record is skipped and reported in bad (it stays until it
// expires).
func (s *store) after(id [IdentitySize]byte, seq uint64, max int) (msgs []storedMessage, bad int, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketInbox).Bucket(id[:])
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(seqKey(seq + 1)); k != nil && len(msgs) < max; k, v = c.Next() {
			m, err := parseMessage(k, v, s.maxPayload)
			if err != nil {
				bad++
				continue
			}
			msgs = append(msgs, m)
		}
		return nil
	})
	if err != nil {
		return nil, bad, fmt.Errorf("read inbox of %x: %w", id[:8], err)
	}
	return msgs, bad, nil
}

// remove deletes the given messages; absent ones are ignored. It returns how
// many it deleted.
func (s *store) remove(id [IdentitySize]byte, seqs []uint64) (int, error) {
	if len(seqs) == 0 {
		return 0, nil
	}
	n := 0
	err := s.db.Batch(func(tx *bolt.Tx) error {
		n = 0
		b := tx.Bucket(bucketInbox).Bucket(id[:])
		if b == nil {
			return nil
		}
		for _, seq := range seqs {
			k := seqKey(seq)
			if b.Get(k) == nil {
				continue
			}
			if err := b.Delete(k); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("delete %d messages of %x: %w", len(seqs), id[:8], err)
	}
	s.adjust(id, -n)
	return n, nil
}

// expire deletes every message stored before cutoff, and every record that
// does not parse, and returns how many went.
func (s *store) expire(cutoff time.Time) (int, error) {
	gone := map[[IdentitySize]byte]int{}
	err := s.db.Update(func(tx *bolt.Tx) error {
		clear(gone)
		inbox := tx.Bucket(bucketInbox)
		return inbox.ForEachBucket(func(id []byte) error {
			b := inbox.Bucket(id)
			var old [][]byte
			c := b.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				m, err := parseMessage(k, v, s.maxPayload)
				if err == nil && !m.StoredAt.Before(cutoff) {
					// Sequence order is arrival order: the rest is younger.
					break
				}
				old = append(old, append([]byte(nil), k...))
			}
			for _, k := range old {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			if len(id) == IdentitySize && len(old) > 0 {
				gone[[IdentitySize]byte(id)] = len(old)
			}
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("expire messages stored before %s: %w", cutoff.Format(time.RFC3339), err)
	}
	n := 0
	for id, k := range gone {
		s.adjust(id, -k)
		n += k
	}
	return n, nil
}

// count returns the number of stored messages: of one client, or of all
// clients when id is nil.
func (s *store) count(id *[IdentitySize]byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == nil {
		return s.total, nil
	}
	return s.counts[*id], nil
}
