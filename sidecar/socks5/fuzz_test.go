package socks5

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"github.com/nyx-privacy/nyx/sidecar/client"
	"github.com/nyx-privacy/nyx/sidecar/streams"
)

// FuzzHandshake: any bytes from a client end in a request with a valid
// destination or an error, never a panic.
func FuzzHandshake(f *testing.F) {
	f.Add(request5(cmdConnect, atypDomain, []byte("example.com"), 443))
	f.Add(request5(cmdConnect, atypIPv6, make([]byte, 16), 80))
	f.Add(request5(2, atypIPv4, []byte{1, 2, 3, 4}, 80))
	f.Add([]byte{4, 1, 0, 80, 0, 0, 0, 1, 'u', 0, 'h', 0})
	f.Add([]byte{5, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := handshake(bufio.NewReader(bytes.NewReader(b)), io.Discard)
		if err != nil {
			return
		}
		if streams.CheckHost(req.host) != nil || req.port == 0 {
			t.Fatalf("accepted a bad destination %q:%d", req.host, req.port)
		}
	})
}

// FuzzParseConfig: any socks5.toml parses or fails; an accepted one
// survives being written out and read again.
func FuzzParseConfig(f *testing.F) {
	c := DefaultFileConfig()
	c.SOCKS5.Provider = client.Address{Identity: [32]byte{1}, Encryption: [32]byte{9}, Gateway: [32]byte{2}}.String()
	f.Add(c.Marshal())
	f.Add([]byte("[socks5]\nlisten = \"0.0.0.0:1\"\n"))
	f.Add([]byte("[streams]\nkeep_alive = \"-1s\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b)
		if err != nil {
			return
		}
		back, err := ParseConfig(c.Marshal())
		if err != nil {
			t.Fatalf("accepted config does not re-parse: %v", err)
		}
		if back != c {
			t.Fatalf("round trip changed the config: %+v → %+v", c, back)
		}
	})
}
