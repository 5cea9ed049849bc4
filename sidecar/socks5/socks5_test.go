package socks5

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/streams"
)

// echoServer echoes on 127.0.0.1 until EOF, then half-closes.
func echoServer(t *testing.T) uint16 {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
				c.(*net.TCPConn).CloseWrite()
			}()
		}
	}()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

// dialed records what the server asked its dialer for.
type dialed struct {
	mu    sync.Mutex
	hosts []string
}

// start runs a server whose dialer connects directly over TCP to
// 127.0.0.1 (whatever the host), or fails with the reason its table gives
// for the host.
func start(t *testing.T, refuse map[string]streams.Reason) (string, *dialed) {
	t.Helper()
	d := &dialed{}
	dial := func(ctx context.Context, host string, port uint16) (Conn, error) {
		d.mu.Lock()
		d.hosts = append(d.hosts, host)
		d.mu.Unlock()
		if r, ok := refuse[host]; ok {
			return nil, &streams.Error{Reason: r, Remote: true}
		}
		var nd net.Dialer
		c, err := nd.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
		if err != nil {
			return nil, err
		}
		return c.(*net.TCPConn), nil
	}
	s, err := NewServer(dial, Config{HandshakeTimeout: 5 * time.Second, MaxConns: 16}, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(ctx, l) }()
	t.Cleanup(func() { cancel(); <-done })
	return l.Addr().String(), d
}

func dial(t *testing.T, addr string) net.Conn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

func read(t *testing.T, c net.Conn, n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return b
}

func request5(cmd, atyp byte, addr []byte, port uint16) []byte {
	b := []byte{5, 1, 0, 5, cmd, 0, atyp}
	if atyp == atypDomain {
		b = append(b, byte(len(addr)))
	}
	b = append(b, addr...)
	return binary.BigEndian.AppendUint16(b, port)
}

// TestConnect: CONNECT by IPv4, domain and IPv6 address, each relayed
// both ways with the half-close carried through; the dialer gets the host
// as the client gave it (resolved at the exit).
func TestConnect(t *testing.T) {
	port := echoServer(t)
	addr, d := start(t, nil)
	for _, tc := range []struct {
		atyp byte
		addr []byte
		host string
	}{
		{atypIPv4, []byte{127, 0, 0, 1}, "127.0.0.1"},
		{atypDomain, []byte("echo.example"), "echo.example"},
		{atypIPv6, net.ParseIP("2001:db8::7"), "2001:db8::7"},
	} {
		c := dial(t, addr)
		c.Write(request5(cmdConnect, tc.atyp, tc.addr, port))
		if got := read(t, c, 2); !bytes.Equal(got, []byte{5, 0}) {
			t.Fatalf("method answer % x", got)
		}
		if got := read(t, c, 10); got[1] != RepSucceeded {
			t.Fatalf("%s: reply % x", tc.host, got)
		}
		c.Write([]byte("ping"))
		c.(*net.TCPConn).CloseWrite()
		got, err := io.ReadAll(c)
		if err != nil || string(got) != "ping" {
			t.Fatalf("%s: echoed %q, %v", tc.host, got, err)
		}
		d.mu.Lock()
		last := d.hosts[len(d.hosts)-1]
		d.mu.Unlock()
		if last != tc.host {
			t.Fatalf("dialer asked for %q, want %q", last, tc.host)
		}
	}
}

// TestErrorCodes: each unsupported or malformed request, and each refusal,
// gets the right reply code, and the connection is closed.
func TestErrorCodes(t *testing.T) {
	addr, _ := start(t, map[string]streams.Reason{
		"policy.example": streams.ReasonPolicy, "nx.example": streams.ReasonHostNotFound,
		"closed.example": streams.ReasonRefused, "slow.example": streams.ReasonTimeout,
		"full.example": streams.ReasonLimit, "net.example": streams.ReasonNetUnreachable,
	})
	for _, tc := range []struct {
		name string
		req  []byte
		code byte
	}{
		{"bind", request5(2, atypIPv4, []byte{127, 0, 0, 1}, 80), RepCmdNotSupported},
		{"udp associate", request5(3, atypIPv4, []byte{127, 0, 0, 1}, 80), RepCmdNotSupported},
		{"unknown address type", []byte{5, 1, 0, 5, 1, 0, 9, 1, 2, 3, 4, 0, 80}, RepAddrTypeNotSupport},
		{"bad request version", []byte{5, 1, 0, 4, 1, 0, 1, 127, 0, 0, 1, 0, 80}, RepGeneralFailure},
		{"nonzero reserved byte", []byte{5, 1, 0, 5, 1, 7, 1, 127, 0, 0, 1, 0, 80}, RepGeneralFailure},
		{"port 0", request5(cmdConnect, atypDomain, []byte("a.example"), 0), RepGeneralFailure},
		{"empty host", request5(cmdConnect, atypDomain, nil, 80), RepGeneralFailure},
		{"policy", request5(cmdConnect, atypDomain, []byte("policy.example"), 80), RepNotAllowed},
		{"host not found", request5(cmdConnect, atypDomain, []byte("nx.example"), 80), RepHostUnreachable},
		{"refused", request5(cmdConnect, atypDomain, []byte("closed.example"), 80), RepConnRefused},
		{"timeout", request5(cmdConnect, atypDomain, []byte("slow.example"), 80), RepTTLExpired},
		{"network", request5(cmdConnect, atypDomain, []byte("net.example"), 80), RepNetUnreachable},
		{"limit", request5(cmdConnect, atypDomain, []byte("full.example"), 80), RepGeneralFailure},
	} {
		c := dial(t, addr)
		c.Write(tc.req)
		read(t, c, 2)
		got := read(t, c, 10)
		if got[0] != 5 || got[1] != tc.code {
			t.Errorf("%s: reply % x, want code %#x", tc.name, got, tc.code)
		}
		if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Errorf("%s: connection still open after the refusal", tc.name)
		}
	}
	// No acceptable method: 0xFF, then closed.
	c := dial(t, addr)
	c.Write([]byte{5, 2, 1, 2}) // GSSAPI, username/password
	if got := read(t, c, 2); !bytes.Equal(got, []byte{5, 0xFF}) {
		t.Fatalf("auth-only client answered % x", got)
	}
	if n, _ := c.Read(make([]byte, 1)); n != 0 {
		t.Fatal("connection open after 0xFF")
	}
	// Not SOCKS at all: closed without an answer.
	c = dial(t, addr)
	c.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
	if n, _ := c.Read(make([]byte, 1)); n != 0 {
		t.Fatal("a non-SOCKS client got an answer")
	}
}

// TestSOCKS4a: CONNECT by host name (4a) and by address (4) succeed;
// BIND and refusals get 0x5B.
func TestSOCKS4a(t *testing.T) {
	port := echoServer(t)
	addr, d := start(t, map[string]streams.Reason{"policy.example": streams.ReasonPolicy})
	req4 := func(cmd byte, ip [4]byte, host string) []byte {
		b := []byte{4, cmd}
		b = binary.BigEndian.AppendUint16(b, port)
		b = append(b, ip[:]...)
		b = append(b, "user\x00"...)
		if host != "" {
			b = append(append(b, host...), 0)
		}
		return b
	}
	for _, tc := range []struct {
		req  []byte
		code byte
		host string
	}{
		{req4(1, [4]byte{0, 0, 0, 1}, "echo4a.example"), socks4Granted, "echo4a.example"},
		{req4(1, [4]byte{127, 0, 0, 1}, ""), socks4Granted, "127.0.0.1"},
		{req4(2, [4]byte{127, 0, 0, 1}, ""), socks4Rejected, ""},
		{req4(1, [4]byte{0, 0, 0, 1}, "policy.example"), socks4Rejected, ""},
	} {
		c := dial(t, addr)
		c.Write(tc.req)
		got := read(t, c, 8)
		if got[0] != 0 || got[1] != tc.code {
			t.Fatalf("reply % x, want %#x", got, tc.code)
		}
		if tc.code != socks4Granted {
			continue
		}
		c.Write([]byte("hi"))
		c.(*net.TCPConn).CloseWrite()
		if b, err := io.ReadAll(c); err != nil || string(b) != "hi" {
			t.Fatalf("echoed %q, %v", b, err)
		}
		d.mu.Lock()
		last := d.hosts[len(d.hosts)-1]
		d.mu.Unlock()
		if last != tc.host {
			t.Fatalf("dialer asked for %q, want %q", last, tc.host)
		}
	}
}
