package keeper

import (
	"crypto/rand"
	"fmt"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// dkgSide is the validator's own part in the DKG, held by VoteExtensions
// under its mutex.
type dkgSide struct {
	keyPath string
	loaded  bool
	key     *types.DKGKey
	// step and msg are the message for one (round, phase): DKGMessageFor
	// decrypts and checks every dealing in the later phases, too costly to
	// redo at every height until the message is recorded. nil msg: nothing
	// to send in that step.
	step    [2]uint64
	cached  bool
	msg     []byte
	derived map[uint64]bool // key ids whose share was derived (or tried)
}

// dkgKey returns the validator's DKG key, or nil (logged once).
func (v *VoteExtensions) dkgKey() *types.DKGKey {
	if !v.dkg.loaded {
		v.dkg.loaded = true
		key, err := types.LoadDKGKey(v.dkg.keyPath)
		if err != nil {
			v.logOnce("no coconut DKG key: this validator takes no part in the DKG", err)
		}
		v.dkg.key = key
	}
	return v.dkg.key
}

// dkgSent reports whether the participant at pos has nothing (more) to send
// in r's phase: its message is recorded, or it did not register in time.
func dkgSent(r *types.DKGRound, pos int) bool {
	me := &r.Participants[pos]
	switch r.Phase {
	case types.DKG_PHASE_REGISTRATION:
		return len(me.PublicKey) != 0
	case types.DKG_PHASE_DEALING:
		return me.Index == 0 || me.Dealt
	case types.DKG_PHASE_COMPLAINT:
		return me.Index == 0 || me.Complained
	case types.DKG_PHASE_KEY_SHARE:
		return me.Index == 0 || me.KeyShared
	}
	return true
}

// dkgMessage returns the validator's DKG message for the extension of
// height (made on the state after height-1), or nil. At a phase's last
// height it sends nothing: the message would reach a block after the phase
// closed.
func (v *VoteExtensions) dkgMessage(ctx sdk.Context, height int64) []byte {
	v.mu.Lock()
	defer v.mu.Unlock()
	key := v.dkgKey()
	if key == nil {
		return nil
	}
	r, found, err := v.k.CurrentDKGRound(ctx)
	if err != nil || !found || !r.InProgress() || height >= r.PhaseEnd() {
		return nil
	}
	pos := r.Position(key.ConsensusAddress)
	if pos < 0 || dkgSent(&r, pos) {
		return nil
	}
	step := [2]uint64{r.RoundId, uint64(r.Phase)}
	if v.dkg.cached && v.dkg.step == step {
		return v.dkg.msg
	}
	var dealings map[uint32][]byte
	if r.Phase >= types.DKG_PHASE_COMPLAINT {
		if dealings, err = v.k.RoundDealings(ctx, r.RoundId); err != nil {
			return nil
		}
	}
	msg, err := types.DKGMessageFor(rand.Reader, ctx.ChainID(), &r, dealings, key.Key(), pos)
	if err != nil {
		v.logOnce(fmt.Sprintf("no DKG message for round %d's %s", r.RoundId, r.Phase), err)
	}
	v.dkg.step, v.dkg.cached, v.dkg.msg = step, true, msg
	return msg
}

// adoptDKGShare derives, once, the validator's share of the current key if
// the DKG round that activated it is the latest and the validator holds a
// share in it, and adds it to the key file (written atomically, 0600), which
// keeps the earlier shares whose keys still verify: requests under them may
// still be pending. A share of a key past its grace period is dropped.
// Called with v.mu held.
func (v *VoteExtensions) adoptDKGShare(ctx sdk.Context) {
	cur, err := v.k.CurrentKeyID.Get(ctx)
	if err != nil || v.dkg.derived[cur] || (v.keys != nil && v.keys.Get(cur) != nil) {
		return
	}
	r, found, err := v.k.CurrentDKGRound(ctx)
	if err != nil || !found || r.RoundId != cur || r.Phase != types.DKG_PHASE_COMPLETED {
		return
	}
	key := v.dkgKey()
	if key == nil {
		return
	}
	v.dkg.derived[cur] = true
	pos := r.Position(key.ConsensusAddress)
	if pos < 0 || r.Participants[pos].Index == 0 {
		return // not a holder of this key
	}
	dealings, err := v.k.RoundDealings(ctx, r.RoundId)
	if err != nil {
		v.logOnce("reading the DKG round's dealings", err)
		return
	}
	sk, err := types.DKGSecretKey(ctx.ChainID(), &r, dealings, key.Key(), pos)
	if err != nil {
		v.logOnce(fmt.Sprintf("deriving this validator's share of key %d", cur), err)
		return
	}
	share, err := types.NewIssuerKey(cur, r.Participants[pos].Index, key.ConsensusAddress, sk)
	if err == nil {
		var ks types.KeySet
		if ks, err = v.k.KeySets.Get(ctx, cur); err == nil {
			err = share.MatchKeySet(&ks)
		}
	}
	if err != nil {
		v.logOnce(fmt.Sprintf("this validator's share of key %d", cur), err)
		return
	}
	keys := v.liveKeys(ctx).With(share)
	if err := keys.Replace(v.keyPath); err != nil {
		// Still signs with it now; the share is derived again after a restart.
		v.logOnce("saving the DKG share to the issuer key file", err)
	}
	v.keys = keys
	v.logger.Info("holding a share of the DKG's key", "key_id", cur, "signer_index", share.SignerIndex)
}

// liveKeys returns the validator's shares of keys that still verify spends
// (current, or retired no more than key_grace_blocks ago). Called with v.mu
// held.
func (v *VoteExtensions) liveKeys(ctx sdk.Context) *types.IssuerKeys {
	out := &types.IssuerKeys{}
	if v.keys == nil {
		return out
	}
	p, err := v.k.Params.Get(ctx)
	if err != nil {
		return v.keys
	}
	for _, key := range v.keys.Keys {
		if ks, err := v.k.KeySets.Get(ctx, key.KeyID); err == nil && verifies(ks, ctx.BlockHeight(), p.KeyGraceBlocks) {
			out.Keys = append(out.Keys, key)
		}
	}
	return out
}
