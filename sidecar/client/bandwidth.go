package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cosmos/cosmos-sdk/crypto/hd"
	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"google.golang.org/grpc"

	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/clientcred"
	"github.com/nyx-privacy/nyx/sidecar/gatewayclient"
	"github.com/nyx-privacy/nyx/sidecar/topology"
)

// ChainKeyFile is the client's chain account key, which pays for its
// credentials (credential buy, auto_buy). It is a secp256k1 key in
// chaintx's key file format, made by "nym-client credential address" or
// imported from a mnemonic.
const ChainKeyFile = "keys/chain_account.key"

// CredentialsSection is the buying of bandwidth credentials.
type CredentialsSection struct {
	AutoBuy        bool   `toml:"auto_buy"`
	AutoBuyDeposit string `toml:"auto_buy_deposit"`
	GasPrice       string `toml:"gas_price"`
}

// DefaultCredentialsSection is the default [credentials].
func DefaultCredentialsSection() CredentialsSection {
	return CredentialsSection{AutoBuyDeposit: "1000000unym", GasPrice: chaintx.DefaultGasPrice}
}

func (c CredentialsSection) validate() error {
	var errs []error
	if coin, err := sdk.ParseCoinNormalized(c.AutoBuyDeposit); err != nil || !coin.IsPositive() {
		errs = append(errs, fmt.Errorf("credentials.auto_buy_deposit %q is not a positive amount like 1000000unym", c.AutoBuyDeposit))
	}
	if _, err := chaintx.ParseGasPrice(c.GasPrice); err != nil {
		errs = append(errs, fmt.Errorf("credentials.gas_price: %v", err))
	}
	return errors.Join(errs...)
}

// ChainSigner loads (or, with create, makes) the chain key of the home in
// dir and returns a signer for the chain behind conn, with its chain id.
func ChainSigner(ctx context.Context, dir string, conn grpc.ClientConnInterface, gasPrice string, create bool) (*chaintx.Signer, string, error) {
	key, err := LoadChainKey(dir, create)
	if err != nil {
		return nil, "", err
	}
	chainID, err := clientcred.ChainID(ctx, conn)
	if err != nil {
		return nil, "", err
	}
	s, err := chaintx.New(conn, key, chaintx.Config{ChainID: chainID, GasPrice: gasPrice})
	if err != nil {
		return nil, "", err
	}
	return s, chainID, nil
}

// LoadChainKey reads the home's chain key, making one if create is set and
// there is none.
func LoadChainKey(dir string, create bool) (*secp256k1.PrivKey, error) {
	path := filepath.Join(dir, ChainKeyFile)
	key, err := chaintx.LoadKeyFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		return chaintx.GenerateKeyFile(path)
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no chain key in %s: make one with 'nym-client credential address' and fund it, or import a mnemonic", path)
	}
	return key, err
}

// ImportMnemonic derives the account key of a BIP-39 mnemonic (the Cosmos
// path m/44'/118'/0'/0/0, as nyxd keys add) and writes it as the home's
// chain key, refusing to replace one.
func ImportMnemonic(dir, mnemonic string) (*secp256k1.PrivKey, error) {
	mnemonic = strings.Join(strings.Fields(mnemonic), " ")
	path := filepath.Join(dir, ChainKeyFile)
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("%s exists: remove it first to import another key", path)
	}
	// Derive checks the mnemonic's words and checksum.
	bz, err := hd.Secp256k1.Derive()(mnemonic, "", hd.CreateHDPath(sdk.CoinType, 0, 0).String())
	if err != nil {
		return nil, fmt.Errorf("mnemonic: %w", err)
	}
	key := &secp256k1.PrivKey{Key: bz}
	if err := chaintx.WriteKeyFile(path, key); err != nil {
		return nil, err
	}
	return key, nil
}

// Bandwidth is the home's wallet, which the client presents credentials
// from, and with auto_buy the goroutine that buys the next one before the
// balance runs out. stop waits for that goroutine.
func (h *Home) Bandwidth(ctx context.Context, log *slog.Logger) (gatewayclient.Bandwidth, func(), error) {
	w, err := clientcred.Open(h.Dir, h.Keys.Identity)
	if err != nil {
		return nil, nil, err
	}
	if !h.Config.Credentials.AutoBuy {
		return w, func() {}, nil
	}
	conn, err := topology.Dial(h.Config.Chain.GRPC)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer conn.Close()
		autoBuy(ctx, h, w, conn, log)
	}()
	return w, func() { cancel(); <-done }, nil
}

// autoBuyEvery is how often the wallet is looked at for auto_buy.
const autoBuyEvery = 2 * time.Second

// autoBuy keeps one unshown credential in the wallet: the gateway holds
// the balance of the one shown last, so buying when none is left in the
// wallet buys the next before that balance runs out.
func autoBuy(ctx context.Context, h *Home, w *clientcred.Wallet, conn *grpc.ClientConn, log *slog.Logger) {
	var signer *chaintx.Signer
	var chainID string
	t := time.NewTicker(autoBuyEvery)
	defer t.Stop()
	for {
		if _, n, err := w.Balance(); err == nil && n == 0 {
			var err error
			if signer == nil {
				signer, chainID, err = ChainSigner(ctx, h.Dir, conn, h.Config.Credentials.GasPrice, false)
			}
			if err == nil {
				var rec *clientcred.Record
				rec, err = w.Buy(ctx, conn, signer, chainID, h.Config.Credentials.AutoBuyDeposit)
				if err == nil {
					log.Info("bought a bandwidth credential", "value_bytes", rec.Value, "deposit", rec.Deposit)
				}
			}
			if err != nil && ctx.Err() == nil {
				log.Warn("auto_buy: could not buy a credential", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// bandwidthStopped is why the gateway connection stopped sending, if it did.
func (c *Client) bandwidthStopped() error {
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn == nil {
		return nil
	}
	return conn.Stopped()
}
