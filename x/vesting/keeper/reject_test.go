package keeper_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"

	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	bankkeeper "github.com/cosmos/cosmos-sdk/x/bank/keeper"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
	"github.com/nyx-privacy/nyx/x/vesting/types"
)

// TestRejections: every refused message fails with its own error and changes no
// key of any store (bank balances included).
func TestRejections(t *testing.T) {
	f := newFixture(t)
	owner, delegate, stranger := f.account("owner", 0), f.account("delegate", 0), f.account("stranger", 1_000_000)
	other := f.account("other", 0)
	ownerStr, delegateStr, strangerStr := f.addr(owner), f.addr(delegate), f.addr(stranger)
	f.create(owner, 8_000_000, delegateStr)
	f.create(other, 800_000, "")
	node := f.bond(1, 1_000_000)
	_, err := f.msg.DelegateFromVesting(f.ctx, &types.MsgDelegateFromVesting{Sender: ownerStr, Owner: ownerStr, NodeId: node, Amount: coin(7_500_000)})
	require.NoError(t, err)
	f.nextEpoch()
	// Two periods vested (2,000,000) but only 500,000 is free.
	f.at(genesisTime.Add(6*month*time.Second + time.Hour))

	create := func(mod func(*types.MsgCreateVestingAccount)) func() error {
		return func() error {
			m := &types.MsgCreateVestingAccount{Funder: strangerStr, Owner: f.addr(f.account("fresh", 0)), Amount: coin(800_000),
				StartTime: genesisTime.Unix(), Periods: nymSchedule(800_000)}
			mod(m)
			_, err := f.msg.CreateVestingAccount(f.ctx, m)
			return err
		}
	}
	cases := []struct {
		name string
		run  func() error
		want error
	}{
		{"amounts do not add up", create(func(m *types.MsgCreateVestingAccount) { m.Amount = coin(800_001) }), types.ErrInvalidSchedule},
		{"period of zero length", create(func(m *types.MsgCreateVestingAccount) { m.Periods[3].LengthSeconds = 0 }), types.ErrInvalidSchedule},
		{"period of negative length", create(func(m *types.MsgCreateVestingAccount) { m.Periods[0].LengthSeconds = -1 }), types.ErrInvalidSchedule},
		{"period vesting nothing", create(func(m *types.MsgCreateVestingAccount) {
			m.Periods[0].Amount, m.Periods[1].Amount = math.ZeroInt(), m.Periods[1].Amount.Add(m.Periods[0].Amount)
		}), types.ErrInvalidSchedule},
		{"no periods", create(func(m *types.MsgCreateVestingAccount) { m.Periods = nil }), types.ErrInvalidSchedule},
		{"too many periods", create(func(m *types.MsgCreateVestingAccount) {
			m.Periods = make([]types.Period, types.DefaultMaxPeriods+1)
			for i := range m.Periods {
				m.Periods[i] = types.Period{LengthSeconds: 1, Amount: math.OneInt()}
			}
			m.Amount = coin(types.DefaultMaxPeriods + 1)
		}), types.ErrInvalidSchedule},
		{"schedule too long", create(func(m *types.MsgCreateVestingAccount) { m.Periods[0].LengthSeconds = types.MaxScheduleSeconds }), types.ErrInvalidSchedule},
		{"wrong denom", create(func(m *types.MsgCreateVestingAccount) { m.Amount.Denom = "unyx" }), types.ErrInvalidAmount},
		{"second account for an owner", create(func(m *types.MsgCreateVestingAccount) { m.Owner = ownerStr }), types.ErrAccountExists},
		{"staking delegate is the owner", create(func(m *types.MsgCreateVestingAccount) { m.StakingDelegate = m.Owner }), types.ErrInvalidAddress},
		{"funder short of coins", create(func(m *types.MsgCreateVestingAccount) {
			m.Amount, m.Periods = coin(8_000_000), nymSchedule(8_000_000)
		}), sdkerrors.ErrInsufficientFunds},
		{"withdraw unvested", func() error {
			_, err := f.msg.WithdrawVested(f.ctx, &types.MsgWithdrawVested{Owner: f.addr(other), Amount: coin(200_001)})
			return err
		}, types.ErrNotVested},
		{"withdraw vested but in use", func() error {
			_, err := f.msg.WithdrawVested(f.ctx, &types.MsgWithdrawVested{Owner: ownerStr, Amount: coin(500_001)})
			return err
		}, types.ErrNotVested},
		{"staking delegate withdraws", func() error {
			_, err := f.msg.WithdrawVested(f.ctx, &types.MsgWithdrawVested{Owner: delegateStr, Amount: coin(1)})
			return err
		}, types.ErrAccountNotFound},
		{"pledge beyond the cap", func() error {
			_, err := f.msg.BondNodeFromVesting(f.ctx, &types.MsgBondNodeFromVesting{Sender: f.addr(other), Bond: *f.bondMsg(2, other, 80_001)})
			return err
		}, types.ErrPledgeCap},
		{"pledge beyond the free coins", func() error {
			_, err := f.msg.BondNodeFromVesting(f.ctx, &types.MsgBondNodeFromVesting{Sender: ownerStr, Bond: *f.bondMsg(2, owner, 500_001)})
			return err
		}, types.ErrInsufficientFunds},
		{"bond from vesting with a bad signature", func() error {
			b := f.bondMsg(2, owner, 100_000)
			b.Signature[0] ^= 1
			_, err := f.msg.BondNodeFromVesting(f.ctx, &types.MsgBondNodeFromVesting{Sender: ownerStr, Bond: *b})
			return err
		}, mixnettypes.ErrInvalidSignature},
		{"delegate more than free", func() error {
			_, err := f.msg.DelegateFromVesting(f.ctx, &types.MsgDelegateFromVesting{Sender: delegateStr, Owner: ownerStr, NodeId: node, Amount: coin(500_001)})
			return err
		}, types.ErrInsufficientFunds},
		{"delegate to no node", func() error {
			_, err := f.msg.DelegateFromVesting(f.ctx, &types.MsgDelegateFromVesting{Sender: ownerStr, Owner: ownerStr, NodeId: 99, Amount: coin(1)})
			return err
		}, mixnettypes.ErrNodeNotFound},
		{"undelegate more than the account delegated", func() error {
			_, err := f.msg.UndelegateFromVesting(f.ctx, &types.MsgUndelegateFromVesting{Sender: ownerStr, Owner: ownerStr, NodeId: node, Amount: coin(7_500_001)})
			return err
		}, mixnettypes.ErrInsufficientDelegation},
		{"stranger delegates the account's coins", func() error {
			_, err := f.msg.DelegateFromVesting(f.ctx, &types.MsgDelegateFromVesting{Sender: strangerStr, Owner: ownerStr, NodeId: node, Amount: coin(1)})
			return err
		}, types.ErrUnauthorized},
		{"stranger undelegates the account's coins", func() error {
			_, err := f.msg.UndelegateFromVesting(f.ctx, &types.MsgUndelegateFromVesting{Sender: strangerStr, Owner: ownerStr, NodeId: node, Amount: coin(1)})
			return err
		}, types.ErrUnauthorized},
		{"stranger bonds from the account", func() error {
			_, err := f.msg.BondNodeFromVesting(f.ctx, &types.MsgBondNodeFromVesting{Sender: strangerStr, Bond: *f.bondMsg(2, owner, 100_000)})
			return err
		}, types.ErrUnauthorized},
		{"stranger pledges from the account", func() error {
			_, err := f.msg.PledgeMoreFromVesting(f.ctx, &types.MsgPledgeMoreFromVesting{Sender: strangerStr, Owner: ownerStr, Amount: coin(1)})
			return err
		}, types.ErrUnauthorized},
		{"staking delegate transfers the account", func() error {
			_, err := f.msg.TransferOwnership(f.ctx, &types.MsgTransferOwnership{Owner: delegateStr, NewOwner: strangerStr})
			return err
		}, types.ErrAccountNotFound},
		{"transfer with coins in use", func() error {
			_, err := f.msg.TransferOwnership(f.ctx, &types.MsgTransferOwnership{Owner: ownerStr, NewOwner: strangerStr})
			return err
		}, types.ErrInUse},
		{"transfer to an owner of an account", func() error {
			_, err := f.msg.TransferOwnership(f.ctx, &types.MsgTransferOwnership{Owner: f.addr(other), NewOwner: ownerStr})
			return err
		}, types.ErrAccountExists},
		{"staking delegate set by a stranger", func() error {
			_, err := f.msg.SetStakingDelegate(f.ctx, &types.MsgSetStakingDelegate{Owner: strangerStr, StakingDelegate: strangerStr})
			return err
		}, types.ErrAccountNotFound},
		{"params by a stranger", func() error {
			_, err := f.msg.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: strangerStr, Params: types.DefaultParams()})
			return err
		}, types.ErrInvalidAuthority},
		{"params with a zero cap", func() error {
			p := types.DefaultParams()
			p.PledgeCapShare = math.LegacyZeroDec()
			_, err := f.msg.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.authority, Params: p})
			return err
		}, types.ErrInvalidParams},
		{"bank send into the module account", func() error {
			_, err := bankkeeper.NewMsgServerImpl(f.bank).Send(f.ctx, &banktypes.MsgSend{FromAddress: strangerStr, ToAddress: f.addr(f.k.ModuleAddress()), Amount: sdkCoins(1)})
			return err
		}, sdkerrors.ErrUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := f.snapshot()
			err := c.run()
			require.ErrorIs(t, err, c.want)
			require.Equal(t, before, f.snapshot(), "a refused message changed the state")
			f.checkInvariants()
		})
	}
}
