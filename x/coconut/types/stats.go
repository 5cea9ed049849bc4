package types

import (
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/math"
)

// Store prefixes of the credential counts.
var (
	StatsKey      = collections.NewPrefix(10)
	StatsTotalKey = collections.NewPrefix(11)
)

// NewCredentialStats returns zero counts for a key (0: the totals).
func NewCredentialStats(keyID uint64) CredentialStats {
	return CredentialStats{KeyId: keyID, Deposited: math.ZeroInt(), Paid: math.ZeroInt()}
}

// Add adds o's counts to s (s keeps its key id).
func (s *CredentialStats) Add(o CredentialStats) {
	s.Requested += o.Requested
	s.Issued += o.Issued
	s.Spent += o.Spent
	s.Deposited = s.Deposited.Add(o.Deposited)
	s.Paid = s.Paid.Add(o.Paid)
}

// validateStats checks genesis counts: one entry per known key, amounts set
// and not negative. The counts are not checked against each other or against
// the requests and spends in genesis: those are pruned, the counts are not.
func validateStats(stats []CredentialStats, keys map[uint64]*KeySet) error {
	seen := make(map[uint64]bool, len(stats))
	for _, s := range stats {
		if keys[s.KeyId] == nil {
			return genesisErr("stats for unknown key %d", s.KeyId)
		}
		if seen[s.KeyId] {
			return genesisErr("stats for key %d appear twice", s.KeyId)
		}
		seen[s.KeyId] = true
		for _, a := range []struct {
			name string
			v    math.Int
		}{{"deposited", s.Deposited}, {"paid", s.Paid}} {
			if a.v.IsNil() || a.v.IsNegative() {
				return genesisErr("stats for key %d: %s %s", s.KeyId, a.name, fmt.Sprint(a.v))
			}
		}
	}
	return nil
}
