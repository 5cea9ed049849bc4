package types_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// TestSpendContextUnambiguous: moving bytes from one field to the next changes
// the context, so a show bound to one (operator, gateway, nonce) cannot be read
// as bound to another.
func TestSpendContextUnambiguous(t *testing.T) {
	id := bytes.Repeat([]byte{7}, types.GatewayIdentitySize)
	base := types.SpendContext("nyx-1", "n1op", id, []byte("nonce"))
	require.Equal(t, base, types.SpendContext("nyx-1", "n1op", id, []byte("nonce")))
	for _, other := range [][]byte{
		types.SpendContext("nyx-1n", "1op", id, []byte("nonce")),
		types.SpendContext("nyx-2", "n1op", id, []byte("nonce")),
		types.SpendContext("nyx-1", "n1op", id, []byte("nonc")),
		types.SpendContext("nyx-1", "n1op", append(bytes.Clone(id), 'n'), []byte("once")),
		types.SpendContext("nyx-1", "n1op", id, nil),
	} {
		require.NotEqual(t, base, other)
	}
}

func TestCredentialTypeName(t *testing.T) {
	require.Equal(t, "nyx-bandwidth/1073-bytes-per-unym", types.CredentialTypeName(types.DefaultBytesPerUnym))
	require.NotEqual(t, types.TypeAttribute(types.CredentialTypeName(1)), types.TypeAttribute(types.CredentialTypeName(2)))
}

func TestDecodeRequestShape(t *testing.T) {
	w := getWorld(t)
	_, value, typ, err := types.DecodeRequest(w.request)
	require.NoError(t, err)
	require.Equal(t, uint64(5_000), value)
	require.Equal(t, types.TypeAttribute(types.CredentialTypeName(1)), typ)
	_, err = types.DecodeTheta(w.request)
	require.ErrorIs(t, err, types.ErrInvalidSpend)
	_, err = types.DecodeVerificationKey(w.keyG2, true)
	require.ErrorIs(t, err, types.ErrInvalidKey)
	_, err = types.DecodeVerificationKey(w.keyG2, false)
	require.NoError(t, err)
}
