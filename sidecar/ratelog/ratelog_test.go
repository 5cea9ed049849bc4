package ratelog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestBurstThenInterval(t *testing.T) {
	var buf bytes.Buffer
	l := New(slog.New(slog.NewTextHandler(&buf, nil)), 3, time.Second)
	now := time.Unix(1000, 0)
	l.now = func() time.Time { return now }

	for i := 0; i < 1000; i++ {
		l.Warn("bad packet", "i", i)
	}
	if got := strings.Count(buf.String(), "bad packet"); got != 3 {
		t.Fatalf("1000 lines in an instant wrote %d, want the burst of 3", got)
	}
	if got := l.Suppressed("bad packet"); got != 997 {
		t.Fatalf("suppressed %d, want 997", got)
	}
	// Another kind has its own bucket.
	l.Warn("other")
	if !strings.Contains(buf.String(), "other") {
		t.Fatal("a second kind was held back by the first one's limit")
	}

	buf.Reset()
	now = now.Add(time.Second)
	l.Warn("bad packet", "i", 1000)
	l.Warn("bad packet", "i", 1001)
	out := buf.String()
	if strings.Count(out, "bad packet") != 1 || !strings.Contains(out, "suppressed=997") {
		t.Fatalf("after one interval want one line reporting 997 held back, got %q", out)
	}
}

func TestDisabledLevelCostsNothing(t *testing.T) {
	var buf bytes.Buffer
	l := New(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError})), 1, time.Hour)
	for i := 0; i < 10; i++ {
		l.Warn("quiet")
	}
	if buf.Len() != 0 || l.Suppressed("quiet") != 0 {
		t.Fatalf("a disabled level wrote %q or counted %d", buf.String(), l.Suppressed("quiet"))
	}
}
