package topology

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cosmos/cosmos-sdk/types/query"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// Querier is the part of x/mixnet's gRPC query client a Reader uses;
// mixnettypes.NewQueryClient(conn) is one.
type Querier interface {
	Topology(ctx context.Context, in *mixnettypes.QueryTopologyRequest, opts ...grpc.CallOption) (*mixnettypes.QueryTopologyResponse, error)
	Nodes(ctx context.Context, in *mixnettypes.QueryNodesRequest, opts ...grpc.CallOption) (*mixnettypes.QueryNodesResponse, error)
	Params(ctx context.Context, in *mixnettypes.QueryParamsRequest, opts ...grpc.CallOption) (*mixnettypes.QueryParamsResponse, error)
}

// nodesPage is how many bonded nodes one Nodes query asks for.
const nodesPage = 500

// ReaderConfig tunes a Reader. The zero value gives the defaults.
type ReaderConfig struct {
	// Refresh is the longest time between two queries while the chain
	// answers; zero gives DefaultRefresh. The reader also queries when the
	// epoch is due to end.
	Refresh time.Duration
	// EpochPoll is how often the reader asks again once the epoch's end has
	// passed but the chain has not yet ended it (the first block at or after
	// the end does); zero gives DefaultEpochPoll.
	EpochPoll time.Duration
	// RetryMax bounds the backoff between queries while the chain is
	// unreachable; zero gives DefaultRetryMax.
	RetryMax time.Duration
	// Timeout bounds one query; zero gives DefaultTimeout.
	Timeout time.Duration
	// Logger gets the reader's logs; nil discards them.
	Logger *slog.Logger
}

// Defaults of ReaderConfig.
const (
	DefaultRefresh   = 30 * time.Second
	DefaultEpochPoll = 250 * time.Millisecond
	DefaultRetryMax  = 10 * time.Second
	DefaultTimeout   = 5 * time.Second
)

func (c ReaderConfig) withDefaults() ReaderConfig {
	if c.Refresh <= 0 {
		c.Refresh = DefaultRefresh
	}
	if c.EpochPoll <= 0 {
		c.EpochPoll = DefaultEpochPoll
	}
	if c.RetryMax <= 0 {
		c.RetryMax = DefaultRetryMax
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Update is what a subscriber receives when the topology changes.
type Update struct {
	// Topology is the new current topology; Previous the one it replaces
	// (nil for the first).
	Topology, Previous *Topology
	Diff               Diff
}

// Reader keeps the current topology fresh from the chain. Build it with
// NewReader, start Run in a goroutine, read Current at any time and
// Subscribe to hear of changes.
type Reader struct {
	q   Querier
	cfg ReaderConfig
	log *slog.Logger

	mu       sync.Mutex
	current  *Topology
	lastErr  error
	failures int
	subs     map[int]chan Update
	nextSub  int
	changed  chan struct{} // closed and replaced at every change; for Wait
}

// NewReader returns a reader that queries q.
func NewReader(q Querier, cfg ReaderConfig) *Reader {
	cfg = cfg.withDefaults()
	return &Reader{q: q, cfg: cfg, log: cfg.Logger.With("component", "topology"),
		subs: map[int]chan Update{}, changed: make(chan struct{})}
}

// Dial opens a gRPC connection to nyxd's gRPC address (host:port, plaintext,
// as a local or operator-run node serves it). The caller closes it.
func Dial(addr string) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("dial nyxd gRPC %s: %w", addr, err)
	}
	return conn, nil
}

// Current returns the last good topology, or nil if none was read yet.
func (r *Reader) Current() *Topology {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.current
}

// Err returns the error of the last query, or nil if it succeeded.
func (r *Reader) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

// Subscribe returns a channel that receives an Update at every change, and a
// function that ends the subscription. The channel holds one update: a slow
// subscriber misses intermediate updates but always gets the latest (its
// Diff is then against the topology it last received).
func (r *Reader) Subscribe() (<-chan Update, func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch := make(chan Update, 1)
	id := r.nextSub
	r.nextSub++
	r.subs[id] = ch
	return ch, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		delete(r.subs, id)
	}
}

// Refresh queries the chain once. On success the result becomes current (and
// subscribers hear of it if it differs); on failure the last good topology
// stays current and the error is returned.
func (r *Reader) Refresh(ctx context.Context) (*Topology, error) {
	t, _, err := r.refresh(ctx)
	return t, err
}

// refresh is Refresh that also returns the epoch end the chain reported,
// even when its topology was not usable.
func (r *Reader) refresh(ctx context.Context) (*Topology, time.Time, error) {
	qctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	resp, err := r.q.Topology(qctx, &mixnettypes.QueryTopologyRequest{})
	cancel()
	if err != nil {
		err = fmt.Errorf("query topology: %w", err)
		r.fail(err)
		return nil, time.Time{}, err
	}
	t, err := FromQuery(resp)
	if err != nil {
		r.fail(err)
		return nil, resp.Epoch.End, err
	}
	if err := r.addUnassigned(ctx, t); err != nil {
		// The roles are what traffic needs; keep the unassigned nodes
		// known for this epoch, and try again at the next refresh.
		r.log.Warn("bonded nodes without a role not read", "err", err)
		if cur := r.Current(); cur != nil && cur.Epoch == t.Epoch {
			t.AddUnassignedNodes(cur.Unassigned)
		}
	}
	for _, bad := range t.Invalid {
		r.log.Warn("node left out of the topology", "epoch", t.Epoch, "node", bad.ID, "err", bad.Err)
	}
	r.readRotation(ctx, t)
	r.set(t)
	return t, t.EpochEnd, nil
}

// readRotation sets t's key rotation schedule from the chain's params,
// read once per epoch (else the schedule of the epoch before stays).
func (r *Reader) readRotation(ctx context.Context, t *Topology) {
	cur := r.Current()
	if cur != nil && cur.Epoch == t.Epoch {
		t.KeyRotationEpochs = cur.KeyRotationEpochs
		return
	}
	qctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	resp, err := r.q.Params(qctx, &mixnettypes.QueryParamsRequest{})
	if err != nil {
		if cur != nil {
			t.KeyRotationEpochs = cur.KeyRotationEpochs
		}
		r.log.Warn("the chain's params not read; the key rotation schedule of the epoch before stays", "err", err)
		return
	}
	t.KeyRotationEpochs = uint64(resp.Params.SphinxKeyRotationEpochs)
}

// addUnassigned reads every bonded node, a page at a time, and adds those
// without a role to t.
func (r *Reader) addUnassigned(ctx context.Context, t *Topology) error {
	var key []byte
	for {
		qctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
		resp, err := r.q.Nodes(qctx, &mixnettypes.QueryNodesRequest{Pagination: &query.PageRequest{Key: key, Limit: nodesPage}})
		cancel()
		if err != nil {
			return fmt.Errorf("query nodes: %w", err)
		}
		t.AddUnassigned(resp.Nodes)
		if resp.Pagination == nil || len(resp.Pagination.NextKey) == 0 {
			return nil
		}
		key = resp.Pagination.NextKey
	}
}

func (r *Reader) fail(err error) {
	r.mu.Lock()
	r.lastErr = err
	r.failures++
	cur, n := r.current, r.failures
	r.mu.Unlock()
	if errors.Is(err, ErrInvalid) {
		if cur != nil {
			r.log.Warn("chain topology unusable, keeping the last good one", "err", err, "epoch", cur.Epoch)
		} else {
			r.log.Info("chain topology not usable yet", "err", err)
		}
		return
	}
	if cur != nil {
		r.log.Warn("chain unreachable, keeping the last good topology", "err", err, "epoch", cur.Epoch, "failures", n)
	} else {
		r.log.Warn("chain unreachable, no topology yet", "err", err, "failures", n)
	}
}

func (r *Reader) set(t *Topology) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failures > 0 && r.lastErr != nil && !errors.Is(r.lastErr, ErrInvalid) {
		r.log.Info("chain reachable again", "epoch", t.Epoch)
	}
	r.lastErr, r.failures = nil, 0
	prev := r.current
	d := Compare(prev, t)
	if d.Empty() && prev != nil && prev.EpochEnd.Equal(t.EpochEnd) {
		return
	}
	r.current = t
	if !d.Empty() {
		r.log.Info("topology changed", "epoch", t.Epoch, "epoch_end", t.EpochEnd,
			"added", len(d.Added), "removed", len(d.Removed), "changed", len(d.Changed))
	}
	for _, ch := range r.subs {
		u := Update{Topology: t, Previous: prev, Diff: d}
		select {
		case old := <-ch: // the subscriber has not read it: replace, keeping its base
			u.Previous = old.Previous
			u.Diff = Compare(old.Previous, t)
		default:
		}
		ch <- u
	}
	close(r.changed)
	r.changed = make(chan struct{})
}

// Wait blocks until the current topology satisfies ok (checked now and at
// every change) and returns it, or returns ctx's error.
func (r *Reader) Wait(ctx context.Context, ok func(*Topology) bool) (*Topology, error) {
	for {
		r.mu.Lock()
		cur, ch := r.current, r.changed
		r.mu.Unlock()
		if cur != nil && ok(cur) {
			return cur, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for topology: %w", ctx.Err())
		case <-ch:
		}
	}
}

// Run refreshes until ctx ends: at once, then when the epoch is due to end,
// at least every Refresh, and with a growing backoff (up to RetryMax) while
// the chain is unreachable. It returns ctx's error.
func (r *Reader) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	backoff := r.cfg.EpochPoll
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		var wait time.Duration
		_, end, err := r.refresh(ctx)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && end.IsZero(): // unreachable
			wait = backoff
			backoff = min(2*backoff, r.cfg.RetryMax)
		default: // a topology, usable or not yet: follow the epoch
			backoff = r.cfg.EpochPoll
			wait = r.nextWait(end, time.Now())
		}
		timer.Reset(wait)
	}
}

// nextWait is how long to sleep after reading an epoch ending at epochEnd at now: until the epoch's
// end (the first block after it ends the epoch), then in short polls until
// the chain has moved on, never longer than Refresh.
func (r *Reader) nextWait(epochEnd, now time.Time) time.Duration {
	until := epochEnd.Sub(now)
	if until <= 0 {
		return r.cfg.EpochPoll
	}
	return min(until+r.cfg.EpochPoll/2, r.cfg.Refresh)
}
