package client

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	nyxapp "github.com/nyx-privacy/nyx/app"
	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/clientcred"
	"github.com/nyx-privacy/nyx/testutil/chain"
	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
)

// TestAutoBuy: with auto_buy, the running client buys a credential through
// a real chain, paid by its home's chain key, as soon as its wallet holds
// no unshown one, and again once that one was shown and accepted.
func TestAutoBuy(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain")
	}
	c := chain.Start(t, chain.Options{Accounts: []string{"alice"}, Genesis: func(cdc codec.Codec, state nyxapp.GenesisState) error {
		var gs coconuttypes.GenesisState
		if err := cdc.UnmarshalJSON(state[coconuttypes.ModuleName], &gs); err != nil {
			return err
		}
		gs.Params.MinDeposit = sdk.NewInt64Coin(coconuttypes.Denom, 1000)
		bz, err := cdc.MarshalJSON(&gs)
		state[coconuttypes.ModuleName] = bz
		return err
	}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	keys, err := GenerateKeys(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultFileConfig()
	cfg.Chain.GRPC = c.GRPCAddr
	cfg.Credentials.AutoBuy, cfg.Credentials.AutoBuyDeposit = true, "1000unym"
	h := &Home{Dir: t.TempDir(), Config: cfg, Keys: keys}
	key, err := LoadChainKey(h.Dir, true)
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := chaintx.Address(key, "")
	res, err := c.BroadcastTx(ctx, "alice", &banktypes.MsgSend{FromAddress: c.Accounts["alice"].String(), ToAddress: addr,
		Amount: sdk.NewCoins(sdk.NewInt64Coin(coconuttypes.Denom, 10_000_000))})
	if err != nil || res.Code != 0 {
		t.Fatalf("fund the client's chain key: %v %v", err, res)
	}

	bw, stop, err := h.Bandwidth(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	w := bw.(*clientcred.Wallet)
	ready := func() int {
		_, n, err := w.Balance()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitUntil := func(what string, cond func() bool) {
		for !cond() {
			if ctx.Err() != nil {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitUntil("a first credential", func() bool { return ready() == 1 })
	// Shown and accepted: it leaves the wallet, and the client buys the next.
	id, _, err := w.Show([32]byte{1}, addr, [32]byte{2})
	if err != nil {
		t.Fatal(err)
	}
	w.Result(id, "", "")
	if ready() != 0 {
		t.Fatal("an accepted credential stayed in the wallet")
	}
	waitUntil("the next credential", func() bool { return ready() == 1 })
	recs, _, _ := w.List()
	if len(recs) != 1 || recs[0].Value != 1000*coconuttypes.DefaultBytesPerUnym {
		t.Fatalf("wallet after two purchases and a show: %+v", recs)
	}
}
