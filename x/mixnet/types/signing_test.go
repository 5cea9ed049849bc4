package types_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

func testPayload() types.BondPayload {
	return types.BondPayload{
		ChainID: "nyx-1", Owner: "n1owner", IdentityKey: bytes.Repeat([]byte{1}, 32), SphinxKey: bytes.Repeat([]byte{2}, 32),
		Host: "mix.example.net", MixPort: 1789, ClientsPort: 9000, HTTPPort: 8000, Nonce: 3,
	}
}

// The encoding is fixed: nym-node computes the same bytes. A change here is a
// breaking change of the bond signature.
func TestBondSigningBytesVector(t *testing.T) {
	got := hex.EncodeToString(types.BondSigningBytes(testPayload()))
	want := "00000012" + hex.EncodeToString([]byte("nyx/mixnet/bond/v1")) +
		"00000005" + hex.EncodeToString([]byte("nyx-1")) +
		"00000007" + hex.EncodeToString([]byte("n1owner")) +
		"00000020" + hex.EncodeToString(bytes.Repeat([]byte{1}, 32)) +
		"00000020" + hex.EncodeToString(bytes.Repeat([]byte{2}, 32)) +
		"0000000f" + hex.EncodeToString([]byte("mix.example.net")) +
		"000006fd" + "00002328" + "00001f40" + "0000000000000003"
	require.Equal(t, want, got)
}

func TestBondSigningBytesDistinguishFields(t *testing.T) {
	base := types.BondSigningBytes(testPayload())
	mutations := []func(*types.BondPayload){
		func(p *types.BondPayload) { p.ChainID = "nyx-2" },
		func(p *types.BondPayload) { p.Owner = "n1other" },
		func(p *types.BondPayload) { p.IdentityKey = bytes.Repeat([]byte{3}, 32) },
		func(p *types.BondPayload) { p.SphinxKey = bytes.Repeat([]byte{3}, 32) },
		func(p *types.BondPayload) { p.Host = "mix.example.org" },
		func(p *types.BondPayload) { p.MixPort++ },
		func(p *types.BondPayload) { p.ClientsPort++ },
		func(p *types.BondPayload) { p.HTTPPort++ },
		func(p *types.BondPayload) { p.Nonce++ },
		// Moving bytes between adjacent fields must change the encoding too.
		func(p *types.BondPayload) { p.ChainID, p.Owner = "nyx-1n", "1owner" },
	}
	for i, m := range mutations {
		p := testPayload()
		m(&p)
		require.NotEqual(t, base, types.BondSigningBytes(p), "mutation %d", i)
	}
}

func TestVerifyBondSignature(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	p := testPayload()
	p.IdentityKey = pub
	sig := types.SignBond(priv, p)
	require.NoError(t, types.VerifyBondSignature(p, sig))
	p.Nonce++
	require.ErrorIs(t, types.VerifyBondSignature(p, sig), types.ErrInvalidSignature)
	p.Nonce--
	require.ErrorIs(t, types.VerifyBondSignature(p, sig[:10]), types.ErrInvalidSignature)
	p.IdentityKey = pub[:31]
	require.ErrorIs(t, types.VerifyBondSignature(p, sig), types.ErrInvalidKey)
}

func TestWeakIdentityKeysRefused(t *testing.T) {
	zero := make([]byte, 32)
	identity := append([]byte{1}, make([]byte, 31)...)
	// Go's ed25519 accepts an all-zero signature under the all-zero key for
	// about one message in four (both are small-order points): the chain must
	// refuse the key itself.
	p := testPayload()
	p.IdentityKey = zero
	for !ed25519.Verify(zero, types.BondSigningBytes(p), make([]byte, 64)) {
		p.Nonce++
	}
	require.ErrorIs(t, types.VerifyBondSignature(p, make([]byte, 64)), types.ErrInvalidKey)
	for _, k := range [][]byte{zero, identity, bytes.Repeat([]byte{0xff}, 32)} {
		require.ErrorIs(t, types.ValidateIdentityKey(k), types.ErrInvalidKey, "%x", k)
	}
	pub, _, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	require.NoError(t, types.ValidateIdentityKey(pub))
}

func FuzzMsgBondNode(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	m := types.MsgBondNode{Owner: "n1owner", IdentityKey: pub, SphinxKey: bytes.Repeat([]byte{2}, 32), Host: "mix.example.net",
		MixPort: 1789, ClientsPort: 9000, HttpPort: 8000, Pledge: types.DefaultParams().MinimumPledge}
	m.Signature = types.SignBond(priv, m.BondPayload("nyx-1", 0))
	seed, err := m.Marshal()
	require.NoError(f, err)
	f.Add(seed)
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		var msg types.MsgBondNode
		if err := msg.Unmarshal(data); err != nil {
			return
		}
		if err := msg.ValidateBasic(); err != nil {
			return
		}
		_ = types.VerifyBondSignature(msg.BondPayload("nyx-1", 0), msg.Signature)
		_ = types.BondSigningBytes(msg.BondPayload("nyx-1", 0))
	})
}

func FuzzGenesisValidate(f *testing.F) {
	gs := types.DefaultGenesisState()
	seed, err := gs.Marshal()
	require.NoError(f, err)
	f.Add(seed)
	f.Add([]byte{0x3a, 0x02, 0x08, 0x01})
	withServices, err := validServicesGenesis().Marshal()
	require.NoError(f, err)
	f.Add(withServices)
	f.Fuzz(func(t *testing.T, data []byte) {
		var gs types.GenesisState
		if err := gs.Unmarshal(data); err != nil {
			return
		}
		_ = gs.Validate()
	})
}
