package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/node"
	"github.com/nyx-privacy/nyx/testutil/chain"
	"github.com/nyx-privacy/nyx/testutil/mixnet"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	cmd.SetContext(context.Background())
	err := cmd.Execute()
	return out.String(), err
}

// TestInitAndBondOnChain: init writes a home; bonding-info reads the owner's
// nonce from a real chain over gRPC; the bond built from what it prints is
// accepted by the chain, and the chain then holds the node's keys.
func TestInitAndBondOnChain(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain")
	}
	c := chain.Start(t, chain.Options{Accounts: []string{"owner"}, Genesis: mixnet.Genesis(mixnet.GenesisParams{})})
	home := filepath.Join(t.TempDir(), "node")
	out, err := run(t, "init", "--home", home, "--host", "127.0.0.1", "--mix-port", "21789",
		"--clients-port", "29000", "--http-port", "28000", "--grpc-addr", c.GRPCAddr, "--chain-id", c.ChainID)
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	if _, err := run(t, "init", "--home", home); err == nil {
		t.Fatal("a second init succeeded")
	}
	owner := c.Accounts["owner"].String()
	if _, err := run(t, "bonding-info", "--home", home, "--owner", owner); err == nil {
		t.Fatal("bonding-info without --grpc-addr or --nonce succeeded")
	}
	out, err = run(t, "bonding-info", "--home", home, "--owner", owner, "--grpc-addr", c.GRPCAddr, "-o", "json")
	if err != nil {
		t.Fatalf("bonding-info: %v\n%s", err, out)
	}
	var info node.BondingInfo
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("bonding-info JSON: %v\n%s", err, out)
	}
	if info.Nonce != 0 || info.ChainID != c.ChainID || info.MixPort != 21789 {
		t.Fatalf("info %+v", info)
	}
	text, err := run(t, "bonding-info", "--home", home, "--owner", owner, "--nonce", "0")
	if err != nil || !strings.Contains(text, info.Signature) || !strings.Contains(text, "nyxd tx mixnet bond-node") {
		t.Fatalf("text form: %v\n%s", err, text)
	}

	dec := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	msg := &mixnettypes.MsgBondNode{
		Owner: owner, Pledge: sdk.NewInt64Coin(mixnettypes.Denom, mixnet.Pledge),
		IdentityKey: dec(info.IdentityKey), SphinxKey: dec(info.SphinxKey), Host: info.Host,
		MixPort: uint32(info.MixPort), ClientsPort: uint32(info.ClientsPort), HttpPort: uint32(info.HTTPPort),
		Signature: dec(info.Signature),
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.BroadcastTx(ctx, "owner", msg); err != nil {
		t.Fatalf("the chain refused the bond: %v", err)
	}
	q := mixnettypes.NewQueryClient(c.GRPC(t))
	got, err := q.NodeByOwner(ctx, &mixnettypes.QueryNodeByOwnerRequest{Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := node.LoadKeys(home)
	if err != nil {
		t.Fatal(err)
	}
	addrOut, err := run(t, "chain-address", "--home", home)
	if want, _ := chaintx.Address(keys.Account, ""); err != nil || strings.TrimSpace(addrOut) != want || !strings.HasPrefix(want, "n1") {
		t.Fatalf("chain-address printed %q (%v), want the account key's address %q", addrOut, err, want)
	}
	id := keys.IdentityPublic()
	if !bytes.Equal(got.Node.IdentityKey, id[:]) || !bytes.Equal(got.Node.SphinxKey, keys.Sphinx.PublicKey().Bytes()) {
		t.Fatal("the bonded keys are not the node's")
	}
	// The nonce moved on: the same signature is now stale.
	out, err = run(t, "bonding-info", "--home", home, "--owner", owner, "--grpc-addr", c.GRPCAddr, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var after node.BondingInfo
	_ = json.Unmarshal([]byte(out), &after)
	if after.Nonce != 1 || after.Signature == info.Signature {
		t.Fatalf("after bonding: nonce %d", after.Nonce)
	}
	if _, err := run(t, "bonding-info", "--home", home, "--owner", owner, "--grpc-addr", c.GRPCAddr, "--nonce", strconv.Itoa(0)); err == nil {
		t.Fatal("a --nonce that differs from the chain's was accepted")
	}

	// Rotation: the next key is written, printed in the announcing command,
	// and the chain takes the announcement.
	out, err = run(t, "rotate-sphinx-key", "--home", home)
	if err != nil {
		t.Fatalf("rotate-sphinx-key: %v\n%s", err, out)
	}
	keys, err = node.LoadKeys(home)
	if err != nil {
		t.Fatal(err)
	}
	if keys.NextSphinx == nil {
		t.Fatal("rotate-sphinx-key wrote no next key")
	}
	next := hex.EncodeToString(keys.NextSphinx.PublicKey().Bytes())
	if !strings.Contains(out, "update-node-config --next-sphinx-key "+next) || !strings.Contains(out, "--chain-id "+c.ChainID) {
		t.Fatalf("rotate-sphinx-key does not print the announcing command for %s:\n%s", next, out)
	}
	if _, err := run(t, "rotate-sphinx-key", "--home", home); err == nil || !strings.Contains(err.Error(), "already waiting") {
		t.Fatalf("a second rotate-sphinx-key: %v", err)
	}
	if _, err := c.BroadcastTx(ctx, "owner", &mixnettypes.MsgUpdateNodeConfig{Owner: owner, NextSphinxKey: dec(next)}); err != nil {
		t.Fatalf("the chain refused the announcement: %v", err)
	}
	got, err = q.NodeByOwner(ctx, &mixnettypes.QueryNodeByOwnerRequest{Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got.Node.NextSphinxKey) != next {
		t.Fatal("the chain does not hold the announced next key")
	}
}

// TestHomeEnvAndOutput: without --home the home is $NYM_NODE_HOME; flags
// come from the environment ($NYM_NODE_GRPC_ADDR) unless given; the
// deprecated --grpc still works; init and chain-address print JSON with
// -o json.
func TestHomeEnvAndOutput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	t.Setenv("NYM_NODE_HOME", dir)
	t.Setenv("NYM_NODE_GRPC_ADDR", "127.0.0.1:7")
	out, err := run(t, "init", "--chain-id", "nyx-test", "-o", "json")
	if err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	var got initOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Home != dir || len(got.IdentityKey) != 64 || !strings.HasPrefix(got.ChainAccount, "n1") {
		t.Fatalf("init -o json: %v\n%s", err, out)
	}
	if cfg, err := node.LoadConfig(dir); err != nil || cfg.Chain.GRPC != "127.0.0.1:7" || cfg.Chain.ChainID != "nyx-test" {
		t.Fatalf("config: %+v, %v", cfg.Chain, err)
	}
	out, err = run(t, "chain-address", "-o", "json")
	var addr struct{ Address string }
	if err != nil || json.Unmarshal([]byte(out), &addr) != nil || addr.Address != got.ChainAccount {
		t.Fatalf("chain-address -o json: %v\n%s", err, out)
	}
	old := filepath.Join(t.TempDir(), "old")
	out, err = run(t, "init", "--home", old, "--grpc", "127.0.0.1:8")
	if err != nil || !strings.Contains(out, "--grpc has been deprecated") {
		t.Fatalf("init --grpc: %v\n%s", err, out)
	}
	if cfg, err := node.LoadConfig(old); err != nil || cfg.Chain.GRPC != "127.0.0.1:8" {
		t.Fatalf("--grpc: %+v, %v", cfg.Chain, err)
	}
}
