// Package ratelog bounds how many log lines outside parties can cause.
//
// A daemon that logs every malformed packet or refused connection lets
// whoever sends them fill the operator's disk. A Logger lets through a burst
// of lines per kind (a fixed string chosen by the code, never taken from the
// input, so the number of kinds is bounded) and then at most one line per
// interval, and says in the next line it lets through how many it held back.
package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Defaults for New.
const (
	DefaultBurst    = 5
	DefaultInterval = 10 * time.Second
)

// Logger wraps a slog.Logger with a token bucket per kind.
type Logger struct {
	log      *slog.Logger
	burst    float64
	interval time.Duration
	now      func() time.Time

	mu    sync.Mutex
	kinds map[string]*bucket
}

type bucket struct {
	tokens     float64
	last       time.Time
	suppressed uint64
}

// New returns a Logger that lets through burst lines of a kind at once and
// then one line of that kind per interval. Zero or negative values take the
// defaults.
func New(log *slog.Logger, burst int, interval time.Duration) *Logger {
	if burst <= 0 {
		burst = DefaultBurst
	}
	if interval <= 0 {
		interval = DefaultInterval
	}
	return &Logger{log: log, burst: float64(burst), interval: interval, now: time.Now, kinds: map[string]*bucket{}}
}

// allow takes a token from kind's bucket and returns whether the line may be
// written and how many lines of the kind were held back since the last one.
func (l *Logger) allow(kind string) (bool, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.kinds[kind]
	if b == nil {
		b = &bucket{tokens: l.burst, last: now}
		l.kinds[kind] = b
	}
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(l.burst, b.tokens+float64(el)/float64(l.interval))
		b.last = now
	}
	if b.tokens < 1 {
		b.suppressed++
		return false, 0
	}
	b.tokens--
	n := b.suppressed
	b.suppressed = 0
	return true, n
}

// Log writes msg at level under kind's limit. A line that follows held-back
// ones carries their number as "suppressed".
func (l *Logger) Log(level slog.Level, kind, msg string, args ...any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	ok, held := l.allow(kind)
	if !ok {
		return
	}
	if held > 0 {
		args = append(args, "suppressed", held)
	}
	l.log.Log(context.Background(), level, msg, args...)
}

// Warn is Log at slog.LevelWarn, with msg as the kind.
func (l *Logger) Warn(msg string, args ...any) { l.Log(slog.LevelWarn, msg, msg, args...) }

// Info is Log at slog.LevelInfo, with msg as the kind.
func (l *Logger) Info(msg string, args ...any) { l.Log(slog.LevelInfo, msg, msg, args...) }

// Suppressed returns how many lines of kind are held back right now.
func (l *Logger) Suppressed(kind string) uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.kinds[kind]; b != nil {
		return b.suppressed
	}
	return 0
}
