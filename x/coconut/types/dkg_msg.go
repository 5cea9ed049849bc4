package types

import (
	"encoding/binary"

	errorsmod "cosmossdk.io/errors"

	"github.com/nyx-privacy/nyx/coconut"
)

// DKGMessageKind is the first byte of a DKG message.
type DKGMessageKind byte

// The kinds of DKG message, one per phase.
const (
	DKGRegistration DKGMessageKind = 1
	DKGDealing      DKGMessageKind = 2
	DKGComplaints   DKGMessageKind = 3
	DKGKeyShare     DKGMessageKind = 4
)

// Phase returns the phase in which messages of kind k are accepted.
func (k DKGMessageKind) Phase() DKGPhase {
	switch k {
	case DKGRegistration:
		return DKG_PHASE_REGISTRATION
	case DKGDealing:
		return DKG_PHASE_DEALING
	case DKGComplaints:
		return DKG_PHASE_COMPLAINT
	case DKGKeyShare:
		return DKG_PHASE_KEY_SHARE
	}
	return DKG_PHASE_UNSPECIFIED
}

func (k DKGMessageKind) String() string {
	switch k {
	case DKGRegistration:
		return "registration"
	case DKGDealing:
		return "dealing"
	case DKGComplaints:
		return "complaints"
	case DKGKeyShare:
		return "key share"
	}
	return "unknown"
}

const (
	// MaxDKGParticipants bounds a round's participants: a round takes the
	// validators with the most voting power up to it. It bounds a dealing to
	// DKGDealingSize(MaxDKGParticipants) bytes.
	MaxDKGParticipants = 200
	// DKGHeaderSize is a message's header: kind (1 byte) and round id (8, big-endian).
	DKGHeaderSize = 9
	// DKGRegistrationSize is a registration: header and a DKG public key.
	DKGRegistrationSize = DKGHeaderSize + coconut.G1Size
)

// DKGKeyShareSize is a key share: header and a verification key with its G1 half.
var DKGKeyShareSize = DKGHeaderSize + KeySize

// DKGThreshold is a round's threshold for n participants: ceil(2n/3).
func DKGThreshold(n int) int { return coconut.DefaultThreshold(n) }

// DKGDealingSize is the size of a dealing message of a round with n
// participants at its start, of whom registered got an index.
func DKGDealingSize(n, registered int) int {
	return DKGHeaderSize + coconut.DealingSize(DKGThreshold(n), registered, coconut.BandwidthAttributes)
}

// DKGComplaintsSize is the size of a message carrying count complaints.
func DKGComplaintsSize(count int) int { return DKGHeaderSize + 2 + count*coconut.ComplaintSize }

// MaxDKGMessageSize bounds every DKG message: the largest dealing.
var MaxDKGMessageSize = DKGDealingSize(MaxDKGParticipants, MaxDKGParticipants)

// DKGMessage is a decoded DKG message; the field of its kind is set.
type DKGMessage struct {
	Kind    DKGMessageKind
	RoundID uint64
	// PublicKey is a registration's DKG public key.
	PublicKey *coconut.ParticipantPublicKey
	// Dealing is a dealing and Body its encoding, the bytes the chain stores.
	Dealing *coconut.Dealing
	// Complaints are a participant's complaints, against distinct dealers.
	Complaints []*coconut.Complaint
	// KeyShare is a participant's verification key share with its G1 half.
	KeyShare *coconut.VerificationKey
	Body     []byte
}

func dkgErr(format string, args ...any) error {
	return errorsmod.Wrapf(ErrInvalidDKGMessage, format, args...)
}

// EncodeDKGMessage prefixes body (coconut's encoding of the kind's content;
// for complaints see EncodeDKGComplaints) with the header.
func EncodeDKGMessage(kind DKGMessageKind, roundID uint64, body []byte) []byte {
	b := make([]byte, 0, DKGHeaderSize+len(body))
	b = append(b, byte(kind))
	b = binary.BigEndian.AppendUint64(b, roundID)
	return append(b, body...)
}

// EncodeDKGComplaints encodes complaints as count (2 bytes) || complaints.
func EncodeDKGComplaints(roundID uint64, cs []*coconut.Complaint) ([]byte, error) {
	body := binary.BigEndian.AppendUint16(nil, uint16(len(cs)))
	for _, c := range cs {
		bz, err := c.MarshalBinary()
		if err != nil {
			return nil, err
		}
		body = append(body, bz...)
	}
	return EncodeDKGMessage(DKGComplaints, roundID, body), nil
}

// DecodeDKGMessage decodes a DKG message strictly: a known kind, the exact size
// of its kind (a dealing's size is checked against its own header here and
// against the round by the keeper), every point checked, at most
// MaxDKGParticipants of anything. It never reads beyond MaxDKGMessageSize.
func DecodeDKGMessage(bz []byte) (*DKGMessage, error) {
	if len(bz) < DKGHeaderSize {
		return nil, dkgErr("%d bytes, shorter than the header", len(bz))
	}
	if len(bz) > MaxDKGMessageSize {
		return nil, dkgErr("%d bytes, more than %d", len(bz), MaxDKGMessageSize)
	}
	m := &DKGMessage{Kind: DKGMessageKind(bz[0]), RoundID: binary.BigEndian.Uint64(bz[1:DKGHeaderSize]), Body: bz[DKGHeaderSize:]}
	if m.RoundID == 0 {
		return nil, dkgErr("round id 0")
	}
	switch m.Kind {
	case DKGRegistration:
		if len(bz) != DKGRegistrationSize {
			return nil, dkgErr("registration of %d bytes, want %d", len(bz), DKGRegistrationSize)
		}
		m.PublicKey = new(coconut.ParticipantPublicKey)
		if err := m.PublicKey.UnmarshalBinary(m.Body); err != nil {
			return nil, dkgErr("registration: %v", err)
		}
	case DKGDealing:
		m.Dealing = new(coconut.Dealing)
		if err := m.Dealing.UnmarshalBinary(m.Body); err != nil {
			return nil, dkgErr("%v", err)
		}
	case DKGComplaints:
		if len(m.Body) < 2 {
			return nil, dkgErr("complaints: no count")
		}
		count := int(binary.BigEndian.Uint16(m.Body))
		if count < 1 || count > MaxDKGParticipants {
			return nil, dkgErr("complaints: count %d not in 1..%d", count, MaxDKGParticipants)
		}
		if len(bz) != DKGComplaintsSize(count) {
			return nil, dkgErr("%d complaints in %d bytes, want %d", count, len(bz), DKGComplaintsSize(count))
		}
		seen := make(map[int]bool, count)
		for i := range count {
			c := new(coconut.Complaint)
			off := 2 + i*coconut.ComplaintSize
			if err := c.UnmarshalBinary(m.Body[off : off+coconut.ComplaintSize]); err != nil {
				return nil, dkgErr("complaint %d: %v", i, err)
			}
			if seen[c.Dealer()] {
				return nil, dkgErr("two complaints against dealer %d", c.Dealer())
			}
			seen[c.Dealer()] = true
			m.Complaints = append(m.Complaints, c)
		}
	case DKGKeyShare:
		if len(bz) != DKGKeyShareSize {
			return nil, dkgErr("key share of %d bytes, want %d", len(bz), DKGKeyShareSize)
		}
		vk, err := DecodeVerificationKey(m.Body, true)
		if err != nil {
			return nil, dkgErr("key share: %v", err)
		}
		m.KeyShare = vk
	default:
		return nil, dkgErr("unknown kind %d", bz[0])
	}
	return m, nil
}
