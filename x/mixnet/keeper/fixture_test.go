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

	"cosmossdk.io/collections"
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
	"github.com/nyx-privacy/nyx/x/mixnet/keeper"
	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

const (
	testChainID = "nyx-test-1"
	minterName  = "minter"
)

var genesisTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fixture is the mixnet keeper over a real store with real auth and bank keepers.
type fixture struct {
	t         testing.TB
	ctx       sdk.Context
	k         keeper.Keeper
	msg       types.MsgServer
	q         types.QueryServer
	bank      bankkeeper.BaseKeeper
	ak        authkeeper.AccountKeeper
	authority string
	monitor   sdk.AccAddress
	height    int64
	cms       storetypes.CommitMultiStore
	storeKey  *storetypes.KVStoreKey
}

type fixtureOpt func(*fixture, *types.GenesisState)

func newFixture(t testing.TB, pool int64, opts ...fixtureOpt) *fixture {
	t.Helper()
	enc := moduletestutil.MakeTestEncodingConfig(auth.AppModuleBasic{}, bank.AppModuleBasic{}, mixnet.AppModule{})
	keys := storetypes.NewKVStoreKeys(authtypes.StoreKey, banktypes.StoreKey, types.StoreKey)
	logger := log.NewNopLogger()
	// Each store under its own prefix of one database, as in an app, so the
	// multistore can commit (integration.CreateMultiStore shares one unprefixed db).
	cms := store.NewCommitMultiStore(dbm.NewMemDB(), logger)
	for _, key := range keys {
		cms.MountStoreWithDB(key, storetypes.StoreTypeIAVL, nil)
	}
	require.NoError(t, cms.LoadLatestVersion())
	ctx := sdk.NewContext(cms, cmtproto.Header{ChainID: testChainID, Height: 1, Time: genesisTime}, false, logger)
	ac := addresscodec.NewBech32Codec("n")
	authority := authtypes.NewModuleAddress("gov")
	authorityStr, err := ac.BytesToString(authority)
	require.NoError(t, err)

	ak := authkeeper.NewAccountKeeper(enc.Codec, runtime.NewKVStoreService(keys[authtypes.StoreKey]), authtypes.ProtoBaseAccount,
		map[string][]string{minterName: {authtypes.Minter}, types.ModuleName: nil}, ac, "n", authorityStr)
	bk := bankkeeper.NewBaseKeeper(enc.Codec, runtime.NewKVStoreService(keys[banktypes.StoreKey]), ak,
		map[string]bool{}, authorityStr, logger)
	k := keeper.NewKeeper(enc.Codec, runtime.NewKVStoreService(keys[types.StoreKey]), ak, bk, authorityStr)
	f := &fixture{t: t, ctx: ctx, k: k, msg: keeper.NewMsgServerImpl(k), q: keeper.NewQuerier(k), bank: bk, ak: ak, authority: authorityStr, height: 1, cms: cms, storeKey: keys[types.StoreKey]}

	f.monitor = f.account("monitor", 0)
	if pool > 0 { // the chain's reward pool: unym the bank genesis gives the module account
		coins := sdk.NewCoins(sdk.NewInt64Coin(types.Denom, pool))
		require.NoError(t, bk.MintCoins(ctx, minterName, coins))
		require.NoError(t, bk.SendCoinsFromModuleToModule(ctx, minterName, types.ModuleName, coins))
	}
	gs := types.DefaultGenesisState()
	gs.Params.EpochDuration = time.Hour
	gs.Params.EpochsPerInterval = 4
	gs.Params.MinimumPledge = sdk.NewInt64Coin(types.Denom, 1_000)
	gs.Params.RewardedSet = types.RewardedSetSizes{EntryGateways: 1, ExitGateways: 1, Mixnodes: 3, Standby: 1}
	for _, o := range opts {
		o(f, gs)
	}
	require.NoError(t, k.InitGenesis(ctx, gs))
	return f
}

// withMonitor makes f.monitor a network monitor.
func withMonitor(f *fixture, gs *types.GenesisState) {
	gs.Params.NetworkMonitors = append(gs.Params.NetworkMonitors, f.addr(f.monitor))
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

// testNode is a node operator: its owner account and identity key.
type testNode struct {
	owner sdk.AccAddress
	key   ed25519.PrivateKey
	id    uint64
}

func nodeKey(i int) ed25519.PrivateKey {
	seed := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("node-key"), uint64(i)))
	return ed25519.NewKeyFromSeed(seed[:])
}

// sphinxKey is a real X25519 public key, so it passes the chain's point checks.
func sphinxKey(i int, gen byte) []byte {
	h := sha256.Sum256(append(binary.BigEndian.AppendUint64([]byte("sphinx"), uint64(i)), gen))
	priv, err := ecdh.X25519().NewPrivateKey(h[:])
	if err != nil {
		panic(err)
	}
	return priv.PublicKey().Bytes()
}

// bondMsg is a correctly signed bond of node i by owner.
func (f *fixture) bondMsg(i int, owner sdk.AccAddress, pledge int64) *types.MsgBondNode {
	key := nodeKey(i)
	m := &types.MsgBondNode{
		Owner:       f.addr(owner),
		Pledge:      sdk.NewInt64Coin(types.Denom, pledge),
		IdentityKey: key.Public().(ed25519.PublicKey),
		SphinxKey:   sphinxKey(i, 0),
		Host:        fmt.Sprintf("node%d.example.net", i),
		MixPort:     1789,
		ClientsPort: 9000,
		HttpPort:    8000,
	}
	nonce, err := f.q.SigningNonce(f.ctx, &types.QuerySigningNonceRequest{Address: m.Owner})
	require.NoError(f.t, err)
	m.Signature = types.SignBond(key, m.BondPayload(testChainID, nonce.Nonce))
	return m
}

// bond funds an owner and bonds node i.
func (f *fixture) bond(i int, pledge int64) testNode {
	owner := f.account(fmt.Sprintf("owner-%d", i), pledge)
	resp, err := f.msg.BondNode(f.ctx, f.bondMsg(i, owner, pledge))
	require.NoError(f.t, err)
	return testNode{owner: owner, key: nodeKey(i), id: resp.NodeId}
}

// nextEpoch moves block time past the epoch's end and runs EndBlock.
func (f *fixture) nextEpoch() {
	f.t.Helper()
	e, err := f.k.Epoch.Get(f.ctx)
	require.NoError(f.t, err)
	p, err := f.k.Params.Get(f.ctx)
	require.NoError(f.t, err)
	f.height++
	h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(f.height)))
	f.ctx = f.ctx.WithBlockHeader(cmtproto.Header{
		ChainID: testChainID, Height: f.height, Time: e.Start.Add(p.EpochDuration),
		LastBlockId: cmtproto.BlockID{Hash: h[:]}, AppHash: h[:],
	})
	require.NoError(f.t, f.k.EndBlocker(f.ctx))
	e2, err := f.k.Epoch.Get(f.ctx)
	require.NoError(f.t, err)
	require.Equal(f.t, e.EpochId+1, e2.EpochId)
	f.checkInvariants()
}

func (f *fixture) checkInvariants() {
	f.t.Helper()
	require.NoError(f.t, f.k.CheckFunds(f.ctx))
	require.NoError(f.t, f.k.CheckDelegations(f.ctx))
}

func coin(n int64) sdk.Coin { return sdk.NewInt64Coin(types.Denom, n) }

func pair(id uint64, a sdk.AccAddress) collections.Pair[uint64, sdk.AccAddress] {
	return collections.Join(id, a)
}

func pair2(a sdk.AccAddress, id uint64) collections.Pair[sdk.AccAddress, uint64] {
	return collections.Join(a, id)
}

// storeDump is every key and value of the mixnet store, to show a refused message
// changed nothing.
func (f *fixture) storeDump() map[string]string {
	f.t.Helper()
	it := f.ctx.KVStore(f.storeKey).Iterator(nil, nil)
	defer it.Close()
	out := map[string]string{}
	for ; it.Valid(); it.Next() {
		out[string(it.Key())] = string(it.Value())
	}
	return out
}
