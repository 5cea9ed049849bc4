package gatewaycred_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"
	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/nyx-privacy/nyx/app"
	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/clientcred"
	"github.com/nyx-privacy/nyx/sidecar/gateway"
	"github.com/nyx-privacy/nyx/sidecar/gatewayclient"
	"github.com/nyx-privacy/nyx/sidecar/gatewaycred"
	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	"github.com/nyx-privacy/nyx/sphinx"
	"github.com/nyx-privacy/nyx/testutil/chain"
	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
)

// The test chain prices bandwidth so that a credential is a few packets:
// 1,000 unym buys 10,000 bytes, four regular packets and a bit.
const (
	testRate    = 10
	testDeposit = "1000unym"
	testValue   = 1000 * testRate
)

var packetSize = sphinx.Regular.PacketSize()

func cheapCredentials(cdc codec.Codec, state app.GenesisState) error {
	var gs coconuttypes.GenesisState
	if err := cdc.UnmarshalJSON(state[coconuttypes.ModuleName], &gs); err != nil {
		return err
	}
	gs.Params.BytesPerUnym = testRate
	gs.Params.MinDeposit = sdk.NewInt64Coin(coconuttypes.Denom, 1000)
	bz, err := cdc.MarshalJSON(&gs)
	state[coconuttypes.ModuleName] = bz
	return err
}

type countingForwarder struct{ n atomic.Int64 }

func (f *countingForwarder) Forward([32]byte, []byte) error {
	f.n.Add(1)
	return nil
}

type env struct {
	t     testing.TB
	chain *chain.Chain
}

// signer makes a chain account funded by alice.
func (e *env) signer(ctx context.Context) *chaintx.Signer {
	key, err := chaintx.GenerateKeyFile(filepath.Join(e.t.TempDir(), "chain.key"))
	require.NoError(e.t, err)
	s, err := chaintx.New(e.chain.GRPC(e.t), key, chaintx.Config{ChainID: e.chain.ChainID, Poll: 50 * time.Millisecond})
	require.NoError(e.t, err)
	res, err := e.chain.BroadcastTx(ctx, "alice", &banktypes.MsgSend{FromAddress: e.chain.Accounts["alice"].String(), ToAddress: s.Address(),
		Amount: sdk.NewCoins(sdk.NewCoin(coconuttypes.Denom, sdkmath.NewInt(100_000_000)))})
	require.NoError(e.t, err)
	require.Zero(e.t, res.Code, res.RawLog)
	return s
}

type testGateway struct {
	g    *gateway.Gateway
	url  string
	id   ed25519.PrivateKey
	pub  [32]byte
	fwd  *countingForwarder
	red  *gatewaycred.Redeemer
	stop func()
}

func (e *env) gateway(ctx context.Context, dir string, id ed25519.PrivateKey, signer *chaintx.Signer, optimistic bool) *testGateway {
	t := e.t
	cfg := gateway.DefaultConfig(dir)
	cfg.EnforceCredentials, cfg.Optimistic = true, optimistic
	fwd := &countingForwarder{}
	g, err := gateway.New(cfg, id, nil, fwd, nil, nil)
	require.NoError(t, err)
	tg := &testGateway{g: g, id: id, fwd: fwd}
	copy(tg.pub[:], id.Public().(ed25519.PublicKey))
	tg.red, err = gatewaycred.New(e.chain.GRPC(t), signer, tg.pub, gatewaycred.Config{ChainID: e.chain.ChainID, BatchInterval: 100 * time.Millisecond}, nil)
	require.NoError(t, err)
	g.SetRedeemer(tg.red)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: g.Handler()}
	go srv.Serve(l)
	tg.url = "ws://" + l.Addr().String() + "/"
	var stopped atomic.Bool
	tg.stop = func() {
		if stopped.Swap(true) {
			return
		}
		srv.Close()
		require.NoError(t, g.Close())
		tg.red.Close()
	}
	t.Cleanup(tg.stop)
	return tg
}

type testClient struct {
	id     ed25519.PrivateKey
	pub    [32]byte
	key    gatewayproto.SharedKey
	wallet *clientcred.Wallet
	home   string
}

func newClient(t testing.TB) *testClient {
	_, id, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	c := &testClient{id: id, home: t.TempDir()}
	copy(c.pub[:], id.Public().(ed25519.PublicKey))
	c.wallet, err = clientcred.Open(c.home, id)
	require.NoError(t, err)
	return c
}

func (c *testClient) connect(ctx context.Context, t *testing.T, g *testGateway, bw gatewayclient.Bandwidth) *gatewayclient.Conn {
	if c.key == (gatewayproto.SharedKey{}) {
		conn, key, err := gatewayclient.Register(ctx, g.url, g.id.Public().(ed25519.PublicKey), c.id)
		require.NoError(t, err)
		conn.Close()
		c.key = key
	}
	conn, err := gatewayclient.DialWithBandwidth(ctx, g.url, g.id.Public().(ed25519.PublicKey), c.id, c.key, bw)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	// The gateway's first word after the handshake is the balance.
	require.Eventually(t, func() bool { _, on := conn.Balance(); return on }, 5*time.Second, 10*time.Millisecond)
	return conn
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func balance(t *testing.T, g *testGateway, c *testClient) int64 {
	b, err := g.g.Balance(c.pub)
	require.NoError(t, err)
	return b
}

// refusal waits for the next error frame of conn.
func refusal(t *testing.T, conn *gatewayclient.Conn) *gatewayproto.Control {
	t.Helper()
	select {
	case r := <-conn.Refusals():
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("no error frame from the gateway")
		return nil
	}
}

func present(t *testing.T, conn *gatewayclient.Conn, theta, nonce []byte) {
	t.Helper()
	require.NoError(t, conn.WriteFrame(websocket.TextMessage, (&gatewayproto.Control{Type: gatewayproto.TypeCredential, Theta: theta, Nonce: nonce}).Marshal()))
}

func readRecord(t *testing.T, w *clientcred.Wallet) *clientcred.Record {
	recs, bad, err := w.List()
	require.NoError(t, err)
	require.Empty(t, bad)
	require.NotEmpty(t, recs)
	return recs[0]
}

// TestEnforce runs gateways that enforce credentials against a real chain
// with x/coconut, over real sockets: a client without a credential cannot
// send and is told why; it buys credentials through the chain, sends, its
// balance falls with what it sends and receives, at zero it presents the
// next credential with no packet lost; malformed, replayed, foreign and
// double-spent credentials are refused with their codes and change no
// balance, and one shown by two sessions at once is granted once; an
// optimistic gateway grants at once and spends in its next
// batch; a restart keeps balances; with the chain down new credentials
// are refused while a client with a balance is still served.
func TestEnforce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain")
	}
	c := chain.Start(t, chain.Options{Genesis: cheapCredentials})
	e := &env{t: t, chain: c}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	_, idA, _ := ed25519.GenerateKey(rand.Reader)
	_, idB, _ := ed25519.GenerateKey(rand.Reader)
	dirA := t.TempDir()
	gwA := e.gateway(ctx, dirA, idA, e.signer(ctx), false)
	gwB := e.gateway(ctx, t.TempDir(), idB, e.signer(ctx), true)
	buyer := e.signer(ctx)
	next := [32]byte{1}
	packet := make([]byte, packetSize)

	// No credential: nothing goes out, and the error says why.
	alice := newClient(t)
	conn := alice.connect(ctx, t, gwA, alice.wallet)
	err := conn.Send(next, packet)
	require.ErrorIs(t, err, gatewayclient.ErrNoBandwidth)
	require.Contains(t, err.Error(), "credential buy")
	require.Zero(t, gwA.fwd.n.Load())
	conn.Close()

	// Two credentials bought through the chain, stored 0600.
	for range 2 {
		rec, err := alice.wallet.Buy(ctx, c.GRPC(t), buyer, c.ChainID, testDeposit)
		require.NoError(t, err)
		require.Equal(t, uint64(testValue), rec.Value)
		fi, err := os.Stat(filepath.Join(alice.home, clientcred.Dir, rec.Name()))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	}
	held, n, err := alice.wallet.Balance()
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, uint64(2*testValue), held)

	// Six packets: the first credential pays for four, the fifth finds the
	// balance short, the client presents the second and goes on.
	conn = alice.connect(ctx, t, gwA, alice.wallet)
	for i := range 6 {
		require.NoError(t, conn.Send(next, packet), "packet %d", i)
	}
	waitFor(t, "six packets forwarded", func() bool { return gwA.fwd.n.Load() == 6 })
	require.Equal(t, int64(2*testValue-6*packetSize), balance(t, gwA, alice))
	_, n, _ = alice.wallet.Balance()
	require.Zero(t, n, "both credentials spent")

	// Deliveries are metered too.
	before := balance(t, gwA, alice)
	require.NoError(t, gwA.g.Deliver(alice.pub, make([]byte, 1000)))
	m, err := conn.Receive(ctx)
	require.NoError(t, err)
	require.NoError(t, conn.Ack(m.ID))
	waitFor(t, "delivery metered", func() bool { return balance(t, gwA, alice) == before-1000 })

	// Bad credentials, each refused with its code, none changing a balance.
	bob := newClient(t)
	_, err = bob.wallet.Buy(ctx, c.GRPC(t), buyer, c.ChainID, testDeposit)
	require.NoError(t, err)
	rec := readRecord(t, bob.wallet)
	bconn := bob.connect(ctx, t, gwA, nil)
	bal := balance(t, gwA, bob)
	require.Zero(t, bal)
	nonce, operator := bconn.CredentialNonce()
	require.Equal(t, gwA.red.Operator(), operator)

	garbage := make([]byte, gatewayproto.ThetaSize)
	rand.Read(garbage)
	present(t, bconn, garbage, nonce[:])
	r := refusal(t, bconn)
	require.Equal(t, gatewayproto.CodeCredentialMalformed, r.Code, r.Message)

	// Bound to gateway B: foreign here.
	nonce = [32]byte(r.Nonce)
	theta, err := rec.Show(operator, gwB.pub[:], nonce[:])
	require.NoError(t, err)
	present(t, bconn, theta, nonce[:])
	r = refusal(t, bconn)
	require.Equal(t, gatewayproto.CodeCredentialForeignKey, r.Code, r.Message)

	// A good show bound to a nonce the session did not offer (as a
	// recorded one is): replayed.
	stale := nonce
	nonce = [32]byte(r.Nonce)
	theta, err = rec.Show(operator, gwA.pub[:], stale[:])
	require.NoError(t, err)
	present(t, bconn, theta, stale[:])
	r = refusal(t, bconn)
	require.Equal(t, gatewayproto.CodeCredentialReplayed, r.Code, r.Message)
	require.Equal(t, bal, balance(t, gwA, bob))

	// The good one, accepted after its spend is committed.
	nonce = [32]byte(r.Nonce)
	theta, err = rec.Show(operator, gwA.pub[:], nonce[:])
	require.NoError(t, err)
	present(t, bconn, theta, nonce[:])
	waitFor(t, "bob's credential granted", func() bool { return balance(t, gwA, bob) == testValue })
	tag := spendTag(t, theta)
	st, err := coconuttypes.NewQueryClient(c.GRPC(t)).SpendTag(ctx, &coconuttypes.QuerySpendTagRequest{Tag: tag})
	require.NoError(t, err)
	require.True(t, st.Spent, "serve-after-commit: the spend is on chain before the grant")

	// The same credential again: at A (its own store) and at B (the chain).
	for _, g := range []*testGateway{gwA, gwB} {
		other := newClient(t)
		oc := other.connect(ctx, t, g, nil)
		nonce, operator := oc.CredentialNonce()
		theta, err := rec.Show(operator, g.pub[:], nonce[:])
		require.NoError(t, err)
		present(t, oc, theta, nonce[:])
		r := refusal(t, oc)
		require.Equal(t, gatewayproto.CodeCredentialSpent, r.Code, r.Message)
		require.Zero(t, balance(t, g, other))
	}

	// One credential shown by two clients at once at the same gateway:
	// granted once.
	eve, frank := newClient(t), newClient(t)
	_, err = eve.wallet.Buy(ctx, c.GRPC(t), buyer, c.ChainID, testDeposit)
	require.NoError(t, err)
	eveRec := readRecord(t, eve.wallet)
	var conns []*gatewayclient.Conn
	var shows [][]byte
	var nonces [][]byte
	for _, who := range []*testClient{eve, frank} {
		conn := who.connect(ctx, t, gwA, nil)
		nonce, operator := conn.CredentialNonce()
		theta, err := eveRec.Show(operator, gwA.pub[:], nonce[:])
		require.NoError(t, err)
		conns, shows, nonces = append(conns, conn), append(shows, theta), append(nonces, nonce[:])
	}
	for i := range conns {
		present(t, conns[i], shows[i], nonces[i])
	}
	waitFor(t, "one of the two granted", func() bool { return balance(t, gwA, eve)+balance(t, gwA, frank) == testValue })
	var twice *gatewayproto.Control
	select {
	case twice = <-conns[0].Refusals():
	case twice = <-conns[1].Refusals():
	case <-time.After(30 * time.Second):
		t.Fatal("neither was refused")
	}
	require.Equal(t, gatewayproto.CodeCredentialSpent, twice.Code, twice.Message)
	require.Equal(t, int64(testValue), balance(t, gwA, eve)+balance(t, gwA, frank))

	// Optimistic (gateway B): granted at once, spent on chain in the next
	// batch.
	dave := newClient(t)
	_, err = dave.wallet.Buy(ctx, c.GRPC(t), buyer, c.ChainID, testDeposit)
	require.NoError(t, err)
	daveRec := readRecord(t, dave.wallet)
	dc := dave.connect(ctx, t, gwB, nil)
	nonce, operator = dc.CredentialNonce()
	theta, err = daveRec.Show(operator, gwB.pub[:], nonce[:])
	require.NoError(t, err)
	present(t, dc, theta, nonce[:])
	waitFor(t, "dave's credential granted", func() bool { return balance(t, gwB, dave) == testValue })
	waitFor(t, "dave's credential spent on chain", func() bool {
		st, err := coconuttypes.NewQueryClient(c.GRPC(t)).SpendTag(ctx, &coconuttypes.QuerySpendTagRequest{Tag: spendTag(t, theta)})
		return err == nil && st.Spent
	})

	// A restart keeps balances.
	aliceBal, bobBal := balance(t, gwA, alice), balance(t, gwA, bob)
	conn.Close()
	bconn.Close()
	gwA.stop()
	gwA = e.gateway(ctx, dirA, idA, e.signer(ctx), false)
	require.Equal(t, aliceBal, balance(t, gwA, alice))
	require.Equal(t, bobBal, balance(t, gwA, bob))

	// Chain down: a new credential is refused, bob's balance still serves.
	carol := newClient(t)
	_, err = carol.wallet.Buy(ctx, c.GRPC(t), buyer, c.ChainID, testDeposit)
	require.NoError(t, err)
	carolRec := readRecord(t, carol.wallet)
	cc := carol.connect(ctx, t, gwA, nil)
	bconn = bob.connect(ctx, t, gwA, nil)
	require.NoError(t, c.Stop())
	nonce, operator = cc.CredentialNonce()
	theta, err = carolRec.Show(operator, gwA.pub[:], nonce[:])
	require.NoError(t, err)
	present(t, cc, theta, nonce[:])
	r = refusal(t, cc)
	require.Equal(t, gatewayproto.CodeChainUnavailable, r.Code, r.Message)
	require.Zero(t, balance(t, gwA, carol))
	sent := gwA.fwd.n.Load()
	require.NoError(t, bconn.Send(next, packet))
	waitFor(t, "bob served with the chain down", func() bool { return gwA.fwd.n.Load() == sent+1 })
	require.Equal(t, bobBal-int64(packetSize), balance(t, gwA, bob))
}

func spendTag(t *testing.T, theta []byte) []byte {
	th, err := coconuttypes.DecodeTheta(theta)
	require.NoError(t, err)
	tag, _, ok := th.SpendTag()
	require.True(t, ok)
	return tag[:]
}

// The wire format fixes the size of a show without linking the chain's
// types; it must be theirs.
func TestThetaSize(t *testing.T) {
	require.Equal(t, coconuttypes.ThetaSize, gatewayproto.ThetaSize)
}

// TestExpired: a credential issued under a key the chain has replaced (a
// DKG round formed a new one) and whose grace period is over is refused as
// expired, against a real chain, and changes no balance.
func TestExpired(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a chain")
	}
	c := chain.Start(t, chain.Options{Genesis: func(cdc codec.Codec, state app.GenesisState) error {
		if err := cheapCredentials(cdc, state); err != nil {
			return err
		}
		var gs coconuttypes.GenesisState
		if err := cdc.UnmarshalJSON(state[coconuttypes.ModuleName], &gs); err != nil {
			return err
		}
		// A DKG round of eight blocks replaces the dealt key early, and the
		// dealt key stops verifying a block after.
		gs.Params.KeyGraceBlocks = 1
		gs.Dkg.Params.BlocksPerPhase = 2
		bz, err := cdc.MarshalJSON(&gs)
		state[coconuttypes.ModuleName] = bz
		return err
	}})
	e := &env{t: t, chain: c}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	buyer := e.signer(ctx)
	alice := newClient(t)
	rec, err := alice.wallet.Buy(ctx, c.GRPC(t), buyer, c.ChainID, testDeposit)
	require.NoError(t, err)
	require.Equal(t, uint64(1), rec.KeyID, "bought under the dealt key")

	q := coconuttypes.NewQueryClient(c.GRPC(t))
	waitFor(t, "the dealt key to expire", func() bool {
		old, err := q.VerificationKey(ctx, &coconuttypes.QueryVerificationKeyRequest{KeyId: 1})
		return err == nil && !old.Verifies
	})
	_, id, _ := ed25519.GenerateKey(rand.Reader)
	gw := e.gateway(ctx, t.TempDir(), id, e.signer(ctx), false)
	conn := alice.connect(ctx, t, gw, nil)
	nonce, operator := conn.CredentialNonce()
	theta, err := rec.Show(operator, gw.pub[:], nonce[:])
	require.NoError(t, err)
	present(t, conn, theta, nonce[:])
	r := refusal(t, conn)
	require.Equal(t, gatewayproto.CodeCredentialExpired, r.Code, r.Message)
	require.Zero(t, balance(t, gw, alice))
}
