package types

import (
	"bytes"

	"cosmossdk.io/collections"

	"github.com/nyx-privacy/nyx/coconut"
)

// Store prefixes of the beacon's collections (keeper/beacon.go).
var (
	BeaconsKey      = collections.NewPrefix(40)
	BeaconSharesKey = collections.NewPrefix(41)
)

// BeaconsKept is how many epochs' beacons the chain keeps: each new beacon
// prunes the one BeaconsKept epochs older. A role draw reads only its own
// epoch's, so the rest are for queries and audits.
const BeaconsKept = 64

// BeaconOutput returns the beacon's randomness for a signature's encoding.
func BeaconOutput(sig []byte) ([]byte, error) {
	var s coconut.BeaconSignature
	if err := s.UnmarshalBinary(sig); err != nil {
		return nil, err
	}
	r := s.Randomness()
	return r[:], nil
}

// validateBeacons checks the beacons and shares of a genesis: every signature
// decodes, every beacon's randomness is its signature's, no epoch or (epoch,
// signer) appears twice, and no share is for an epoch that has its beacon.
// The signatures are not checked against their keys (a retired key may be
// gone); the chain that recorded them verified each.
func validateBeacons(beacons []Beacon, shares []BeaconShare) error {
	if len(beacons) > BeaconsKept {
		return genesisErr("%d beacons, at most %d", len(beacons), BeaconsKept)
	}
	have := make(map[uint64]bool, len(beacons))
	for _, b := range beacons {
		if b.Epoch == 0 || b.KeyId == 0 {
			return genesisErr("beacon with epoch %d, key %d: both must be set", b.Epoch, b.KeyId)
		}
		if have[b.Epoch] {
			return genesisErr("two beacons for epoch %d", b.Epoch)
		}
		have[b.Epoch] = true
		r, err := BeaconOutput(b.Signature)
		if err != nil {
			return genesisErr("beacon of epoch %d: %v", b.Epoch, err)
		}
		if !bytes.Equal(r, b.Randomness) {
			return genesisErr("beacon of epoch %d: randomness is not its signature's", b.Epoch)
		}
	}
	type shareKey struct {
		epoch  uint64
		signer uint32
	}
	seen := make(map[shareKey]bool, len(shares))
	for _, s := range shares {
		if s.Epoch == 0 || s.SignerIndex == 0 || s.KeyId == 0 {
			return genesisErr("beacon share with epoch %d, signer %d, key %d: all must be set", s.Epoch, s.SignerIndex, s.KeyId)
		}
		if have[s.Epoch] {
			return genesisErr("beacon share for epoch %d, which has its beacon", s.Epoch)
		}
		k := shareKey{s.Epoch, s.SignerIndex}
		if seen[k] {
			return genesisErr("two beacon shares of signer %d for epoch %d", s.SignerIndex, s.Epoch)
		}
		seen[k] = true
		if err := new(coconut.BeaconSignature).UnmarshalBinary(s.Signature); err != nil {
			return genesisErr("beacon share of signer %d for epoch %d: %v", s.SignerIndex, s.Epoch, err)
		}
	}
	return nil
}
