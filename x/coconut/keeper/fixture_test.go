package keeper_test

import (
	"crypto/rand"
	"crypto/sha256"
	"testing"

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

	"github.com/nyx-privacy/nyx/coconut"
	nyxcoconut "github.com/nyx-privacy/nyx/x/coconut"
	"github.com/nyx-privacy/nyx/x/coconut/keeper"
	"github.com/nyx-privacy/nyx/x/coconut/types"
	"github.com/nyx-privacy/nyx/x/mixnet"
	mixnetkeeper "github.com/nyx-privacy/nyx/x/mixnet/keeper"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

const (
	testChainID = "nyx-test-1"
	minterName  = "minter"
	// testRate is the fixture's bytes_per_unym.
	testRate = 1_000
	// testDeposit is a deposit within the fixture's bounds.
	testDeposit = 5_000
)

// fixture is the coconut keeper over a real store with real auth and bank keepers,
// and a 2-of-3 issuing key made by a trusted dealer (the DKG comes later).
type fixture struct {
	t         testing.TB
	ctx       sdk.Context
	k         keeper.Keeper
	msg       types.MsgServer
	q         types.QueryServer
	bank      bankkeeper.BaseKeeper
	ak        authkeeper.AccountKeeper
	authority string
	issuers   []*coconut.SecretKey
	keySet    types.KeySet
	// mixnet is a real x/mixnet keeper on the same store, wired to the
	// coconut keeper (and back) only by wireMixnet.
	mixnet mixnetkeeper.Keeper
}

type fixtureOpt func(*fixture, *types.GenesisState)

// withoutKey starts the chain with no issuing key.
func withoutKey(_ *fixture, gs *types.GenesisState) { gs.KeySets = nil }

func newFixture(t testing.TB, opts ...fixtureOpt) *fixture {
	t.Helper()
	enc := moduletestutil.MakeTestEncodingConfig(auth.AppModuleBasic{}, bank.AppModuleBasic{}, nyxcoconut.AppModule{}, mixnet.AppModule{})
	keys := storetypes.NewKVStoreKeys(authtypes.StoreKey, banktypes.StoreKey, types.StoreKey, mixnettypes.StoreKey)
	logger := log.NewNopLogger()
	cms := store.NewCommitMultiStore(dbm.NewMemDB(), logger)
	for _, key := range keys {
		cms.MountStoreWithDB(key, storetypes.StoreTypeIAVL, nil)
	}
	require.NoError(t, cms.LoadLatestVersion())
	ctx := sdk.NewContext(cms, cmtproto.Header{ChainID: testChainID, Height: 1}, false, logger)
	ac := addresscodec.NewBech32Codec("n")
	authorityStr, err := ac.BytesToString(authtypes.NewModuleAddress("gov"))
	require.NoError(t, err)

	ak := authkeeper.NewAccountKeeper(enc.Codec, runtime.NewKVStoreService(keys[authtypes.StoreKey]), authtypes.ProtoBaseAccount,
		map[string][]string{minterName: {authtypes.Minter}, types.ModuleName: nil, mixnettypes.ModuleName: nil}, ac, "n", authorityStr)
	bk := bankkeeper.NewBaseKeeper(enc.Codec, runtime.NewKVStoreService(keys[banktypes.StoreKey]), ak,
		map[string]bool{}, authorityStr, logger)
	k := keeper.NewKeeper(enc.Codec, runtime.NewKVStoreService(keys[types.StoreKey]), ak, bk, authorityStr)
	f := &fixture{t: t, ctx: ctx, k: k, msg: keeper.NewMsgServerImpl(k), q: keeper.NewQuerier(k), bank: bk, ak: ak, authority: authorityStr}

	f.issuers, f.keySet = newKeySet(t, 1, 2, 3)
	gs := types.DefaultGenesisState()
	gs.Params.BytesPerUnym = testRate
	gs.Params.MinDeposit = sdk.NewInt64Coin(types.Denom, 1_000)
	gs.Params.MaxDeposit = sdk.NewInt64Coin(types.Denom, 1_000_000)
	gs.Params.RequestRetentionBlocks = 10
	gs.Params.KeyGraceBlocks = 5
	gs.Params.MaxSpendsPerTx = 4
	gs.CredentialTypes = []types.CredentialType{gs.Params.CurrentCredentialType()}
	gs.KeySets = []types.KeySet{f.keySet}
	for _, o := range opts {
		o(f, gs)
	}
	require.NoError(t, k.InitGenesis(ctx, gs))
	f.mixnet = mixnetkeeper.NewKeeper(enc.Codec, runtime.NewKVStoreService(keys[mixnettypes.StoreKey]), ak, bk, authorityStr)
	require.NoError(t, f.mixnet.InitGenesis(ctx, mixnettypes.DefaultGenesisState()))
	return f
}

// wireMixnet wires the two keepers as the app does: from here on the
// validators sign x/mixnet's next epoch and its role draw reads the beacon.
func (f *fixture) wireMixnet() {
	f.k.SetEpochSource(f.mixnet)
	f.mixnet.SetBeaconSource(f.k)
}

// newKeySet deals a fresh t-of-n key with a trusted dealer.
func newKeySet(t testing.TB, id uint64, threshold, n int) ([]*coconut.SecretKey, types.KeySet) {
	t.Helper()
	sks, err := coconut.TTPKeyGen(rand.Reader, types.CredentialParams(), threshold, n)
	require.NoError(t, err)
	vks := make([]*coconut.VerificationKey, n)
	indices := make([]uint64, n)
	ks := types.KeySet{KeyId: id, Threshold: uint32(threshold), ActivatedHeight: 1}
	for i, sk := range sks {
		vks[i], indices[i] = sk.VerificationKey(), uint64(i+1)
		bz, err := vks[i].MarshalBinary()
		require.NoError(t, err)
		ks.PartialKeys = append(ks.PartialKeys, types.PartialKey{SignerIndex: uint32(i + 1), VerificationKey: bz})
	}
	master, err := coconut.AggregateVerificationKeys(vks, indices)
	require.NoError(t, err)
	ks.MasterKey, err = master.MarshalBinary()
	require.NoError(t, err)
	return sks, ks
}

func (f *fixture) addr(a sdk.AccAddress) string {
	s, err := f.ak.AddressCodec().BytesToString(a)
	require.NoError(f.t, err)
	return s
}

func (f *fixture) balance(a sdk.AccAddress) math.Int {
	return f.bank.GetBalance(f.ctx, a, types.Denom).Amount
}

// account makes a funded account from a name.
func (f *fixture) account(name string, funds int64) sdk.AccAddress {
	h := sha256.Sum256([]byte("account/" + name))
	a := sdk.AccAddress(h[:20])
	if funds > 0 {
		coins := sdk.NewCoins(sdk.NewInt64Coin(types.Denom, funds))
		require.NoError(f.t, f.bank.MintCoins(f.ctx, minterName, coins))
		require.NoError(f.t, f.bank.SendCoinsFromModuleToAccount(f.ctx, minterName, a, coins))
	}
	return a
}

// setHeight moves the context to height and runs EndBlock there.
func (f *fixture) setHeight(h int64) {
	f.t.Helper()
	f.ctx = f.ctx.WithBlockHeight(h)
	require.NoError(f.t, f.k.EndBlocker(f.ctx))
}

// client is a credential holder: its voucher and the secrets of its request.
type client struct {
	voucher *coconut.BandwidthVoucher
	secrets *coconut.BlindSignSecrets
	request []byte
}

// newClient prepares a request for a voucher of value bytes and type typ.
func (f *fixture) newClient(value uint64, typ string) *client {
	f.t.Helper()
	v, err := coconut.NewBandwidthVoucher(rand.Reader, coconut.HashToScalar([]byte("holder")), value, typ)
	require.NoError(f.t, err)
	req, sec, err := coconut.PrepareBlindSign(rand.Reader, types.CredentialParams(), v.Private(), v.Public())
	require.NoError(f.t, err)
	bz, err := req.MarshalBinary()
	require.NoError(f.t, err)
	return &client{voucher: v, secrets: sec, request: bz}
}

// requestMsg is a correct request for a credential worth deposit unym.
func (f *fixture) requestMsg(sender sdk.AccAddress, deposit int64) (*types.MsgRequestCredential, *client) {
	typ := types.CredentialTypeName(testRate)
	c := f.newClient(uint64(deposit)*testRate, typ)
	return &types.MsgRequestCredential{
		Sender: f.addr(sender), BlindSignRequest: c.request, Value: uint64(deposit) * testRate,
		CredentialType: typ, Deposit: sdk.NewInt64Coin(types.Denom, deposit),
	}, c
}

// issue plays the issuers (signer indices 1..threshold of sks) on c's request and
// returns the unblinded, aggregated and verified credential.
func (f *fixture) issue(sks []*coconut.SecretKey, threshold int, c *client) *coconut.Signature {
	f.t.Helper()
	p := types.CredentialParams()
	var req coconut.BlindSignRequest
	require.NoError(f.t, req.UnmarshalBinary(c.request))
	sigs := make([]*coconut.Signature, threshold)
	indices := make([]uint64, threshold)
	vks := make([]*coconut.VerificationKey, len(sks))
	for i, sk := range sks {
		vks[i] = sk.VerificationKey()
	}
	for i := 0; i < threshold; i++ {
		bs, err := coconut.BlindSign(p, sks[i], &req)
		require.NoError(f.t, err)
		sigs[i], err = coconut.Unblind(p, vks[i], bs, c.secrets)
		require.NoError(f.t, err)
		indices[i] = uint64(i + 1)
	}
	cred, err := coconut.AggregateSignatures(sigs, indices)
	require.NoError(f.t, err)
	all := make([]uint64, len(sks))
	for i := range all {
		all[i] = uint64(i + 1)
	}
	master, err := coconut.AggregateVerificationKeys(vks, all)
	require.NoError(f.t, err)
	require.NoError(f.t, coconut.VerifySignature(p, master, cred, c.voucher.Attributes()))
	return cred
}

var gatewayIdentity = sha256.Sum256([]byte("gateway identity"))

// show shows cred to a gateway, bound to operator and nonce: the entry the
// gateway's operator submits.
func (f *fixture) show(sks []*coconut.SecretKey, cred *coconut.Signature, c *client, operator sdk.AccAddress, nonce string) types.SpendEntry {
	f.t.Helper()
	vks := make([]*coconut.VerificationKey, len(sks))
	all := make([]uint64, len(sks))
	for i, sk := range sks {
		vks[i], all[i] = sk.VerificationKey(), uint64(i+1)
	}
	master, err := coconut.AggregateVerificationKeys(vks, all)
	require.NoError(f.t, err)
	sctx := types.SpendContext(testChainID, f.addr(operator), gatewayIdentity[:], []byte(nonce))
	th, err := coconut.Prove(rand.Reader, types.CredentialParams(), master, cred, c.voucher.Attributes(), coconut.BandwidthShowSpec, sctx)
	require.NoError(f.t, err)
	bz, err := th.MarshalBinary()
	require.NoError(f.t, err)
	return types.SpendEntry{Theta: bz, GatewayIdentity: gatewayIdentity[:], Nonce: []byte(nonce)}
}

// credential requests and issues a credential worth deposit unym, paid by a fresh
// account, and returns it with its client.
func (f *fixture) credential(name string, deposit int64) (*coconut.Signature, *client) {
	f.t.Helper()
	sender := f.account(name, deposit)
	msg, c := f.requestMsg(sender, deposit)
	_, err := f.msg.RequestCredential(f.ctx, msg)
	require.NoError(f.t, err)
	return f.issue(f.issuers, 2, c), c
}

// snapshot is everything a rejected message must leave alone: the module's whole
// state and the balances of the accounts involved.
type snapshot struct {
	state    *types.GenesisState
	balances map[string]math.Int
}

func (f *fixture) snapshot(accounts ...sdk.AccAddress) snapshot {
	f.t.Helper()
	gs, err := f.k.ExportGenesis(f.ctx)
	require.NoError(f.t, err)
	s := snapshot{state: gs, balances: map[string]math.Int{}}
	for _, a := range append(accounts, f.k.ModuleAddress()) {
		s.balances[a.String()] = f.balance(a)
	}
	return s
}

func (f *fixture) requireUnchanged(before snapshot, accounts ...sdk.AccAddress) {
	f.t.Helper()
	after := f.snapshot(accounts...)
	require.Equal(f.t, before.state, after.state, "module state changed")
	for a, b := range before.balances {
		require.Truef(f.t, b.Equal(after.balances[a]), "balance of %s changed: %s -> %s", a, b, after.balances[a])
	}
}
