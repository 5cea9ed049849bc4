package types_test

import (
	"crypto/rand"
	"testing"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// TestExtensionCombinations: a validator holding a key share during a DKG
// round with nothing to sign but the next epoch's beacon sends a beacon
// partial and a DKG message, without partials; that extension must decode,
// or every peer would reject the validator's votes. A DKG message alone
// carries no key id; a beacon partial needs one.
func TestExtensionCombinations(t *testing.T) {
	pk, err := coconut.NewParticipantKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkb, _ := pk.Public().MarshalBinary()
	registration := types.EncodeDKGMessage(types.DKGRegistration, 2, pkb)
	var withBeacon types.IssuanceVoteExtension
	if err := withBeacon.Unmarshal(beaconExtensionSeed(t, 0)); err != nil {
		t.Fatal(err)
	}
	if len(withBeacon.Partials) != 0 || withBeacon.Beacon == nil || withBeacon.KeyId == 0 {
		t.Fatalf("seed: %+v", withBeacon)
	}

	beaconAndDKG := withBeacon
	beaconAndDKG.DkgMessage = registration
	dkgAlone := types.IssuanceVoteExtension{Version: types.VoteExtensionVersion, DkgMessage: registration}
	dkgWithKey := dkgAlone
	dkgWithKey.KeyId, dkgWithKey.SignerIndex = 1, 1
	beaconNoKey := withBeacon
	beaconNoKey.KeyId, beaconNoKey.SignerIndex = 0, 0

	for _, c := range []struct {
		name string
		ext  *types.IssuanceVoteExtension
		ok   bool
	}{
		{"beacon alone", &withBeacon, true},
		{"beacon and DKG message", &beaconAndDKG, true},
		{"DKG message alone", &dkgAlone, true},
		{"DKG message alone with a key id", &dkgWithKey, false},
		{"beacon without a key id", &beaconNoKey, false},
	} {
		bz, err := types.EncodeVoteExtension(c.ext)
		if err != nil {
			t.Fatalf("%s: encode: %v", c.name, err)
		}
		got, _, err := types.DecodeVoteExtension(bz, types.MaxPartialsPerExtension)
		if c.ok && (err != nil || got == nil) {
			t.Errorf("%s: refused: %v", c.name, err)
		}
		if !c.ok && err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}
