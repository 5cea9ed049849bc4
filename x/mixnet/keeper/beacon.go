package keeper

import (
	"context"
	"crypto/sha256"
	"encoding/binary"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/mixnet/selection"
	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

// beaconRef lets the app hand the keeper x/coconut after both are built (each
// needs the other); the pointer is shared by every copy of the Keeper.
type beaconRef struct{ src types.BeaconSource }

// SetBeaconSource wires x/coconut's epoch beacon in. Without it every role
// draw is seeded from block data.
func (k Keeper) SetBeaconSource(src types.BeaconSource) { k.beacons.src = src }

// CurrentEpochID returns the current epoch's id (x/coconut signs the next
// one's beacon).
func (k Keeper) CurrentEpochID(ctx context.Context) (uint64, error) {
	e, err := k.Epoch.Get(ctx)
	return e.EpochId, err
}

// epochSeed returns the seed of epoch's role draw and whether it came from
// the beacon. The beacon, a threshold signature of the validators on the
// epoch number, is fixed by the epoch number and the key alone, so no
// proposer can grind it. The block-data seed (RoleSeed), which the previous
// proposer can influence by choosing what goes in its block, is the fallback
// when there is no beacon: before the first issuing key exists (no key, no
// beacon), and when the beacon is late (fewer than threshold validators
// signed between this epoch's predecessor starting and this block).
func (k Keeper) epochSeed(ctx context.Context, epochID uint64) ([selection.SeedSize]byte, bool, error) {
	if k.beacons.src != nil {
		r, ok, err := k.beacons.src.EpochBeacon(ctx, epochID)
		if err != nil {
			return [selection.SeedSize]byte{}, false, err
		}
		if ok {
			return BeaconRoleSeed(r, epochID), true, nil
		}
	}
	return k.blockSeed(ctx, epochID), false, nil
}

// blockSeed is the seed of epoch's role draw from the current block's header.
func (k Keeper) blockSeed(ctx context.Context, epochID uint64) [selection.SeedSize]byte {
	h := sdk.UnwrapSDKContext(ctx).BlockHeader()
	return RoleSeed(h.LastBlockId.Hash, h.AppHash, epochID)
}

// BeaconRoleSeed is the seed of a role draw from the epoch's beacon:
//
//	SHA-256(RoleSeedDomain || "beacon" || uint32_be(len) || randomness || uint64_be(epoch id))
func BeaconRoleSeed(randomness []byte, epochID uint64) [selection.SeedSize]byte {
	h := sha256.New()
	h.Write([]byte(RoleSeedDomain))
	h.Write([]byte("beacon"))
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(randomness))))
	h.Write(randomness)
	h.Write(binary.BigEndian.AppendUint64(nil, epochID))
	var seed [selection.SeedSize]byte
	copy(seed[:], h.Sum(nil))
	return seed
}
