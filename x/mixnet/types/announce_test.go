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

func FuzzMsgAnnounceSphinxKey(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	m := types.MsgAnnounceSphinxKey{Sender: "n1sender", NodeId: 3, EpochId: 9,
		NextSphinxKey: mustHex("0900000000000000000000000000000000000000000000000000000000000000")}
	m.Signature = types.SignAnnounceSphinxKey(priv, m.AnnouncePayload("nyx-1"))
	seed, err := m.Marshal()
	require.NoError(f, err)
	f.Add(seed)
	f.Add([]byte{})
	f.Add([]byte{0x1a, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		var msg types.MsgAnnounceSphinxKey
		if err := msg.Unmarshal(data); err != nil {
			return
		}
		if err := msg.ValidateBasic(); err != nil {
			return
		}
		if types.VerifyAnnounceSphinxKey(pub, msg.AnnouncePayload("nyx-1"), msg.Signature) == nil &&
			!bytes.Equal(msg.Signature, m.Signature) {
			t.Fatalf("a signature the key never made verifies")
		}
	})
}
