package wire

import (
	"crypto/rand"
	"io"
	"testing"
	"time"

	"github.com/cloudflare/circl/dh/x25519"
)

// BenchmarkHandshake measures one whole link handshake, both ends (preface,
// three messages, the identity check), in memory, next to one X25519
// multiplication (circl) timed in the same run. It reports
// handshake_ns, x25519_ns and x25519_ratio (handshake over one
// multiplication). The handshake does eight multiplications (four each
// side: an ephemeral key and three DH) and two Edwards-to-Montgomery
// conversions, so the ratio's floor is about 8.
func BenchmarkHandshake(b *testing.B) {
	a, c := fuzzKey(1), fuzzKey(2)
	var priv, pub, shared x25519.Key
	rand.Read(priv[:])
	rand.Read(pub[:])
	pub[31] &= 0x7f
	var hsTime, mulTime time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		ir, iw := io.Pipe()
		rr, rw2 := io.Pipe()
		done := make(chan error, 1)
		go func() {
			_, err := Respond(rw{ir, rw2}, c)
			done <- err
		}()
		if _, err := Initiate(rw{rr, iw}, a, c.Identity()); err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		hsTime += time.Since(start)
		start = time.Now()
		for range 8 {
			x25519.Shared(&shared, &priv, &pub)
		}
		mulTime += time.Since(start) / 8
	}
	b.StopTimer()
	hs := float64(hsTime.Nanoseconds()) / float64(b.N)
	mul := float64(mulTime.Nanoseconds()) / float64(b.N)
	b.ReportMetric(hs, "handshake_ns")
	b.ReportMetric(mul, "x25519_ns")
	b.ReportMetric(hs/mul, "x25519_ratio")
}
