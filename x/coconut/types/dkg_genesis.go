package types

import (
	"bytes"

	"github.com/nyx-privacy/nyx/coconut"
)

// DefaultDKGGenesis is a new chain's DKG state: default params, no round.
func DefaultDKGGenesis() DKGGenesis { return DKGGenesis{Params: DefaultDKGParams()} }

// Validate checks the DKG's genesis: valid params, and a round whose record is
// self-consistent and whose stored messages belong to its participants and
// match their flags.
func (g DKGGenesis) Validate() error {
	if err := g.Params.Validate(); err != nil {
		return err
	}
	if g.Round == nil {
		if len(g.Dealings) != 0 || len(g.KeyShares) != 0 {
			return genesisErr("dkg: messages without a round")
		}
		return nil
	}
	r := g.Round
	if err := r.validate(); err != nil {
		return genesisErr("dkg round %d: %v", r.RoundId, err)
	}
	for _, set := range []struct {
		name string
		recs []DKGMessageRecord
		flag func(*DKGParticipant) bool
		size int
	}{
		{"dealing", g.Dealings, func(p *DKGParticipant) bool { return p.Dealt }, 0},
		{"key share", g.KeyShares, func(p *DKGParticipant) bool { return p.KeyShared }, KeySize},
	} {
		seen := map[uint32]bool{}
		for _, m := range set.recs {
			if m.RoundId != r.RoundId || int(m.Position) >= len(r.Participants) || seen[m.Position] {
				return genesisErr("dkg %s of round %d position %d: not a participant of the round, or repeated", set.name, m.RoundId, m.Position)
			}
			seen[m.Position] = true
			if set.size != 0 {
				if _, err := DecodeVerificationKey(m.Data, true); err != nil {
					return genesisErr("dkg key share of position %d: %v", m.Position, err)
				}
			} else if err := new(coconut.Dealing).UnmarshalBinary(m.Data); err != nil {
				return genesisErr("dkg dealing of position %d: %v", m.Position, err)
			}
		}
		for i := range r.Participants {
			if set.flag(&r.Participants[i]) != seen[uint32(i)] {
				return genesisErr("dkg round %d position %d: %s flag does not match the stored messages", r.RoundId, i, set.name)
			}
		}
	}
	return nil
}

func (r *DKGRound) validate() error {
	n := len(r.Participants)
	if r.RoundId == 0 || n < 1 || n > MaxDKGParticipants || int(r.Threshold) != DKGThreshold(n) {
		return genesisErr("id %d with %d participants and threshold %d", r.RoundId, n, r.Threshold)
	}
	if r.Phase < DKG_PHASE_REGISTRATION || r.Phase > DKG_PHASE_FAILED {
		return genesisErr("phase %v", r.Phase)
	}
	if len(r.PhaseEnds) != dkgPhases || r.PhaseEnds[0] < r.StartHeight {
		return genesisErr("phase ends %v from start %d", r.PhaseEnds, r.StartHeight)
	}
	for i := 1; i < dkgPhases; i++ {
		if r.PhaseEnds[i] <= r.PhaseEnds[i-1] {
			return genesisErr("phase ends %v do not increase", r.PhaseEnds)
		}
	}
	indexed := r.Phase != DKG_PHASE_REGISTRATION
	next := uint32(1)
	for i := range r.Participants {
		p := &r.Participants[i]
		if len(p.ConsensusAddress) != ConsensusAddressSize || p.VotingPower <= 0 {
			return genesisErr("participant %d: address of %d bytes, power %d", i, len(p.ConsensusAddress), p.VotingPower)
		}
		if i > 0 && bytes.Compare(r.Participants[i-1].ConsensusAddress, p.ConsensusAddress) >= 0 {
			return genesisErr("participants are not in address order")
		}
		if len(p.PublicKey) != 0 {
			if err := new(coconut.ParticipantPublicKey).UnmarshalBinary(p.PublicKey); err != nil {
				return genesisErr("participant %d: %v", i, err)
			}
		}
		// Indices are given after registration, in order, to the registered only.
		want := uint32(0)
		if indexed && len(p.PublicKey) != 0 {
			want, next = next, next+1
		}
		if p.Index != want {
			return genesisErr("participant %d: index %d, want %d", i, p.Index, want)
		}
		if p.Index == 0 && (p.Dealt || p.Complained || p.KeyShared || p.Excluded) {
			return genesisErr("participant %d without an index has sent messages", i)
		}
		if p.Excluded && !p.Dealt {
			return genesisErr("participant %d is excluded without a dealing", i)
		}
	}
	return nil
}
