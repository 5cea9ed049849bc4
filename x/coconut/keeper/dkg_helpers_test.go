package keeper_test

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"

	"github.com/stretchr/testify/require"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// dkgValidator is a validator's side of the DKG: its consensus address and
// its secret DKG key.
type dkgValidator struct {
	addr []byte
	key  *coconut.ParticipantKey
}

// dkgNet is n validators of equal power, in the round's (address) order.
type dkgNet struct {
	f  *fixture
	vs []dkgValidator
	// skip[kind][position] keeps a validator from sending a kind of message.
	skip map[types.DKGMessageKind]map[int]bool
	// alter, if set, changes a message before it is sent.
	alter func(kind types.DKGMessageKind, position int, msg []byte) []byte
}

const dkgBlocksPerPhase = 3

func newDKGNet(f *fixture, n int) *dkgNet {
	f.t.Helper()
	p := types.DKGParams{BlocksPerPhase: dkgBlocksPerPhase, SetChangePercent: 30}
	require.NoError(f.t, f.k.DKG.Params.Set(f.ctx, p))
	net := &dkgNet{f: f, skip: map[types.DKGMessageKind]map[int]bool{}}
	for i := range n {
		// Addresses in increasing order, so position i is validator i.
		h := sha256.Sum256(fmt.Appendf(nil, "validator %d", i))
		addr := append([]byte{byte(i)}, h[:types.ConsensusAddressSize-1]...)
		key, err := coconut.NewParticipantKey(rand.Reader)
		require.NoError(f.t, err)
		net.vs = append(net.vs, dkgValidator{addr: addr, key: key})
	}
	return net
}

func (net *dkgNet) validators() []types.DKGValidator {
	out := make([]types.DKGValidator, len(net.vs))
	for i, v := range net.vs {
		out[i] = types.DKGValidator{ConsensusAddress: v.addr, VotingPower: 10}
	}
	return out
}

func (net *dkgNet) skipping(kind types.DKGMessageKind, positions ...int) {
	if net.skip[kind] == nil {
		net.skip[kind] = map[int]bool{}
	}
	for _, p := range positions {
		net.skip[kind][p] = true
	}
}

func (net *dkgNet) round() types.DKGRound {
	net.f.t.Helper()
	r, found, err := net.f.k.CurrentDKGRound(net.f.ctx)
	require.NoError(net.f.t, err)
	require.True(net.f.t, found)
	return r
}

func (net *dkgNet) dealings() map[uint32][]byte {
	r := net.round()
	d, err := net.f.k.RoundDealings(net.f.ctx, r.RoundId)
	require.NoError(net.f.t, err)
	return d
}

// start starts a round through the keeper at the current height.
func (net *dkgNet) start() types.DKGRound {
	net.f.t.Helper()
	r, err := net.f.k.StartDKGRound(net.f.ctx, net.validators())
	require.NoError(net.f.t, err)
	net.f.ctx = net.f.ctx.WithBlockHeight(r.StartHeight)
	return r
}

// message is what validator position sends now, after alter.
func (net *dkgNet) message(position int) []byte {
	net.f.t.Helper()
	r := net.round()
	kind := phaseKind(r.Phase)
	if net.skip[kind][position] {
		return nil
	}
	msg, err := types.DKGMessageFor(rand.Reader, testChainID, &r, net.dealings(), net.vs[position].key, position)
	require.NoError(net.f.t, err)
	if msg != nil && net.alter != nil {
		msg = net.alter(kind, position, msg)
	}
	return msg
}

func phaseKind(p types.DKGPhase) types.DKGMessageKind {
	return types.DKGMessageKind(p - types.DKG_PHASE_REGISTRATION + 1)
}

// phase plays the current phase: every validator sends what DKGMessageFor
// gives it (each accepted), then the chain moves to the phase's last height
// and runs the DKG's EndBlock. It returns the round after the EndBlock.
func (net *dkgNet) phase() types.DKGRound {
	net.f.t.Helper()
	for i := range net.vs {
		if msg := net.message(i); msg != nil {
			require.NoError(net.f.t, net.f.k.ProcessDKGMessage(net.f.ctx, net.vs[i].addr, msg), "validator %d", i)
		}
	}
	return net.endPhase()
}

func (net *dkgNet) endPhase() types.DKGRound {
	net.f.t.Helper()
	r := net.round()
	net.f.ctx = net.f.ctx.WithBlockHeight(r.PhaseEnd())
	require.NoError(net.f.t, net.f.k.DKGEndBlocker(net.f.ctx, net.validators()))
	net.f.ctx = net.f.ctx.WithBlockHeight(r.PhaseEnd() + 1)
	return net.round()
}

// run plays phases until the round ends.
func (net *dkgNet) run() types.DKGRound {
	net.f.t.Helper()
	r := net.round()
	for r.InProgress() {
		r = net.phase()
	}
	return r
}

// secretKeys derives every key share holder's secret key, in index order.
func (net *dkgNet) secretKeys() []*coconut.SecretKey {
	net.f.t.Helper()
	r := net.round()
	dealings := net.dealings()
	out := make([]*coconut.SecretKey, r.Registered())
	for pos, p := range r.Participants {
		if p.Index == 0 {
			continue
		}
		sk, err := types.DKGSecretKey(testChainID, &r, dealings, net.vs[pos].key, pos)
		require.NoError(net.f.t, err)
		out[p.Index-1] = sk
	}
	return out
}

// requireIssuesUnder requests a credential by tx under the current key (the
// DKG's), has the first threshold key shares sign it blind, checks the
// aggregate against the master key on chain and redeems it with a spend.
func (net *dkgNet) requireIssuesUnder(keyID uint64) {
	f := net.f
	f.t.Helper()
	cur, err := f.k.CurrentKeyID.Get(f.ctx)
	require.NoError(f.t, err)
	require.Equal(f.t, keyID, cur)
	ks, err := f.k.KeySets.Get(f.ctx, keyID)
	require.NoError(f.t, err)
	sks := net.secretKeys()
	sender := f.account(fmt.Sprintf("dkg client %d", keyID), testDeposit)
	msg, c := f.requestMsg(sender, testDeposit)
	resp, err := f.msg.RequestCredential(f.ctx, msg)
	require.NoError(f.t, err)
	req, err := f.k.Requests.Get(f.ctx, resp.RequestId)
	require.NoError(f.t, err)
	require.Equal(f.t, keyID, req.KeyId)

	cred := f.issue(sks, int(ks.Threshold), c)
	master, err := types.DecodeVerificationKey(ks.MasterKey, false)
	require.NoError(f.t, err)
	require.NoError(f.t, coconut.VerifySignature(types.CredentialParams(), master, cred, c.voucher.Attributes()))
	// Each on-chain partial key is the one of the derived share.
	for _, pk := range ks.PartialKeys {
		want, err := sks[pk.SignerIndex-1].VerificationKey().MarshalBinary()
		require.NoError(f.t, err)
		require.Equal(f.t, want, pk.VerificationKey, "partial key %d", pk.SignerIndex)
	}
	op := f.account("dkg operator", 0)
	_, err = f.msg.SpendCredentials(f.ctx, &types.MsgSpendCredentials{Operator: f.addr(op), Entries: []types.SpendEntry{f.show(sks, cred, c, op, "dkg")}})
	require.NoError(f.t, err)
}
