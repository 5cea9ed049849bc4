package app_test

import (
	"errors"
	"testing"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/nyx-privacy/nyx/app"
	"github.com/nyx-privacy/nyx/testutil/chain"
)

// TestMinimumGasPrice: a node with the default app.toml refuses a transaction that
// pays no fee, or less than its gas at the minimum price, and changes nothing;
// a fee at the price in either token is taken.
func TestMinimumGasPrice(t *testing.T) {
	if app.DefaultAppConfig().MinGasPrices != "0.025unym,0.025unyx" {
		t.Fatalf("default minimum-gas-prices %q", app.DefaultAppConfig().MinGasPrices)
	}
	c := chain.Start(t)
	ctx := ctxT(t, 60*time.Second)
	alice, bob := c.Accounts["alice"], c.Accounts["bob"]
	bank := banktypes.NewQueryClient(c.GRPC(t))
	balances := func(a sdk.AccAddress) sdk.Coins {
		t.Helper()
		res, err := bank.AllBalances(ctx, &banktypes.QueryAllBalancesRequest{Address: a.String()})
		if err != nil {
			t.Fatal(err)
		}
		return res.Balances
	}
	send := banktypes.NewMsgSend(alice, bob, sdk.NewCoins(sdk.NewInt64Coin(app.MixDenom, 1)))
	aliceBefore, bobBefore := balances(alice), balances(bob)

	for _, fees := range []sdk.Coins{nil, sdk.NewCoins(sdk.NewInt64Coin(app.BondDenom, 1)), sdk.NewCoins(sdk.NewInt64Coin(app.MixDenom, 1))} {
		_, err := c.BroadcastTxWithFees(ctx, "alice", fees, send)
		var txErr *chain.TxError
		if !errors.As(err, &txErr) || txErr.Codespace != sdkerrors.RootCodespace || txErr.Code != sdkerrors.ErrInsufficientFee.ABCICode() {
			t.Fatalf("fee %q: want an insufficient-fee refusal, got %v", fees, err)
		}
	}
	if a, b := balances(alice), balances(bob); !a.Equal(aliceBefore) || !b.Equal(bobBefore) {
		t.Fatalf("a refused transaction changed balances: alice %s -> %s, bob %s -> %s", aliceBefore, a, bobBefore, b)
	}

	// Enough in either token is accepted (the gas limit is well under 4,000,000).
	for _, denom := range []string{app.MixDenom, app.BondDenom} {
		fee := sdk.NewCoins(sdk.NewInt64Coin(denom, 100_000))
		if _, err := c.BroadcastTxWithFees(ctx, "alice", fee, send); err != nil {
			t.Fatalf("fee %s: %v", fee, err)
		}
	}
	if got, want := balances(bob).AmountOf(app.MixDenom), bobBefore.AmountOf(app.MixDenom).AddRaw(2); !got.Equal(want) {
		t.Fatalf("bob's unym %s, want %s", got, want)
	}
}
