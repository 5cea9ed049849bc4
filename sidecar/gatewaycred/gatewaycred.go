// Package gatewaycred is the gateway's side of bandwidth credentials
// against the chain: it verifies a client's show (x/coconut's bandwidth
// show, bound to the chain, the operator's address, this gateway's
// identity and the session's nonce) under the master keys the chain
// issues with, read over gRPC and prepared once per key; checks the spend
// tag on chain; and redeems the credentials in batches of
// MsgSpendCredentials signed with the operator's chain key
// (sidecar/chaintx). It implements gateway.Redeemer; the gateway keeps the
// balances and its own record of spend tags.
//
// Refusals are *gateway.CredentialError with the code the client is sent:
// a show that does not decode is malformed; one that verifies under no key
// the chain accepts spends for is foreign_key, unless it verifies under a
// recently retired key (expired); a tag the chain has is spent; a chain
// that cannot be asked is chain_unavailable, and nothing is granted on an
// unchecked credential.
package gatewaycred

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/gateway"
	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	"github.com/nyx-privacy/nyx/sidecar/ratelog"
	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
)

// Config says how credentials are checked and redeemed.
type Config struct {
	// ChainID is the chain the shows are bound to. Required.
	ChainID string
	// BatchInterval is how long a spend waits for others to join its
	// batch. Default 1s.
	BatchInterval time.Duration
	// MaxBatch bounds the entries of one MsgSpendCredentials (the chain's
	// max_spends_per_tx is the upper bound). Default 100.
	MaxBatch int
	// KeyRefresh is how often the chain's keys are read again. Default 1m.
	KeyRefresh time.Duration
	// QueryTimeout bounds one query to the chain. Default 5s.
	QueryTimeout time.Duration
}

// Defaults of Config.
const (
	DefaultBatchInterval = time.Second
	DefaultMaxBatch      = 100
	DefaultKeyRefresh    = time.Minute
	DefaultQueryTimeout  = 5 * time.Second
	// retiredKeysChecked is how many keys past their grace period a show
	// that verifies under no current key is tried against, to tell an
	// expired credential from a foreign one.
	retiredKeysChecked = 2
	// maxKeysKept bounds the prepared keys (about 4 MB each).
	maxKeysKept = 8
)

// Redeemer checks and redeems credentials for one gateway.
type Redeemer struct {
	q        coconuttypes.QueryClient
	signer   *chaintx.Signer
	operator string
	identity [gatewayproto.IdentitySize]byte
	cfg      Config
	log      *slog.Logger
	rlog     *ratelog.Logger

	mu       sync.Mutex
	keys     []*key // verifying now, current first
	retired  []*key // the latest keys past their grace period, newest first
	readAt   time.Time
	prepared map[uint64]*key
	rate     uint64 // bytes_per_unym: the type the chain issues now

	queue chan *spend
	stop  chan struct{}
	wg    sync.WaitGroup
}

type key struct {
	id       uint64
	raw      []byte
	prepared *coconut.PreparedVerificationKey
}

type spend struct {
	c    *gateway.Credential
	done chan error // nil for SpendLater
}

// New returns a Redeemer for the gateway with the given identity, reading
// the chain over conn and spending with signer (the operator's account,
// which the shows are bound to). Close stops its batcher.
func New(conn grpc.ClientConnInterface, signer *chaintx.Signer, identity [gatewayproto.IdentitySize]byte, cfg Config, log *slog.Logger) (*Redeemer, error) {
	if cfg.ChainID == "" {
		return nil, errors.New("gatewaycred: no chain id")
	}
	if signer == nil {
		return nil, errors.New("gatewaycred: no operator signer")
	}
	if cfg.BatchInterval <= 0 {
		cfg.BatchInterval = DefaultBatchInterval
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.KeyRefresh <= 0 {
		cfg.KeyRefresh = DefaultKeyRefresh
	}
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = DefaultQueryTimeout
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Redeemer{
		q: coconuttypes.NewQueryClient(conn), signer: signer, operator: signer.Address(), identity: identity,
		cfg: cfg, log: log.With("component", "gatewaycred"), prepared: map[uint64]*key{},
		queue: make(chan *spend, 4*cfg.MaxBatch), stop: make(chan struct{}),
	}
	r.rlog = ratelog.New(r.log, 0, 0)
	r.wg.Add(1)
	go r.batch()
	return r, nil
}

// Operator is the address the shows must be bound to and spends are paid to.
func (r *Redeemer) Operator() string { return r.operator }

// Close stops the batcher; spends still queued fail as chain_unavailable.
func (r *Redeemer) Close() {
	close(r.stop)
	r.wg.Wait()
}

func unavailable(format string, args ...any) error {
	return gateway.CredentialErrorf(gatewayproto.CodeChainUnavailable, format, args...)
}

// Check implements gateway.Redeemer.
func (r *Redeemer) Check(ctx context.Context, theta, nonce []byte) (*gateway.Credential, error) {
	th, err := coconuttypes.DecodeTheta(theta)
	if err != nil {
		return nil, gateway.CredentialErrorf(gatewayproto.CodeCredentialMalformed, "%v", err)
	}
	keys, rate, err := r.current(ctx, false)
	if err != nil {
		return nil, err
	}
	sctx := coconuttypes.SpendContext(r.cfg.ChainID, r.operator, r.identity[:], nonce)
	p := coconuttypes.CredentialParams()
	var spent *coconut.SpentBandwidth
	for _, k := range keys {
		if spent, err = coconut.VerifyBandwidth(p, k.prepared, th, sctx); err == nil {
			break
		}
	}
	if spent == nil {
		if keys, rate, err = r.current(ctx, true); err != nil {
			return nil, err
		}
		for _, k := range keys {
			if spent, err = coconut.VerifyBandwidth(p, k.prepared, th, sctx); err == nil {
				break
			}
		}
	}
	if spent == nil {
		r.mu.Lock()
		retired := r.retired
		r.mu.Unlock()
		for _, k := range retired {
			if _, err := coconut.VerifyBandwidth(p, k.prepared, th, sctx); err == nil {
				return nil, gateway.CredentialErrorf(gatewayproto.CodeCredentialExpired, "issued under key %d, which the chain no longer accepts spends for", k.id)
			}
		}
		return nil, gateway.CredentialErrorf(gatewayproto.CodeCredentialForeignKey,
			"the show verifies under no key the chain issues with, for this chain, operator, gateway and nonce")
	}
	if spent.Type.Bytes() != coconuttypes.TypeAttribute(coconuttypes.CredentialTypeName(rate)) {
		// Earlier rates' types stay spendable on chain, but the gateway
		// knows only the current one; a client buys at the current rate.
		return nil, gateway.CredentialErrorf(gatewayproto.CodeCredentialForeignKey, "a credential type the chain does not issue now")
	}
	if spent.Value == 0 {
		return nil, gateway.CredentialErrorf(gatewayproto.CodeCredentialMalformed, "a credential of no value")
	}
	tag, _, _ := th.SpendTag()
	qctx, cancel := context.WithTimeout(ctx, r.cfg.QueryTimeout)
	defer cancel()
	st, err := r.q.SpendTag(qctx, &coconuttypes.QuerySpendTagRequest{Tag: tag[:]})
	if err != nil {
		return nil, unavailable("ask the chain whether the credential is spent: %v", err)
	}
	if st.Spent {
		return nil, gateway.CredentialErrorf(gatewayproto.CodeCredentialSpent, "the chain has it spent")
	}
	return &gateway.Credential{Tag: tag, Value: spent.Value, Theta: theta, Nonce: nonce}, nil
}

// current returns the keys spends verify under now and the current rate,
// read from the chain when older than KeyRefresh (or when force is set and
// the last read is older than a second, so a show under a key just formed
// is not refused, and a stream of bad shows costs one read a second).
func (r *Redeemer) current(ctx context.Context, force bool) ([]*key, uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	age := time.Since(r.readAt)
	if r.keys != nil && age < r.cfg.KeyRefresh && (!force || age < time.Second) {
		return r.keys, r.rate, nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.QueryTimeout)
	defer cancel()
	params, err := r.q.Params(ctx, &coconuttypes.QueryParamsRequest{})
	if err != nil {
		return nil, 0, unavailable("read the chain's credential params: %v", err)
	}
	cur, err := r.q.VerificationKey(ctx, &coconuttypes.QueryVerificationKeyRequest{})
	if err != nil {
		return nil, 0, unavailable("read the chain's verification key: %v", err)
	}
	var keys, retired []*key
	ks, verifies := cur.KeySet, cur.Verifies
	for {
		k, err := r.prepare(ks)
		if err != nil {
			return nil, 0, unavailable("key %d from the chain: %v", ks.KeyId, err)
		}
		if verifies {
			keys = append(keys, k)
		} else {
			retired = append(retired, k)
		}
		if ks.KeyId <= 1 || len(retired) == retiredKeysChecked || len(keys)+len(retired) == maxKeysKept {
			break
		}
		older, err := r.q.VerificationKey(ctx, &coconuttypes.QueryVerificationKeyRequest{KeyId: ks.KeyId - 1})
		if err != nil {
			break // pruned or never formed
		}
		ks, verifies = older.KeySet, older.Verifies
	}
	r.keys, r.retired, r.rate, r.readAt = keys, retired, params.Params.BytesPerUnym, time.Now()
	for id := range r.prepared {
		if !contains(keys, id) && !contains(retired, id) {
			delete(r.prepared, id)
		}
	}
	return keys, r.rate, nil
}

func contains(keys []*key, id uint64) bool {
	for _, k := range keys {
		if k.id == id {
			return true
		}
	}
	return false
}

// prepare returns the prepared form of a key set's master key, built once
// per key (it costs about 80 ms) and kept while the chain has the key.
func (r *Redeemer) prepare(ks coconuttypes.KeySet) (*key, error) {
	if k := r.prepared[ks.KeyId]; k != nil && string(k.raw) == string(ks.MasterKey) {
		return k, nil
	}
	vk, err := coconuttypes.DecodeVerificationKey(ks.MasterKey, false)
	if err != nil {
		return nil, err
	}
	k := &key{id: ks.KeyId, raw: append([]byte(nil), ks.MasterKey...), prepared: vk.Prepare()}
	r.prepared[ks.KeyId] = k
	return k, nil
}

// Spend implements gateway.Redeemer: it queues c for the next batch and
// waits for the batch's commit.
func (r *Redeemer) Spend(ctx context.Context, c *gateway.Credential) error {
	s := &spend{c: c, done: make(chan error, 1)}
	select {
	case r.queue <- s:
	case <-ctx.Done():
		return unavailable("the spend queue is full: %v", ctx.Err())
	case <-r.stop:
		return unavailable("gateway closing")
	}
	select {
	case err := <-s.done:
		return err
	case <-ctx.Done():
		// The spend may still land: the tag is then spent on chain and
		// the client is refused if it shows the credential again.
		return unavailable("the spend was not committed in time: %v", ctx.Err())
	}
}

// SpendLater implements gateway.Redeemer.
func (r *Redeemer) SpendLater(c *gateway.Credential) {
	select {
	case r.queue <- &spend{c: c}:
	case <-r.stop:
	}
}
