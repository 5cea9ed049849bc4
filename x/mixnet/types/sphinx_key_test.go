package types_test

import (
	"crypto/ecdh"
	"encoding/hex"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nyx-privacy/nyx/sphinx"
	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// badSphinxKeys are keys every check must refuse, with the reason.
var badSphinxKeys = map[string][]byte{
	"empty":                   {},
	"short":                   make([]byte, 31),
	"long":                    make([]byte, 33),
	"zero (order 2)":          make([]byte, 32),
	"one (order 4)":           mustHex("0100000000000000000000000000000000000000000000000000000000000000"),
	"order 8 (a)":             mustHex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
	"order 8 (b)":             mustHex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
	"p-1":                     mustHex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
	"p (non-canonical zero)":  mustHex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
	"p+1 (non-canonical one)": mustHex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
	// 9 is the base point; p+9 encodes it again, out of range.
	"p+9 (non-canonical base point)": mustHex("f6ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
	"2^255-1":                        mustHex("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
	"base point with the top bit":    mustHex("0900000000000000000000000000000000000000000000000000000000000080"),
	// u = 2 is not on Curve25519: 8 + 4A + 2 is not a square mod p.
	"on the twist (u=2)": mustHex("0200000000000000000000000000000000000000000000000000000000000000"),
}

func TestValidateSphinxKeyRefuses(t *testing.T) {
	for name, k := range badSphinxKeys {
		t.Run(name, func(t *testing.T) {
			require.ErrorIs(t, types.ValidateSphinxKey(k), types.ErrInvalidKey)
			_, err := sphinx.NewPublicKey(k)
			require.ErrorIs(t, err, sphinx.ErrInvalidKey, "the sidecars refuse it too")
		})
	}
}

func TestValidateSphinxKeyAccepts(t *testing.T) {
	base := mustHex("0900000000000000000000000000000000000000000000000000000000000000")
	require.NoError(t, types.ValidateSphinxKey(base))
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		var seed [32]byte
		for i := range seed {
			seed[i] = byte(r.Uint32())
		}
		priv, err := ecdh.X25519().NewPrivateKey(seed[:])
		require.NoError(t, err)
		pub := priv.PublicKey().Bytes()
		require.NoError(t, types.ValidateSphinxKey(pub), "%x", pub)
		sk, err := sphinx.NewPrivateKey(seed[:])
		require.NoError(t, err)
		require.NoError(t, types.ValidateSphinxKey(sk.PublicKey().Bytes()))
	}
}

// The chain's check and the sidecars' agree on every 32-byte string: random ones
// (about half are on the twist), the named vectors and each with its top bit set.
func TestValidateSphinxKeyMatchesSphinx(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var vectors [][]byte
	for _, k := range badSphinxKeys {
		vectors = append(vectors, k)
	}
	accepted, refused := 0, 0
	for range 5_000 {
		k := make([]byte, 32)
		for i := range k {
			k[i] = byte(r.Uint32())
		}
		k[31] &= 0x7f
		vectors = append(vectors, k)
	}
	for _, k := range vectors {
		chainErr := types.ValidateSphinxKey(k)
		_, sidecarErr := sphinx.NewPublicKey(k)
		require.Equal(t, sidecarErr == nil, chainErr == nil, "%x: chain %v, sphinx %v", k, chainErr, sidecarErr)
		if chainErr == nil {
			accepted++
		} else {
			refused++
		}
	}
	// Both outcomes are exercised: random u-coordinates fall on the curve about half the time.
	require.Greater(t, accepted, 2_000)
	require.Greater(t, refused, 2_000)
}

func FuzzValidateSphinxKey(f *testing.F) {
	for _, k := range badSphinxKeys {
		f.Add(k)
	}
	f.Add(mustHex("0900000000000000000000000000000000000000000000000000000000000000"))
	f.Fuzz(func(t *testing.T, k []byte) {
		chainErr := types.ValidateSphinxKey(k)
		_, sidecarErr := sphinx.NewPublicKey(k)
		if (chainErr == nil) != (sidecarErr == nil) {
			t.Fatalf("%x: chain %v, sphinx %v", k, chainErr, sidecarErr)
		}
	})
}
