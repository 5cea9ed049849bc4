package app_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cryptoenc "github.com/cometbft/cometbft/crypto/encoding"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	dbm "github.com/cosmos/cosmos-db"

	"cosmossdk.io/log/v2"

	"github.com/cosmos/cosmos-sdk/baseapp"
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	wasmtypes "github.com/CosmWasm/wasmd/x/wasm/types"

	"github.com/nyx-privacy/nyx/app"
	"github.com/nyx-privacy/nyx/testutil/chain"
)

// TestGenesisExportReimport exports a running chain that holds accounts,
// transfers and a contract, imports the export into a fresh app, and checks
// that (1) exporting the imported state gives back exactly the same genesis,
// module by module, and (2) a fresh chain starts from it through InitChain
// and commits its first block.
func TestGenesisExportReimport(t *testing.T) {
	code, err := os.ReadFile(wasmdTestContract(t, "hackatom.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	c := chain.Start(t)
	ctx := ctxT(t, 60*time.Second)
	alice, bob := c.Accounts["alice"], c.Accounts["bob"]
	if _, err := c.BroadcastTx(ctx, "alice", banktypes.NewMsgSend(alice, bob, sdk.NewCoins(sdk.NewInt64Coin(app.MixDenom, 777)))); err != nil {
		t.Fatal(err)
	}
	if _, err := c.BroadcastTx(ctx, "alice", &wasmtypes.MsgStoreCode{Sender: alice.String(), WASMByteCode: code}); err != nil {
		t.Fatal(err)
	}

	exported, err := c.StopAndExport()
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	var state app.GenesisState
	if err := json.Unmarshal(exported.AppState, &state); err != nil {
		t.Fatal(err)
	}

	// (1) import -> export is the identity.
	fresh := newApp(t, c.ChainID)
	ctxB := fresh.NewNextBlockContext(cmtproto.Header{Height: exported.Height, ChainID: c.ChainID})
	if _, err := fresh.ModuleManager.InitGenesis(ctxB, fresh.AppCodec(), state); err != nil {
		t.Fatalf("import genesis: %v", err)
	}
	again, err := fresh.ModuleManager.ExportGenesis(ctxB, fresh.AppCodec())
	if err != nil {
		t.Fatalf("re-export: %v", err)
	}
	if len(again) != len(state) {
		t.Fatalf("re-export has %d modules, export had %d", len(again), len(state))
	}
	for name, want := range state {
		if got := again[name]; !jsonEqual(t, got, want) {
			t.Errorf("module %s differs after import/export:\n got  %s\n want %s", name, got, want)
		}
	}

	// (2) A fresh chain starts from the export.
	chain2 := newApp(t, c.ChainID)
	cp := exported.ConsensusParams
	vals := make([]abci.ValidatorUpdate, 0, len(exported.Validators))
	for _, v := range exported.Validators {
		pk, err := cryptoenc.PubKeyToProto(v.PubKey)
		if err != nil {
			t.Fatal(err)
		}
		vals = append(vals, abci.ValidatorUpdate{PubKey: pk, Power: v.Power})
	}
	genTime := time.Now().UTC()
	if _, err := chain2.InitChain(&abci.RequestInitChain{
		Time: genTime, ChainId: c.ChainID, ConsensusParams: &cp, Validators: vals,
		AppStateBytes: exported.AppState, InitialHeight: exported.Height,
	}); err != nil {
		t.Fatalf("InitChain from export: %v", err)
	}
	if _, err := chain2.FinalizeBlock(&abci.RequestFinalizeBlock{Height: exported.Height, Time: genTime.Add(time.Second)}); err != nil {
		t.Fatalf("first block: %v", err)
	}
	if _, err := chain2.Commit(); err != nil {
		t.Fatalf("commit: %v", err)
	}
	if got := chain2.LastBlockHeight(); got != exported.Height {
		t.Fatalf("fresh chain at height %d, want %d", got, exported.Height)
	}
	qctx := chain2.NewContextLegacy(true, cmtproto.Header{Height: exported.Height})
	if got := chain2.BankKeeper.GetBalance(qctx, bob, app.MixDenom); got.Amount.Int64() != 1_000_000_000_777 {
		t.Fatalf("bob's unym after re-import: %s", got)
	}
	if info := chain2.WasmKeeper.GetCodeInfo(qctx, 1); info == nil {
		t.Fatal("stored contract code missing after re-import")
	}
}

func newApp(t *testing.T, chainID string) *app.NyxApp {
	t.Helper()
	a := app.New(log.NewNopLogger(), dbm.NewMemDB(), true, simtestutil.NewAppOptionsWithFlagHome(t.TempDir()), nil,
		baseapp.SetChainID(chainID))
	t.Cleanup(func() { _ = a.Close() })
	return a
}

func jsonEqual(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		return false
	}
	if err := json.Unmarshal(b, &y); err != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
