package types_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

func testAnnouncePayload() types.AnnounceSphinxKeyPayload {
	return types.AnnounceSphinxKeyPayload{ChainID: "nyx-1", NodeID: 7, NextSphinxKey: bytes.Repeat([]byte{2}, 32), EpochID: 41}
}

// The encoding is fixed: nym-node computes the same bytes. A change here is a
// breaking change of the announcement signature.
func TestAnnounceSphinxKeySigningBytesVector(t *testing.T) {
	got := hex.EncodeToString(types.AnnounceSphinxKeySigningBytes(testAnnouncePayload()))
	want := "00000021" + hex.EncodeToString([]byte("nyx/mixnet/announce-sphinx-key/v1")) +
		"00000005" + hex.EncodeToString([]byte("nyx-1")) +
		"0000000000000007" +
		"00000020" + hex.EncodeToString(bytes.Repeat([]byte{2}, 32)) +
		"0000000000000029"
	require.Equal(t, want, got)
}

func TestAnnounceSphinxKeySigningBytesDistinguishFields(t *testing.T) {
	base := types.AnnounceSphinxKeySigningBytes(testAnnouncePayload())
	mutations := []func(*types.AnnounceSphinxKeyPayload){
		func(p *types.AnnounceSphinxKeyPayload) { p.ChainID = "nyx-2" },
		func(p *types.AnnounceSphinxKeyPayload) { p.NodeID++ },
		func(p *types.AnnounceSphinxKeyPayload) { p.NextSphinxKey = bytes.Repeat([]byte{3}, 32) },
		func(p *types.AnnounceSphinxKeyPayload) { p.EpochID++ },
	}
	for i, m := range mutations {
		p := testAnnouncePayload()
		m(&p)
		require.NotEqual(t, base, types.AnnounceSphinxKeySigningBytes(p), "mutation %d", i)
	}
	// A bond payload never encodes to an announcement: the domains differ.
	require.False(t, bytes.HasPrefix(types.BondSigningBytes(testPayload()), base[:4+len(types.AnnounceSphinxKeySigningDomain)]))
}

func TestVerifyAnnounceSphinxKey(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	p := testAnnouncePayload()
	sig := types.SignAnnounceSphinxKey(priv, p)
	require.NoError(t, types.VerifyAnnounceSphinxKey(pub, p, sig))
	p.EpochID++
	require.ErrorIs(t, types.VerifyAnnounceSphinxKey(pub, p, sig), types.ErrInvalidSignature)
	p.EpochID--
	require.ErrorIs(t, types.VerifyAnnounceSphinxKey(pub, p, sig[:63]), types.ErrInvalidSignature)
	require.ErrorIs(t, types.VerifyAnnounceSphinxKey(pub[:31], p, sig), types.ErrInvalidKey)
	require.ErrorIs(t, types.VerifyAnnounceSphinxKey(make([]byte, 32), p, make([]byte, 64)), types.ErrInvalidKey)
}
