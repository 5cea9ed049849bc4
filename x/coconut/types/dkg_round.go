package types

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/big"
	"sort"

	errorsmod "cosmossdk.io/errors"

	"github.com/nyx-privacy/nyx/coconut"
)

const (
	// DefaultDKGBlocksPerPhase: four phases of 20 blocks take a round about
	// 80 blocks (under ten minutes at 6-second blocks), and a validator that
	// misses a few blocks still gets its message in.
	DefaultDKGBlocksPerPhase = 20
	// DefaultDKGSetChangePercent: a third of the voting power changing could
	// leave fewer than a threshold of the old key's holders.
	DefaultDKGSetChangePercent = 30
	// MaxDKGBlocksPerPhase keeps a round's heights far from overflowing.
	MaxDKGBlocksPerPhase = 1_000_000
	// ConsensusAddressSize is a CometBFT consensus address.
	ConsensusAddressSize = 20
	// dkgPhases is the number of message phases.
	dkgPhases = 4
)

// DKGContext is the prefix of every round's DKG context, which binds dealings
// and complaints to the chain and the round.
const DKGContext = "nyx/coconut/dkg/v1"

// DefaultDKGParams returns the default DKG params.
func DefaultDKGParams() DKGParams {
	return DKGParams{BlocksPerPhase: DefaultDKGBlocksPerPhase, SetChangePercent: DefaultDKGSetChangePercent}
}

// Validate checks the DKG params.
func (p DKGParams) Validate() error {
	if p.BlocksPerPhase < 1 || p.BlocksPerPhase > MaxDKGBlocksPerPhase {
		return errorsmod.Wrapf(ErrInvalidDKGParams, "blocks_per_phase %d not in 1..%d", p.BlocksPerPhase, MaxDKGBlocksPerPhase)
	}
	if p.SetChangePercent > 100 {
		return errorsmod.Wrapf(ErrInvalidDKGParams, "set_change_percent %d above 100", p.SetChangePercent)
	}
	return nil
}

// DKGValidator is a validator as a round's start sees it.
type DKGValidator struct {
	ConsensusAddress []byte
	VotingPower      int64
}

// NewDKGRound builds round id's record from the validator set at height start:
// the validators with positive power, the MaxDKGParticipants most powerful
// (ties by address), in address order.
func NewDKGRound(id uint64, validators []DKGValidator, start int64, p DKGParams) (DKGRound, error) {
	vs := make([]DKGValidator, 0, len(validators))
	seen := make(map[string]bool, len(validators))
	for _, v := range validators {
		if len(v.ConsensusAddress) != ConsensusAddressSize {
			return DKGRound{}, fmt.Errorf("consensus address of %d bytes", len(v.ConsensusAddress))
		}
		if seen[string(v.ConsensusAddress)] {
			return DKGRound{}, fmt.Errorf("validator %X appears twice", v.ConsensusAddress)
		}
		seen[string(v.ConsensusAddress)] = true
		if v.VotingPower > 0 {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return DKGRound{}, fmt.Errorf("no validator with voting power")
	}
	sort.Slice(vs, func(i, j int) bool {
		if vs[i].VotingPower != vs[j].VotingPower {
			return vs[i].VotingPower > vs[j].VotingPower
		}
		return bytes.Compare(vs[i].ConsensusAddress, vs[j].ConsensusAddress) < 0
	})
	vs = vs[:min(len(vs), MaxDKGParticipants)]
	sort.Slice(vs, func(i, j int) bool { return bytes.Compare(vs[i].ConsensusAddress, vs[j].ConsensusAddress) < 0 })
	r := DKGRound{RoundId: id, Threshold: uint32(DKGThreshold(len(vs))), Phase: DKG_PHASE_REGISTRATION, StartHeight: start}
	for _, v := range vs {
		r.Participants = append(r.Participants, DKGParticipant{ConsensusAddress: append([]byte(nil), v.ConsensusAddress...), VotingPower: v.VotingPower})
	}
	b := int64(p.BlocksPerPhase)
	for i := int64(1); i <= dkgPhases; i++ {
		r.PhaseEnds = append(r.PhaseEnds, start+i*b-1)
	}
	return r, nil
}

// InProgress reports whether the round still takes messages.
func (r *DKGRound) InProgress() bool {
	return r.Phase >= DKG_PHASE_REGISTRATION && r.Phase <= DKG_PHASE_KEY_SHARE
}

// PhaseEnd returns the last height of the current phase (0 when ended).
func (r *DKGRound) PhaseEnd() int64 {
	if !r.InProgress() || len(r.PhaseEnds) != dkgPhases {
		return 0
	}
	return r.PhaseEnds[r.Phase-DKG_PHASE_REGISTRATION]
}

// Position returns the position of the participant with consensus address
// addr, or -1.
func (r *DKGRound) Position(addr []byte) int {
	for i := range r.Participants {
		if bytes.Equal(r.Participants[i].ConsensusAddress, addr) {
			return i
		}
	}
	return -1
}

// Registered returns the number of participants with a DKG index.
func (r *DKGRound) Registered() int {
	n := 0
	for i := range r.Participants {
		if r.Participants[i].Index != 0 {
			n++
		}
	}
	return n
}

// Qualified returns the positions of the dealers whose dealings form the key:
// they dealt and no valid complaint excluded them, in index order.
func (r *DKGRound) Qualified() []int {
	var out []int
	for i := range r.Participants {
		if p := &r.Participants[i]; p.Dealt && !p.Excluded {
			out = append(out, i)
		}
	}
	return out
}

// DKG returns the coconut DKG of the round on chain chainID, once indices are
// given (after registration): the registered participants' keys in index order.
func (r *DKGRound) DKG(chainID string) (*coconut.DKG, error) {
	m := r.Registered()
	if m == 0 {
		return nil, fmt.Errorf("round %d: no participant has an index yet", r.RoundId)
	}
	pks := make([]*coconut.ParticipantPublicKey, m)
	for i := range r.Participants {
		p := &r.Participants[i]
		if p.Index == 0 {
			continue
		}
		if int(p.Index) > m || pks[p.Index-1] != nil {
			return nil, fmt.Errorf("round %d: index %d out of order", r.RoundId, p.Index)
		}
		pk := new(coconut.ParticipantPublicKey)
		if err := pk.UnmarshalBinary(p.PublicKey); err != nil {
			return nil, fmt.Errorf("round %d participant %d: %w", r.RoundId, p.Index, err)
		}
		pks[p.Index-1] = pk
	}
	ctx := []byte(DKGContext)
	ctx = binary.BigEndian.AppendUint64(ctx, uint64(len(chainID)))
	ctx = append(ctx, chainID...)
	ctx = binary.BigEndian.AppendUint64(ctx, r.RoundId)
	return &coconut.DKG{Params: CredentialParams(), Threshold: int(r.Threshold), Participants: pks, Context: ctx}, nil
}

// SetChanged reports whether validators differ from the round's participants
// by more than percent of the voting power: the power of those that joined
// (at their new power) and of those that left (at their old power), against the
// round's total. A round with no participants always counts as changed.
func (r *DKGRound) SetChanged(validators []DKGValidator, percent uint32) bool {
	old := make(map[string]int64, len(r.Participants))
	var total int64
	for _, p := range r.Participants {
		old[string(p.ConsensusAddress)] = p.VotingPower
		total += p.VotingPower
	}
	if total == 0 {
		return true
	}
	var changed int64
	now := make(map[string]bool, len(validators))
	for _, v := range validators {
		if v.VotingPower <= 0 {
			continue
		}
		now[string(v.ConsensusAddress)] = true
		if _, ok := old[string(v.ConsensusAddress)]; !ok {
			changed += v.VotingPower
		}
	}
	for a, p := range old {
		if !now[a] {
			changed += p
		}
	}
	// CometBFT allows a total power up to 2^63/8, so the products need 128 bits.
	lhs := new(big.Int).Mul(big.NewInt(changed), big.NewInt(100))
	return lhs.Cmp(new(big.Int).Mul(big.NewInt(int64(percent)), big.NewInt(total))) > 0
}
