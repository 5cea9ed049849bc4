package mixnet

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/nyx-privacy/nyx/app"
	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/clientcred"
	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
)

// cheapCredentials sets x/coconut's rate and minimum deposit, so that a
// test's credential is worth a few hundred packets, not a gigabyte.
func cheapCredentials(cdc codec.Codec, state app.GenesisState, rate uint64, minDeposit int64) error {
	var gs coconuttypes.GenesisState
	if err := cdc.UnmarshalJSON(state[coconuttypes.ModuleName], &gs); err != nil {
		return err
	}
	gs.Params.BytesPerUnym = rate
	if minDeposit > 0 {
		gs.Params.MinDeposit = sdk.NewInt64Coin(coconuttypes.Denom, minDeposit)
	}
	bz, err := cdc.MarshalJSON(&gs)
	state[coconuttypes.ModuleName] = bz
	return err
}

// ChainAccount makes a chain account funded by alice, as a client's or an
// operator's own key.
func (nw *Network) ChainAccount(ctx context.Context, t testing.TB) *chaintx.Signer {
	t.Helper()
	key, err := chaintx.GenerateKeyFile(filepath.Join(tempDir(t), "chain.key"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := chaintx.New(nw.Chain.GRPC(t), key, chaintx.Config{ChainID: nw.Chain.ChainID, Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	res, err := nw.Chain.BroadcastTx(ctx, "alice", &banktypes.MsgSend{FromAddress: nw.Chain.Accounts["alice"].String(), ToAddress: s.Address(),
		Amount: sdk.NewCoins(sdk.NewInt64Coin(coconuttypes.Denom, 100_000_000))})
	if err != nil || res.Code != 0 {
		t.Fatalf("fund %s: %v %v", s.Address(), err, res)
	}
	return s
}

// BuyCredential buys n credentials of deposit for c through the chain,
// paid by payer, into c's wallet.
func (nw *Network) BuyCredential(ctx context.Context, t testing.TB, c *Client, payer *chaintx.Signer, deposit string, n int) []*clientcred.Record {
	t.Helper()
	var out []*clientcred.Record
	for i := range n {
		r, err := c.Wallet.Buy(ctx, nw.Chain.GRPC(t), payer, nw.Chain.ChainID, deposit)
		if err != nil {
			t.Fatal(fmt.Errorf("buy credential %d: %w", i, err))
		}
		out = append(out, r)
	}
	return out
}
