package coconut

import (
	"crypto/rand"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/coconut/internal/curve"
)

// BenchmarkDKGPerValidator is one validator's compute in a DKG of n
// participants (t = ceil(2n/3), the bandwidth key shape): creating its dealing,
// decoding and checking its shares in all n dealings, and deriving its secret
// key share and the master key from them; and what every node does on chain
// for one dealing and one key share it applies. Each iteration is followed by the
// floor, one G2 scalar multiplication (variable base), so both see the same
// load; the metric x_G2mul is the median ratio of their times.
func BenchmarkDKGPerValidator(b *testing.B) {
	for _, n := range []int{4, 10, 100} {
		g, keys := newDKG(b, BandwidthAttributes, n)
		encoded := make([][]byte, n)
		for i := range n {
			d, err := g.Deal(rand.Reader, i+1)
			if err != nil {
				b.Fatal(err)
			}
			if encoded[i], err = d.MarshalBinary(); err != nil {
				b.Fatal(err)
			}
		}
		decodeAll := func() []*Dealing {
			ds := make([]*Dealing, n)
			for i, bz := range encoded {
				ds[i] = new(Dealing)
				if err := ds[i].UnmarshalBinary(bz); err != nil {
					b.Fatal(err)
				}
			}
			return ds
		}
		ds := decodeAll()
		sums, err := g.SumCommitments(ds)
		if err != nil {
			b.Fatal(err)
		}
		sumsBz, err := sums.MarshalBinary()
		if err != nil {
			b.Fatal(err)
		}
		sk, err := g.DeriveSecretKey(ds, 1, keys[0])
		if err != nil {
			b.Fatal(err)
		}
		share := sk.VerificationKey()
		steps := []struct {
			name string
			run  func()
		}{
			{"deal", func() {
				if _, err := g.Deal(rand.Reader, 1); err != nil {
					b.Fatal(err)
				}
			}},
			{"verify_all", func() {
				for _, d := range decodeAll() {
					if _, err := g.DecryptShare(d, 1, keys[0]); err != nil {
						b.Fatal(err)
					}
				}
			}},
			{"derive", func() {
				if _, err := g.DeriveSecretKey(ds, 1, keys[0]); err != nil {
					b.Fatal(err)
				}
				if _, err := g.DeriveMasterVerificationKey(ds); err != nil {
					b.Fatal(err)
				}
			}},
			// What every node does for each message it applies on chain.
			{"chain_check_dealing", func() {
				var d Dealing
				if err := d.UnmarshalBinary(encoded[0]); err != nil {
					b.Fatal(err)
				}
				if err := g.Verify(&d); err != nil {
					b.Fatal(err)
				}
			}},
			{"chain_check_key_share", func() {
				var c Commitments
				if err := c.UnmarshalBinary(sumsBz); err != nil {
					b.Fatal(err)
				}
				if err := g.VerifyKeyShareAgainst(rand.Reader, &c, 1, share); err != nil {
					b.Fatal(err)
				}
			}},
		}
		for _, s := range steps {
			b.Run(fmt.Sprintf("n=%d/%s", n, s.name), func(b *testing.B) {
				benchVsG2Mul(b, s.run)
			})
		}
	}
	b.Run("floor_G2mul", func(b *testing.B) {
		x, _ := curve.RandomScalar(rand.Reader)
		p := curve.G2Generator().Mul(x)
		for b.Loop() {
			p = p.Mul(x)
		}
	})
}

func benchVsG2Mul(b *testing.B, work func()) {
	x, _ := curve.RandomScalar(rand.Reader)
	p := curve.G2Generator().Mul(x)
	var ratios []float64
	for b.Loop() {
		t0 := time.Now()
		work()
		t1 := time.Now()
		p = p.Mul(x)
		ratios = append(ratios, float64(t1.Sub(t0))/float64(time.Since(t1)))
	}
	sort.Float64s(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "x_G2mul")
}
