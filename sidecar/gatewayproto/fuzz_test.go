package gatewayproto

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/nyx-privacy/nyx/sphinx"
)

func controlSeeds() [][]byte {
	b32 := bytes.Repeat([]byte{7}, 32)
	return [][]byte{
		(&Control{Type: TypeChallenge, Version: 2, Gateway: b32, Nonce: b32}).Marshal(),
		(&Control{Type: TypeRegisterInit, Version: 2, Identity: b32, Ephemeral: b32}).Marshal(),
		(&Control{Type: TypeRegisterChallenge, Gateway: b32, Ephemeral: b32, Signature: make([]byte, 64)}).Marshal(),
		(&Control{Type: TypeRegisterFinish, Signature: make([]byte, 64)}).Marshal(),
		(&Control{Type: TypeRegistered, MAC: b32}).Marshal(),
		(&Control{Type: TypeAuthenticate, Version: 2, Identity: b32, Nonce: make([]byte, 16), MAC: b32}).Marshal(),
		[]byte(`{"type":"authenticate","version":1,"identity":"` + strings.Repeat("A", 43) + `=","nonce":"AAAAAAAAAAAAAAAAAAAAAA==","timestamp":5}`),
		(&Control{Type: TypeAuthenticated, MAC: b32, Stored: 3}).Marshal(),
		(&Control{Type: TypeAck, UpTo: 9}).Marshal(),
		(&Control{Type: TypeError, Code: "replay", Message: "no"}).Marshal(),
		(&Control{Type: TypeCredential, Theta: make([]byte, ThetaSize), Nonce: b32}).Marshal(),
		(&Control{Type: TypeBandwidth, Balance: -7, Granted: 10, Nonce: b32, Operator: "n1operator"}).Marshal(),
		(&Control{Type: TypeError, Code: CodeCredentialSpent, Message: "spent", Nonce: b32}).Marshal(),
		[]byte(`{"type":"credential","theta":"AA==","nonce":"AA=="}`),
		[]byte(`{"type":"bandwidth","balance":1e30}`),
		[]byte(`{"type":"ack","upto":-1}`),
		[]byte(`{"type":"register_init","identity":"!!"}`),
		[]byte(`[]`),
		[]byte(``),
	}
}

func FuzzParseControl(f *testing.F) {
	for _, s := range controlSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseControl(b)
		if err != nil {
			if !errors.Is(err, ErrBadFrame) {
				t.Fatalf("error does not wrap ErrBadFrame: %v", err)
			}
			return
		}
		again, err := ParseControl(c.Marshal())
		if err != nil {
			t.Fatalf("re-encoded control does not parse: %v", err)
		}
		if !reflect.DeepEqual(c, again) {
			t.Fatalf("round trip changed the control: %+v → %+v", c, again)
		}
	})
}

func FuzzParseForwardFrame(f *testing.F) {
	f.Add(ForwardFrame([32]byte{1}, make([]byte, sphinx.Regular.PacketSize())))
	f.Add(ForwardFrame([32]byte{1}, make([]byte, sphinx.Ack.PacketSize())))
	f.Add([]byte{1, 2, 3})
	f.Add(make([]byte, NextHopSize+sphinx.Regular.PacketSize()-1))
	f.Fuzz(func(t *testing.T, b []byte) {
		next, packet, err := ParseForwardFrame(b)
		if err != nil {
			return
		}
		if _, err := sphinx.GeometryForPacketSize(len(packet)); err != nil {
			t.Fatalf("accepted a packet of %d bytes", len(packet))
		}
		if !bytes.Equal(ForwardFrame(next, packet), b) {
			t.Fatal("round trip changed the frame")
		}
	})
}

func FuzzParseDeliveryFrame(f *testing.F) {
	f.Add(DeliveryFrame(1, []byte("payload")))
	f.Add(DeliveryFrame(1<<63, nil))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, payload, err := ParseDeliveryFrame(b)
		if err != nil {
			return
		}
		if id == 0 || !bytes.Equal(DeliveryFrame(id, payload), b) {
			t.Fatal("round trip changed the frame")
		}
	})
}
