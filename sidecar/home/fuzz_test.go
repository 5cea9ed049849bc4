package home

import (
	"bytes"
	"strings"
	"testing"
)

func FuzzParseKey(f *testing.F) {
	f.Add(EncodeKey("nyx-test", bytes.Repeat([]byte{1}, 32)))
	f.Add([]byte("nyx-test: !!!\n"))
	f.Add([]byte(""))
	f.Add([]byte("nyx-test: " + strings.Repeat("0a", 32)))
	f.Add([]byte(strings.Repeat("0a", 32) + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParseKey("nyx-test", 32, b)
		if err == nil && len(k) != 32 {
			t.Fatalf("a key of %d bytes", len(k))
		}
		if err == nil && !bytes.Equal(EncodeKey("nyx-test", k)[:9], []byte("nyx-test:")) {
			t.Fatal("re-encoding")
		}
	})
}
