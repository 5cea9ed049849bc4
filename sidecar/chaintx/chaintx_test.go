package chaintx

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/nyx-privacy/nyx/sidecar/home"
	"github.com/nyx-privacy/nyx/testutil/chain"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

func unym(n int64) sdk.Coins { return sdk.NewCoins(sdk.NewCoin(mixnettypes.Denom, sdkmath.NewInt(n))) }

// TestSubmit runs against a real in-process chain reached over its gRPC
// port only: a funded account's bank send lands in a block and pays its
// fee at the gas price; two sends in a row take consecutive sequences; an
// account the chain has never seen, and one too poor for the fee, get
// ErrUnfunded.
func TestSubmit(t *testing.T) {
	c := chain.Start(t)
	conn := c.GRPC(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	key, err := GenerateKeyFile(filepath.Join(t.TempDir(), "keys", "account.key"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(conn, key, Config{ChainID: c.ChainID, Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Address(), "n1") {
		t.Fatalf("address %q", s.Address())
	}
	bob := c.Accounts["bob"].String()
	send := &banktypes.MsgSend{FromAddress: s.Address(), ToAddress: bob, Amount: unym(1000)}

	// Never funded: the chain does not know the account.
	if _, err := s.Submit(ctx, send); !errors.Is(err, ErrUnfunded) || !strings.Contains(err.Error(), s.Address()) {
		t.Fatalf("unfunded account: %v", err)
	}

	// Funded with less than the fee.
	if _, err := c.BroadcastTx(ctx, "alice", &banktypes.MsgSend{FromAddress: c.Accounts["alice"].String(), ToAddress: s.Address(), Amount: unym(1001)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Submit(ctx, send); !errors.Is(err, ErrUnfunded) {
		t.Fatalf("account too poor for the fee: %v", err)
	}

	if _, err := c.BroadcastTx(ctx, "alice", &banktypes.MsgSend{FromAddress: c.Accounts["alice"].String(), ToAddress: s.Address(), Amount: unym(10_000_000)}); err != nil {
		t.Fatal(err)
	}
	bank := banktypes.NewQueryClient(conn)
	balance := func(addr string) sdkmath.Int {
		r, err := bank.Balance(ctx, &banktypes.QueryBalanceRequest{Address: addr, Denom: mixnettypes.Denom})
		if err != nil {
			t.Fatal(err)
		}
		return r.Balance.Amount
	}
	bobBefore, mineBefore := balance(bob), balance(s.Address())
	var fees sdkmath.Int = sdkmath.ZeroInt()
	for i := range 2 {
		res, err := s.Submit(ctx, send)
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if res.Height == 0 || res.GasWanted == 0 {
			t.Fatalf("send %d: result %+v is not a delivered tx", i, res)
		}
		// fee = ceil(gas wanted * 0.025)
		fee := sdkmath.LegacyNewDec(res.GasWanted).Mul(sdkmath.LegacyMustNewDecFromStr("0.025")).Ceil().TruncateInt()
		fees = fees.Add(fee)
	}
	if got := balance(bob).Sub(bobBefore); !got.Equal(sdkmath.NewInt(2000)) {
		t.Fatalf("bob received %v, want 2000", got)
	}
	if spent := mineBefore.Sub(balance(s.Address())); !spent.Equal(fees.AddRaw(2000)) || !fees.IsPositive() {
		t.Fatalf("the account spent %v, want 2000 plus fees %v", spent, fees)
	}

	// A message the chain refuses comes back as a TxError.
	bad := &banktypes.MsgSend{FromAddress: s.Address(), ToAddress: bob, Amount: unym(1_000_000_000)}
	var txErr *TxError
	if _, err := s.Submit(ctx, bad); err == nil || errors.As(err, &txErr) && txErr.Code == 0 {
		t.Fatalf("an overdrawn send: %v", err)
	}
}

func TestKeyFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "keys", "account.key")
	k, err := GenerateKeyFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode().Perm())
	}
	got, err := LoadKeyFile(p)
	if err != nil || !got.Equals(k) {
		t.Fatalf("reload: %v", err)
	}
	if _, err := GenerateKeyFile(p); err == nil {
		t.Fatal("a key file was overwritten")
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyFile(p); !errors.Is(err, ErrKeyFile) {
		t.Fatalf("a world-readable key was loaded: %v", err)
	}
	for _, bad := range []string{"", "nyx-chain-account-secp256k1: 00", keyLabel + ": " + strings.Repeat("0", 64),
		keyLabel + ": " + strings.Repeat("f", 64), keyLabel + ": " + strings.Repeat("zz", 32), "other: " + strings.Repeat("11", 32)} {
		if _, err := ParseKey([]byte(bad)); !errors.Is(err, ErrKeyFile) {
			t.Fatalf("%q: %v", bad, err)
		}
	}
	b, _ := os.ReadFile(p)
	if !bytes.Equal(b, home.EncodeKey(keyLabel, k.Bytes())) {
		t.Fatalf("not written in the home format: %q", b)
	}
}

// TestOldKeyFile: an account key written before the home format (hex after
// the label) still loads, to the same key.
func TestOldKeyFile(t *testing.T) {
	k := secp256k1.GenPrivKey()
	p := filepath.Join(t.TempDir(), "account.key")
	if err := os.WriteFile(p, []byte(keyLabel+": "+hex.EncodeToString(k.Bytes())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadKeyFile(p)
	if err != nil || !got.Equals(k) {
		t.Fatalf("old key file: %v", err)
	}
}

func FuzzParseKey(f *testing.F) {
	f.Add([]byte(keyLabel + ": " + strings.Repeat("11", 32) + "\n"))
	f.Add([]byte(keyLabel + ": " + strings.Repeat("ff", 32)))
	f.Add(home.EncodeKey(keyLabel, bytes.Repeat([]byte{0x11}, 32)))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseKey(b)
		if err != nil {
			if !errors.Is(err, ErrKeyFile) {
				t.Fatalf("error %v is not ErrKeyFile", err)
			}
			return
		}
		if len(k.Key) != secp256k1.PrivKeySize || k.PubKey() == nil {
			t.Fatal("a parsed key is unusable")
		}
	})
}
