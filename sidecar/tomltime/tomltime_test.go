package tomltime

import (
	"testing"
	"time"
)

func TestDurationText(t *testing.T) {
	var d Duration
	if err := d.UnmarshalText([]byte("1h15ms")); err != nil {
		t.Fatal(err)
	}
	if time.Duration(d) != time.Hour+15*time.Millisecond {
		t.Fatalf("parsed %v", time.Duration(d))
	}
	b, err := d.MarshalText()
	if err != nil || string(b) != "1h0m0.015s" {
		t.Fatalf("marshal: %q, %v", b, err)
	}
	if err := d.UnmarshalText([]byte("fast")); err == nil {
		t.Fatal("a non-duration was accepted")
	}
}
