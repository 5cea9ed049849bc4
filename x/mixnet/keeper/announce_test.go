package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

// announceMsg is node n's announcement of key, signed by its identity key in epoch,
// submitted by sender.
func (f *fixture) announceMsg(n testNode, sender string, key []byte, epoch uint64) *types.MsgAnnounceSphinxKey {
	m := &types.MsgAnnounceSphinxKey{Sender: sender, NodeId: n.id, NextSphinxKey: key, EpochId: epoch}
	m.Signature = types.SignAnnounceSphinxKey(n.key, m.AnnouncePayload(testChainID))
	return m
}

func (f *fixture) epochID() uint64 {
	f.t.Helper()
	e, err := f.k.Epoch.Get(f.ctx)
	require.NoError(f.t, err)
	return e.EpochId
}

func TestAnnounceSphinxKey(t *testing.T) {
	f := newFixture(t, 0)
	n := f.bond(1, 5_000)
	// Any account may submit the announcement: here one that owns no node.
	sender := f.addr(f.account("relayer", 0))
	next := sphinxKey(1, 1)
	f.ctx = f.ctx.WithEventManager(sdk.NewEventManager())
	_, err := f.msg.AnnounceSphinxKey(f.ctx, f.announceMsg(n, sender, next, f.epochID()))
	require.NoError(t, err)
	node, err := f.k.Nodes.Get(f.ctx, n.id)
	require.NoError(t, err)
	require.Equal(t, next, node.NextSphinxKey)
	require.Equal(t, sphinxKey(1, 0), node.SphinxKey)
	evs := f.ctx.EventManager().Events()
	require.Len(t, evs, 1)
	require.Equal(t, "nyx.mixnet.v1.EventNodeConfigUpdated", evs[0].Type)

	// The existing mechanism switches the key at the boundary.
	f.nextEpoch()
	node, _ = f.k.Nodes.Get(f.ctx, n.id)
	require.Equal(t, next, node.SphinxKey)
	require.Empty(t, node.NextSphinxKey)

	// An announcement signed in the epoch just ended still counts.
	next2 := sphinxKey(1, 2)
	_, err = f.msg.AnnounceSphinxKey(f.ctx, f.announceMsg(n, sender, next2, f.epochID()-1))
	require.NoError(t, err)
	node, _ = f.k.Nodes.Get(f.ctx, n.id)
	require.Equal(t, next2, node.NextSphinxKey)

	// A different key replaces an announced one.
	next3 := sphinxKey(1, 3)
	_, err = f.msg.AnnounceSphinxKey(f.ctx, f.announceMsg(n, sender, next3, f.epochID()))
	require.NoError(t, err)
	node, _ = f.k.Nodes.Get(f.ctx, n.id)
	require.Equal(t, next3, node.NextSphinxKey)
}

func TestAnnounceSphinxKeyRejects(t *testing.T) {
	f := newFixture(t, 0)
	n := f.bond(1, 5_000)
	other := f.bond(2, 5_000)
	f.nextEpoch()
	f.nextEpoch() // epoch 2, so epoch 0 is too old
	sender := f.addr(f.account("relayer", 0))
	announced := sphinxKey(1, 1)
	_, err := f.msg.AnnounceSphinxKey(f.ctx, f.announceMsg(n, sender, announced, f.epochID()))
	require.NoError(t, err)
	cur := f.epochID()
	require.Equal(t, uint64(2), cur)

	tests := []struct {
		name   string
		mutate func(*types.MsgAnnounceSphinxKey)
		err    error
	}{
		{"no sender", func(m *types.MsgAnnounceSphinxKey) { m.Sender = "" }, types.ErrInvalidAddress},
		{"bad sender", func(m *types.MsgAnnounceSphinxKey) { m.Sender = "cosmos1xyz" }, types.ErrInvalidAddress},
		{"unknown node", func(m *types.MsgAnnounceSphinxKey) {
			m.NodeId = 99
			m.Signature = types.SignAnnounceSphinxKey(n.key, m.AnnouncePayload(testChainID))
		}, types.ErrNodeNotFound},
		{"node id zero", func(m *types.MsgAnnounceSphinxKey) { m.NodeId = 0 }, types.ErrNodeNotFound},
		{"bad signature", func(m *types.MsgAnnounceSphinxKey) { m.Signature[0] ^= 1 }, types.ErrInvalidSignature},
		{"short signature", func(m *types.MsgAnnounceSphinxKey) { m.Signature = m.Signature[:63] }, types.ErrInvalidSignature},
		{"signed by another node's key", func(m *types.MsgAnnounceSphinxKey) {
			m.Signature = types.SignAnnounceSphinxKey(other.key, m.AnnouncePayload(testChainID))
		}, types.ErrInvalidSignature},
		{"signed for another node", func(m *types.MsgAnnounceSphinxKey) {
			// other's own signature, submitted for n.
			p := m.AnnouncePayload(testChainID)
			p.NodeID = other.id
			m.Signature = types.SignAnnounceSphinxKey(other.key, p)
		}, types.ErrInvalidSignature},
		{"signed for another chain", func(m *types.MsgAnnounceSphinxKey) {
			m.Signature = types.SignAnnounceSphinxKey(n.key, m.AnnouncePayload("other-chain"))
		}, types.ErrInvalidSignature},
		{"signed for another epoch", func(m *types.MsgAnnounceSphinxKey) { m.EpochId = cur - 1 }, types.ErrInvalidSignature},
		{"a bond signature", func(m *types.MsgAnnounceSphinxKey) {
			b := f.bondMsg(1, n.owner, 5_000)
			m.Signature = types.SignBond(n.key, b.BondPayload(testChainID, 0))
		}, types.ErrInvalidSignature},
		{"epoch too old", func(m *types.MsgAnnounceSphinxKey) {
			m.EpochId = cur - 2
			m.Signature = types.SignAnnounceSphinxKey(n.key, m.AnnouncePayload(testChainID))
		}, types.ErrStaleAnnouncement},
		{"epoch in the future", func(m *types.MsgAnnounceSphinxKey) {
			m.EpochId = cur + 1
			m.Signature = types.SignAnnounceSphinxKey(n.key, m.AnnouncePayload(testChainID))
		}, types.ErrStaleAnnouncement},
		{"short key", func(m *types.MsgAnnounceSphinxKey) { m.NextSphinxKey = m.NextSphinxKey[:31] }, types.ErrInvalidKey},
		{"zero key", func(m *types.MsgAnnounceSphinxKey) {
			m.NextSphinxKey = make([]byte, 32)
			m.Signature = types.SignAnnounceSphinxKey(n.key, m.AnnouncePayload(testChainID))
		}, types.ErrInvalidKey},
		{"the current key", func(m *types.MsgAnnounceSphinxKey) {
			m.NextSphinxKey = sphinxKey(1, 0)
			m.Signature = types.SignAnnounceSphinxKey(n.key, m.AnnouncePayload(testChainID))
		}, types.ErrInvalidKey},
		{"already announced", func(m *types.MsgAnnounceSphinxKey) {
			m.NextSphinxKey = announced
			m.Signature = types.SignAnnounceSphinxKey(n.key, m.AnnouncePayload(testChainID))
		}, types.ErrKeyAlreadyAnnounced},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := f.announceMsg(n, sender, sphinxKey(1, 9), cur)
			tc.mutate(m)
			before := f.storeDump()
			ctx := f.ctx.WithEventManager(sdk.NewEventManager())
			_, err := f.msg.AnnounceSphinxKey(ctx, m)
			require.ErrorIs(t, err, tc.err)
			require.Equal(t, before, f.storeDump())
			require.Empty(t, ctx.EventManager().Events())
		})
	}

	// An unbonding node cannot announce.
	_, err = f.msg.UnbondNode(f.ctx, &types.MsgUnbondNode{Owner: f.addr(other.owner)})
	require.NoError(t, err)
	before := f.storeDump()
	_, err = f.msg.AnnounceSphinxKey(f.ctx, f.announceMsg(other, sender, sphinxKey(2, 1), cur))
	require.ErrorIs(t, err, types.ErrNodeUnbonding)
	require.Equal(t, before, f.storeDump())
}
