package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// verifiedSpend is one entry of a batch that passed every check.
type verifiedSpend struct {
	record types.SpentCredential
	payout math.Int
}

// SpendCredentials verifies every entry of a batch, then records the spend tags
// and pays the operator the sum of the credentials' deposits. Nothing is written
// unless every entry is valid, so a bad entry fails the whole batch and changes
// nothing.
func (k Keeper) SpendCredentials(ctx context.Context, msg *types.MsgSpendCredentials) (sdk.Coin, error) {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	operator, err := k.parseAddress("operator", msg.Operator)
	if err != nil {
		return sdk.Coin{}, err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return sdk.Coin{}, err
	}
	if len(msg.Entries) == 0 {
		return sdk.Coin{}, errorsmod.Wrap(types.ErrInvalidSpend, "no entries")
	}
	if len(msg.Entries) > int(params.MaxSpendsPerTx) {
		return sdk.Coin{}, errorsmod.Wrapf(types.ErrTooManySpends, "%d entries, at most %d", len(msg.Entries), params.MaxSpendsPerTx)
	}
	keys, err := k.verifyingKeys(ctx, params)
	if err != nil {
		return sdk.Coin{}, err
	}

	height := sdkCtx.BlockHeight()
	seen := make(map[coconut.SpendTag]bool, len(msg.Entries))
	spends := make([]verifiedSpend, 0, len(msg.Entries))
	total := math.ZeroInt()
	for i, e := range msg.Entries {
		s, err := k.verifySpend(sdkCtx, keys, msg.Operator, e, seen)
		if err != nil {
			return sdk.Coin{}, errorsmod.Wrapf(err, "entry %d", i)
		}
		s.record.Height = height
		spends = append(spends, s)
		total = total.Add(s.payout)
	}

	paid := sdk.NewCoin(types.Denom, total)
	if total.IsPositive() {
		if err := k.bankKeeper.SendCoinsFromModuleToAccount(ctx, types.ModuleName, operator, sdk.NewCoins(paid)); err != nil {
			return sdk.Coin{}, errorsmod.Wrap(err, "pay the operator")
		}
	}
	// One count per key a batch spent under, not per entry.
	deltas := map[uint64]*types.CredentialStats{}
	var keyIDs []uint64
	for _, s := range spends {
		if err := k.Spent.Set(ctx, s.record.Tag, s.record); err != nil {
			return sdk.Coin{}, err
		}
		d := deltas[s.record.KeyId]
		if d == nil {
			nd := types.NewCredentialStats(s.record.KeyId)
			d = &nd
			deltas[s.record.KeyId] = d
			keyIDs = append(keyIDs, s.record.KeyId)
		}
		d.Spent++
		d.Paid = d.Paid.Add(s.record.Paid.Amount)
	}
	for _, id := range keyIDs {
		if err := k.count(ctx, id, *deltas[id]); err != nil {
			return sdk.Coin{}, err
		}
	}
	for _, s := range spends {
		if err := sdkCtx.EventManager().EmitTypedEvent(&types.EventCredentialSpent{
			Tag: s.record.Tag, GatewayOperator: msg.Operator, GatewayIdentity: s.record.GatewayIdentity,
			Value: s.record.Value, Paid: s.record.Paid, KeyId: s.record.KeyId,
		}); err != nil {
			return sdk.Coin{}, err
		}
	}
	return paid, nil
}

// verifyingKeys returns the key sets spends verify under now, current first.
func (k Keeper) verifyingKeys(ctx context.Context, params types.Params) ([]types.KeySet, error) {
	cur, err := k.CurrentKeyID.Get(ctx)
	if err != nil {
		return nil, err
	}
	if cur == 0 {
		return nil, errorsmod.Wrap(types.ErrNoKey, "no issuing key has formed yet")
	}
	height := sdk.UnwrapSDKContext(ctx).BlockHeight()
	var out []types.KeySet
	rng := new(collections.Range[uint64]).EndInclusive(cur).Descending()
	err = k.KeySets.Walk(ctx, rng, func(_ uint64, ks types.KeySet) (bool, error) {
		if !verifies(ks, height, params.KeyGraceBlocks) {
			// Keys retire in id order: every older key retired earlier still.
			return true, nil
		}
		out = append(out, ks)
		return false, nil
	})
	return out, err
}

// verifySpend checks one entry: its encoding, that its tag is new in the batch and
// on chain, the show under the current key (or a key within its grace period),
// bound to this chain, operator, gateway and nonce, and its credential type.
func (k Keeper) verifySpend(ctx sdk.Context, keys []types.KeySet, operator string, e types.SpendEntry, seen map[coconut.SpendTag]bool) (verifiedSpend, error) {
	if len(e.GatewayIdentity) != types.GatewayIdentitySize || len(e.Nonce) > types.MaxNonceSize {
		return verifiedSpend{}, errorsmod.Wrap(types.ErrInvalidSpend, "gateway identity or nonce of the wrong size")
	}
	th, err := types.DecodeTheta(e.Theta)
	if err != nil {
		return verifiedSpend{}, err
	}
	tag, _, _ := th.SpendTag()
	if seen[tag] {
		return verifiedSpend{}, errorsmod.Wrapf(types.ErrAlreadySpent, "tag %x appears twice in the batch", tag[:8])
	}
	seen[tag] = true
	if ok, err := k.Spent.Has(ctx, tag[:]); err != nil {
		return verifiedSpend{}, err
	} else if ok {
		return verifiedSpend{}, errorsmod.Wrapf(types.ErrAlreadySpent, "tag %x", tag[:8])
	}

	sctx := types.SpendContext(ctx.ChainID(), operator, e.GatewayIdentity, e.Nonce)
	var (
		spent   *coconut.SpentBandwidth
		keyID   uint64
		lastErr error
	)
	for _, ks := range keys {
		pk, err := k.keys.prepared(ks)
		if err != nil {
			return verifiedSpend{}, err
		}
		ctx.GasMeter().ConsumeGas(types.SpendVerifyGas, "coconut: verify credential")
		s, err := coconut.VerifyBandwidth(types.CredentialParams(), pk, th, sctx)
		if err == nil {
			spent, keyID = s, ks.KeyId
			break
		}
		lastErr = err
	}
	if spent == nil {
		return verifiedSpend{}, errorsmod.Wrapf(types.ErrCredentialInvalid,
			"the show verifies under no current key for this chain, operator, gateway and nonce: %v", lastErr)
	}
	typeAttr := spent.Type.Bytes()
	ct, err := k.CredentialTypes.Get(ctx, typeAttr[:])
	if errors.Is(err, collections.ErrNotFound) {
		return verifiedSpend{}, errorsmod.Wrap(types.ErrUnknownType, "the credential's type was never issued")
	} else if err != nil {
		return verifiedSpend{}, err
	}
	payout := depositValue(spent.Value, ct.BytesPerUnym)
	return verifiedSpend{
		record: types.SpentCredential{
			Tag: tag[:], KeyId: keyID, GatewayOperator: operator, GatewayIdentity: e.GatewayIdentity,
			Value: spent.Value, Paid: sdk.NewCoin(types.Denom, payout),
		},
		payout: payout,
	}, nil
}
