package gateway

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
)

// Bandwidth balances and the spend tags of the credentials redeemed here
// live in the inbox store, beside the registrations, but are written in
// their own small transactions (a redemption, a flush of the balances that
// changed), never through the message committer: they are rare next to
// messages.
//
// A balance is kept in memory while its client has a session (metering is
// an atomic add per packet) and written back every BalanceFlushInterval,
// when the session ends and when the gateway closes. A crash loses at most
// one interval of metering, in the clients' favour; a redemption is written
// at once, in the same transaction as its spend tag, so a credential is
// never granted twice.
//
// Neither bucket is swept: a balance was paid for, and a spend tag must be
// remembered for as long as its credential could be shown again. Both grow
// by one small record per credential redeemed.

var (
	bucketBalances = []byte("balances")
	bucketSpent    = []byte("spent")
)

const (
	balanceRecordV1   = 1
	spentRecordV1     = 1
	balanceRecordSize = 1 + 8
	spentRecordSize   = 1 + 8
	// SpendTagSize is the size of a credential's spend tag (a G1 point).
	SpendTagSize = 48
)

// ErrAlreadyRedeemed: the spend tag is already in this gateway's store.
var ErrAlreadyRedeemed = errors.New("gateway: credential already redeemed here")

func marshalBalance(b int64) []byte {
	out := make([]byte, balanceRecordSize)
	out[0] = balanceRecordV1
	binary.BigEndian.PutUint64(out[1:], uint64(b))
	return out
}

func parseBalance(b []byte) (int64, error) {
	if len(b) != balanceRecordSize || b[0] != balanceRecordV1 {
		return 0, fmt.Errorf("%w: balance record of %d bytes", ErrCorruptRecord, len(b))
	}
	return int64(binary.BigEndian.Uint64(b[1:])), nil
}

func marshalSpent(at time.Time) []byte {
	out := make([]byte, spentRecordSize)
	out[0] = spentRecordV1
	binary.BigEndian.PutUint64(out[1:], uint64(at.Unix()))
	return out
}

func parseSpent(b []byte) (time.Time, error) {
	if len(b) != spentRecordSize || b[0] != spentRecordV1 {
		return time.Time{}, fmt.Errorf("%w: spent record of %d bytes", ErrCorruptRecord, len(b))
	}
	secs := binary.BigEndian.Uint64(b[1:])
	if secs > 1<<40 {
		return time.Time{}, fmt.Errorf("%w: spent record time out of range", ErrCorruptRecord)
	}
	return time.Unix(int64(secs), 0), nil
}

// balance reads a client's stored balance (0 if it has none).
func (s *store) balance(id [gatewayproto.IdentitySize]byte) (int64, error) {
	var bal int64
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketBalances).Get(id[:])
		if v == nil {
			return nil
		}
		var err error
		bal, err = parseBalance(v)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("read balance of %x: %w", id[:8], err)
	}
	return bal, nil
}

// saveBalances writes balances in one transaction.
func (s *store) saveBalances(bals map[[gatewayproto.IdentitySize]byte]int64) error {
	if len(bals) == 0 {
		return nil
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketBalances)
		for id, v := range bals {
			if err := b.Put(id[:], marshalBalance(v)); err != nil {
				return fmt.Errorf("write balance of %x: %w", id[:8], err)
			}
		}
		return nil
	})
}

// redeemed reports whether tag was redeemed here.
func (s *store) redeemed(tag [SpendTagSize]byte) (bool, error) {
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		ok = tx.Bucket(bucketSpent).Get(tag[:]) != nil
		return nil
	})
	return ok, err
}

// redeem records tag as spent and sets the client's balance to bal, in one
// durable transaction; it refuses (ErrAlreadyRedeemed) a tag already there
// and then writes nothing.
func (s *store) redeem(id [gatewayproto.IdentitySize]byte, tag [SpendTagSize]byte, bal int64, now time.Time) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		spent := tx.Bucket(bucketSpent)
		if spent.Get(tag[:]) != nil {
			return ErrAlreadyRedeemed
		}
		if err := spent.Put(tag[:], marshalSpent(now)); err != nil {
			return err
		}
		return tx.Bucket(bucketBalances).Put(id[:], marshalBalance(bal))
	})
}
