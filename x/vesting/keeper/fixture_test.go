package keeper_test

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	dbm "github.com/cosmos/cosmos-db"
	"github.com/stretchr/testify/require"

	"cosmossdk.io/log/v2"
	"cosmossdk.io/math"

	addresscodec "github.com/cosmos/cosmos-sdk/codec/address"
	"github.com/cosmos/cosmos-sdk/runtime"
	"github.com/cosmos/cosmos-sdk/store/v2"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	moduletestutil "github.com/cosmos/cosmos-sdk/types/module/testutil"
	"github.com/cosmos/cosmos-sdk/x/auth"
	authkeeper "github.com/cosmos/cosmos-sdk/x/auth/keeper"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	"github.com/cosmos/cosmos-sdk/x/bank"
	bankkeeper "github.com/cosmos/cosmos-sdk/x/bank/keeper"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/nyx-privacy/nyx/x/mixnet"
	mixnetkeeper "github.com/nyx-privacy/nyx/x/mixnet/keeper"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
	"github.com/nyx-privacy/nyx/x/vesting"
	"github.com/nyx-privacy/nyx/x/vesting/keeper"
	"github.com/nyx-privacy/nyx/x/vesting/types"
)

const (
	testChainID = "nyx-test-1"
	minterName  = "minter"
	month       = 30 * 24 * 3600
)

var genesisTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fixture is the vesting keeper and the mixnet keeper over a real store with real
// auth and bank keepers, wired as the app wires them.
type fixture struct {
	t         testing.TB
	ctx       sdk.Context
	k         keeper.Keeper
	msg       types.MsgServer
	q         types.QueryServer
	mk        mixnetkeeper.Keeper
	mmsg      mixnettypes.MsgServer
	mq        mixnettypes.QueryServer
	bank      bankkeeper.BaseKeeper
	ak        authkeeper.AccountKeeper
	authority string
	monitor   sdk.AccAddress
	height    int64
	keys      map[string]*storetypes.KVStoreKey
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	enc := moduletestutil.MakeTestEncodingConfig(auth.AppModuleBasic{}, bank.AppModuleBasic{}, mixnet.AppModule{}, vesting.AppModule{})
	keys := storetypes.NewKVStoreKeys(authtypes.StoreKey, banktypes.StoreKey, mixnettypes.StoreKey, types.StoreKey)
	logger := log.NewNopLogger()
	cms := store.NewCommitMultiStore(dbm.NewMemDB(), logger)
	for _, key := range keys {
		cms.MountStoreWithDB(key, storetypes.StoreTypeIAVL, nil)
	}
	require.NoError(t, cms.LoadLatestVersion())
	ctx := sdk.NewContext(cms, cmtproto.Header{ChainID: testChainID, Height: 1, Time: genesisTime}, false, logger)
	ac := addresscodec.NewBech32Codec("n")
	authorityStr, err := ac.BytesToString(authtypes.NewModuleAddress("gov"))
	require.NoError(t, err)

	ak := authkeeper.NewAccountKeeper(enc.Codec, runtime.NewKVStoreService(keys[authtypes.StoreKey]), authtypes.ProtoBaseAccount,
		map[string][]string{minterName: {authtypes.Minter}, mixnettypes.ModuleName: nil, types.ModuleName: nil}, ac, "n", authorityStr)
	// As in the app, module accounts may not receive coins by a bank send.
	blocked := map[string]bool{authtypes.NewModuleAddress(types.ModuleName).String(): true, authtypes.NewModuleAddress(mixnettypes.ModuleName).String(): true}
	bk := bankkeeper.NewBaseKeeper(enc.Codec, runtime.NewKVStoreService(keys[banktypes.StoreKey]), ak, blocked, authorityStr, logger)
	require.NoError(t, bk.SetParams(ctx, banktypes.DefaultParams()))
	mk := mixnetkeeper.NewKeeper(enc.Codec, runtime.NewKVStoreService(keys[mixnettypes.StoreKey]), ak, bk, authorityStr)
	k := keeper.NewKeeper(enc.Codec, runtime.NewKVStoreService(keys[types.StoreKey]), ak, bk, mk, authorityStr)
	mk.SetVestingFunder(types.ModuleName, k)
	f := &fixture{
		t: t, ctx: ctx, k: k, msg: keeper.NewMsgServerImpl(k), q: keeper.NewQuerier(k),
		mk: mk, mmsg: mixnetkeeper.NewMsgServerImpl(mk), mq: mixnetkeeper.NewQuerier(mk),
		bank: bk, ak: ak, authority: authorityStr, height: 1, keys: keys,
	}
	f.monitor = f.account("monitor", 0)
	// A reward pool, so epochs pay rewards.
	pool := sdk.NewCoins(sdk.NewInt64Coin(types.Denom, 1_000_000_000_000))
	require.NoError(t, bk.MintCoins(ctx, minterName, pool))
	require.NoError(t, bk.SendCoinsFromModuleToModule(ctx, minterName, mixnettypes.ModuleName, pool))
	mgs := mixnettypes.DefaultGenesisState()
	mgs.Params.EpochDuration = time.Hour
	mgs.Params.EpochsPerInterval = 4
	mgs.Params.MinimumPledge = sdk.NewInt64Coin(types.Denom, 1_000)
	mgs.Params.RewardedSet = mixnettypes.RewardedSetSizes{EntryGateways: 1, ExitGateways: 1, Mixnodes: 3, Standby: 1}
	mgs.Params.NetworkMonitors = []string{f.addr(f.monitor)}
	require.NoError(t, mk.InitGenesis(ctx, mgs))
	require.NoError(t, k.InitGenesis(ctx, types.DefaultGenesisState()))
	return f
}

func (f *fixture) addr(a sdk.AccAddress) string {
	s, err := f.ak.AddressCodec().BytesToString(a)
	require.NoError(f.t, err)
	return s
}

func (f *fixture) mint(to sdk.AccAddress, amount int64) {
	coins := sdk.NewCoins(sdk.NewInt64Coin(types.Denom, amount))
	require.NoError(f.t, f.bank.MintCoins(f.ctx, minterName, coins))
	require.NoError(f.t, f.bank.SendCoinsFromModuleToAccount(f.ctx, minterName, to, coins))
}

func (f *fixture) balance(a sdk.AccAddress) math.Int {
	return f.bank.GetBalance(f.ctx, a, types.Denom).Amount
}

// account makes a funded account from a name.
func (f *fixture) account(name string, funds int64) sdk.AccAddress {
	h := sha256.Sum256([]byte("account/" + name))
	a := sdk.AccAddress(h[:20])
	if funds > 0 {
		f.mint(a, funds)
	}
	return a
}

func coin(n int64) sdk.Coin { return sdk.NewInt64Coin(types.Denom, n) }

// nymSchedule is Nym's default: 8 periods of 3 months, total split evenly (total
// divisible by 8).
func nymSchedule(total int64) []types.Period {
	ps := make([]types.Period, 8)
	for i := range ps {
		ps[i] = types.Period{LengthSeconds: 3 * month, Amount: math.NewInt(total / 8)}
	}
	return ps
}

// create makes owner's account of total unym on Nym's schedule starting at
// genesis, funded by a fresh funder.
func (f *fixture) create(owner sdk.AccAddress, total int64, delegate string) {
	f.t.Helper()
	funder := f.account("funder-"+f.addr(owner), total)
	_, err := f.msg.CreateVestingAccount(f.ctx, &types.MsgCreateVestingAccount{
		Funder: f.addr(funder), Owner: f.addr(owner), Amount: coin(total), StartTime: genesisTime.Unix(),
		Periods: nymSchedule(total), StakingDelegate: delegate,
	})
	require.NoError(f.t, err)
	f.checkInvariants()
}

func (f *fixture) acct(owner sdk.AccAddress) (types.VestingAccount, types.Balances) {
	f.t.Helper()
	r, err := f.q.Account(f.ctx, &types.QueryAccountRequest{Owner: f.addr(owner)})
	require.NoError(f.t, err)
	return r.Account, r.Balances
}

func nodeKey(i int) ed25519.PrivateKey {
	seed := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("node-key"), uint64(i)))
	return ed25519.NewKeyFromSeed(seed[:])
}

func sphinxKey(i int) []byte {
	h := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("sphinx"), uint64(i)))
	priv, err := ecdh.X25519().NewPrivateKey(h[:])
	if err != nil {
		panic(err)
	}
	return priv.PublicKey().Bytes()
}

// bondMsg is a correctly signed bond of node i by owner.
func (f *fixture) bondMsg(i int, owner sdk.AccAddress, pledge int64) *mixnettypes.MsgBondNode {
	key := nodeKey(i)
	m := &mixnettypes.MsgBondNode{
		Owner: f.addr(owner), Pledge: coin(pledge), IdentityKey: key.Public().(ed25519.PublicKey), SphinxKey: sphinxKey(i),
		Host: fmt.Sprintf("node%d.example.net", i), MixPort: 1789, ClientsPort: 9000, HttpPort: 8000,
	}
	nonce, err := f.mq.SigningNonce(f.ctx, &mixnettypes.QuerySigningNonceRequest{Address: m.Owner})
	require.NoError(f.t, err)
	m.Signature = mixnettypes.SignBond(key, m.BondPayload(testChainID, nonce.Nonce))
	return m
}

// bond funds an owner and bonds node i from the owner's balance.
func (f *fixture) bond(i int, pledge int64) uint64 {
	owner := f.account(fmt.Sprintf("owner-%d", i), pledge)
	resp, err := f.mmsg.BondNode(f.ctx, f.bondMsg(i, owner, pledge))
	require.NoError(f.t, err)
	return resp.NodeId
}

// nextEpoch moves block time past the epoch's end, runs x/mixnet's EndBlock with
// every node reported fully up, and checks both modules' invariants.
func (f *fixture) nextEpoch() {
	f.t.Helper()
	e, err := f.mk.Epoch.Get(f.ctx)
	require.NoError(f.t, err)
	p, err := f.mk.Params.Get(f.ctx)
	require.NoError(f.t, err)
	var reports []mixnettypes.NodePerformance
	require.NoError(f.t, f.mk.Nodes.Walk(f.ctx, nil, func(id uint64, _ mixnettypes.Node) (bool, error) {
		reports = append(reports, mixnettypes.NodePerformance{NodeId: id, Performance: math.LegacyOneDec()})
		return false, nil
	}))
	if len(reports) > 0 {
		_, err = f.mmsg.SubmitPerformance(f.ctx, &mixnettypes.MsgSubmitPerformance{Monitor: f.addr(f.monitor), EpochId: e.EpochId, Reports: reports})
		require.NoError(f.t, err)
	}
	f.height++
	h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(f.height)))
	f.ctx = f.ctx.WithBlockHeader(cmtproto.Header{
		ChainID: testChainID, Height: f.height, Time: e.Start.Add(p.EpochDuration),
		LastBlockId: cmtproto.BlockID{Hash: h[:]}, AppHash: h[:],
	}).WithEventManager(sdk.NewEventManager())
	require.NoError(f.t, f.mk.EndBlocker(f.ctx))
	f.checkInvariants()
}

// at sets the block time (the vesting clock) without running an epoch.
func (f *fixture) at(t time.Time) {
	f.ctx = f.ctx.WithBlockTime(t)
}

func (f *fixture) checkInvariants() {
	f.t.Helper()
	require.NoError(f.t, f.k.CheckFunds(f.ctx))
	require.NoError(f.t, f.mk.CheckFunds(f.ctx))
	require.NoError(f.t, f.mk.CheckDelegations(f.ctx))
}

// snapshot is every key and value of every store (bank balances included), to
// show a refused message changed nothing.
func (f *fixture) snapshot() map[string]string {
	f.t.Helper()
	out := map[string]string{}
	for name, key := range f.keys {
		it := f.ctx.KVStore(key).Iterator(nil, nil)
		for ; it.Valid(); it.Next() {
			out[name+"/"+string(it.Key())] = string(it.Value())
		}
		it.Close()
	}
	return out
}

func sdkCoins(n int64) sdk.Coins { return sdk.NewCoins(coin(n)) }
