package wire

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"io"
	"testing"

	"github.com/flynn/noise"
)

// fuzzKey is a fixed link key, so the fuzzer's inputs keep their meaning.
func fuzzKey(seed byte) *LinkKey {
	k, err := NewLinkKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)))
	if err != nil {
		panic(err)
	}
	return k
}

type rw struct {
	io.Reader
	io.Writer
}

// handshakeSeeds returns the bytes a real initiator sends to fuzzKey(2)
// (preface and messages 1 and 3 after a real message 2) and the message 2
// a real responder answers.
func handshakeSeeds(t testing.TB) (initiator, responder []byte) {
	a, b := fuzzKey(1), fuzzKey(2)
	ir, iw := io.Pipe()
	rr, rwr := io.Pipe()
	var fromInit, fromResp bytes.Buffer
	done := make(chan error, 1)
	go func() {
		_, err := Respond(rw{io.TeeReader(ir, &fromInit), io.MultiWriter(rwr, &fromResp)}, b)
		done <- err
	}()
	if _, err := Initiate(rw{rr, iw}, a, b.Identity()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return fromInit.Bytes(), fromResp.Bytes()
}

// FuzzRespond: whatever a dialler sends, the responder's handshake ends in
// a clean error (or, for a real handshake, a session), never a panic.
func FuzzRespond(f *testing.F) {
	init, _ := handshakeSeeds(f)
	f.Add(init)
	f.Add(init[:len(PrefaceNoise)+handshake1Size])
	f.Add(append(Preface[:], 0, 0, 9, 0))
	f.Add(PrefaceNoise[:])
	f.Add([]byte{})
	b := fuzzKey(2)
	f.Fuzz(func(t *testing.T, in []byte) {
		s, err := Respond(rw{bytes.NewReader(in), io.Discard}, b)
		if err == nil && s == nil {
			t.Fatal("no session and no error")
		}
		if err != nil && s != nil {
			t.Fatal("a session with an error")
		}
	})
}

// FuzzInitiate: whatever a listener answers to message 1, the initiator
// refuses it cleanly. (Message 2 answers this initiator's ephemeral key,
// fresh each run, so no recorded answer passes.)
func FuzzInitiate(f *testing.F) {
	_, resp := handshakeSeeds(f)
	f.Add(resp)
	f.Add(resp[:10])
	f.Add(bytes.Repeat([]byte{0}, handshake2Size))
	f.Add([]byte{})
	a, b := fuzzKey(1), fuzzKey(2)
	f.Fuzz(func(t *testing.T, in []byte) {
		if _, err := Initiate(rw{bytes.NewReader(in), io.Discard}, a, b.Identity()); err == nil {
			t.Fatal("a forged message 2 was accepted")
		}
	})
}

// FuzzSecureReader: frames under a session's key, forged anyhow, are
// read or refused with a frame error, never a panic.
func FuzzSecureReader(f *testing.F) {
	f.Add([]byte{0, 0, 9, 0})
	f.Add(bytes.Repeat([]byte{0xff}, 64))
	f.Fuzz(func(t *testing.T, in []byte) {
		s := &Session{recv: noise.UnsafeNewCipherState(noiseSuite, [32]byte{7}, 0)}
		r, err := NewSecureReader(bytes.NewReader(in), StandardSizes(), s)
		if err != nil {
			t.Fatal(err)
		}
		for {
			_, err := r.ReadPacket(alloc)
			if err == nil {
				t.Fatal("a frame nobody sealed passed its tag")
			}
			if errors.Is(err, io.EOF) || errors.Is(err, ErrDecrypt) || errors.Is(err, ErrFrameSize) || errors.Is(err, io.ErrUnexpectedEOF) {
				return
			}
			t.Fatalf("unexpected error: %v", err)
		}
	})
}
