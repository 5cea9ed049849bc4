package keeper

import (
	"bytes"
	"sync"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// maxCachedKeys bounds the prepared keys kept in memory (about 4 MB each): the
// current key and those within their grace period are a handful.
const maxCachedKeys = 8

// keyCache keeps the prepared form of master keys, built once per key: preparing
// costs about 80 ms and saves the G2 multiplications of every verification. It is
// memory only; an entry is used only if the key's bytes are the ones it was built
// from, so a cache that outlives a state rollback can never verify under a key the
// state does not hold.
type keyCache struct {
	mu   sync.Mutex
	keys map[uint64]cachedKey
}

type cachedKey struct {
	raw      []byte
	prepared *coconut.PreparedVerificationKey
}

func newKeyCache() *keyCache { return &keyCache{keys: make(map[uint64]cachedKey)} }

// prepared returns the prepared master key of ks, building it on first use.
func (c *keyCache) prepared(ks types.KeySet) (*coconut.PreparedVerificationKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.keys[ks.KeyId]; ok && bytes.Equal(e.raw, ks.MasterKey) {
		return e.prepared, nil
	}
	vk, err := types.DecodeVerificationKey(ks.MasterKey, false)
	if err != nil {
		return nil, err
	}
	if len(c.keys) >= maxCachedKeys {
		// Drop the oldest key: the newest are the ones spends are made under.
		oldest := ks.KeyId
		for id := range c.keys {
			oldest = min(oldest, id)
		}
		delete(c.keys, oldest)
	}
	e := cachedKey{raw: bytes.Clone(ks.MasterKey), prepared: vk.Prepare()}
	c.keys[ks.KeyId] = e
	return e.prepared, nil
}
