package types_test

import (
	"crypto/ecdh"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

// testNymAddress is a valid client address built from seed.
func testNymAddress(seed int) string {
	var a types.NymAddress
	a.Identity = sha256.Sum256(fmt.Appendf(nil, "id-%d", seed))
	a.Gateway = sha256.Sum256(fmt.Appendf(nil, "gw-%d", seed))
	h := sha256.Sum256(fmt.Appendf(nil, "enc-%d", seed))
	k, err := ecdh.X25519().NewPrivateKey(h[:])
	if err != nil {
		panic(err)
	}
	copy(a.Encryption[:], k.PublicKey().Bytes())
	return a.String()
}

// addressVectors are client addresses good and bad in every way the parsers see.
func addressVectors() []string {
	good := testNymAddress(1)
	keys, gw, _ := strings.Cut(good, "@")
	id, enc, _ := strings.Cut(keys, ".")
	return []string{
		good, testNymAddress(2), "", "@", ".@", id + "." + enc, id + "@" + gw, "1" + good, good + "1",
		id + "." + enc + "@" + gw + "@" + gw, id + "." + id + "@" + gw, // an identity key is not always a curve point
		"11111111111111111111111111111111." + enc + "@" + gw, // all-zero identity: valid
		id + ".11111111111111111111111111111111@" + gw,       // zero encryption key: low order
		id + ".2" + enc[1:] + "@" + gw,
		strings.Repeat("z", 44) + "." + enc + "@" + gw, // more than 32 bytes
		id + "." + enc + "@" + gw + strings.Repeat("1", 100),
		strings.ToLower(good), "0" + good[1:],
	}
}

// The chain parses client addresses as the sidecars do: the same accepted set,
// the same keys.
func TestParseNymAddressMatchesClient(t *testing.T) {
	accepted := 0
	for _, s := range addressVectors() {
		a, err := types.ParseNymAddress(s)
		b, errClient := client.ParseAddress(s)
		require.Equal(t, errClient == nil, err == nil, "%q: chain %v, client %v", s, err, errClient)
		if err == nil {
			accepted++
			require.Equal(t, b.Identity, a.Identity)
			require.Equal(t, b.Encryption, a.Encryption)
			require.Equal(t, b.Gateway, a.Gateway)
			require.Equal(t, s, a.String())
		} else {
			require.ErrorIs(t, err, types.ErrInvalidService)
		}
	}
	require.GreaterOrEqual(t, accepted, 3)
}

func FuzzParseNymAddress(f *testing.F) {
	for _, s := range addressVectors() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := types.ParseNymAddress(s)
		_, errClient := client.ParseAddress(s)
		if (err == nil) != (errClient == nil) {
			t.Fatalf("%q: chain %v, client %v", s, err, errClient)
		}
		if err == nil && a.String() != s {
			t.Fatalf("%q parsed but prints as %q", s, a.String())
		}
	})
}

func TestServiceFieldRules(t *testing.T) {
	for _, k := range []string{"network-requester", "a", "x9-", strings.Repeat("a", types.MaxServiceKindLength)} {
		require.NoError(t, types.ValidateServiceKind(k), k)
	}
	for _, k := range []string{"", "A", "a b", "a_b", "é", strings.Repeat("a", types.MaxServiceKindLength+1)} {
		require.ErrorIs(t, types.ValidateServiceKind(k), types.ErrInvalidService, k)
	}
	for _, d := range []string{"", "Exit in Zürich, web ports only", strings.Repeat("é", types.MaxServiceDescriptionLength/2)} {
		require.NoError(t, types.ValidateServiceDescription(d), d)
	}
	for _, d := range []string{"a\nb", "\x1b[31m", "\xff", "\u202e", strings.Repeat("x", types.MaxServiceDescriptionLength+1)} {
		require.ErrorIs(t, types.ValidateServiceDescription(d), types.ErrInvalidService, d)
	}
}

func validServicesGenesis() *types.GenesisState {
	gs := types.DefaultGenesisState()
	gs.NextServiceId = 3
	gs.Services = []types.Service{
		{ServiceId: 1, Announcer: "n1a", Kind: "network-requester", NymAddress: testNymAddress(1), Deposit: sdk.NewInt64Coin(types.Denom, 100)},
		{ServiceId: 2, Announcer: "n1a", Kind: "chat", NymAddress: testNymAddress(2), Description: "hi", Deposit: sdk.NewInt64Coin(types.Denom, 0)},
	}
	return gs
}

func TestGenesisServicesValidate(t *testing.T) {
	require.NoError(t, validServicesGenesis().Validate())
	cases := map[string]func(gs *types.GenesisState){
		"id zero":              func(gs *types.GenesisState) { gs.Services[0].ServiceId = 0 },
		"id at next":           func(gs *types.GenesisState) { gs.Services[0].ServiceId = 3 },
		"duplicate id":         func(gs *types.GenesisState) { gs.Services[1].ServiceId = 1 },
		"duplicate address":    func(gs *types.GenesisState) { gs.Services[1].NymAddress = gs.Services[0].NymAddress },
		"bad address":          func(gs *types.GenesisState) { gs.Services[1].NymAddress = "x@y" },
		"bad kind":             func(gs *types.GenesisState) { gs.Services[1].Kind = "" },
		"no announcer":         func(gs *types.GenesisState) { gs.Services[1].Announcer = "" },
		"negative deposit":     func(gs *types.GenesisState) { gs.Services[1].Deposit.Amount = math.NewInt(-1) },
		"deposit in unyx":      func(gs *types.GenesisState) { gs.Services[1].Deposit.Denom = "unyx" },
		"announcer over bound": func(gs *types.GenesisState) { gs.Params.MaxServicesPerAnnouncer = 1 },
		"bound zero":           func(gs *types.GenesisState) { gs.Params.MaxServicesPerAnnouncer = 0 },
		"deposit param denom":  func(gs *types.GenesisState) { gs.Params.ServiceDeposit.Denom = "unyx" },
	}
	for name, mutate := range cases {
		gs := validServicesGenesis()
		mutate(gs)
		require.Error(t, gs.Validate(), name)
	}
}
