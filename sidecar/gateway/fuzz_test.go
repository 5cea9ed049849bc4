package gateway

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/nyx-privacy/nyx/sidecar/gatewayclient"
	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	"github.com/nyx-privacy/nyx/sphinx"
)

func FuzzStoredRecords(f *testing.F) {
	f.Add(clientRecord{Key: gatewayproto.SharedKey{1, 2}, RegisteredAt: time.Unix(1700000000, 0), LastSeen: time.Unix(1700003600, 0)}.marshal(), seqKey(1))
	f.Add(append([]byte{clientRecordV1}, make([]byte, clientRecordV1Size-1)...), seqKey(2))
	f.Add(marshalMessage(time.Unix(0, 1700000000000000000), []byte("hello")), seqKey(7))
	f.Add([]byte{2, 0, 0}, []byte{1})
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, value, key []byte) {
		if r, err := parseClientRecord(value); err == nil {
			// Version 1 records are rewritten as version 2.
			if again, err := parseClientRecord(r.marshal()); err != nil || again != r {
				t.Fatalf("client record round trip changed it: %+v → %+v, %v", r, again, err)
			}
			if value[0] == clientRecordV2 && !bytes.Equal(r.marshal(), value) {
				t.Fatal("client record round trip changed its bytes")
			}
		} else if !errors.Is(err, ErrCorruptRecord) {
			t.Fatalf("client record error does not wrap ErrCorruptRecord: %v", err)
		}
		m, err := parseMessage(key, value, 1<<16)
		if err != nil {
			if !errors.Is(err, ErrCorruptRecord) {
				t.Fatalf("message error does not wrap ErrCorruptRecord: %v", err)
			}
			return
		}
		if !bytes.Equal(marshalMessage(m.StoredAt, m.Payload), value) || !bytes.Equal(seqKey(m.Seq), key) {
			t.Fatal("message record round trip changed it")
		}
	})
}

func FuzzBalanceRecords(f *testing.F) {
	f.Add(marshalBalance(5000))
	f.Add(marshalBalance(-1))
	f.Add(marshalSpent(time.Unix(1700000000, 0)))
	f.Add([]byte{1, 2})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if v, err := parseBalance(b); err == nil {
			if !bytes.Equal(marshalBalance(v), b) {
				t.Fatal("balance record round trip changed it")
			}
		} else if !errors.Is(err, ErrCorruptRecord) {
			t.Fatalf("balance error does not wrap ErrCorruptRecord: %v", err)
		}
		if at, err := parseSpent(b); err == nil {
			if !bytes.Equal(marshalSpent(at), b) {
				t.Fatal("spent record round trip changed it")
			}
		} else if !errors.Is(err, ErrCorruptRecord) {
			t.Fatalf("spent error does not wrap ErrCorruptRecord: %v", err)
		}
	})
}

// FuzzGatewayFrames sends two arbitrary frames to a live gateway as a client
// would, and checks that it answers every connection with a refusal or a
// handshake step and keeps serving.
func FuzzGatewayFrames(f *testing.F) {
	b32 := bytes.Repeat([]byte{7}, 32)
	registerInit := (&gatewayproto.Control{Type: gatewayproto.TypeRegisterInit, Version: gatewayproto.ProtocolVersion, Identity: b32, Ephemeral: b32}).Marshal()
	registerFinish := (&gatewayproto.Control{Type: gatewayproto.TypeRegisterFinish, Signature: make([]byte, 64)}).Marshal()
	authenticate := (&gatewayproto.Control{Type: gatewayproto.TypeAuthenticate, Version: gatewayproto.ProtocolVersion, Identity: b32, Nonce: make([]byte, 16), MAC: b32}).Marshal()
	for _, s := range [][]byte{registerInit, registerFinish, authenticate, []byte(`{"type":"ack","upto":-1}`), []byte(`[]`), nil} {
		f.Add(true, s, false, []byte{})
	}
	f.Add(false, make([]byte, gatewayproto.NextHopSize+sphinx.Regular.PacketSize()), true, []byte(`{"type":"ack","upto":1}`))
	f.Add(true, registerInit, true, registerFinish)

	_, key, _ := ed25519.GenerateKey(nil)
	g, err := New(Config{StoreDir: f.TempDir()}, key, nil, discardForwarder{}, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	f.Cleanup(func() {
		g.Close()
		srv.Close()
	})
	url := "ws" + strings.TrimPrefix(srv.URL, "http")

	f.Fuzz(func(t *testing.T, text1 bool, frame1 []byte, text2 bool, frame2 []byte) {
		conn, resp, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			t.Fatalf("gateway stopped accepting connections: %v", err)
		}
		resp.Body.Close()
		defer conn.Close()
		mt := func(text bool) int {
			if text {
				return websocket.TextMessage
			}
			return websocket.BinaryMessage
		}
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, data, err := conn.ReadMessage(); err != nil {
			t.Fatalf("no challenge: %v", err)
		} else if c, err := gatewayproto.ParseControl(data); err != nil || c.Type != gatewayproto.TypeChallenge {
			t.Fatalf("first frame %s, %v", data, err)
		}
		if conn.WriteMessage(mt(text1), frame1) != nil {
			return
		}
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		c, err := gatewayproto.ParseControl(data)
		if err != nil {
			t.Fatalf("gateway sent an unparsable control frame: %v", err)
		}
		if c.Type != gatewayproto.TypeError && c.Type != gatewayproto.TypeRegisterChallenge {
			t.Fatalf("gateway answered garbage with %q", c.Type)
		}
		if c.Type == gatewayproto.TypeRegisterChallenge {
			conn.WriteMessage(mt(text2), frame2)
			if _, data, err = conn.ReadMessage(); err == nil {
				if c, err := gatewayproto.ParseControl(data); err != nil || c.Type != gatewayproto.TypeError {
					t.Fatalf("second frame answered with %s %v", data, err)
				}
			}
		}
	})
}

// FuzzSessionFrames sends two arbitrary frames in an authenticated session
// at a gateway that enforces credentials (a small balance, no chain): the
// gateway keeps serving, every text frame it sends parses, and no frame
// raises the balance.
func FuzzSessionFrames(f *testing.F) {
	theta := make([]byte, gatewayproto.ThetaSize)
	nonce := bytes.Repeat([]byte{3}, gatewayproto.CredentialNonceSize)
	cred := (&gatewayproto.Control{Type: gatewayproto.TypeCredential, Theta: theta, Nonce: nonce}).Marshal()
	packet := gatewayproto.ForwardFrame([32]byte{1}, make([]byte, sphinx.Regular.PacketSize()))
	f.Add(true, cred, false, packet)
	f.Add(false, packet, false, packet)
	f.Add(true, []byte(`{"type":"ack","upto":1}`), true, cred)
	f.Add(true, []byte(`{"type":"bandwidth","balance":1000000,"nonce":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","operator":"x"}`), true, []byte{})

	cfg := DefaultConfig(f.TempDir())
	cfg.EnforceCredentials = true
	_, gkey, _ := ed25519.GenerateKey(nil)
	g, err := New(cfg, gkey, nil, discardForwarder{}, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	f.Cleanup(func() {
		g.Close()
		srv.Close()
	})
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	_, client, _ := ed25519.GenerateKey(nil)
	reg, shared, err := gatewayclient.Register(context.Background(), url, g.Identity(), client)
	if err != nil {
		f.Fatal(err)
	}
	reg.Close()
	id := [32]byte(client.Public().(ed25519.PublicKey))
	const start = 10_000
	if err := g.st.saveBalances(map[[32]byte]int64{id: start}); err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, text1 bool, frame1 []byte, text2 bool, frame2 []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := gatewayclient.Dial(ctx, url, g.Identity(), client, shared)
		if err != nil {
			t.Fatalf("gateway stopped serving its client: %v", err)
		}
		defer conn.Close()
		mt := func(text bool) int {
			if text {
				return websocket.TextMessage
			}
			return websocket.BinaryMessage
		}
		conn.WriteFrame(mt(text1), frame1)
		conn.WriteFrame(mt(text2), frame2)
		if bal, err := g.Balance(id); err != nil || bal > start {
			t.Fatalf("balance %d (%v) after arbitrary frames, it was at most %d", bal, err, start)
		}
	})
}
