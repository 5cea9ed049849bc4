package keeper_test

import (
	"crypto/rand"
	"math/big"
	"sort"
	"testing"
	"time"

	bls "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"

	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// floorPairs is a two-pairing product check e(a·g1, c·g2)·e(-ac·g1, g2) = 1: the
// floor of any credential verification, measured with the curve library itself.
type floorPairs struct {
	p []bls.G1Affine
	q []bls.G2Affine
}

func newFloor(b *testing.B) floorPairs {
	_, _, g1, g2 := bls.Generators()
	var a, c, ac fr.Element
	if _, err := a.SetRandom(); err != nil {
		b.Fatal(err)
	}
	if _, err := c.SetRandom(); err != nil {
		b.Fatal(err)
	}
	ac.Mul(&a, &c)
	var p1, p2 bls.G1Affine
	var q1 bls.G2Affine
	p1.ScalarMultiplication(&g1, a.BigInt(new(big.Int)))
	p2.ScalarMultiplication(&g1, ac.BigInt(new(big.Int)))
	p2.Neg(&p2)
	q1.ScalarMultiplication(&g2, c.BigInt(new(big.Int)))
	return floorPairs{p: []bls.G1Affine{p1, p2}, q: []bls.G2Affine{q1, g2}}
}

func (f floorPairs) check(b *testing.B) {
	ok, err := bls.PairingCheck(f.p, f.q)
	if err != nil || !ok {
		b.Fatal("floor pairing check failed")
	}
}

const benchBatch = 4

// BenchmarkSpendVsFloor runs MsgSpendCredentials (a batch of 4 credentials:
// decoding, spend-tag lookups, verification under the cached prepared key, the
// records and the payment) in a cache context it throws away, so the same
// batch is spent afresh every iteration, alternating with the two-pairing floor
// so both see the same load. It reports the median per-credential time over the
// floor's (spend/floor), the per-credential time (ns/credential), and the cost
// as a multiple of the SDK's secp256k1 signature check, which the SDK prices at
// 1,000 gas (secp256k1-equiv: multiply by 1,000 for the gas it reflects).
func BenchmarkSpendVsFloor(b *testing.B) {
	f := newFixture(b)
	op := f.account("operator", 0)
	msg := &types.MsgSpendCredentials{Operator: f.addr(op)}
	for i := range benchBatch {
		cred, c := f.credential(string(rune('a'+i)), 1_000)
		msg.Entries = append(msg.Entries, f.show(f.issuers, cred, c, op, "bench"))
	}
	floor := newFloor(b)
	sig := newSecp(b)
	warm, _ := f.ctx.CacheContext() // builds the prepared key once, as a chain's first spend does
	if _, err := f.msg.SpendCredentials(warm, msg); err != nil {
		b.Fatal(err)
	}

	var ratios, perCred, secp []float64
	for b.Loop() {
		ctx, _ := f.ctx.CacheContext()
		t0 := time.Now()
		if _, err := f.msg.SpendCredentials(ctx, msg); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		floor.check(b)
		t2 := time.Now()
		sig.verify(b)
		t3 := time.Now()
		spend := float64(t1.Sub(t0)) / benchBatch
		ratios = append(ratios, spend/float64(t2.Sub(t1)))
		perCred = append(perCred, spend)
		secp = append(secp, spend/float64(t3.Sub(t2)))
	}
	b.ReportMetric(median(ratios), "spend/floor")
	b.ReportMetric(median(perCred), "ns/credential")
	b.ReportMetric(median(secp), "secp256k1-equiv")
}

// BenchmarkRequestVsFloor runs MsgRequestCredential (decoding, the proof's
// verification, the deposit and the records) in a throwaway cache context,
// against the same floor and secp256k1 check.
func BenchmarkRequestVsFloor(b *testing.B) {
	f := newFixture(b)
	sender := f.account("alice", 1_000_000)
	msg, _ := f.requestMsg(sender, 1_000)
	floor := newFloor(b)
	sig := newSecp(b)
	var ratios, secp []float64
	for b.Loop() {
		ctx, _ := f.ctx.CacheContext()
		t0 := time.Now()
		if _, err := f.msg.RequestCredential(ctx, msg); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		floor.check(b)
		t2 := time.Now()
		sig.verify(b)
		t3 := time.Now()
		ratios = append(ratios, float64(t1.Sub(t0))/float64(t2.Sub(t1)))
		secp = append(secp, float64(t1.Sub(t0))/float64(t3.Sub(t2)))
	}
	b.ReportMetric(median(ratios), "request/floor")
	b.ReportMetric(median(secp), "secp256k1-equiv")
}

type secpSig struct {
	pub      *secp256k1.PubKey
	msg, sig []byte
}

func newSecp(b *testing.B) secpSig {
	priv := secp256k1.GenPrivKey()
	msg := make([]byte, 200)
	if _, err := rand.Read(msg); err != nil {
		b.Fatal(err)
	}
	sig, err := priv.Sign(msg)
	if err != nil {
		b.Fatal(err)
	}
	return secpSig{pub: priv.PubKey().(*secp256k1.PubKey), msg: msg, sig: sig}
}

func (s secpSig) verify(b *testing.B) {
	if !s.pub.VerifySignature(s.msg, s.sig) {
		b.Fatal("secp256k1 signature does not verify")
	}
}

func median(xs []float64) float64 {
	sort.Float64s(xs)
	return xs[len(xs)/2]
}
