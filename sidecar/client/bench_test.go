package client

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/cloudflare/circl/dh/x25519"

	"github.com/nyx-privacy/nyx/sphinx"
)

func benchPiece(b *testing.B) []byte {
	p, err := Piece{Count: 1, Data: make([]byte, 1000)}.marshal(ContentSize(sphinx.Regular.PayloadSize) - envelopeOverhead)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func BenchmarkSeal(b *testing.B) {
	k, _ := GenerateKeys(rand.Reader)
	piece := benchPiece(b)
	b.SetBytes(1000)
	for b.Loop() {
		if _, err := seal(rand.Reader, k.Encryption.PublicKey(), piece); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	k, _ := GenerateKeys(rand.Reader)
	sealed, _ := seal(rand.Reader, k.Encryption.PublicKey(), benchPiece(b))
	b.SetBytes(1000)
	for b.Loop() {
		if _, err := openSealed(k.Encryption, sealed); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildPacket is the sender's work per real packet: sealing, a
// SURB-ACK over a random route back (a four-hop ack packet) and a four-hop
// Sphinx packet over a random route.
func BenchmarkBuildPacket(b *testing.B) {
	n := newTestNet(b, 3)
	alice, bob := mustKeysTB(b), mustKeysTB(b)
	s := newTestSender(b, n, alice, DefaultSenderConfig(), nil, false)
	j := &job{to: bob.Address(n.topo.Exit[0].Identity), enc: bob.Encryption.PublicKey(), piece: benchPiece(b)}
	for b.Loop() {
		if _, _, _, err := s.build(n.topo, j, ackID{}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCoverPacket is the sender's work per loop cover packet: the
// same as a real packet, sealed to itself. An idle client with cover pays
// it once per slot (every 20 ms by default).
func BenchmarkCoverPacket(b *testing.B) {
	n := newTestNet(b, 3)
	cfg := DefaultSenderConfig()
	sent := 0
	s := newTestSender(b, n, mustKeysTB(b), cfg, func([32]byte, []byte) error { sent++; return nil }, true)
	for b.Loop() {
		s.releaseCover(n.topo)
	}
	if sent == 0 {
		b.Fatal("no cover packet")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(cfg.AverageSendDelay), "core-fraction-at-default-rate")
}

// BenchmarkFloorX25519 is one X25519 scalar multiplication (circl), the
// unit the packet benchmarks are measured against: a four-hop packet needs
// fourteen, its SURB-ACK fourteen more, sealing two.
func BenchmarkFloorX25519(b *testing.B) {
	var sk, pk, out x25519.Key
	rand.Read(sk[:])
	rand.Read(pk[:])
	for b.Loop() {
		x25519.Shared(&out, &sk, &pk)
	}
}

func mustKeysTB(t testing.TB) *Keys {
	t.Helper()
	k, err := GenerateKeys(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// BenchmarkJournalCommit: a received chunk's record committed to the
// receive journal, many deliveries at a time (they share fsyncs); compare
// with BenchmarkFloorFsync, one write and fsync per record.
func BenchmarkJournalCommit(b *testing.B) {
	j, err := openJournal(filepath.Join(b.TempDir(), "j"))
	if err != nil {
		b.Fatal(err)
	}
	defer j.close()
	rec := chunkRecord(make([]byte, ContentSize(sphinx.Regular.PayloadSize)), false, SenderTag{})
	b.SetParallelism(16)
	b.SetBytes(int64(len(rec)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := <-j.commit(rec); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkFloorFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "f"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rec := make([]byte, ContentSize(sphinx.Regular.PayloadSize)+18)
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		if _, err := f.Write(rec); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}
