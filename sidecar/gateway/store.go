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

	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
)

// The store is one bbolt file. bbolt commits with fsync (fdatasync) of the
// data pages and then of the meta page, so a transaction that returned nil
// survives a crash of the process or the machine, and one that did not
// return leaves no trace. Every write of messages and registrations goes
// through one committer goroutine (commit.go) that puts all the writes
// waiting at a time into one transaction: one pair of fsyncs for a whole
// batch. Only the sweep (sweep.go) writes on its own, in small
// transactions.
//
// Layout:
//
//	clients/<client identity (32)>          → client record
//	inbox/<client identity (32)>/<seq (8)>  → message record
//	balances/<client identity (32)>         → balance record (balance.go)
//	spent/<spend tag (48)>                  → spent record (balance.go)
//
// seq is the client's inbox bucket's own sequence (big-endian, so a cursor
// walks messages in arrival order).

var (
	bucketClients = []byte("clients")
	bucketInbox   = []byte("inbox")
)

// Record versions: the first byte of every stored value. Version 1 client
// records (without the time of the last authentication) are still read.
const (
	clientRecordV1  = 1
	clientRecordV2  = 2
	messageRecordV1 = 1
)

const (
	clientRecordV1Size = 1 + gatewayproto.SharedKeySize + 8
	clientRecordSize   = 1 + gatewayproto.SharedKeySize + 8 + 8
	messageHeaderSize  = 1 + 8
	// messageOverhead is what a stored message costs beyond its payload in
	// the byte quotas (33 bytes): its record header, its key and bbolt's
	// element header, so even empty payloads fill a quota.
	messageOverhead = messageHeaderSize + 8 + 16
)

// ErrCorruptRecord is wrapped by errors about a stored value that does not
// parse.
var ErrCorruptRecord = errors.New("gateway: corrupt stored record")

// ErrInboxFull: the client's messages would exceed MaxStoredBytesPerClient.
var ErrInboxFull = errors.New("gateway: inbox full")

// ErrStoreFull: all clients' messages would exceed MaxStoredBytes.
var ErrStoreFull = errors.New("gateway: store full")

// ErrTooManyClients: a registration of a new identity beyond MaxClients.
var ErrTooManyClients = errors.New("gateway: too many registered clients")

// ErrUnknownClient: no client with this identity has registered here.
var ErrUnknownClient = errors.New("gateway: unknown client")

// errStoreClosed: a write after the store began to close.
var errStoreClosed = errors.New("gateway: store closed")

type clientRecord struct {
	Key          gatewayproto.SharedKey
	RegisteredAt time.Time
	// LastSeen is the time of the last registration or authentication
	// (to the hour: it is rewritten only when it is older than that). An
	// identity not seen for Config.MaxClientIdle is forgotten.
	LastSeen time.Time
}

func (r clientRecord) marshal() []byte {
	b := make([]byte, clientRecordSize)
	b[0] = clientRecordV2
	copy(b[1:], r.Key[:])
	binary.BigEndian.PutUint64(b[1+gatewayproto.SharedKeySize:], uint64(r.RegisteredAt.Unix()))
	binary.BigEndian.PutUint64(b[1+gatewayproto.SharedKeySize+8:], uint64(r.LastSeen.Unix()))
	return b
}

func parseClientRecord(b []byte) (clientRecord, error) {
	var r clientRecord
	switch {
	case len(b) == clientRecordV1Size && b[0] == clientRecordV1:
	case len(b) == clientRecordSize && b[0] == clientRecordV2:
	case len(b) == 0:
		return r, fmt.Errorf("%w: empty client record", ErrCorruptRecord)
	default:
		return r, fmt.Errorf("%w: client record of %d bytes, version %d", ErrCorruptRecord, len(b), b[0])
	}
	copy(r.Key[:], b[1:])
	secs := binary.BigEndian.Uint64(b[1+gatewayproto.SharedKeySize:])
	seen := secs
	if b[0] == clientRecordV2 {
		seen = binary.BigEndian.Uint64(b[1+gatewayproto.SharedKeySize+8:])
	}
	if secs > 1<<40 || seen > 1<<40 {
		return r, fmt.Errorf("%w: client record time out of range", ErrCorruptRecord)
	}
	r.RegisteredAt = time.Unix(int64(secs), 0)
	r.LastSeen = time.Unix(int64(seen), 0)
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

// messageCost is what a message of n payload bytes counts against the
// byte quotas.
func messageCost(n int) int64 { return int64(n) + messageOverhead }

// storedCost is messageCost of a stored record of len(v) bytes.
func storedCost(v []byte) int64 { return int64(len(v)) - messageHeaderSize + messageOverhead }

type usage struct {
	messages int   // on disk
	bytes    int64 // accepted and not yet acknowledged: on disk, in memory, or being written
}

type store struct {
	db         *bolt.DB
	maxPayload int
	// Byte quotas, checked by reserve.
	maxClientBytes, maxBytes int64
	maxClients               int
	c                        *committer

	// use holds, per client, the stored messages and the bytes the quotas
	// count, so a quota check costs no bucket walk. The process owns the
	// file (bbolt locks it), so the numbers cannot drift from the disk.
	mu       sync.Mutex
	use      map[[gatewayproto.IdentitySize]byte]usage
	messages int
	bytes    int64
	clients  int // registrations, including those being committed
}

func openStore(dir string, maxClientBytes, maxBytes int64, maxClients, maxPayload int) (*store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create store directory: %w", err)
	}
	path := filepath.Join(dir, "inbox.db")
	// The freelist is rebuilt at open instead of written at every commit:
	// less to write (and fsync) per batch.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("open inbox store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketClients, bucketInbox, bucketBalances, bucketSpent} {
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
	s := &store{db: db, maxClientBytes: maxClientBytes, maxBytes: maxBytes, maxClients: maxClients, maxPayload: maxPayload,
		use: map[[gatewayproto.IdentitySize]byte]usage{}}
	err = db.View(func(tx *bolt.Tx) error {
		s.clients = tx.Bucket(bucketClients).Stats().KeyN
		inbox := tx.Bucket(bucketInbox)
		return inbox.ForEachBucket(func(k []byte) error {
			if len(k) != gatewayproto.IdentitySize {
				return nil
			}
			var u usage
			c := inbox.Bucket(k).Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				u.messages++
				u.bytes += storedCost(v)
			}
			if u.messages > 0 {
				s.use[[gatewayproto.IdentitySize]byte(k)] = u
				s.messages += u.messages
				s.bytes += u.bytes
			}
			return nil
		})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("count stored messages in %s: %w", path, err)
	}
	s.c = newCommitter(s)
	return s, nil
}

// close finishes the writes already submitted, then closes the file.
func (s *store) close() error {
	s.c.close()
	return s.db.Close()
}

// reserve counts cost bytes against the client's and the store's quotas
// before a message is accepted, or refuses it. The bytes stay counted
// until the message is acknowledged, expires, or fails to be stored: a
// message accepted is never refused later for want of room.
func (s *store) reserve(id [gatewayproto.IdentitySize]byte, cost int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.use[id]
	if u.bytes+cost > s.maxClientBytes {
		return fmt.Errorf("%w: client %x holds %d bytes, quota %d", ErrInboxFull, id[:8], u.bytes, s.maxClientBytes)
	}
	if s.bytes+cost > s.maxBytes {
		return fmt.Errorf("%w: %d bytes held, quota %d", ErrStoreFull, s.bytes, s.maxBytes)
	}
	u.bytes += cost
	s.use[id] = u
	s.bytes += cost
	return nil
}

// account applies a change of stored messages and counted bytes.
func (s *store) account(id [gatewayproto.IdentitySize]byte, messages int, bytes int64) {
	if messages == 0 && bytes == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.use[id]
	u.messages += messages
	u.bytes += bytes
	if u.messages <= 0 && u.bytes <= 0 {
		delete(s.use, id)
	} else {
		s.use[id] = u
	}
	s.messages += messages
	s.bytes += bytes
}

// release gives back bytes reserved for a message that was refused later
// or acknowledged from memory.
func (s *store) release(id [gatewayproto.IdentitySize]byte, cost int64) { s.account(id, 0, -cost) }

func (s *store) client(id [gatewayproto.IdentitySize]byte) (clientRecord, error) {
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

// after returns messages with sequence numbers above seq, oldest first: at
// most max of them and maxBytes of payload. more says whether it stopped at
// a bound with messages left. A corrupt record is skipped and reported in
// bad (it stays until it expires).
func (s *store) after(id [gatewayproto.IdentitySize]byte, seq uint64, max int, maxBytes int64) (msgs []storedMessage, bad int, more bool, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketInbox).Bucket(id[:])
		if b == nil {
			return nil
		}
		var size int64
		c := b.Cursor()
		for k, v := c.Seek(seqKey(seq + 1)); k != nil; k, v = c.Next() {
			if len(msgs) == max || size+int64(len(v)-messageHeaderSize) > maxBytes {
				more = true
				return nil
			}
			m, err := parseMessage(k, v, s.maxPayload)
			if err != nil {
				bad++
				continue
			}
			size += int64(len(m.Payload))
			msgs = append(msgs, m)
		}
		return nil
	})
	if err != nil {
		return nil, bad, false, fmt.Errorf("read inbox of %x: %w", id[:8], err)
	}
	return msgs, bad, more, nil
}

// registered returns the number of registered clients.
func (s *store) registered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clients
}

// count returns the number of stored messages: of one client, or of all
// clients when id is nil.
func (s *store) count(id *[gatewayproto.IdentitySize]byte) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == nil {
		return s.messages
	}
	return s.use[*id].messages
}

// heldBytes returns the bytes counted against the quotas: of one client,
// or of all clients when id is nil.
func (s *store) heldBytes(id *[gatewayproto.IdentitySize]byte) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == nil {
		return s.bytes
	}
	return s.use[*id].bytes
}
