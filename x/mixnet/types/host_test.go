package types_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

func TestValidateHost(t *testing.T) {
	for _, h := range []string{"1.2.3.4", "::1", "mix-1.example.net", "localhost", "example.net.", "xn--bcher-kva.example"} {
		require.NoError(t, types.ValidateHost(h), h)
	}
	for _, h := range []string{"", "a b", "-bad.example", "bad-.example", "a..b", "host:80", string(make([]byte, 300)),
		"[::1]", "fe80::1%eth0", "1.2.3.4%eth0", "under_score.example", "bücher.example", ".", ".example"} {
		require.ErrorIs(t, types.ValidateHost(h), types.ErrInvalidHost, h)
	}
}

// Every spelling of one address has one canonical form.
func TestCanonicalHost(t *testing.T) {
	same := map[string][]string{
		"mix.example.net":      {"mix.example.net", "MIX.Example.NET", "mix.example.net.", "Mix.Example.Net."},
		"10.0.0.1":             {"10.0.0.1", "::ffff:10.0.0.1", "::FFFF:10.0.0.1", "::ffff:a00:1", "0:0:0:0:0:ffff:0a00:0001"},
		"2001:db8::1":          {"2001:db8::1", "2001:DB8::1", "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8:0:0:0:0:0:1", "2001:db8::0:1"},
		"2001:db8:0:1:1:1:1:1": {"2001:db8:0:1:1:1:1:1", "2001:db8::1:1:1:1:1"}, // RFC 5952: a single zero field is not compressed
		"::1":                  {"::1", "0:0:0:0:0:0:0:1", "0000::0001"},
		"127.0.0.1":            {"127.0.0.1", "::ffff:127.0.0.1"},
	}
	for want, spellings := range same {
		for _, h := range spellings {
			got, err := types.CanonicalHost(h)
			require.NoError(t, err, h)
			require.Equal(t, want, got, h)
		}
	}
	// Forms a resolver may read as an IPv4 address are not DNS names here, so they
	// cannot stand for an address bonded in dotted decimal.
	for _, h := range []string{"127.1", "127.0.1", "2130706433", "0x7f000001", "0x7f.0.0.1", "0177.0.0.1", "010.0.0.1", "1.2.3.4.5", "mix.example.123"} {
		_, err := types.CanonicalHost(h)
		require.ErrorIs(t, err, types.ErrInvalidHost, h)
	}
}

func TestHostPortKeysCollide(t *testing.T) {
	a := types.HostPortKeys("::ffff:10.0.0.1", 1789, 9000, 8000)
	b := types.HostPortKeys("10.0.0.1", 1789, 9000, 8000)
	require.Equal(t, a, b)
	require.Equal(t, "[2001:db8::1]:1789", types.HostPortKeys("2001:DB8:0::1", 1789, 9000, 8000)[0])
}

func FuzzCanonicalHost(f *testing.F) {
	for _, h := range []string{"mix.example.net.", "::ffff:10.0.0.1", "2001:DB8::1", "127.1", "fe80::1%eth0", "", "a..b"} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, h string) {
		c, err := types.CanonicalHost(h)
		if err != nil {
			return
		}
		// The canonical form is valid and its own canonical form.
		c2, err := types.CanonicalHost(c)
		if err != nil || c2 != c {
			t.Fatalf("%q -> %q -> %q, %v", h, c, c2, err)
		}
		if len(c) > types.MaxHostLength {
			t.Fatalf("%q -> %q is too long", h, c)
		}
	})
}
