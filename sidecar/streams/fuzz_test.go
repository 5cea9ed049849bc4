package streams

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzParseFrame: any bytes parse or fail with ErrFrame; a parsed frame
// marshals back to the same bytes, and a stream fed it does not panic.
func FuzzParseFrame(f *testing.F) {
	for _, fr := range sampleFrames() {
		f.Add(fr.Marshal())
	}
	f.Add([]byte{byte(KindOpen), 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 80, 1, 'a'})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := ParseFrame(b)
		if err != nil {
			if !errors.Is(err, ErrFrame) {
				t.Fatalf("error does not wrap ErrFrame: %v", err)
			}
			return
		}
		if !bytes.Equal(fr.Marshal(), b) {
			t.Fatalf("%+v marshals to other bytes", fr)
		}
		var out collect
		s := NewStream(fr.Stream, out.send, 64, nil)
		_ = s.Deliver(fr)
		_ = s.Deliver(fr)
	})
}
