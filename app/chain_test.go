package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	wasmtypes "github.com/CosmWasm/wasmd/x/wasm/types"

	"github.com/nyx-privacy/nyx/app"
	"github.com/nyx-privacy/nyx/testutil/chain"
)

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestBankSendQueryGRPCAndREST sends both denoms between accounts through
// real transactions and reads the balances back over gRPC and REST.
func TestBankSendQueryGRPCAndREST(t *testing.T) {
	c := chain.Start(t)
	ctx := ctxT(t, 60*time.Second)
	alice, bob := c.Accounts["alice"], c.Accounts["bob"]

	bank := banktypes.NewQueryClient(c.GRPC(t))
	before, err := bank.AllBalances(ctx, &banktypes.QueryAllBalancesRequest{Address: bob.String()})
	if err != nil {
		t.Fatalf("balances over gRPC: %v", err)
	}

	amount := sdk.NewCoins(sdk.NewInt64Coin(app.MixDenom, 12_345), sdk.NewInt64Coin(app.BondDenom, 678))
	if _, err := c.BroadcastTx(ctx, "alice", banktypes.NewMsgSend(alice, bob, amount)); err != nil {
		t.Fatalf("send: %v", err)
	}

	after, err := bank.AllBalances(ctx, &banktypes.QueryAllBalancesRequest{Address: bob.String()})
	if err != nil {
		t.Fatalf("balances over gRPC: %v", err)
	}
	if want := before.Balances.Add(amount...); !after.Balances.Equal(want) {
		t.Fatalf("bob over gRPC: got %s, want %s", after.Balances, want)
	}

	// The same balance over the REST gateway.
	var rest struct {
		Balance struct {
			Denom  string `json:"denom"`
			Amount string `json:"amount"`
		} `json:"balance"`
	}
	getJSON(t, fmt.Sprintf("%s/cosmos/bank/v1beta1/balances/%s/by_denom?denom=%s", c.REST, bob, app.MixDenom), &rest)
	if got, want := rest.Balance.Amount, after.Balances.AmountOf(app.MixDenom).String(); got != want {
		t.Fatalf("bob's unym over REST: got %s, want %s", got, want)
	}

	// Sending more than one holds is refused and changes nothing.
	tooMuch := sdk.NewCoins(sdk.NewCoin(app.MixDenom, after.Balances.AmountOf(app.MixDenom).Add(sdkmath.OneInt())))
	if _, err := c.BroadcastTx(ctx, "bob", banktypes.NewMsgSend(bob, alice, tooMuch)); err == nil {
		t.Fatal("sending more than the balance was accepted")
	}
	final, err := bank.AllBalances(ctx, &banktypes.QueryAllBalancesRequest{Address: bob.String()})
	if err != nil {
		t.Fatal(err)
	}
	if !final.Balances.Equal(after.Balances) {
		t.Fatalf("a refused send changed bob's balance: %s -> %s", after.Balances, final.Balances)
	}
}

// TestWasmContractAsUser uploads, instantiates, executes and queries the
// hackatom contract that ships in wasmd's module, as an ordinary account.
func TestWasmContractAsUser(t *testing.T) {
	code, err := os.ReadFile(wasmdTestContract(t, "hackatom.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	c := chain.Start(t)
	ctx := ctxT(t, 90*time.Second)
	alice, bob, carol := c.Accounts["alice"], c.Accounts["bob"], c.Accounts["carol"]

	res, err := c.BroadcastTx(ctx, "alice", &wasmtypes.MsgStoreCode{Sender: alice.String(), WASMByteCode: code})
	if err != nil {
		t.Fatalf("store code: %v", err)
	}
	codeID := eventAttr(t, res, "store_code", "code_id")

	deposit := sdk.NewCoins(sdk.NewInt64Coin(app.MixDenom, 5_000))
	initMsg := fmt.Sprintf(`{"verifier":%q,"beneficiary":%q}`, bob.String(), carol.String())
	var id uint64
	fmt.Sscan(codeID, &id)
	res, err = c.BroadcastTx(ctx, "alice", &wasmtypes.MsgInstantiateContract{
		Sender: alice.String(), Admin: alice.String(), CodeID: id, Label: "hackatom",
		Msg: []byte(initMsg), Funds: deposit,
	})
	if err != nil {
		t.Fatalf("instantiate: %v", err)
	}
	contract := eventAttr(t, res, "instantiate", "_contract_address")

	wasmQ := wasmtypes.NewQueryClient(c.GRPC(t))
	q, err := wasmQ.SmartContractState(ctx, &wasmtypes.QuerySmartContractStateRequest{
		Address: contract, QueryData: []byte(`{"verifier":{}}`),
	})
	if err != nil {
		t.Fatalf("query verifier: %v", err)
	}
	var verifier struct {
		Verifier string `json:"verifier"`
	}
	if err := json.Unmarshal(q.Data, &verifier); err != nil || verifier.Verifier != bob.String() {
		t.Fatalf("verifier: got %s (%v), want %s", q.Data, err, bob)
	}

	// Only the verifier may release; a release by anyone else is refused.
	if _, err := c.BroadcastTx(ctx, "alice", &wasmtypes.MsgExecuteContract{
		Sender: alice.String(), Contract: contract, Msg: []byte(`{"release":{}}`),
	}); err == nil {
		t.Fatal("release by a non-verifier was accepted")
	}

	bank := banktypes.NewQueryClient(c.GRPC(t))
	before, err := bank.Balance(ctx, &banktypes.QueryBalanceRequest{Address: carol.String(), Denom: app.MixDenom})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.BroadcastTx(ctx, "bob", &wasmtypes.MsgExecuteContract{
		Sender: bob.String(), Contract: contract, Msg: []byte(`{"release":{}}`),
	}); err != nil {
		t.Fatalf("release by the verifier: %v", err)
	}
	after, err := bank.Balance(ctx, &banktypes.QueryBalanceRequest{Address: carol.String(), Denom: app.MixDenom})
	if err != nil {
		t.Fatal(err)
	}
	if got := after.Balance.Amount.Sub(before.Balance.Amount); !got.Equal(deposit.AmountOf(app.MixDenom)) {
		t.Fatalf("beneficiary received %s, want the contract's %s", got, deposit)
	}
}

// wasmdTestContract returns the path of a contract in wasmd's module
// testdata, from the module cache.
func wasmdTestContract(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/CosmWasm/wasmd").Output()
	if err != nil {
		t.Fatalf("locate wasmd module: %v", err)
	}
	p := filepath.Join(strings.TrimSpace(string(out)), "x", "wasm", "keeper", "testdata", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("wasmd test contract: %v", err)
	}
	return p
}

func eventAttr(t *testing.T, res *sdk.TxResponse, typ, key string) string {
	t.Helper()
	for _, e := range res.Events {
		if e.Type != typ {
			continue
		}
		for _, a := range e.Attributes {
			if a.Key == key {
				return a.Value
			}
		}
	}
	t.Fatalf("no %s.%s in the tx events", typ, key)
	return ""
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: decode %s: %v", url, body, err)
	}
}
