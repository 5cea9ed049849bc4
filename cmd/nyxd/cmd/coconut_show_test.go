package cmd

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/coconut"
	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
)

// issued deals a 3-of-4 key, has the first `signers` issuers sign a blind
// request for a voucher, and returns the key set, the partial signatures and
// the client's secrets.
func issued(t *testing.T, signers int) (*coconuttypes.KeySet, []coconuttypes.PartialSignature, *coconut.BlindSignSecrets, *coconut.BandwidthVoucher) {
	t.Helper()
	addrs := [][]byte{bytes.Repeat([]byte{1}, 20), bytes.Repeat([]byte{2}, 20), bytes.Repeat([]byte{3}, 20), bytes.Repeat([]byte{4}, 20)}
	ks, files, err := coconuttypes.DealKeySet(rand.Reader, 1, addrs)
	if err != nil {
		t.Fatal(err)
	}
	binding, _ := coconut.RandomScalar(rand.Reader)
	typ := coconuttypes.CredentialTypeName(1073)
	v, err := coconut.NewBandwidthVoucher(rand.Reader, binding, 1073_000_000, typ)
	if err != nil {
		t.Fatal(err)
	}
	p := coconuttypes.CredentialParams()
	req, sec, err := coconut.PrepareBlindSign(rand.Reader, p, v.Private(), v.Public())
	if err != nil {
		t.Fatal(err)
	}
	var partials []coconuttypes.PartialSignature
	for i := 0; i < signers; i++ {
		bs, err := coconut.BlindSign(p, files[i].Secret(), req)
		if err != nil {
			t.Fatal(err)
		}
		bz, _ := bs.MarshalBinary()
		partials = append(partials, coconuttypes.PartialSignature{RequestId: 1, SignerIndex: files[i].SignerIndex, BlindedSignature: bz})
	}
	return &ks, partials, sec, v
}

// TestSpendEntry: the entry `nyxd coconut show` prints verifies as a
// bandwidth show under the master key in its spend context only, two shows
// of one credential differ but carry the same spend tag, and a credential
// short of the threshold gives no entry.
func TestSpendEntry(t *testing.T) {
	ks, partials, sec, v := issued(t, 3)
	op := sdk.AccAddress(bytes.Repeat([]byte{9}, 20)).String()
	gw, nonce := bytes.Repeat([]byte{7}, 32), []byte("n1")
	e1, tag1, err := spendEntry(rand.Reader, "nyx-test", op, ks, partials, sec, gw, nonce)
	if err != nil {
		t.Fatal(err)
	}
	e2, tag2, err := spendEntry(rand.Reader, "nyx-test", op, ks, partials, sec, gw, nonce)
	if err != nil {
		t.Fatal(err)
	}
	if tag1 != tag2 || bytes.Equal(e1.Theta, e2.Theta) {
		t.Fatalf("two shows: tags equal %v, thetas equal %v; want same tag, new randomisation", tag1 == tag2, bytes.Equal(e1.Theta, e2.Theta))
	}
	master, err := coconuttypes.DecodeVerificationKey(ks.MasterKey, false)
	if err != nil {
		t.Fatal(err)
	}
	th, err := coconuttypes.DecodeTheta(e1.Theta)
	if err != nil {
		t.Fatal(err)
	}
	p := coconuttypes.CredentialParams()
	spent, err := coconut.VerifyBandwidth(p, master.Prepare(), th, coconuttypes.SpendContext("nyx-test", op, gw, nonce))
	if err != nil || spent.Value != v.Value || spent.Tag != tag1 {
		t.Fatalf("show does not verify in its context: %v, %+v", err, spent)
	}
	other := sdk.AccAddress(bytes.Repeat([]byte{8}, 20)).String()
	for name, ctx := range map[string][]byte{
		"another operator": coconuttypes.SpendContext("nyx-test", other, gw, nonce),
		"another chain":    coconuttypes.SpendContext("nyx-other", op, gw, nonce),
		"another nonce":    coconuttypes.SpendContext("nyx-test", op, gw, []byte("n2")),
	} {
		if _, err := coconut.VerifyBandwidth(p, master.Prepare(), th, ctx); err == nil {
			t.Fatalf("show verifies under %s", name)
		}
	}
	js, err := entryJSON(e1)
	if err != nil || strings.ContainsAny(js, " \n") || !strings.Contains(js, `"gateway_identity"`) {
		t.Fatalf("entry JSON %q: %v", js, err)
	}

	if _, _, err := spendEntry(rand.Reader, "nyx-test", op, ks, partials[:2], sec, gw, nonce); !errors.Is(err, coconuttypes.ErrNotIssued) {
		t.Fatalf("two partials of threshold 3: %v, want ErrNotIssued", err)
	}
}

// TestShowFlagsRefused: a bad operator, gateway identity or nonce is refused
// before anything is queried or proved.
func TestShowFlagsRefused(t *testing.T) {
	op := sdk.AccAddress(bytes.Repeat([]byte{9}, 20)).String()
	gw := hex.EncodeToString(bytes.Repeat([]byte{7}, 32))
	for name, c := range map[string][3]string{
		"no operator":         {"", gw, ""},
		"operator not bech32": {"op", gw, ""},
		"short gateway":       {op, gw[2:], ""},
		"gateway not hex":     {op, strings.Repeat("zz", 32), ""},
		"nonce over 64 bytes": {op, gw, strings.Repeat("00", 65)},
		"nonce not hex":       {op, gw, "xy"},
	} {
		cmd := showCmd()
		for i, f := range []string{flagOperator, flagGateway, flagNonce} {
			if err := cmd.Flags().Set(f, c[i]); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, _, err := showFlags(cmd); err == nil {
			t.Fatalf("%s: accepted", name)
		}
	}
	cmd := showCmd()
	_ = cmd.Flags().Set(flagOperator, op)
	_ = cmd.Flags().Set(flagGateway, gw)
	_ = cmd.Flags().Set(flagNonce, "0102")
	if o, g, n, err := showFlags(cmd); err != nil || o != op || len(g) != 32 || !bytes.Equal(n, []byte{1, 2}) {
		t.Fatalf("good flags: %v", err)
	}
}
