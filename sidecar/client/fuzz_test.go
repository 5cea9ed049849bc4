package client

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"testing"

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

// FuzzOpen feeds arbitrary payloads (what a gateway delivers) to Open.
func FuzzOpen(f *testing.F) {
	k, _ := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{5}, 32))
	good, _ := Seal(rand.Reader, k.PublicKey(), []byte("seed"), sphinx.Regular.PayloadSize)
	f.Add(good)
	f.Add(make([]byte, sphinx.Regular.PayloadSize))
	f.Add([]byte{KindMessage})
	f.Add(good[:100])
	f.Fuzz(func(t *testing.T, payload []byte) {
		msg, err := Open(k, payload)
		if err != nil {
			if !errors.Is(err, ErrSealed) {
				t.Fatalf("error does not wrap ErrSealed: %v", err)
			}
			return
		}
		if len(msg) > MaxMessageSize(len(payload)) {
			t.Fatalf("opened %d bytes from a %d-byte payload", len(msg), len(payload))
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
