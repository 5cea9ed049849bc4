package mixnode

import (
	"encoding/hex"
	"errors"
	"slices"

	"github.com/nyx-privacy/nyx/sphinx"
)

// KeyFilter is a sphinx key and the replay filter of the packets taken
// under it. A nil Filter means the node holds the key but has lost the
// record of the packets it took under it (a filter file missing or
// damaged): it cannot tell a replay from a new packet, so every packet for
// that key is dropped (counted as no_replay_filter) rather than processed.
type KeyFilter struct {
	Key    *sphinx.PrivateKey
	Filter *sphinx.ReplayFilter
}

// SetKeyFilters is SetKeys with the replay filters chosen by the caller
// (one restored from disk, say), the primary key first. Each key's filter
// is used as given, also for a key already in the set.
func (n *Node) SetKeyFilters(keys ...KeyFilter) error {
	n.keysMu.Lock()
	defer n.keysMu.Unlock()
	return n.setKeyFilters(keys)
}

// ReplayFilter returns the filter the node uses for key: nil if key is not
// in the set or is refused.
func (n *Node) ReplayFilter(key *sphinx.PublicKey) *sphinx.ReplayFilter {
	for _, ks := range *n.keys.Load() {
		if ks.key.PublicKey().Equal(key) {
			return ks.filter
		}
	}
	return nil
}

// filterOf returns the filter of a key in the set, nil if none. Held by
// keysMu.
func (n *Node) filterOf(k *sphinx.PrivateKey) *sphinx.ReplayFilter {
	if p := n.keys.Load(); p != nil {
		for _, o := range *p {
			if o.key.Equal(k) {
				return o.filter
			}
		}
	}
	return nil
}

// setKeyFilters installs a key set. Held by keysMu.
func (n *Node) setKeyFilters(keys []KeyFilter) error {
	if len(keys) == 0 {
		return errors.New("mixnode: no sphinx key")
	}
	for i, k := range keys {
		if k.Key == nil {
			return errors.New("mixnode: no sphinx key")
		}
		for _, o := range keys[:i] {
			if o.Key.Equal(k.Key) {
				return errors.New("mixnode: a sphinx key given twice")
			}
		}
	}
	var old keySet
	if p := n.keys.Load(); p != nil {
		old = *p
	}
	set := make(keySet, 0, len(keys))
	for _, k := range keys {
		set = append(set, keyState{key: k.Key, filter: k.Filter})
		public := hex.EncodeToString(k.Key.PublicKey().Bytes()[:6])
		i := slices.IndexFunc(old, func(o keyState) bool { return o.key.Equal(k.Key) })
		switch {
		case k.Filter == nil && (i < 0 || old[i].filter != nil):
			n.log.Error("sphinx key held without a replay filter: its packets are dropped", "public", public)
		case i < 0:
			n.log.Info("sphinx key added", "public", public, "replay_filter_tags", k.Filter.Len(),
				"replay_filter_capacity", k.Filter.Capacity())
		}
	}
	for _, o := range old {
		if !slices.ContainsFunc(keys, func(k KeyFilter) bool { return k.Key.Equal(o.key) }) {
			n.log.Info("sphinx key removed", "public", hex.EncodeToString(o.key.PublicKey().Bytes()[:6]))
		}
	}
	if len(old) > 0 && !old[0].key.Equal(keys[0].Key) {
		// A key rotation rekeys the links too: those dialled before it
		// run a new handshake before their next packet.
		n.linkGen.Add(1)
	}
	n.keys.Store(&set)
	return nil
}
