package clientcred

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/nyx-privacy/nyx/coconut"
	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
)

func pendingRecord(t testing.TB) []byte {
	_, id, _ := ed25519.GenerateKey(rand.Reader)
	v, err := coconut.NewBandwidthVoucher(rand.Reader, Binding(id), 10000, coconuttypes.CredentialTypeName(10))
	if err != nil {
		t.Fatal(err)
	}
	_, sec, err := coconut.PrepareBlindSign(rand.Reader, coconuttypes.CredentialParams(), v.Private(), v.Public())
	if err != nil {
		t.Fatal(err)
	}
	bz, _ := sec.MarshalBinary()
	b, _ := json.Marshal(Record{Version: 1, State: StatePending, ChainID: "nyx-1", RequestID: 3, Value: 10000,
		Type: coconuttypes.CredentialTypeName(10), Deposit: "1000unym", Secrets: hex.EncodeToString(bz), Created: time.Unix(1700000000, 0)})
	return b
}

// FuzzParseRecord: a credential file from disk parses or is refused with
// an error, never a panic, and what parses encodes back to a record that
// parses the same.
func FuzzParseRecord(f *testing.F) {
	f.Add(pendingRecord(f))
	f.Add([]byte(`{"version":1,"state":"ready","secrets":"00","signature":"zz"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRecord(b)
		if err != nil {
			return
		}
		again, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := ParseRecord(again)
		if err != nil {
			t.Fatalf("re-encoded record does not parse: %v", err)
		}
		if r2.Secrets != r.Secrets || r2.State != r.State || r2.Value != r.Value {
			t.Fatal("round trip changed the record")
		}
	})
}
