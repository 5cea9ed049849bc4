package gatewaycred_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"math/big"
	"sort"
	"testing"
	"time"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/sidecar/gatewaycred"
	"github.com/nyx-privacy/nyx/testutil/chain"
	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
)

// BenchmarkShowCheckVsFloor measures, per credential, the client's show
// (clientcred: a Coconut proof bound to the gateway, its operator and a
// fresh nonce) and the gateway's check of it (gatewaycred.Check: decoding,
// verification under the prepared master key, the type, and the spend-tag
// query to a real chain on loopback), each against the two-pairing floor
// (e(a·g1, c·g2)·e(-ac·g1, g2) = 1, with the curve library itself) run
// after it in the same iteration. It reports the medians of prove/floor,
// check/floor and verify/floor (the verification alone) and the times.
func BenchmarkShowCheckVsFloor(b *testing.B) {
	c := chain.Start(b, chain.Options{Genesis: cheapCredentials})
	e := &env{t: b, chain: c}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	signer := e.signer(ctx)
	_, id, _ := ed25519.GenerateKey(rand.Reader)
	var gw [32]byte
	copy(gw[:], id.Public().(ed25519.PublicKey))
	red, err := gatewaycred.New(c.GRPC(b), signer, gw, gatewaycred.Config{ChainID: c.ChainID}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer red.Close()
	client := newClient(b)
	rec, err := client.wallet.Buy(ctx, c.GRPC(b), signer, c.ChainID, testDeposit)
	if err != nil {
		b.Fatal(err)
	}
	key, err := coconuttypes.NewQueryClient(c.GRPC(b)).VerificationKey(ctx, &coconuttypes.QueryVerificationKeyRequest{})
	if err != nil {
		b.Fatal(err)
	}
	vk, err := coconuttypes.DecodeVerificationKey(key.KeySet.MasterKey, false)
	if err != nil {
		b.Fatal(err)
	}
	pk := vk.Prepare()
	floor := newFloor(b)
	nonce := make([]byte, 32)
	show := func() []byte {
		rand.Read(nonce)
		theta, err := rec.Show(red.Operator(), gw[:], nonce)
		if err != nil {
			b.Fatal(err)
		}
		return theta
	}
	if _, err := red.Check(ctx, show(), nonce); err != nil { // reads and prepares the key once
		b.Fatal(err)
	}
	var prove, check, verify, proveT, checkT []float64
	for b.Loop() {
		t0 := time.Now()
		theta := show()
		t1 := time.Now()
		floor()
		t2 := time.Now()
		if _, err := red.Check(ctx, theta, nonce); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		floor()
		t4 := time.Now()
		th, err := coconuttypes.DecodeTheta(theta)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := coconut.VerifyBandwidth(coconuttypes.CredentialParams(), pk, th,
			coconuttypes.SpendContext(c.ChainID, red.Operator(), gw[:], nonce)); err != nil {
			b.Fatal(err)
		}
		t5 := time.Now()
		floor()
		t6 := time.Now()
		prove = append(prove, float64(t1.Sub(t0))/float64(t2.Sub(t1)))
		check = append(check, float64(t3.Sub(t2))/float64(t4.Sub(t3)))
		verify = append(verify, float64(t5.Sub(t4))/float64(t6.Sub(t5)))
		proveT = append(proveT, float64(t1.Sub(t0)))
		checkT = append(checkT, float64(t3.Sub(t2)))
	}
	b.ReportMetric(median(prove), "prove/floor")
	b.ReportMetric(median(check), "check/floor")
	b.ReportMetric(median(verify), "verify/floor")
	b.ReportMetric(median(proveT), "prove-ns")
	b.ReportMetric(median(checkT), "check-ns")
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// newFloor returns the two-pairing floor check.
func newFloor(b *testing.B) func() {
	_, _, g1, g2 := bls.Generators()
	var a, c, ac fr.Element
	a.SetRandom()
	c.SetRandom()
	ac.Mul(&a, &c)
	var p1, p2 bls.G1Affine
	var q1 bls.G2Affine
	p1.ScalarMultiplication(&g1, a.BigInt(new(big.Int)))
	p2.ScalarMultiplication(&g1, ac.BigInt(new(big.Int)))
	p2.Neg(&p2)
	q1.ScalarMultiplication(&g2, c.BigInt(new(big.Int)))
	p, q := []bls.G1Affine{p1, p2}, []bls.G2Affine{q1, g2}
	return func() {
		if ok, err := bls.PairingCheck(p, q); err != nil || !ok {
			b.Fatal("floor pairing check failed")
		}
	}
}
