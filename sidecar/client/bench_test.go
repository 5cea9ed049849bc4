package client

import (
	"crypto/rand"
	"testing"

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
