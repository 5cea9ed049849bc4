package coconut_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cosmos/cosmos-sdk/codec"

	"github.com/nyx-privacy/nyx/app"
	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/testutil/chain"
	"github.com/nyx-privacy/nyx/x/coconut/types"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// TestChainSeedsRoleDrawWithBeacon runs a real one-validator chain (t = 1)
// with two-second x/mixnet epochs: the validator signs the next epoch's
// beacon in its vote extension, the chain records it, and the epoch's role
// draw is seeded by it, as EpochStatus and Query/Beacon show over gRPC.
func TestChainSeedsRoleDrawWithBeacon(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain")
	}
	c := chain.Start(t, chain.Options{
		Accounts: []string{"alice"},
		Genesis: func(cdc codec.Codec, state app.GenesisState) error {
			var gs mixnettypes.GenesisState
			if err := cdc.UnmarshalJSON(state[mixnettypes.ModuleName], &gs); err != nil {
				return err
			}
			gs.Params.EpochDuration = 2 * time.Second
			bz, err := cdc.MarshalJSON(&gs)
			state[mixnettypes.ModuleName] = bz
			return err
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn := c.GRPC(t)
	mq, q := mixnettypes.NewQueryClient(conn), types.NewQueryClient(conn)
	key, err := q.VerificationKey(ctx, &types.QueryVerificationKeyRequest{})
	require.NoError(t, err)
	master, err := types.DecodeVerificationKey(key.KeySet.MasterKey, false)
	require.NoError(t, err)

	// Epoch 1 may begin in the chain's first block, before any vote
	// extension: from epoch 2 on, the beacon is there in time.
	for {
		st, err := mq.EpochStatus(ctx, &mixnettypes.QueryEpochStatusRequest{})
		require.NoError(t, err)
		if st.EpochId >= 2 {
			require.True(t, st.SeedFromBeacon, "epoch %d drawn from block data", st.EpochId)
			b, err := q.Beacon(ctx, &types.QueryBeaconRequest{Epoch: st.EpochId})
			require.NoError(t, err)
			require.NotNil(t, b.Beacon)
			var sig coconut.BeaconSignature
			require.NoError(t, sig.UnmarshalBinary(b.Beacon.Signature))
			require.NoError(t, coconut.VerifyBeacon(master, st.EpochId, &sig))
			t.Logf("epoch %d seeded by the beacon recorded at height %d", st.EpochId, b.Beacon.Height)
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("epoch 2 never began: %v", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
