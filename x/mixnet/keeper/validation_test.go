package keeper_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

// A bond whose host and ports are another node's, spelled differently, is refused.
func TestBondHostSpellingsCollide(t *testing.T) {
	cases := []struct{ first, second string }{
		{"Mix.Example.NET.", "mix.example.net"},
		{"mix.example.net", "MIX.EXAMPLE.NET."},
		{"10.0.0.1", "::ffff:10.0.0.1"},
		{"::ffff:a00:1", "10.0.0.1"},
		{"2001:db8::1", "2001:0DB8:0000:0000:0000:0000:0000:0001"},
		{"2001:db8:0:0:0:0:0:1", "2001:db8::0:1"},
	}
	for _, tc := range cases {
		t.Run(tc.first+" then "+tc.second, func(t *testing.T) {
			f := newFixture(t, 0)
			o1 := f.account("owner-1", 5_000)
			m := f.bondMsg(1, o1, 5_000)
			m.Host = tc.first
			m.Signature = types.SignBond(nodeKey(1), m.BondPayload(testChainID, 0))
			resp, err := f.msg.BondNode(f.ctx, m)
			require.NoError(t, err)
			node, err := f.k.Nodes.Get(f.ctx, resp.NodeId)
			require.NoError(t, err)
			canonical, err := types.CanonicalHost(tc.first)
			require.NoError(t, err)
			require.Equal(t, canonical, node.Host, "the canonical spelling is stored")

			o2 := f.account("owner-2", 5_000)
			m = f.bondMsg(2, o2, 5_000)
			m.Host = tc.second
			m.Signature = types.SignBond(nodeKey(2), m.BondPayload(testChainID, 0))
			before := f.storeDump()
			_, err = f.msg.BondNode(f.ctx, m)
			require.ErrorIs(t, err, types.ErrDuplicateHostPort)
			require.Equal(t, before, f.storeDump())

			// Nor can a bonded node move onto it by update.
			f.bond(3, 5_000)
			before = f.storeDump()
			_, err = f.msg.UpdateNodeConfig(f.ctx, &types.MsgUpdateNodeConfig{Owner: f.addr(f.account("owner-3", 0)), Host: tc.second})
			require.ErrorIs(t, err, types.ErrDuplicateHostPort)
			require.Equal(t, before, f.storeDump())
		})
	}
}

// Sphinx keys the sidecars cannot use are refused by bond, update and announce.
func TestWeakSphinxKeysRefused(t *testing.T) {
	f := newFixture(t, 0)
	n := f.bond(1, 5_000)
	owner := f.account("owner-2", 5_000)
	sender := f.addr(f.account("relayer", 0))
	bad := map[string]string{
		"order 8":            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"order 4":            "0100000000000000000000000000000000000000000000000000000000000000",
		"p (u >= p)":         "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"base point + p":     "f6ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"top bit set":        "0900000000000000000000000000000000000000000000000000000000000080",
		"on the twist (u=2)": "0200000000000000000000000000000000000000000000000000000000000000",
	}
	for name, h := range bad {
		t.Run(name, func(t *testing.T) {
			k, err := hex.DecodeString(h)
			require.NoError(t, err)
			before := f.storeDump()

			m := f.bondMsg(2, owner, 5_000)
			m.SphinxKey = k
			m.Signature = types.SignBond(nodeKey(2), m.BondPayload(testChainID, 0))
			_, err = f.msg.BondNode(f.ctx, m)
			require.ErrorIs(t, err, types.ErrInvalidKey)

			_, err = f.msg.UpdateNodeConfig(f.ctx, &types.MsgUpdateNodeConfig{Owner: f.addr(n.owner), NextSphinxKey: k})
			require.ErrorIs(t, err, types.ErrInvalidKey)

			_, err = f.msg.AnnounceSphinxKey(f.ctx, f.announceMsg(n, sender, k, f.epochID()))
			require.ErrorIs(t, err, types.ErrInvalidKey)

			require.Equal(t, before, f.storeDump())
		})
	}
	// A good key still passes all three.
	_, err := f.msg.UpdateNodeConfig(f.ctx, &types.MsgUpdateNodeConfig{Owner: f.addr(n.owner), NextSphinxKey: sphinxKey(1, 1)})
	require.NoError(t, err)
	_, err = f.msg.AnnounceSphinxKey(f.ctx, f.announceMsg(n, sender, sphinxKey(1, 2), f.epochID()))
	require.NoError(t, err)
	m := f.bondMsg(2, owner, 5_000)
	require.Equal(t, ed25519.PublicKey(m.IdentityKey), nodeKey(2).Public())
	_, err = f.msg.BondNode(f.ctx, m)
	require.NoError(t, err)
}
