package keeper

import (
	"context"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// RequestCredential checks a credential request, takes its deposit into the
// module account and records it for the issuers. The value is derived from the
// deposit and must be the value attribute the client's request commits to; the
// request's proof is verified here, so a bad request fails the tx before any
// issuer works on it. Nothing is written unless every check passes.
func (k Keeper) RequestCredential(ctx context.Context, msg *types.MsgRequestCredential) (uint64, error) {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	sender, err := k.parseAddress("sender", msg.Sender)
	if err != nil {
		return 0, err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return 0, err
	}
	d := msg.Deposit
	if d.Denom != types.Denom || d.Amount.IsNil() || d.Amount.LT(params.MinDeposit.Amount) || d.Amount.GT(params.MaxDeposit.Amount) {
		return 0, errorsmod.Wrapf(types.ErrInvalidDeposit, "deposit %s is not in %s..%s", d, params.MinDeposit, params.MaxDeposit)
	}
	keyID, err := k.CurrentKeyID.Get(ctx)
	if err != nil {
		return 0, err
	}
	if keyID == 0 {
		return 0, errorsmod.Wrap(types.ErrNoKey, "no issuing key has formed yet")
	}

	// Params.Validate bounds max_deposit x bytes_per_unym to 64 bits.
	value := d.Amount.Uint64() * params.BytesPerUnym
	ct := params.CurrentCredentialType()
	if msg.Value != value {
		return 0, errorsmod.Wrapf(types.ErrValueMismatch, "value %d, but a deposit of %s is worth %d", msg.Value, d, value)
	}
	if msg.CredentialType != ct.Name {
		return 0, errorsmod.Wrapf(types.ErrValueMismatch, "credential type %q, want %q", msg.CredentialType, ct.Name)
	}
	req, reqValue, reqType, err := types.DecodeRequest(msg.BlindSignRequest)
	if err != nil {
		return 0, err
	}
	if reqValue != value || reqType != types.TypeAttribute(ct.Name) {
		return 0, errorsmod.Wrapf(types.ErrValueMismatch, "the request's public attributes are not (value %d, type %q)", value, ct.Name)
	}
	sdkCtx.GasMeter().ConsumeGas(types.RequestVerifyGas, "coconut: verify credential request")
	if err := req.Verify(types.CredentialParams()); err != nil {
		return 0, errorsmod.Wrapf(types.ErrInvalidRequest, "%v", err)
	}

	if err := k.bankKeeper.SendCoinsFromAccountToModule(ctx, sender, types.ModuleName, sdk.NewCoins(d)); err != nil {
		return 0, errorsmod.Wrap(err, "take the deposit")
	}
	id, err := k.NextRequestID.Next(ctx)
	if err != nil {
		return 0, err
	}
	height := sdkCtx.BlockHeight()
	r := types.CredentialRequest{
		Id: id, Sender: msg.Sender, BlindSignRequest: msg.BlindSignRequest, Value: value,
		CredentialType: ct.Name, Deposit: d, KeyId: keyID, Height: height, Status: types.REQUEST_STATUS_PENDING,
	}
	if err := k.Requests.Set(ctx, id, r); err != nil {
		return 0, err
	}
	if err := k.PendingRequests.Set(ctx, id); err != nil {
		return 0, err
	}
	if err := k.RequestExpiry.Set(ctx, expiryKey(r, params)); err != nil {
		return 0, err
	}
	delta := types.NewCredentialStats(keyID)
	delta.Requested, delta.Deposited = 1, d.Amount
	if err := k.count(ctx, keyID, delta); err != nil {
		return 0, err
	}
	return id, sdkCtx.EventManager().EmitTypedEvent(&types.EventCredentialRequested{
		RequestId: id, Sender: msg.Sender, Value: value, Deposit: d, KeyId: keyID,
	})
}

// expiryKey is when a request is pruned: retention blocks after it was made.
func expiryKey(r types.CredentialRequest, p types.Params) collections.Pair[int64, uint64] {
	return collections.Join(r.Height+int64(p.RequestRetentionBlocks), r.Id)
}

// depositValue is the deposit a credential of value is worth at rate bytesPerUnym.
func depositValue(value, bytesPerUnym uint64) math.Int {
	return math.NewIntFromUint64(value / bytesPerUnym)
}
