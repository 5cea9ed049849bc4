package vesting_test

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/stretchr/testify/require"

	"cosmossdk.io/log/v2"
	"cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/nyx-privacy/nyx/app"
	"github.com/nyx-privacy/nyx/testutil/chain"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
	"github.com/nyx-privacy/nyx/x/vesting/types"
)

// TestChainVestingStory runs a real one-validator chain and drives a vesting
// account through signed transactions: a funder creates it, the staking delegate
// bonds the owner's node with locked coins and the owner raises the pledge to the
// cap (not beyond), the delegate delegates locked coins to another node, rewards
// accrue over epochs and the owner withdraws them, block time passes the first
// period and the owner withdraws vested coins (never more), the delegate
// undelegates and the owner unbonds, and the coins come back to the account, not
// the owner. After each step both modules' invariants are checked against the
// state the chain committed.
func TestChainVestingStory(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain")
	}
	// Four operators bond with their own coins; the fifth node is the owner's,
	// bonded with locked coins.
	operators := []string{"op0", "op1", "op2", "op3"}
	c := chain.Start(t, chain.Options{
		Accounts: append([]string{"funder", "owner", "delegate"}, operators...),
		Genesis: func(cdc codec.Codec, state app.GenesisState) error {
			var gs mixnettypes.GenesisState
			if err := cdc.UnmarshalJSON(state[mixnettypes.ModuleName], &gs); err != nil {
				return err
			}
			gs.Params.EpochDuration = 2 * time.Second
			gs.Params.EpochsPerInterval = 2
			gs.Params.MinimumPledge = sdk.NewInt64Coin(mixnettypes.Denom, 1_000_000)
			gs.Params.RewardedSet = mixnettypes.RewardedSetSizes{EntryGateways: 1, ExitGateways: 1, Mixnodes: 3}
			bz, err := cdc.MarshalJSON(&gs)
			state[mixnettypes.ModuleName] = bz
			return err
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	conn := c.GRPC(t)
	mq, vq, bq := mixnettypes.NewQueryClient(conn), types.NewQueryClient(conn), banktypes.NewQueryClient(conn)
	addr := func(name string) string { return c.Accounts[name].String() }
	unym := func(a string) math.Int {
		r, err := bq.Balance(ctx, &banktypes.QueryBalanceRequest{Address: a, Denom: types.Denom})
		require.NoError(t, err)
		return r.Balance.Amount
	}
	vestingModule := authtypes.NewModuleAddress(types.ModuleName).String()
	send := func(from string, msg sdk.Msg) {
		t.Helper()
		res, err := c.BroadcastTx(ctx, from, msg)
		require.NoError(t, err)
		require.Zero(t, res.Code, res.RawLog)
		checkInvariants(t, c)
	}
	// waitEpochs waits for n epoch boundaries.
	waitEpochs := func(n uint64) {
		t.Helper()
		start, err := mq.EpochStatus(ctx, &mixnettypes.QueryEpochStatusRequest{})
		require.NoError(t, err)
		for {
			es, err := mq.EpochStatus(ctx, &mixnettypes.QueryEpochStatusRequest{})
			require.NoError(t, err)
			if es.EpochId >= start.EpochId+n {
				return
			}
			select {
			case <-ctx.Done():
				t.Fatalf("epochs did not advance past %d", es.EpochId)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}

	send("op0", &mixnettypes.MsgFundRewardPool{Sender: addr("op0"), Amount: sdk.NewInt64Coin(types.Denom, 100_000_000_000)})

	// 80 NYM for the owner: 40 vest 12 s after the start, 40 an hour later.
	start := time.Now().Unix()
	send("funder", &types.MsgCreateVestingAccount{
		Funder: addr("funder"), Owner: addr("owner"), Amount: sdk.NewInt64Coin(types.Denom, 80_000_000), StartTime: start,
		Periods: []types.Period{
			{LengthSeconds: 12, Amount: math.NewInt(40_000_000)},
			{LengthSeconds: 3600, Amount: math.NewInt(40_000_000)},
		},
		StakingDelegate: addr("delegate"),
	})
	require.Equal(t, int64(80_000_000), unym(vestingModule).Int64())
	ownerStart := unym(addr("owner"))

	bondMsg := func(i int, name string, pledge int64) *mixnettypes.MsgBondNode {
		seed := sha256.Sum256([]byte("vesting-chain-test-node-" + name))
		key := ed25519.NewKeyFromSeed(seed[:])
		sphinxSeed := sha256.Sum256([]byte("vesting-sphinx-" + name))
		sphinxPriv, err := ecdh.X25519().NewPrivateKey(sphinxSeed[:])
		require.NoError(t, err)
		nonce, err := mq.SigningNonce(ctx, &mixnettypes.QuerySigningNonceRequest{Address: addr(name)})
		require.NoError(t, err)
		msg := &mixnettypes.MsgBondNode{
			Owner: addr(name), Pledge: sdk.NewInt64Coin(types.Denom, pledge),
			IdentityKey: key.Public().(ed25519.PublicKey), SphinxKey: sphinxPriv.PublicKey().Bytes(),
			Host: fmt.Sprintf("127.0.0.%d", i+1), MixPort: 1789, ClientsPort: 9000, HttpPort: 8000,
			// A token operating cost: Nym's default would take all of this small
			// network's rewards, leaving delegators none.
			IntervalOperatingCost: sdk.NewInt64Coin(types.Denom, 1),
		}
		msg.Signature = mixnettypes.SignBond(key, msg.BondPayload(c.ChainID, nonce.Nonce))
		return msg
	}
	for i, name := range operators {
		send(name, bondMsg(i, name, 10_000_000))
	}

	// The staking delegate bonds the owner's node with 6 locked NYM; the owner
	// raises the pledge to the cap (10% of 80 NYM) and not a unym beyond.
	send("delegate", &types.MsgBondNodeFromVesting{Sender: addr("delegate"), Bond: *bondMsg(len(operators), "owner", 6_000_000)})
	send("owner", &types.MsgPledgeMoreFromVesting{Sender: addr("owner"), Owner: addr("owner"), Amount: sdk.NewInt64Coin(types.Denom, 2_000_000)})
	_, err := c.BroadcastTx(ctx, "owner", &types.MsgPledgeMoreFromVesting{Sender: addr("owner"), Owner: addr("owner"), Amount: sdk.NewInt64Coin(types.Denom, 1)})
	require.ErrorContains(t, err, types.ErrPledgeCap.Error())
	ownerNode, err := mq.NodeByOwner(ctx, &mixnettypes.QueryNodeByOwnerRequest{Owner: addr("owner")})
	require.NoError(t, err)
	require.Equal(t, int64(6_000_000), ownerNode.Node.VestingPledge.Int64())
	require.Equal(t, int64(72_000_000), unym(vestingModule).Int64())
	require.Equal(t, ownerStart, unym(addr("owner")))

	// The staking delegate puts 30 locked NYM to work with node 1 for the owner.
	send("delegate", &types.MsgDelegateFromVesting{Sender: addr("delegate"), Owner: addr("owner"), NodeId: 1, Amount: sdk.NewInt64Coin(types.Denom, 30_000_000)})
	acc, err := vq.Account(ctx, &types.QueryAccountRequest{Owner: addr("owner")})
	require.NoError(t, err)
	require.Equal(t, int64(30_000_000), acc.Balances.Delegated.Int64())
	require.Equal(t, int64(8_000_000), acc.Balances.Pledged.Int64())
	require.Equal(t, int64(42_000_000), acc.Balances.Free.Int64())

	// Rewards accrue across epochs once the delegation applies.
	waitEpochs(1)
	d, err := mq.Delegation(ctx, &mixnettypes.QueryDelegationRequest{NodeId: 1, Delegator: addr("owner")})
	require.NoError(t, err)
	require.Equal(t, int64(30_000_000), d.Delegation.VestingAmount.Int64())
	for {
		r, err := mq.PendingDelegatorReward(ctx, &mixnettypes.QueryPendingDelegatorRewardRequest{NodeId: 1, Delegator: addr("owner")})
		require.NoError(t, err)
		if r.Amount.IsPositive() {
			break
		}
		waitEpochs(1)
	}
	checkInvariants(t, c)

	// The reward is the owner's at once.
	send("owner", &mixnettypes.MsgWithdrawDelegatorReward{Delegator: addr("owner"), NodeId: 1})
	reward := unym(addr("owner")).Sub(ownerStart)
	require.True(t, reward.IsPositive())

	// More than the first period can never be withdrawn before the second ends.
	_, err = c.BroadcastTx(ctx, "owner", &types.MsgWithdrawVested{Owner: addr("owner"), Amount: sdk.NewInt64Coin(types.Denom, 40_000_001)})
	require.ErrorContains(t, err, types.ErrNotVested.Error())
	checkInvariants(t, c)

	// Block time passes the first period: its 40 NYM vest; 10 are withdrawn.
	for {
		a, err := vq.Account(ctx, &types.QueryAccountRequest{Owner: addr("owner")})
		require.NoError(t, err)
		if a.Balances.Vested.Int64() == 40_000_000 {
			require.Equal(t, int64(40_000_000), a.Balances.Spendable.Int64())
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the first period did not vest")
		case <-time.After(500 * time.Millisecond):
		}
	}
	send("owner", &types.MsgWithdrawVested{Owner: addr("owner"), Amount: sdk.NewInt64Coin(types.Denom, 10_000_000)})
	require.Equal(t, ownerStart.Add(reward).AddRaw(10_000_000), unym(addr("owner")))
	require.Equal(t, int64(32_000_000), unym(vestingModule).Int64())

	// Undelegating brings the 30 NYM back to the account (the reward settled with
	// it goes to the owner).
	send("delegate", &types.MsgUndelegateFromVesting{Sender: addr("delegate"), Owner: addr("owner"), NodeId: 1, Amount: sdk.NewInt64Coin(types.Denom, 30_000_000)})
	waitEpochs(1)
	acc, err = vq.Account(ctx, &types.QueryAccountRequest{Owner: addr("owner")})
	require.NoError(t, err)
	require.True(t, acc.Balances.Delegated.IsZero())
	require.Equal(t, int64(62_000_000), acc.Balances.Free.Int64())
	require.Equal(t, int64(30_000_000), acc.Balances.Spendable.Int64())
	// The whole 30 NYM is back in the module account: none of it went to the owner.
	require.Equal(t, int64(62_000_000), unym(vestingModule).Int64())
	checkInvariants(t, c)

	// Unbonding the owner's node brings the 8 NYM pledge back to the account too.
	send("owner", &mixnettypes.MsgUnbondNode{Owner: addr("owner")})
	waitEpochs(1)
	acc, err = vq.Account(ctx, &types.QueryAccountRequest{Owner: addr("owner")})
	require.NoError(t, err)
	require.True(t, acc.Balances.Pledged.IsZero())
	require.Equal(t, int64(70_000_000), acc.Balances.Free.Int64())
	require.Equal(t, int64(70_000_000), unym(vestingModule).Int64())
	checkInvariants(t, c)
}

// checkInvariants runs both modules' fund invariants on the state of the last
// committed block, read at that version (as queries are).
func checkInvariants(t *testing.T, c *chain.Chain) {
	t.Helper()
	h := c.Height()
	cms, err := c.App.CommitMultiStore().CacheMultiStoreWithVersion(h)
	require.NoError(t, err)
	ctx := sdk.NewContext(cms, cmtproto.Header{ChainID: c.ChainID, Height: h}, false, log.NewNopLogger())
	require.NoError(t, c.App.VestingKeeper.CheckFunds(ctx), "x/vesting invariant at height %d", h)
	require.NoError(t, c.App.MixnetKeeper.CheckFunds(ctx), "x/mixnet invariant at height %d", h)
}
