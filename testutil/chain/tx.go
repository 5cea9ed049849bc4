package chain

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/cosmos/cosmos-sdk/client/tx"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/app"
)

// TxError is a transaction the chain refused, in CheckTx or in the block.
type TxError struct {
	Code      uint32
	Codespace string
	Log       string
}

func (e *TxError) Error() string {
	return fmt.Sprintf("tx refused: codespace %s code %d: %s", e.Codespace, e.Code, e.Log)
}

// FeeGasPrice is the gas price BroadcastTx pays: the node's minimum, in unyx
// (every funded account holds some, and fees in unyx leave unym balances as
// the tests expect them).
const FeeGasPrice = app.MinGasPriceAmount + app.BondDenom

// BroadcastTx signs msgs with the named key, broadcasts them and waits for
// the block that includes them. Gas is simulated first and paid at
// FeeGasPrice. It returns the delivered result, or a *TxError if the chain
// refused the transaction.
func (c *Chain) BroadcastTx(ctx context.Context, from string, msgs ...sdk.Msg) (*sdk.TxResponse, error) {
	return c.broadcastTx(ctx, from, true, nil, msgs...)
}

// BroadcastTxWithFees is BroadcastTx with the fee given instead of computed from
// the gas price: a test of the chain's fee checks pays too little with it.
func (c *Chain) BroadcastTxWithFees(ctx context.Context, from string, fees sdk.Coins, msgs ...sdk.Msg) (*sdk.TxResponse, error) {
	return c.broadcastTx(ctx, from, false, fees, msgs...)
}

func (c *Chain) broadcastTx(ctx context.Context, from string, atGasPrice bool, fees sdk.Coins, msgs ...sdk.Msg) (*sdk.TxResponse, error) {
	rec, err := c.Keyring.Key(from)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", from, err)
	}
	addr, err := rec.GetAddress()
	if err != nil {
		return nil, err
	}
	clientCtx := c.ClientCtx.WithFromName(from).WithFromAddress(addr).WithCmdContext(ctx)
	acc, err := clientCtx.AccountRetriever.GetAccount(clientCtx, addr)
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", addr, err)
	}
	f := tx.Factory{}.
		WithChainID(c.ChainID).
		WithKeybase(c.Keyring).
		WithFromName(from).
		WithTxConfig(c.ClientCtx.TxConfig).
		WithAccountRetriever(c.ClientCtx.AccountRetriever).
		WithAccountNumber(acc.GetAccountNumber()).
		WithSequence(acc.GetSequence()).
		WithGasAdjustment(1.5).
		WithSimulateAndExecute(true)

	_, gas, err := tx.CalculateGas(clientCtx, f, msgs...)
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	f = f.WithGas(gas)
	if atGasPrice {
		f = f.WithGasPrices(FeeGasPrice)
	} else {
		f = f.WithFees(fees.String())
	}
	b, err := f.BuildUnsignedTx(msgs...)
	if err != nil {
		return nil, err
	}
	if err := tx.Sign(ctx, f, from, b, true); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	bz, err := c.ClientCtx.TxConfig.TxEncoder()(b.GetTx())
	if err != nil {
		return nil, err
	}
	res, err := clientCtx.BroadcastTxSync(bz)
	if err != nil {
		return nil, fmt.Errorf("broadcast: %w", err)
	}
	if res.Code != 0 {
		return res, &TxError{Code: res.Code, Codespace: res.Codespace, Log: res.RawLog}
	}
	return c.WaitForTx(ctx, res.TxHash)
}

// WaitForTx waits until the transaction with the given hex hash is in a
// block and returns its result (a *TxError if it failed in the block).
func (c *Chain) WaitForTx(ctx context.Context, hash string) (*sdk.TxResponse, error) {
	raw, err := hex.DecodeString(hash)
	if err != nil {
		return nil, fmt.Errorf("tx hash %q: %w", hash, err)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		r, err := c.ClientCtx.Client.Tx(ctx, raw, false)
		if err == nil {
			res := sdk.NewResponseResultTx(r, nil, "")
			if r.TxResult.Code != 0 {
				return res, &TxError{Code: r.TxResult.Code, Codespace: r.TxResult.Codespace, Log: r.TxResult.Log}
			}
			return res, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for tx %s: %w (last: %v)", hash, ctx.Err(), err)
		case <-tick.C:
		}
	}
}
