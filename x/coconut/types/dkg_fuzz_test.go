package types_test

import (
	"bytes"
	"crypto/rand"
	"sync"
	"testing"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// dkgWorld is a 4-participant round in its complaint phase with a valid
// message of every kind, built once.
type dkgWorld struct {
	round                             types.DKGRound
	keys                              []*coconut.ParticipantKey
	registration, dealing, complaints []byte
	keyShare                          []byte
	dealings                          map[uint32][]byte
}

var dkgWorldOnce = sync.OnceValues(func() (*dkgWorld, error) {
	w := &dkgWorld{dealings: map[uint32][]byte{}}
	var vs []types.DKGValidator
	for i := range 4 {
		vs = append(vs, types.DKGValidator{ConsensusAddress: bytes.Repeat([]byte{byte(i + 1)}, types.ConsensusAddressSize), VotingPower: 1})
	}
	r, err := types.NewDKGRound(7, vs, 10, types.DefaultDKGParams())
	if err != nil {
		return nil, err
	}
	for i := range r.Participants {
		k, err := coconut.NewParticipantKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		w.keys = append(w.keys, k)
		if r.Participants[i].PublicKey, err = k.Public().MarshalBinary(); err != nil {
			return nil, err
		}
		r.Participants[i].Index = uint32(i + 1)
	}
	if w.registration, err = types.DKGMessageFor(rand.Reader, "fuzz", &types.DKGRound{RoundId: 7, Phase: types.DKG_PHASE_REGISTRATION, Participants: []types.DKGParticipant{{}}}, nil, w.keys[0], 0); err != nil {
		return nil, err
	}
	r.Phase = types.DKG_PHASE_DEALING
	for i := range r.Participants {
		msg, err := types.DKGMessageFor(rand.Reader, "fuzz", &r, nil, w.keys[i], i)
		if err != nil {
			return nil, err
		}
		w.dealings[uint32(i)] = msg[types.DKGHeaderSize:]
		w.dealing = msg
	}
	for i := range r.Participants {
		r.Participants[i].Dealt = true
	}
	r.Phase = types.DKG_PHASE_COMPLAINT
	g, err := r.DKG("fuzz")
	if err != nil {
		return nil, err
	}
	var d coconut.Dealing
	if err := d.UnmarshalBinary(w.dealings[0]); err != nil {
		return nil, err
	}
	c, err := g.Complain(rand.Reader, &d, 2, w.keys[1])
	if err != nil {
		return nil, err
	}
	if w.complaints, err = types.EncodeDKGComplaints(7, []*coconut.Complaint{c}); err != nil {
		return nil, err
	}
	r.Phase = types.DKG_PHASE_KEY_SHARE
	if w.keyShare, err = types.DKGMessageFor(rand.Reader, "fuzz", &r, w.dealings, w.keys[0], 0); err != nil {
		return nil, err
	}
	r.Phase = types.DKG_PHASE_COMPLAINT
	w.round = r
	return w, nil
})

func getDKGWorld(tb testing.TB) *dkgWorld {
	tb.Helper()
	w, err := dkgWorldOnce()
	if err != nil {
		tb.Fatal(err)
	}
	return w
}

// FuzzDecodeDKGMessage: a DKG message decodes or is refused without a panic,
// within its bound, and what decodes re-encodes to the same bytes.
func FuzzDecodeDKGMessage(f *testing.F) {
	w := getDKGWorld(f)
	seeds(f, w.registration, w.dealing, w.complaints, w.keyShare)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := types.DecodeDKGMessage(data)
		if err != nil {
			return
		}
		if len(data) > types.MaxDKGMessageSize {
			t.Fatalf("decoded %d bytes, above the bound", len(data))
		}
		var body []byte
		switch m.Kind {
		case types.DKGRegistration:
			body, err = m.PublicKey.MarshalBinary()
		case types.DKGDealing:
			body, err = m.Dealing.MarshalBinary()
		case types.DKGComplaints:
			var enc []byte
			enc, err = types.EncodeDKGComplaints(m.RoundID, m.Complaints)
			body = enc[types.DKGHeaderSize:]
		case types.DKGKeyShare:
			body, err = m.KeyShare.MarshalBinary()
		default:
			t.Fatalf("decoded unknown kind %d", m.Kind)
		}
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(types.EncodeDKGMessage(m.Kind, m.RoundID, body), data) {
			t.Fatalf("%s does not re-encode to its bytes", m.Kind)
		}
	})
}

// FuzzDKGGenesis: the DKG's genesis decodes and validates, or is refused,
// without a panic.
func FuzzDKGGenesis(f *testing.F) {
	w := getDKGWorld(f)
	g := types.DKGGenesis{Params: types.DefaultDKGParams(), Round: &w.round}
	for pos, d := range w.dealings {
		g.Dealings = append(g.Dealings, types.DKGMessageRecord{RoundId: 7, Position: pos, Data: d})
	}
	if err := g.Validate(); err != nil {
		f.Fatal(err)
	}
	bz, err := g.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	seeds(f, bz)
	f.Fuzz(func(t *testing.T, data []byte) {
		var g types.DKGGenesis
		if err := g.Unmarshal(data); err != nil {
			return
		}
		_ = g.Validate()
	})
}
