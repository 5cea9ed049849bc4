package keeper_test

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// Every kind of malformed or misplaced DKG message is refused with an error
// and leaves the module's whole state (the round, its messages, the keys) as
// it was; the round then completes with the honest messages.
func TestDKGRefusesMalformed(t *testing.T) {
	f := newFixture(t)
	net := newDKGNet(f, 4)
	r := net.start()
	id := r.RoundId
	stranger := bytes.Repeat([]byte{0xee}, types.ConsensusAddressSize)
	v := func(i int) []byte { return net.vs[i].addr }
	refuse := func(name string, from, bz []byte) {
		t.Helper()
		before := f.snapshot()
		err := f.k.ProcessDKGMessage(f.ctx, from, bz)
		t.Logf("%s: %v", name, err)
		require.Error(t, err, name)
		f.requireUnchanged(before)
	}
	pk := func(i int) []byte {
		bz, err := net.vs[i].key.Public().MarshalBinary()
		require.NoError(t, err)
		return bz
	}
	reg0 := types.EncodeDKGMessage(types.DKGRegistration, id, pk(0))

	// Registration phase.
	refuse("empty", v(0), nil)
	refuse("short header", v(0), reg0[:8])
	refuse("unknown kind", v(0), append([]byte{9}, reg0[1:]...))
	refuse("round id 0", v(0), types.EncodeDKGMessage(types.DKGRegistration, 0, pk(0)))
	refuse("another round", v(0), types.EncodeDKGMessage(types.DKGRegistration, id+1, pk(0)))
	refuse("oversized", v(0), append([]byte{byte(types.DKGDealing)}, make([]byte, types.MaxDKGMessageSize)...))
	refuse("registration truncated", v(0), reg0[:len(reg0)-1])
	refuse("registration too long", v(0), append(append([]byte(nil), reg0...), 0))
	refuse("registration not a valid point", v(0), types.EncodeDKGMessage(types.DKGRegistration, id, bytes.Repeat([]byte{0xff}, coconut.G1Size)))
	refuse("not a participant", stranger, reg0)
	require.NoError(t, f.k.ProcessDKGMessage(f.ctx, v(0), reg0))
	refuse("second registration", v(0), types.EncodeDKGMessage(types.DKGRegistration, id, pk(1)))
	refuse("another participant's DKG key", v(1), reg0)
	r = net.phase()
	require.Equal(t, types.DKG_PHASE_DEALING, r.Phase)

	// Dealing phase.
	refuse("registration after its phase", v(0), reg0)
	g, err := r.DKG(testChainID)
	require.NoError(t, err)
	deal := func(dealer int) []byte {
		d, err := g.Deal(rand.Reader, dealer)
		require.NoError(t, err)
		bz, err := d.MarshalBinary()
		require.NoError(t, err)
		return types.EncodeDKGMessage(types.DKGDealing, id, bz)
	}
	good := deal(1)
	refuse("dealing as another dealer", v(0), deal(2))
	refuse("dealing truncated", v(0), good[:len(good)-1])
	refuse("dealing with a trailing byte", v(0), append(append([]byte(nil), good...), 0))
	other := *g
	other.Threshold = 2
	od, err := other.Deal(rand.Reader, 1)
	require.NoError(t, err)
	obz, err := od.MarshalBinary()
	require.NoError(t, err)
	refuse("dealing for another threshold", v(0), types.EncodeDKGMessage(types.DKGDealing, id, obz))
	badPoint := append([]byte(nil), good...)
	copy(badPoint[types.DKGHeaderSize+8+coconut.G1Size:], bytes.Repeat([]byte{0xff}, coconut.G2Size))
	refuse("dealing with a commitment not a valid point", v(0), badPoint)
	badHeader := append([]byte(nil), good...)
	binary.BigEndian.PutUint16(badHeader[types.DKGHeaderSize+4:], 5) // n
	refuse("dealing with another participant count", v(0), badHeader)
	refuse("dealing by a stranger", stranger, good)
	require.NoError(t, f.k.ProcessDKGMessage(f.ctx, v(0), good))
	refuse("second dealing", v(0), deal(1))
	r = net.phase()
	require.Equal(t, types.DKG_PHASE_COMPLAINT, r.Phase)

	// Complaint phase: every dealing is honest, so every complaint is false.
	g, err = r.DKG(testChainID)
	require.NoError(t, err)
	ds, err := types.QualifiedDealings(&r, net.dealings())
	require.NoError(t, err)
	complain := func(dealer, complainer int) *coconut.Complaint {
		c, err := g.Complain(rand.Reader, ds[dealer-1], complainer, net.vs[complainer-1].key)
		require.NoError(t, err)
		return c
	}
	msg := func(cs ...*coconut.Complaint) []byte {
		bz, err := types.EncodeDKGComplaints(id, cs)
		require.NoError(t, err)
		return bz
	}
	refuse("false complaint", v(2), msg(complain(1, 3)))
	refuse("false complaint among others", v(2), msg(complain(1, 3), complain(2, 3)))
	refuse("complaint as another participant", v(0), msg(complain(1, 3)))
	forged := msg(complain(1, 3))
	forged[len(forged)-1] ^= 1 // the proof's response
	refuse("forged complaint", v(2), forged)
	refuse("no complaints", v(2), types.EncodeDKGMessage(types.DKGComplaints, id, []byte{0, 0}))
	short := msg(complain(1, 3))
	binary.BigEndian.PutUint16(short[types.DKGHeaderSize:], 2)
	refuse("count above the complaints", v(2), short)
	refuse("two complaints against one dealer", v(2), msg(complain(1, 3), complain(1, 3)))
	nodealer := msg(complain(1, 3))
	binary.BigEndian.PutUint16(nodealer[types.DKGHeaderSize+2:], 9)
	refuse("complaint against no dealer", v(2), nodealer)
	r = net.phase()
	require.Equal(t, types.DKG_PHASE_KEY_SHARE, r.Phase)
	require.Equal(t, []int{0, 1, 2, 3}, r.Qualified())

	// Key share phase.
	share := func(pos int) []byte {
		sk, err := types.DKGSecretKey(testChainID, &r, net.dealings(), net.vs[pos].key, pos)
		require.NoError(t, err)
		bz, err := sk.VerificationKey().MarshalBinary()
		require.NoError(t, err)
		return bz
	}
	refuse("another participant's key share", v(0), types.EncodeDKGMessage(types.DKGKeyShare, id, share(1)))
	refuse("key share without its G1 half", v(0), types.EncodeDKGMessage(types.DKGKeyShare, id, share(0)[:types.KeySizeG2]))
	sks, err := coconut.TTPKeyGen(rand.Reader, types.CredentialParams(), 1, 1)
	require.NoError(t, err)
	foreign, err := sks[0].VerificationKey().MarshalBinary()
	require.NoError(t, err)
	refuse("foreign key share", v(0), types.EncodeDKGMessage(types.DKGKeyShare, id, foreign))
	mixed := share(0)
	copy(mixed[len(mixed)-coconut.G1Size:], foreign[len(foreign)-coconut.G1Size:])
	refuse("key share with a G1 half of another key", v(0), types.EncodeDKGMessage(types.DKGKeyShare, id, mixed))
	require.NoError(t, f.k.ProcessDKGMessage(f.ctx, v(0), types.EncodeDKGMessage(types.DKGKeyShare, id, share(0))))
	refuse("second key share", v(0), types.EncodeDKGMessage(types.DKGKeyShare, id, share(0)))

	r = net.phase()
	require.Equal(t, types.DKG_PHASE_COMPLETED, r.Phase)
	refuse("message after the round", v(0), types.EncodeDKGMessage(types.DKGKeyShare, id, share(0)))
	net.requireIssuesUnder(id)
}
