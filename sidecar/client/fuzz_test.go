package client

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sphinx"
)

func seedAddress() Address {
	k, _ := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{3}, 32))
	return Address{Identity: [32]byte{1}, Encryption: [32]byte(k.PublicKey().Bytes()), Gateway: [32]byte{2}}
}

func FuzzParseAddress(f *testing.F) {
	f.Add(seedAddress().String())
	f.Add("a.b@c")
	f.Add("@.")
	f.Add("11111111111111111111111111111111.11111111111111111111111111111111@11111111111111111111111111111111")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			if !errors.Is(err, ErrAddress) {
				t.Fatalf("error does not wrap ErrAddress: %v", err)
			}
			return
		}
		if a.String() != s {
			t.Fatalf("accepted %q, which prints as %q", s, a.String())
		}
		if b, err := ParseAddressBinary(a.MarshalBinary()); err != nil || b != a {
			t.Fatalf("binary form does not round trip: %v", err)
		}
	})
}

func FuzzParseAddressBinary(f *testing.F) {
	f.Add(seedAddress().MarshalBinary())
	f.Add(make([]byte, AddressSize))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAddressBinary(b)
		if err != nil {
			if !errors.Is(err, ErrAddress) {
				t.Fatalf("error does not wrap ErrAddress: %v", err)
			}
			return
		}
		if !bytes.Equal(a.MarshalBinary(), b) {
			t.Fatal("round trip changed the address")
		}
		if back, err := ParseAddress(a.String()); err != nil || back != a {
			t.Fatalf("text form does not round trip: %v", err)
		}
	})
}

// FuzzOpen feeds arbitrary payloads (what a gateway delivers) to OpenPiece
// and Open: a whole message, a fragment and a cover payload sealed to the
// key are among the seeds.
func FuzzOpen(f *testing.F) {
	k, _ := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{5}, 32))
	size := sphinx.Regular.PayloadSize
	good, _ := Seal(rand.Reader, k.PublicKey(), []byte("seed"), size)
	frag, _ := SealFragment(rand.Reader, k.PublicKey(), [8]byte{9}, 1, 2, []byte("half"), size)
	cover, _ := SealCover(rand.Reader, k.PublicKey(), size)
	f.Add(good)
	f.Add(frag)
	f.Add(cover)
	f.Add(make([]byte, size))
	f.Add([]byte{KindMessage})
	f.Add(good[:100])
	f.Fuzz(func(t *testing.T, payload []byte) {
		p, err := OpenPiece(k, payload)
		msg, openErr := Open(k, payload)
		switch {
		case errors.Is(err, ErrCover):
			if !errors.Is(openErr, ErrCover) {
				t.Fatalf("OpenPiece says cover, Open says %v", openErr)
			}
		case err != nil:
			if !errors.Is(err, ErrSealed) || !errors.Is(openErr, ErrSealed) {
				t.Fatalf("errors do not wrap ErrSealed: %v, %v", err, openErr)
			}
		case p.Fragment:
			if p.Count < 2 || p.Index < 0 || p.Index >= p.Count || len(p.Data) == 0 || len(p.Data) > FragmentCapacity(len(payload)) {
				t.Fatalf("fragment %d of %d with %d bytes from a %d-byte payload", p.Index, p.Count, len(p.Data), len(payload))
			}
			if !errors.Is(openErr, ErrFragment) {
				t.Fatalf("Open of a fragment: %v", openErr)
			}
			// Reassembly takes any fragment without panicking.
			if _, _, err := newReassembler(size).add(p, time.Now()); err != nil && p.Count <= maxFragments(size) {
				t.Fatalf("a lone valid fragment refused: %v", err)
			}
		default:
			if len(p.Data) > MaxMessageSize(len(payload)) || openErr != nil || !bytes.Equal(msg, p.Data) {
				t.Fatalf("opened %d bytes from a %d-byte payload; Open: %v", len(p.Data), len(payload), openErr)
			}
		}
	})
}

// FuzzReassemble feeds the reassembler sequences of fragments (each
// described by five bytes: id, index, count, length, and the length's
// bytes of data): it never panics, keeps within its bounds, and what it
// returns has the size the fragments add up to.
func FuzzReassemble(f *testing.F) {
	f.Add([]byte{1, 0, 2, 3, 'a', 'b', 'c', 1, 1, 2, 1, 'd'})
	f.Add([]byte{1, 0, 2, 1, 'a', 1, 0, 3, 1, 'a', 2, 5, 200, 1, 'z'})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newReassembler(sphinx.Regular.PayloadSize)
		r.maxMessages, r.maxBytes = 4, 64
		now := time.Unix(0, 0)
		for len(b) >= 4 {
			n := min(int(b[3]), len(b)-4)
			p := Piece{Fragment: true, ID: [8]byte{b[0]}, Index: int(b[1]), Count: int(b[2]), Data: b[4 : 4+n]}
			b = b[4+n:]
			if p.Count < 2 || p.Index >= p.Count || len(p.Data) == 0 {
				continue // OpenPiece never yields these
			}
			now = now.Add(time.Second)
			msg, _, err := r.add(p, now)
			if err == nil && msg != nil && (len(msg) < p.Count || len(msg) > r.maxBytes) {
				t.Fatalf("a %d-fragment message of %d bytes", p.Count, len(msg))
			}
			if r.pending() > r.maxMessages || r.bytes > r.maxBytes || r.bytes < 0 {
				t.Fatalf("%d pending, %d bytes", r.pending(), r.bytes)
			}
		}
	})
}

func FuzzParseAppRequest(f *testing.F) {
	a := seedAddress()
	f.Add(false, []byte(`{"type":"selfAddress"}`))
	f.Add(false, []byte(`{"type":"send","recipient":"`+a.String()+`","message":"hi"}`))
	f.Add(false, []byte(`{"type":"send","recipient":"`+a.String()+`","data":"AAEC"}`))
	f.Add(false, []byte(`{"type":"send","recipient":"`+a.String()+`","data":"AAEC","message":""}`))
	f.Add(true, append(append([]byte{BinarySend}, a.MarshalBinary()...), "hi"...))
	f.Add(true, []byte{BinaryReceived})
	f.Fuzz(func(t *testing.T, binary bool, b []byte) {
		r, err := ParseAppRequest(binary, b)
		if err != nil {
			if !errors.Is(err, ErrRequest) {
				t.Fatalf("error does not wrap ErrRequest: %v", err)
			}
			return
		}
		if r.Type != "send" && r.Type != "selfAddress" {
			t.Fatalf("request type %q", r.Type)
		}
		if r.Type == "send" && r.Message == nil {
			t.Fatal("send without a message")
		}
	})
}

func FuzzParseConfig(f *testing.F) {
	f.Add(testFileConfig().Marshal())
	f.Add([]byte("[client]\nlisten = \"127.0.0.1:1\"\n"))
	f.Add([]byte("[traffic]\naverage_send_delay = \"-5s\"\n"))
	f.Add([]byte("= ="))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			return
		}
		// An accepted config survives being written out and read again.
		back, err := ParseConfig(c.Marshal())
		if err != nil {
			t.Fatalf("accepted config does not re-parse: %v", err)
		}
		if back != c {
			t.Fatalf("round trip changed the config: %+v → %+v", c, back)
		}
	})
}
