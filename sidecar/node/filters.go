package node

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/mixnode"
	"github.com/nyx-privacy/nyx/sphinx"
)

// keyFilter is the replay filter of one sphinx key the node holds; f nil
// means the filter could not be restored and the key's packets are
// dropped.
type keyFilter struct {
	pub      *sphinx.PublicKey
	f        *sphinx.ReplayFilter
	savedLen uint64 // tags in the filter at its last save; saveMu
	dropped  bool   // the key is gone and its file deleted; saveMu
}

// filterFor returns the replay filter of k, taking the key up if the node
// did not hold it yet: restored from its file, or made empty (and saved at
// once) for a key marked new. A key whose filter is lost gets nil, for as
// long as the node holds it. Held by keyMu.
func (s *Server) filterFor(k *sphinx.PrivateKey) *sphinx.ReplayFilter {
	pub := k.PublicKey()
	name := hex.EncodeToString(pub.Bytes())
	if e, ok := s.filters[name]; ok {
		return e.f
	}
	if s.filters == nil {
		s.filters = map[string]*keyFilter{}
	}
	e := &keyFilter{pub: pub}
	s.filters[name] = e
	if s.home == "" {
		e.f = s.newReplayFilter(name)
		return e.f
	}
	f, fresh, err := loadReplayFilter(s.home, pub)
	switch {
	case err != nil:
		s.log.Error("the replay filter of a sphinx key cannot be restored: its packets are dropped (a replay could not be told "+
			"from a new packet) until the key is rotated away", "sphinx_key", name, "err", err)
		return nil
	case fresh:
		if f = s.newReplayFilter(name); f == nil {
			return nil
		}
		s.saveMu.Lock()
		err = saveReplayFilter(s.home, pub, f)
		s.saveMu.Unlock()
		if err != nil {
			// Without the file a crash would leave the key marked new, and
			// its packets could then be replayed.
			s.log.Error("could not write the new replay filter of a sphinx key: its packets are dropped", "sphinx_key", name, "err", err)
			return nil
		}
		s.log.Info("new sphinx key taken up with an empty replay filter", "sphinx_key", name,
			"capacity", f.Capacity(), "bytes", f.EncodedSize())
	default:
		s.log.Info("replay filter of a sphinx key restored", "sphinx_key", name, "tags", f.Len(), "capacity", f.Capacity())
	}
	e.f, e.savedLen = f, f.Len()
	return f
}

// newReplayFilter sizes a filter for one key's lifetime at the configured
// rate. Held by keyMu.
func (s *Server) newReplayFilter(name string) *sphinx.ReplayFilter {
	m := s.cfg.MixnodeConfig().WithDefaults()
	life := keyLifetime(time.Duration(s.chainEpoch.Load()), s.rotationEpochs.Load(), time.Duration(m.ReplayWindow))
	f, err := sphinx.NewReplayFilter(m.ReplayRate, life, m.ReplayFalsePositive)
	if err != nil {
		s.log.Error("cannot size a replay filter: the key's packets are dropped", "sphinx_key", name, "lifetime", life, "err", err)
		return nil
	}
	return f
}

// keyFilters gives the mix engine the keys with their filters, and deletes
// the files of keys the node no longer holds. Held by keyMu.
func (s *Server) keyFilters(keys []*sphinx.PrivateKey) error {
	set := make([]mixnode.KeyFilter, 0, len(keys))
	for _, k := range keys {
		set = append(set, mixnode.KeyFilter{Key: k, Filter: s.filterFor(k)})
	}
	if err := s.mix.SetKeyFilters(set...); err != nil {
		return err
	}
	for name, e := range s.filters {
		held := false
		for _, k := range keys {
			held = held || k.PublicKey().Equal(e.pub)
		}
		if held {
			continue
		}
		delete(s.filters, name)
		if s.home == "" {
			continue
		}
		s.saveMu.Lock()
		e.dropped = true
		err := removeReplayFilter(s.home, e.pub)
		s.saveMu.Unlock()
		if err != nil {
			s.log.Error("could not delete the replay filter of a dropped sphinx key", "sphinx_key", name, "err", err)
		}
	}
	return nil
}

// saveFilterOf saves the filter of pub now (the key was retired). Held by
// keyMu.
func (s *Server) saveFilterOf(pub *sphinx.PublicKey) {
	if e, ok := s.filters[hex.EncodeToString(pub.Bytes())]; ok {
		s.saveFilters([]*keyFilter{e})
	}
}

// saveAllFilters saves every filter that took tags since its last save.
func (s *Server) saveAllFilters() {
	s.keyMu.Lock()
	list := make([]*keyFilter, 0, len(s.filters))
	for _, e := range s.filters {
		list = append(list, e)
	}
	s.keyMu.Unlock()
	s.saveFilters(list)
}

// saveFilters saves the filters of list that changed. Lock order: keyMu
// (if held) before saveMu.
func (s *Server) saveFilters(list []*keyFilter) {
	if s.home == "" {
		return
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	for _, e := range list {
		if e.f == nil {
			continue
		}
		// A key dropped meanwhile has had its file deleted: writing it
		// again would leave a file nobody deletes.
		n := e.f.Len()
		if e.dropped || n == e.savedLen {
			continue
		}
		if err := saveReplayFilter(s.home, e.pub, e.f); err != nil {
			s.log.Error("could not save a replay filter", "sphinx_key", hex.EncodeToString(e.pub.Bytes()), "err", err)
			continue
		}
		e.savedLen = n
	}
}

// saveFiltersEvery saves the filters every interval until ctx ends. A crash
// loses the tags of at most one interval.
func (s *Server) saveFiltersEvery(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.saveAllFilters()
		}
	}
}

// removeStrayFilters deletes the filter files of keys the node no longer
// has (the previous key of a run that stopped before dropping it, whose
// private key left the disk at the switch) and temporary files of an
// interrupted save. Marks of new keys stay: rotate-sphinx-key writes the
// mark before the key.
func removeStrayFilters(home string, held ...*sphinx.PrivateKey) {
	dir := filepath.Join(home, ReplayDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, ent := range entries {
		name := ent.Name()
		stray := strings.HasPrefix(name, ".tmp-")
		if hexKey, ok := strings.CutSuffix(name, ".bloom"); ok && !stray {
			stray = true
			for _, k := range held {
				if k != nil && hex.EncodeToString(k.PublicKey().Bytes()) == hexKey {
					stray = false
				}
			}
		}
		if stray {
			os.Remove(filepath.Join(dir, name))
		}
	}
}
