package types

import (
	"fmt"

	errorsmod "cosmossdk.io/errors"

	"github.com/nyx-privacy/nyx/coconut"
)

// DefaultGenesisState is a new chain's coconut state: default params, the current
// rate's credential type, no key (the DKG, or a genesis file, sets one), no requests.
func DefaultGenesisState() *GenesisState {
	p := DefaultParams()
	return &GenesisState{
		Params:          p,
		CredentialTypes: []CredentialType{p.CurrentCredentialType()},
		NextRequestId:   1,
		Dkg:             DefaultDKGGenesis(),
	}
}

func genesisErr(format string, args ...any) error {
	return errorsmod.Wrapf(ErrInvalidGenesis, format, args...)
}

// Validate checks the genesis state is self-consistent: every key decodes and its
// partial keys interpolate to its master key, at most one key is current and it is
// the newest, every request decodes and refers to a key, every partial signature
// to a request and a signer of its key, and no spend tag appears twice.
// Addresses are checked for form by the keeper at import.
func (gs GenesisState) Validate() error {
	if err := gs.Params.Validate(); err != nil {
		return err
	}
	if gs.NextRequestId == 0 {
		return genesisErr("next_request_id must be at least 1")
	}
	if err := gs.Dkg.Validate(); err != nil {
		return err
	}
	if err := validateBeacons(gs.Beacons, gs.BeaconShares); err != nil {
		return err
	}
	keys := make(map[uint64]*KeySet, len(gs.KeySets))
	var current, newest uint64
	for i := range gs.KeySets {
		ks := &gs.KeySets[i]
		if err := ks.Validate(); err != nil {
			return genesisErr("key %d: %v", ks.KeyId, err)
		}
		if keys[ks.KeyId] != nil {
			return genesisErr("duplicate key id %d", ks.KeyId)
		}
		keys[ks.KeyId] = ks
		newest = max(newest, ks.KeyId)
		if ks.RetiredHeight == 0 {
			if current != 0 {
				return genesisErr("keys %d and %d are both current", current, ks.KeyId)
			}
			current = ks.KeyId
		}
	}
	if current != 0 && current != newest {
		return genesisErr("current key %d is not the newest (%d)", current, newest)
	}

	if err := validateStats(gs.Stats, keys); err != nil {
		return err
	}

	types := make(map[string]bool, len(gs.CredentialTypes))
	for _, ct := range gs.CredentialTypes {
		if ct.BytesPerUnym == 0 || ct.Name != CredentialTypeName(ct.BytesPerUnym) {
			return genesisErr("credential type %q does not match its rate %d", ct.Name, ct.BytesPerUnym)
		}
		if types[ct.Name] {
			return genesisErr("duplicate credential type %q", ct.Name)
		}
		types[ct.Name] = true
	}

	requests := make(map[uint64]*CredentialRequest, len(gs.Requests))
	for i := range gs.Requests {
		r := &gs.Requests[i]
		if r.Id == 0 || r.Id >= gs.NextRequestId {
			return genesisErr("request id %d is not in 1..next_request_id-1 (%d)", r.Id, gs.NextRequestId)
		}
		if requests[r.Id] != nil {
			return genesisErr("duplicate request id %d", r.Id)
		}
		requests[r.Id] = r
		if r.Sender == "" {
			return genesisErr("request %d: empty sender", r.Id)
		}
		if keys[r.KeyId] == nil {
			return genesisErr("request %d: unknown key %d", r.Id, r.KeyId)
		}
		if !types[r.CredentialType] {
			return genesisErr("request %d: unknown credential type %q", r.Id, r.CredentialType)
		}
		if r.Status != REQUEST_STATUS_PENDING && r.Status != REQUEST_STATUS_ISSUED {
			return genesisErr("request %d: invalid status %v", r.Id, r.Status)
		}
		if r.Deposit.Denom != Denom || r.Deposit.Amount.IsNil() || !r.Deposit.Amount.IsPositive() {
			return genesisErr("request %d: invalid deposit %v", r.Id, r.Deposit)
		}
		if _, value, typ, err := DecodeRequest(r.BlindSignRequest); err != nil {
			return genesisErr("request %d: %v", r.Id, err)
		} else if value != r.Value || typ != TypeAttribute(r.CredentialType) {
			return genesisErr("request %d: public attributes do not match its value and type", r.Id)
		}
	}

	type signer struct {
		id    uint64
		index uint32
	}
	signed := make(map[signer]bool, len(gs.PartialSignatures))
	for _, ps := range gs.PartialSignatures {
		r := requests[ps.RequestId]
		if r == nil {
			return genesisErr("partial signature for unknown request %d", ps.RequestId)
		}
		if !keys[r.KeyId].hasSigner(ps.SignerIndex) {
			return genesisErr("request %d: signer %d is not in key %d", ps.RequestId, ps.SignerIndex, r.KeyId)
		}
		if signed[signer{ps.RequestId, ps.SignerIndex}] {
			return genesisErr("request %d: two partial signatures by signer %d", ps.RequestId, ps.SignerIndex)
		}
		signed[signer{ps.RequestId, ps.SignerIndex}] = true
		if err := new(coconut.BlindedSignature).UnmarshalBinary(ps.BlindedSignature); err != nil {
			return genesisErr("request %d signer %d: %v", ps.RequestId, ps.SignerIndex, err)
		}
	}

	tags := make(map[string]bool, len(gs.Spent))
	for _, s := range gs.Spent {
		if len(s.Tag) != coconut.G1Size {
			return genesisErr("spend tag of %d bytes", len(s.Tag))
		}
		if tags[string(s.Tag)] {
			return genesisErr("spend tag %x appears twice", s.Tag)
		}
		tags[string(s.Tag)] = true
		if s.GatewayOperator == "" || s.Paid.Denom != Denom || s.Paid.Amount.IsNil() || s.Paid.Amount.IsNegative() {
			return genesisErr("spend tag %x: invalid operator or payment", s.Tag)
		}
	}
	return nil
}

func (ks *KeySet) hasSigner(index uint32) bool {
	for _, pk := range ks.PartialKeys {
		if pk.SignerIndex == index {
			return true
		}
	}
	return false
}

// Validate checks a key set: the master key and every partial key decode, signer
// indices and consensus addresses (20 bytes, where set) are distinct and in range, the threshold is reachable, and the first
// threshold partial keys interpolate to the master key.
func (ks *KeySet) Validate() error {
	if ks.KeyId == 0 {
		return fmt.Errorf("key id 0 is reserved for \"the current key\"")
	}
	master, err := DecodeVerificationKey(ks.MasterKey, false)
	if err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	n := len(ks.PartialKeys)
	if ks.Threshold == 0 || int(ks.Threshold) > n || n > coconut.MaxParticipants {
		return fmt.Errorf("threshold %d with %d partial keys", ks.Threshold, n)
	}
	if ks.ActivatedHeight < 0 || (ks.RetiredHeight != 0 && ks.RetiredHeight < ks.ActivatedHeight) {
		return fmt.Errorf("activated at %d, retired at %d", ks.ActivatedHeight, ks.RetiredHeight)
	}
	seen := make(map[uint32]bool, n)
	consSeen := make(map[string]bool, n)
	vks := make([]*coconut.VerificationKey, 0, ks.Threshold)
	indices := make([]uint64, 0, ks.Threshold)
	for _, pk := range ks.PartialKeys {
		if pk.SignerIndex == 0 || pk.SignerIndex > coconut.MaxParticipants || seen[pk.SignerIndex] {
			return fmt.Errorf("signer index %d is zero, too large or repeated", pk.SignerIndex)
		}
		seen[pk.SignerIndex] = true
		if len(pk.ConsensusAddress) > 0 {
			if len(pk.ConsensusAddress) != 20 || consSeen[string(pk.ConsensusAddress)] {
				return fmt.Errorf("signer %d: consensus address of %d bytes or repeated", pk.SignerIndex, len(pk.ConsensusAddress))
			}
			consSeen[string(pk.ConsensusAddress)] = true
		}
		vk, err := DecodeVerificationKey(pk.VerificationKey, true)
		if err != nil {
			return fmt.Errorf("partial key %d: %w", pk.SignerIndex, err)
		}
		if len(vks) < int(ks.Threshold) {
			vks = append(vks, vk)
			indices = append(indices, uint64(pk.SignerIndex))
		}
	}
	agg, err := coconut.AggregateVerificationKeys(vks, indices)
	if err != nil {
		return fmt.Errorf("aggregate partial keys: %w", err)
	}
	if !agg.Equal(master) {
		return fmt.Errorf("partial keys %v do not interpolate to the master key", indices)
	}
	return nil
}
