package client

import (
	"crypto/rand"
	"testing"

	"github.com/cloudflare/circl/dh/x25519"

	"github.com/nyx-privacy/nyx/sphinx"
)

func BenchmarkSeal(b *testing.B) {
	k, _ := GenerateKeys(rand.Reader)
	msg := make([]byte, 1000)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := Seal(rand.Reader, k.Encryption.PublicKey(), msg, sphinx.Regular.PayloadSize); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	k, _ := GenerateKeys(rand.Reader)
	sealed, _ := Seal(rand.Reader, k.Encryption.PublicKey(), make([]byte, 1000), sphinx.Regular.PayloadSize)
	b.SetBytes(1000)
	for b.Loop() {
		if _, err := Open(k.Encryption, sealed); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildPacket is the sender's work per real packet after sealing:
// a random route and a four-hop Sphinx packet.
func BenchmarkBuildPacket(b *testing.B) {
	n := newTestNet(b, 3)
	k, _ := GenerateKeys(rand.Reader)
	s, err := NewSender(DefaultSenderConfig(), nil, nil, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	payload, _ := Seal(rand.Reader, k.Encryption.PublicKey(), []byte("x"), sphinx.Regular.PayloadSize)
	msg := &outgoing{to: k.Address(n.topo.Exit[0].Identity), payload: payload}
	for b.Loop() {
		if _, _, err := s.build(n.topo, msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCoverPacket is the sender's work per loop cover packet: sealing
// to itself and a four-hop packet over a random route. An idle client with
// cover pays it once per slot (every 20 ms by default).
func BenchmarkCoverPacket(b *testing.B) {
	n := newTestNet(b, 3)
	k, _ := GenerateKeys(rand.Reader)
	cfg := DefaultSenderConfig()
	s, err := NewSender(cfg, nil, nil, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	cover, err := s.LoopCover(k.Address(n.topo.Entry[0].Identity))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, ok := cover(n.topo); !ok {
			b.Fatal("no cover packet")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(cfg.AverageSendDelay.Nanoseconds()), "core-fraction-at-default-rate")
}

// BenchmarkFloorX25519 is one X25519 scalar multiplication (circl), the
// unit the packet benchmarks are measured against: a four-hop packet needs
// fourteen, sealing two.
func BenchmarkFloorX25519(b *testing.B) {
	var sk, pk, out x25519.Key
	rand.Read(sk[:])
	rand.Read(pk[:])
	for b.Loop() {
		x25519.Shared(&out, &sk, &pk)
	}
}
