package node

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/home"
	"github.com/nyx-privacy/nyx/sphinx"
)

// ReplayDir holds the replay filters of the node's sphinx keys, one file per
// key named by its public key in hex:
//
//   - <key>.bloom is the key's filter (sphinx.ReplayFilter's encoding),
//     saved every keys.replay_save_interval, when the key is retired and at
//     shutdown;
//   - <key>.fresh (empty) marks a key that was made and never used: it gets
//     an empty filter when the node takes it up, which writes <key>.bloom
//     before accepting a packet for it, then removes the mark.
//
// A key with neither file, or whose .bloom does not decode, was in use and
// its record of packets is lost: the node holds it but drops its packets,
// since it could not tell a replay from a new packet.
const ReplayDir = DataDir + "/replay"

// ErrReplayFilterLost: a key's replay filter cannot be restored.
var ErrReplayFilterLost = errors.New("node: replay filter lost")

func replayPath(nodeHome string, pub *sphinx.PublicKey, ext string) string {
	return filepath.Join(nodeHome, ReplayDir, hex.EncodeToString(pub.Bytes())+ext)
}

// markFreshKey records that pub is a new key, never used, so that the node
// may start it with an empty replay filter. Called where keys are made,
// before the key can be taken up.
func markFreshKey(nodeHome string, pub *sphinx.PublicKey) error {
	dir := filepath.Join(nodeHome, ReplayDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := home.WriteFileOnce(replayPath(nodeHome, pub, ".fresh"), nil, 0o600); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("mark the new sphinx key: %w", err)
	}
	return nil
}

// loadReplayFilter restores pub's filter from the home nodeHome. fresh reports a key
// marked new (and no filter yet): the caller makes an empty filter and saves
// it before use. Any other absence or damage is ErrReplayFilterLost.
func loadReplayFilter(nodeHome string, pub *sphinx.PublicKey) (f *sphinx.ReplayFilter, fresh bool, err error) {
	p := replayPath(nodeHome, pub, ".bloom")
	fh, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(replayPath(nodeHome, pub, ".fresh")); err == nil {
			return nil, true, nil
		}
		return nil, false, fmt.Errorf("%w: %s is missing and the key is not marked new", ErrReplayFilterLost, p)
	}
	if err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrReplayFilterLost, err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrReplayFilterLost, err)
	}
	f, err = sphinx.ReadReplayFilter(fh, st.Size())
	if err != nil {
		return nil, false, fmt.Errorf("%w: %s: %v", ErrReplayFilterLost, p, err)
	}
	return f, false, nil
}

// saveReplayFilter writes pub's filter durably: to a temporary file, synced,
// renamed over the old one, and the directory synced, so a crash leaves the
// old file or the new one, never a torn one. It then removes the key's
// fresh mark.
func saveReplayFilter(nodeHome string, pub *sphinx.PublicKey, f *sphinx.ReplayFilter) error {
	p := replayPath(nodeHome, pub, ".bloom")
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save replay filter: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*.bloom")
	if err != nil {
		return fmt.Errorf("save replay filter: %w", err)
	}
	// CreateTemp makes the file 0600.
	_, err = f.WriteTo(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save replay filter %s: %w", p, err)
	}
	if err := os.Remove(replayPath(nodeHome, pub, ".fresh")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the fresh mark of %s: %w", p, err)
	}
	return home.SyncDir(dir)
}

// removeReplayFilter deletes pub's files: the key is gone for good.
func removeReplayFilter(nodeHome string, pub *sphinx.PublicKey) error {
	var errs []error
	for _, ext := range []string{".bloom", ".fresh"} {
		if err := os.Remove(replayPath(nodeHome, pub, ext)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		errs = append(errs, home.SyncDir(filepath.Join(nodeHome, ReplayDir)))
	}
	return errors.Join(errs...)
}

// keyLifetime is how long one sphinx key takes packets, which its replay
// filter is sized for: with rotation every rotationEpochs epochs, one epoch
// as the announced next key, rotationEpochs as the chain's key and one more
// as the previous key; with manual rotation (0) the configured window.
func keyLifetime(epoch time.Duration, rotationEpochs uint32, manual time.Duration) time.Duration {
	if rotationEpochs == 0 || epoch <= 0 {
		return manual
	}
	return time.Duration(rotationEpochs+2) * epoch
}
