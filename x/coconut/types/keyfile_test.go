package types_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// The issuer key file holds one share per key id in increasing order, for
// one consensus address; Replace rewrites it whole with mode 0600; Save never
// overwrites; a file breaking any rule is refused.
func TestIssuerKeysFile(t *testing.T) {
	sks, err := coconut.TTPKeyGen(rand.Reader, types.CredentialParams(), 1, 1)
	require.NoError(t, err)
	addr := bytes.Repeat([]byte{7}, 20)
	share := func(id uint64, addr []byte) *types.IssuerKey {
		k, err := types.NewIssuerKey(id, 1, addr, sks[0])
		require.NoError(t, err)
		return k
	}
	path := filepath.Join(t.TempDir(), types.IssuerKeyFileName)
	require.NoError(t, share(1, addr).Save(path))
	require.Error(t, share(1, addr).Save(path), "Save never overwrites")

	keys, err := types.LoadIssuerKeys(path)
	require.NoError(t, err)
	keys = keys.With(share(3, addr)).With(share(2, addr)).With(share(3, addr))
	require.Len(t, keys.Keys, 3)
	for i, k := range keys.Keys {
		require.Equal(t, uint64(i+1), k.KeyID)
	}
	require.NoError(t, keys.Replace(path))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	again, err := types.LoadIssuerKeys(path)
	require.NoError(t, err)
	require.Len(t, again.Keys, 3)
	require.NotNil(t, again.Get(2).Secret())
	require.Nil(t, again.Get(4))
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*.tmp*"))
	require.Empty(t, matches, "no temporary file left behind")

	many := &types.IssuerKeys{}
	for id := uint64(1); id <= types.MaxIssuerKeys+2; id++ {
		many = many.With(share(id, addr))
	}
	require.Len(t, many.Keys, types.MaxIssuerKeys)
	require.Equal(t, uint64(3), many.Keys[0].KeyID, "the oldest are dropped")

	enc := func(v any) []byte {
		bz, err := json.Marshal(v)
		require.NoError(t, err)
		return bz
	}
	for name, bz := range map[string][]byte{
		"no keys":         enc(&types.IssuerKeys{}),
		"out of order":    enc(&types.IssuerKeys{Keys: []*types.IssuerKey{share(2, addr), share(1, addr)}}),
		"repeated id":     enc(&types.IssuerKeys{Keys: []*types.IssuerKey{share(1, addr), share(1, addr)}}),
		"two addresses":   enc(&types.IssuerKeys{Keys: []*types.IssuerKey{share(1, addr), share(2, bytes.Repeat([]byte{8}, 20))}}),
		"too many":        enc(&types.IssuerKeys{Keys: append(many.Keys, share(20, addr))}),
		"a bare key":      enc(share(1, addr)),
		"trailing data":   append(enc(keys), enc(keys)...),
		"null key":        []byte(`{"keys":[null]}`),
		"larger than 16K": append(enc(keys), bytes.Repeat([]byte(" "), 16<<10)...),
	} {
		_, err := types.ParseIssuerKeys(bz)
		require.Error(t, err, name)
	}
}

// The DKG key file round-trips and refuses a zero key, a short address and
// unknown fields; Save never overwrites.
func TestDKGKeyFile(t *testing.T) {
	addr := bytes.Repeat([]byte{7}, 20)
	k, err := types.GenerateDKGKey(rand.Reader, addr)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), types.DKGKeyFileName)
	require.NoError(t, k.Save(path))
	require.Error(t, k.Save(path))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	got, err := types.LoadDKGKey(path)
	require.NoError(t, err)
	require.Equal(t, addr, got.ConsensusAddress)
	want, _ := k.Key().Public().MarshalBinary()
	have, _ := got.Key().Public().MarshalBinary()
	require.Equal(t, want, have)

	for name, bz := range map[string]string{
		"zero key":      `{"consensus_address":"BwcHBwcHBwcHBwcHBwcHBwcHBwc=","secret_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}`,
		"short address": `{"consensus_address":"Bwc=","secret_key":"AQ=="}`,
		"unknown field": `{"consensus_address":"BwcHBwcHBwcHBwcHBwcHBwcHBwc=","secret_key":"AQ==","x":1}`,
	} {
		_, err := types.ParseDKGKey([]byte(bz))
		require.Error(t, err, name)
	}
}
