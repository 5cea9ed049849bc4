package keeper

import (
	"context"
	"encoding/binary"
	"errors"

	"cosmossdk.io/collections"
	errorsmod "cosmossdk.io/errors"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// BeaconState is the epoch beacon's part of the keeper's state.
type BeaconState struct {
	// Beacons are the recorded beacons by x/mixnet epoch, the latest
	// types.BeaconsKept of them.
	Beacons collections.Map[uint64, types.Beacon]
	// Shares are the partial beacon signatures of the next epoch by (epoch,
	// signer index), until its beacon forms or the epoch starts without it.
	Shares collections.Map[collections.Pair[uint64, uint32], types.BeaconShare]
}

func newBeaconState(sb *collections.SchemaBuilder, cdc codec.BinaryCodec) BeaconState {
	return BeaconState{
		Beacons: collections.NewMap(sb, types.BeaconsKey, "beacons", collections.Uint64Key, codec.CollValue[types.Beacon](cdc)),
		Shares: collections.NewMap(sb, types.BeaconSharesKey, "beacon_shares",
			collections.PairKeyCodec(collections.Uint64Key, collections.Uint32Key), codec.CollValue[types.BeaconShare](cdc)),
	}
}

// epochRef lets the app hand the keeper x/mixnet after both are built (each
// needs the other); the pointer is shared by every copy of the Keeper.
type epochRef struct{ src types.EpochSource }

// SetEpochSource wires x/mixnet's epochs in. Without it no beacon is signed.
func (k Keeper) SetEpochSource(src types.EpochSource) { k.epochs.src = src }

// validatorRef lets the app hand the keeper x/staking after both are built;
// the pointer is shared by every copy of the Keeper.
type validatorRef struct{ src types.ValidatorSource }

// SetValidatorSource wires x/staking in, so a key the DKG forms names each
// share's validator by its operator address. Without it that field is empty.
func (k Keeper) SetValidatorSource(src types.ValidatorSource) { k.validators.src = src }

// beaconEpoch returns the epoch whose beacon is being signed now: the one after
// the current x/mixnet epoch.
func (k Keeper) beaconEpoch(ctx context.Context) (uint64, bool, error) {
	if k.epochs == nil || k.epochs.src == nil {
		return 0, false, nil
	}
	cur, err := k.epochs.src.CurrentEpochID(ctx)
	if err != nil {
		return 0, false, err
	}
	return cur + 1, true, nil
}

// EpochBeacon returns the randomness of epoch's beacon, if recorded: what
// x/mixnet seeds that epoch's role draw with.
func (k Keeper) EpochBeacon(ctx context.Context, epoch uint64) ([]byte, bool, error) {
	b, err := k.Beacon.Beacons.Get(ctx, epoch)
	if errors.Is(err, collections.ErrNotFound) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	return b.Randomness, true, nil
}

// SignBeacon returns the beacon partial of the validator holding key for the
// next epoch, or nil: when key is not the current key, the beacon is already
// recorded, or the chain holds this signer's partial under this key.
func (k Keeper) SignBeacon(ctx context.Context, key *types.IssuerKey) (*types.BeaconPartial, error) {
	epoch, ok, err := k.beaconEpoch(ctx)
	if err != nil || !ok {
		return nil, err
	}
	cur, err := k.CurrentKeyID.Get(ctx)
	if err != nil || cur != key.KeyID {
		return nil, err
	}
	if has, err := k.Beacon.Beacons.Has(ctx, epoch); err != nil || has {
		return nil, err
	}
	share, err := k.Beacon.Shares.Get(ctx, collections.Join(epoch, key.SignerIndex))
	if err == nil && share.KeyId == key.KeyID {
		return nil, nil
	} else if err != nil && !errors.Is(err, collections.ErrNotFound) {
		return nil, err
	}
	sig, _ := coconut.SignBeacon(key.Secret(), epoch).MarshalBinary()
	return &types.BeaconPartial{Epoch: epoch, Signature: sig}, nil
}

// checkBeacon checks an extension's beacon partial against the state: under
// the current key, for the next epoch, whose beacon is not recorded yet, and
// (with verify) verifying against the signer's partial key. With strict a
// partial failing the first three is refused; without, it is dropped (the
// epoch or the key moved on between the extension and its block). It reports
// whether to keep the partial.
func (c *extensionCheck) checkBeacon(ctx context.Context, ext *types.IssuanceVoteExtension, pk *types.PartialKey, strict, verify bool) (bool, error) {
	b := ext.Beacon
	refuse := func(format string, args ...any) (bool, error) {
		if strict {
			return false, errorsmod.Wrapf(types.ErrInvalidVoteExtension, "beacon partial of signer %d: "+format, append([]any{ext.SignerIndex}, args...)...)
		}
		return false, nil
	}
	cur, err := c.k.CurrentKeyID.Get(ctx)
	if err != nil {
		return false, err
	}
	if ext.KeyId != cur {
		return refuse("under key %d, not the current %d", ext.KeyId, cur)
	}
	epoch, ok, err := c.k.beaconEpoch(ctx)
	if err != nil {
		return false, err
	}
	if !ok || b.Epoch != epoch {
		return refuse("for epoch %d, not the next (%d)", b.Epoch, epoch)
	}
	if has, err := c.k.Beacon.Beacons.Has(ctx, epoch); err != nil {
		return false, err
	} else if has {
		return refuse("epoch %d has its beacon", epoch)
	}
	if !verify {
		return true, nil
	}
	id := partialID(pk.VerificationKey, binary.BigEndian.AppendUint64([]byte("beacon"), b.Epoch), b.Signature)
	if c.memory.has(c.height, id) {
		return true, nil
	}
	sig, err := b.Decode()
	if err != nil {
		return false, err
	}
	vk, err := types.DecodeVerificationKey(pk.VerificationKey, false)
	if err != nil {
		return false, err
	}
	if err := coconut.VerifyBeacon(vk, b.Epoch, sig); err != nil {
		return false, errorsmod.Wrapf(types.ErrInvalidVoteExtension, "beacon partial of signer %d for epoch %d: %v", ext.SignerIndex, b.Epoch, err)
	}
	c.memory.add(c.height, id)
	return true, nil
}

// recordBeaconShare records a checked beacon partial; one already recorded
// under the same key is kept.
func (k Keeper) recordBeaconShare(ctx context.Context, keyID uint64, signer uint32, b *types.BeaconPartial) error {
	// A partial made before its epoch's beacon formed can be committed after
	// (extended at H on the state before the block that formed it): it is
	// of no more use, and keeping it would leave a share beside its beacon.
	if has, err := k.Beacon.Beacons.Has(ctx, b.Epoch); err != nil || has {
		return err
	}
	key := collections.Join(b.Epoch, signer)
	old, err := k.Beacon.Shares.Get(ctx, key)
	if err == nil && old.KeyId == keyID {
		return nil
	} else if err != nil && !errors.Is(err, collections.ErrNotFound) {
		return err
	}
	return k.Beacon.Shares.Set(ctx, key, types.BeaconShare{Epoch: b.Epoch, SignerIndex: signer, KeyId: keyID, Signature: b.Signature})
}

// formBeacon records the next epoch's beacon once the current key's
// threshold of partials is recorded: the lowest-indexed threshold of them
// are interpolated and the result is checked against the master key. A
// result that fails (which the checks in ProcessProposal rule out) is logged
// and nothing is recorded: x/mixnet then falls back to its block seed.
func (k Keeper) formBeacon(ctx context.Context) error {
	epoch, ok, err := k.beaconEpoch(ctx)
	if err != nil || !ok {
		return err
	}
	if has, err := k.Beacon.Beacons.Has(ctx, epoch); err != nil || has {
		return err
	}
	cur, err := k.CurrentKeyID.Get(ctx)
	if err != nil || cur == 0 {
		return err
	}
	ks, err := k.KeySets.Get(ctx, cur)
	if err != nil {
		return err
	}
	var sigs []*coconut.BeaconSignature
	var idx []uint64
	err = k.Beacon.Shares.Walk(ctx, collections.NewPrefixedPairRange[uint64, uint32](epoch), func(_ collections.Pair[uint64, uint32], s types.BeaconShare) (bool, error) {
		if s.KeyId != cur {
			return false, nil
		}
		var sig coconut.BeaconSignature
		if err := sig.UnmarshalBinary(s.Signature); err != nil {
			return true, err // shares are decoded before they are recorded: state is corrupt
		}
		sigs, idx = append(sigs, &sig), append(idx, uint64(s.SignerIndex))
		return len(sigs) >= int(ks.Threshold), nil
	})
	if err != nil || len(sigs) < int(ks.Threshold) {
		return err
	}
	logger := k.Logger(ctx)
	agg, err := coconut.AggregateBeacon(sigs, idx)
	if err == nil {
		var mvk *coconut.VerificationKey
		if mvk, err = types.DecodeVerificationKey(ks.MasterKey, false); err == nil {
			err = coconut.VerifyBeacon(mvk, epoch, agg)
		}
	}
	if err != nil {
		logger.Error("the beacon's partials do not aggregate to a valid beacon", "epoch", epoch, "key", cur, "err", err)
		return nil
	}
	sig, _ := agg.MarshalBinary()
	r := agg.Randomness()
	height := sdk.UnwrapSDKContext(ctx).BlockHeight()
	if err := k.Beacon.Beacons.Set(ctx, epoch, types.Beacon{Epoch: epoch, KeyId: cur, Signature: sig, Randomness: r[:], Height: height}); err != nil {
		return err
	}
	logger.Info("epoch beacon recorded", "epoch", epoch, "key", cur, "signers", idx)
	if err := k.Beacon.Shares.Clear(ctx, collections.NewPrefixedPairRange[uint64, uint32](epoch)); err != nil {
		return err
	}
	if epoch > types.BeaconsKept {
		return k.Beacon.Beacons.Clear(ctx, new(collections.Range[uint64]).EndInclusive(epoch-types.BeaconsKept))
	}
	return nil
}

// pruneBeaconShares drops the partials of epochs that started without their
// beacon: they can no longer be used.
func (k Keeper) pruneBeaconShares(ctx context.Context) error {
	epoch, ok, err := k.beaconEpoch(ctx)
	if err != nil || !ok || epoch < 2 {
		return err
	}
	return k.Beacon.Shares.Clear(ctx, collections.NewPrefixUntilPairRange[uint64, uint32](epoch-1))
}

// Beacon answers Query/Beacon.
func (q querier) Beacon(ctx context.Context, req *types.QueryBeaconRequest) (*types.QueryBeaconResponse, error) {
	if req == nil || req.Epoch == 0 {
		return nil, status.Error(codes.InvalidArgument, "an epoch (from 1) is required")
	}
	resp := &types.QueryBeaconResponse{}
	b, err := q.k.Beacon.Beacons.Get(ctx, req.Epoch)
	if err == nil {
		resp.Beacon = &b
	} else if !errors.Is(err, collections.ErrNotFound) {
		return nil, err
	}
	err = q.k.Beacon.Shares.Walk(ctx, collections.NewPrefixedPairRange[uint64, uint32](req.Epoch), func(_ collections.Pair[uint64, uint32], s types.BeaconShare) (bool, error) {
		resp.Shares = append(resp.Shares, s)
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	if resp.Beacon == nil && len(resp.Shares) == 0 {
		return nil, status.Errorf(codes.NotFound, "no beacon for epoch %d", req.Epoch)
	}
	return resp, nil
}

func (k Keeper) initBeaconGenesis(ctx context.Context, gs *types.GenesisState) error {
	for _, b := range gs.Beacons {
		if err := k.Beacon.Beacons.Set(ctx, b.Epoch, b); err != nil {
			return err
		}
	}
	for _, s := range gs.BeaconShares {
		if err := k.Beacon.Shares.Set(ctx, collections.Join(s.Epoch, s.SignerIndex), s); err != nil {
			return err
		}
	}
	return nil
}

func (k Keeper) exportBeaconGenesis(ctx context.Context, gs *types.GenesisState) error {
	if err := k.Beacon.Beacons.Walk(ctx, nil, func(_ uint64, b types.Beacon) (bool, error) {
		gs.Beacons = append(gs.Beacons, b)
		return false, nil
	}); err != nil {
		return err
	}
	return k.Beacon.Shares.Walk(ctx, nil, func(_ collections.Pair[uint64, uint32], s types.BeaconShare) (bool, error) {
		gs.BeaconShares = append(gs.BeaconShares, s)
		return false, nil
	})
}
