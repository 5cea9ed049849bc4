package types

import (
	"errors"
	"fmt"
	"io"

	"github.com/nyx-privacy/nyx/coconut"
)

// The validator's side of the DKG: pure functions of the round as the chain
// records it, the round's stored dealings (by participant position) and the
// validator's secret DKG key. The vote-extension path calls DKGMessageFor at
// every height and carries what it returns.

// DKGMessageFor returns the message the participant at position should send
// now, or nil when it has nothing to send (not a participant of this phase,
// or already sent). dealings must hold every stored dealing of the round once
// the dealing phase is over. In the complaint and key share phases it decrypts
// and checks the validator's shares in every dealing (about 44 ms per dealing
// at n = 100, BenchmarkDKGPerValidator): a caller keeps its answer per round
// and phase rather than asking again at every height until it is recorded.
func DKGMessageFor(rng io.Reader, chainID string, r *DKGRound, dealings map[uint32][]byte, key *coconut.ParticipantKey, position int) ([]byte, error) {
	if position < 0 || position >= len(r.Participants) {
		return nil, fmt.Errorf("round %d: no participant at position %d", r.RoundId, position)
	}
	me := &r.Participants[position]
	if r.Phase != DKG_PHASE_REGISTRATION && me.Index == 0 {
		return nil, nil // not registered in time: sits this round out
	}
	switch r.Phase {
	case DKG_PHASE_REGISTRATION:
		if len(me.PublicKey) != 0 {
			return nil, nil
		}
		pk, err := key.Public().MarshalBinary()
		if err != nil {
			return nil, err
		}
		return EncodeDKGMessage(DKGRegistration, r.RoundId, pk), nil
	case DKG_PHASE_DEALING:
		if me.Dealt {
			return nil, nil
		}
		g, err := r.DKG(chainID)
		if err != nil {
			return nil, err
		}
		d, err := g.Deal(rng, int(me.Index))
		if err != nil {
			return nil, fmt.Errorf("round %d: deal: %w", r.RoundId, err)
		}
		bz, err := d.MarshalBinary()
		if err != nil {
			return nil, err
		}
		return EncodeDKGMessage(DKGDealing, r.RoundId, faultDealing(bz)), nil
	case DKG_PHASE_COMPLAINT:
		if me.Complained {
			return nil, nil
		}
		return complaintsFor(rng, chainID, r, dealings, key, me)
	case DKG_PHASE_KEY_SHARE:
		if me.KeyShared {
			return nil, nil
		}
		sk, err := DKGSecretKey(chainID, r, dealings, key, position)
		if err != nil {
			return nil, err
		}
		bz, err := sk.VerificationKey().MarshalBinary()
		if err != nil {
			return nil, err
		}
		return EncodeDKGMessage(DKGKeyShare, r.RoundId, bz), nil
	}
	return nil, nil
}

// complaintsFor checks me's shares in every standing dealing and accuses the
// dealers whose shares are bad.
func complaintsFor(rng io.Reader, chainID string, r *DKGRound, dealings map[uint32][]byte, key *coconut.ParticipantKey, me *DKGParticipant) ([]byte, error) {
	g, err := r.DKG(chainID)
	if err != nil {
		return nil, err
	}
	var cs []*coconut.Complaint
	for _, pos := range r.Qualified() {
		d, err := decodeStoredDealing(r, dealings, pos)
		if err != nil {
			return nil, err
		}
		if _, err := g.DecryptShare(d, int(me.Index), key); err == nil {
			continue
		} else if !errors.Is(err, coconut.ErrShare) {
			return nil, fmt.Errorf("round %d: dealing of %d: %w", r.RoundId, d.Dealer(), err)
		}
		c, err := g.Complain(rng, d, int(me.Index), key)
		if err != nil {
			return nil, err
		}
		cs = append(cs, c)
	}
	if len(cs) == 0 {
		return nil, nil
	}
	return EncodeDKGComplaints(r.RoundId, cs)
}

// DKGSecretKey derives the participant at position's share of the issuing
// key from the qualified dealings, from the complaint phase's end on. It fails
// if one of them gave it a bad share (it should have complained).
func DKGSecretKey(chainID string, r *DKGRound, dealings map[uint32][]byte, key *coconut.ParticipantKey, position int) (*coconut.SecretKey, error) {
	if position < 0 || position >= len(r.Participants) || r.Participants[position].Index == 0 {
		return nil, fmt.Errorf("round %d: position %d holds no share", r.RoundId, position)
	}
	g, err := r.DKG(chainID)
	if err != nil {
		return nil, err
	}
	ds, err := QualifiedDealings(r, dealings)
	if err != nil {
		return nil, err
	}
	sk, err := g.DeriveSecretKey(ds, int(r.Participants[position].Index), key)
	if err != nil {
		return nil, fmt.Errorf("round %d: derive secret key: %w", r.RoundId, err)
	}
	return sk, nil
}

// QualifiedDealings decodes the qualified dealers' dealings, in index order.
func QualifiedDealings(r *DKGRound, dealings map[uint32][]byte) ([]*coconut.Dealing, error) {
	q := r.Qualified()
	out := make([]*coconut.Dealing, 0, len(q))
	for _, pos := range q {
		d, err := decodeStoredDealing(r, dealings, pos)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func decodeStoredDealing(r *DKGRound, dealings map[uint32][]byte, pos int) (*coconut.Dealing, error) {
	bz, ok := dealings[uint32(pos)]
	if !ok {
		return nil, fmt.Errorf("round %d: dealing of position %d missing", r.RoundId, pos)
	}
	d := new(coconut.Dealing)
	if err := d.UnmarshalBinary(bz); err != nil {
		return nil, fmt.Errorf("round %d: stored dealing of position %d: %w", r.RoundId, pos, err)
	}
	return d, nil
}
