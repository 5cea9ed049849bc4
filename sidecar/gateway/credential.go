package gateway

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
)

// Credential is a show that passed a Redeemer's checks: what the gateway
// grants and records, and what the Redeemer spends on chain.
type Credential struct {
	Tag   [SpendTagSize]byte
	Value uint64 // bytes of bandwidth
	Theta []byte
	Nonce []byte
}

// A Redeemer checks bandwidth credentials against the chain and redeems
// them there (sidecar/gatewaycred is the real one). Its errors are
// *CredentialError with the code the client is sent.
type Redeemer interface {
	// Check verifies a show bound to this gateway and nonce under a key the
	// chain issues with, and that its spend tag is not spent on chain.
	Check(ctx context.Context, theta, nonce []byte) (*Credential, error)
	// Spend redeems c on chain (in a batch with others) and returns once
	// the spend is committed.
	Spend(ctx context.Context, c *Credential) error
	// SpendLater queues c for the next batch without waiting for it.
	SpendLater(c *Credential)
	// Operator is the chain address the shows must be bound to (the one
	// that signs the spends and is paid).
	Operator() string
}

// CredentialError is a refused credential, with the error frame code
// (gatewayproto.CodeCredential*, CodeChainUnavailable) that says why.
type CredentialError struct {
	Code string
	Err  error
}

func (e *CredentialError) Error() string { return e.Code + ": " + e.Err.Error() }
func (e *CredentialError) Unwrap() error { return e.Err }

// CredentialErrorf makes a *CredentialError.
func CredentialErrorf(code, format string, args ...any) *CredentialError {
	return &CredentialError{Code: code, Err: fmt.Errorf(format, args...)}
}

// Credential results, the "result" label of
// nyx_gateway_credentials_total.
var credentialResults = []string{"accepted", gatewayproto.CodeCredentialMalformed, gatewayproto.CodeCredentialForeignKey,
	gatewayproto.CodeCredentialReplayed, gatewayproto.CodeCredentialSpent, gatewayproto.CodeCredentialExpired,
	gatewayproto.CodeChainUnavailable, gatewayproto.CodeCredentialBusy}

type creditMetrics struct {
	credentials *prometheus.CounterVec
	granted     prometheus.Counter
	used        *prometheus.CounterVec
	noBandwidth *prometheus.CounterVec
	// The two counters of every packet, looked up once.
	sent, delivered prometheus.Counter
}

func newCreditMetrics(reg prometheus.Registerer) (*creditMetrics, error) {
	m := &creditMetrics{
		credentials: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "gateway", Name: "credentials_total",
			Help: "Bandwidth credentials presented, by result: accepted or the refusal's code."}, []string{"result"}),
		granted: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "gateway", Name: "bandwidth_granted_bytes_total",
			Help: "Bytes of bandwidth granted by accepted credentials."}),
		used: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "gateway", Name: "bandwidth_used_bytes_total",
			Help: "Bytes metered against client balances, by direction (sent: packets forwarded, cover included; delivered: payloads pushed)."}, []string{"direction"}),
		noBandwidth: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "nyx", Subsystem: "gateway", Name: "packets_without_bandwidth_total",
			Help: "Client packets met with a spent balance, by fate (held until the next credential, or refused)."}, []string{"fate"}),
	}
	for _, r := range credentialResults {
		m.credentials.WithLabelValues(r)
	}
	m.sent = m.used.WithLabelValues("sent")
	m.delivered = m.used.WithLabelValues("delivered")
	m.noBandwidth.WithLabelValues("held")
	m.noBandwidth.WithLabelValues("refused")
	if reg != nil {
		for _, c := range []prometheus.Collector{m.credentials, m.granted, m.used, m.noBandwidth} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register gateway credential metrics: %w", err)
			}
		}
	}
	return m, nil
}

// account is a client's balance while it has a session (or several, one
// replacing the other).
type account struct {
	bal   atomic.Int64
	dirty atomic.Bool
	refs  int // under Gateway.acctMu
}

func (a *account) use(n int64) {
	a.bal.Add(-n)
	a.dirty.Store(true)
}

// SetRedeemer gives the gateway the chain side of credential checks. Call
// it before serving clients; without one, a gateway that enforces
// credentials refuses every credential (chain_unavailable) and serves only
// the balances it holds.
func (g *Gateway) SetRedeemer(r Redeemer) { g.red.Store(&r) }

func (g *Gateway) redeemer() Redeemer {
	if p := g.red.Load(); p != nil {
		return *p
	}
	return nil
}

// Balance returns a client's bandwidth balance in bytes (in memory while it
// has a session, else as stored).
func (g *Gateway) Balance(id [gatewayproto.IdentitySize]byte) (int64, error) {
	g.acctMu.Lock()
	a := g.accts[id]
	g.acctMu.Unlock()
	if a != nil {
		return a.bal.Load(), nil
	}
	return g.st.balance(id)
}

// acquire returns the client's account, reading it from the store for its
// first session.
func (g *Gateway) acquire(id [gatewayproto.IdentitySize]byte) (*account, error) {
	g.acctMu.Lock()
	defer g.acctMu.Unlock()
	if a := g.accts[id]; a != nil {
		a.refs++
		return a, nil
	}
	bal, err := g.st.balance(id)
	if err != nil {
		return nil, err
	}
	a := &account{refs: 1}
	a.bal.Store(bal)
	g.accts[id] = a
	return a, nil
}

// release drops a session's hold on its account; the last one writes the
// balance back.
func (g *Gateway) release(id [gatewayproto.IdentitySize]byte) {
	g.acctMu.Lock()
	defer g.acctMu.Unlock()
	a := g.accts[id]
	if a == nil {
		return
	}
	if a.refs--; a.refs > 0 {
		return
	}
	delete(g.accts, id)
	if a.dirty.Load() {
		if err := g.st.saveBalances(map[[gatewayproto.IdentitySize]byte]int64{id: a.bal.Load()}); err != nil {
			g.log.Error("write a client's balance at the end of its session", "client", fmt.Sprintf("%x", id[:8]), "err", err)
		}
	}
}

// flushBalances writes the balances metered since the last flush.
func (g *Gateway) flushBalances() {
	g.acctMu.Lock()
	defer g.acctMu.Unlock()
	bals := map[[gatewayproto.IdentitySize]byte]int64{}
	for id, a := range g.accts {
		if a.dirty.Swap(false) {
			bals[id] = a.bal.Load()
		}
	}
	if err := g.st.saveBalances(bals); err != nil {
		for id := range bals {
			g.accts[id].dirty.Store(true)
		}
		g.log.Error("write client balances", "clients", len(bals), "err", err)
	}
}

func (g *Gateway) flushEvery() {
	defer g.wg.Done()
	t := time.NewTicker(time.Duration(g.cfg.BalanceFlushInterval))
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
			g.flushBalances()
		}
	}
}

// credState is a session's side of credentials, under its mutex: the
// nonce the next credential must be bound to, whether one is being
// checked, and the packets held since the balance ran out.
type credState struct {
	mu        sync.Mutex
	nonce     [gatewayproto.CredentialNonceSize]byte
	busy      bool
	hold      []heldPacket
	holdBytes int64
	told      bool // the client was sent no_bandwidth since its last credential
}

type heldPacket struct {
	next   [gatewayproto.NextHopSize]byte
	packet []byte
}

func newNonce() [gatewayproto.CredentialNonceSize]byte {
	var n [gatewayproto.CredentialNonceSize]byte
	if _, err := rand.Read(n[:]); err != nil {
		panic("gateway: no randomness: " + err.Error())
	}
	return n
}

// bandwidthFrame is the session's balance and next nonce.
func (s *session) bandwidthFrame(granted uint64) *gatewayproto.Control {
	s.cred.mu.Lock()
	n := s.cred.nonce
	s.cred.mu.Unlock()
	op := "-" // no redeemer: no credential can be accepted anyway
	if r := s.g.redeemer(); r != nil {
		op = r.Operator()
	}
	return &gatewayproto.Control{Type: gatewayproto.TypeBandwidth, Balance: s.acct.bal.Load(), Granted: granted, Nonce: n[:], Operator: op}
}

// meter charges a packet from the client to its balance, or holds it (in
// order, within HoldBytes) until the next credential, or refuses it. It
// reports whether to forward the packet now.
func (s *session) meter(next [gatewayproto.NextHopSize]byte, packet []byte) bool {
	g := s.g
	cost := int64(len(packet))
	s.cred.mu.Lock()
	defer s.cred.mu.Unlock()
	if len(s.cred.hold) == 0 && s.acct.bal.Load() >= cost {
		s.acct.use(cost)
		g.cm.sent.Add(float64(cost))
		return true
	}
	if s.cred.holdBytes+cost <= g.cfg.HoldBytes {
		s.cred.hold = append(s.cred.hold, heldPacket{next, packet})
		s.cred.holdBytes += cost
		g.cm.noBandwidth.WithLabelValues("held").Inc()
		if !s.cred.told {
			s.cred.told = true
			s.sendControl(&gatewayproto.Control{Type: gatewayproto.TypeError, Code: gatewayproto.CodeNoBandwidth,
				Message: fmt.Sprintf("balance %d bytes: present the next credential (packets held until then: up to %d bytes)", s.acct.bal.Load(), g.cfg.HoldBytes)})
		}
		return false
	}
	g.cm.noBandwidth.WithLabelValues("refused").Inc()
	s.sendControl(&gatewayproto.Control{Type: gatewayproto.TypeError, Code: gatewayproto.CodeNoBandwidth,
		Message: fmt.Sprintf("balance %d bytes and %d bytes held: packet refused", s.acct.bal.Load(), s.cred.holdBytes)})
	return false
}

// releaseHeld forwards the held packets the balance now pays for.
func (s *session) releaseHeld() {
	s.cred.mu.Lock()
	var out []heldPacket
	n := 0
	for _, p := range s.cred.hold {
		cost := int64(len(p.packet))
		if s.acct.bal.Load() < cost {
			break
		}
		s.acct.use(cost)
		s.g.cm.sent.Add(float64(cost))
		s.cred.holdBytes -= cost
		out = append(out, p)
		n++
	}
	s.cred.hold = append(s.cred.hold[:0], s.cred.hold[n:]...)
	s.cred.told = len(s.cred.hold) > 0
	// Forwarded under the lock, so a packet that arrives meanwhile cannot
	// overtake the held ones.
	for _, p := range out {
		s.send(p.next, p.packet)
	}
	s.cred.mu.Unlock()
}

// present handles a "credential" frame: it checks the nonce at once and
// redeems the show in the background (a spend waits for a block), so the
// session keeps forwarding what the client's balance pays for meanwhile.
func (s *session) present(c *gatewayproto.Control) error {
	g := s.g
	if s.acct == nil {
		return refuse(ReasonBadFrame, "this gateway does not take credentials")
	}
	s.cred.mu.Lock()
	if s.cred.busy {
		n := s.cred.nonce
		s.cred.mu.Unlock()
		g.cm.credentials.WithLabelValues(gatewayproto.CodeCredentialBusy).Inc()
		s.sendControl(&gatewayproto.Control{Type: gatewayproto.TypeError, Code: gatewayproto.CodeCredentialBusy,
			Message: "a credential of this session is being checked", Nonce: n[:]})
		return nil
	}
	fresh := [gatewayproto.CredentialNonceSize]byte(c.Nonce) == s.cred.nonce
	s.cred.nonce = newNonce()
	next := s.cred.nonce
	if !fresh {
		s.cred.mu.Unlock()
		s.credentialRefused(&CredentialError{Code: gatewayproto.CodeCredentialReplayed,
			Err: errors.New("the show is bound to a nonce this session did not offer")}, next)
		return nil
	}
	s.cred.busy = true
	s.cred.mu.Unlock()
	// The redemption holds the account too, so a grant that lands after
	// the session ended is not lost to a balance read before it.
	if _, err := g.acquire(s.client); err != nil {
		s.cred.mu.Lock()
		s.cred.busy = false
		s.cred.mu.Unlock()
		s.credentialRefused(CredentialErrorf(gatewayproto.CodeChainUnavailable, "read the balance: %v", err), next)
		return nil
	}
	g.credWG.Add(1)
	go func() {
		defer g.credWG.Done()
		defer g.release(s.client)
		ctx, cancel := context.WithTimeout(g.credCtx, time.Duration(g.cfg.CredentialTimeout))
		defer cancel()
		granted, err := g.redeem(ctx, s, c.Theta, c.Nonce)
		s.cred.mu.Lock()
		s.cred.busy = false
		s.cred.mu.Unlock()
		if err != nil {
			s.credentialRefused(err, next)
			return
		}
		g.cm.credentials.WithLabelValues("accepted").Inc()
		g.cm.granted.Add(float64(granted))
		s.releaseHeld()
		s.sendControl(s.bandwidthFrame(granted))
	}()
	return nil
}

func (s *session) credentialRefused(err error, next [gatewayproto.CredentialNonceSize]byte) {
	var ce *CredentialError
	if !errors.As(err, &ce) {
		ce = &CredentialError{Code: gatewayproto.CodeChainUnavailable, Err: err}
	}
	s.g.cm.credentials.WithLabelValues(ce.Code).Inc()
	s.g.rlog.Log(slog.LevelInfo, "credential refused", "credential refused", "client", fmt.Sprintf("%x", s.client[:8]), "code", ce.Code, "err", err)
	s.sendControl(&gatewayproto.Control{Type: gatewayproto.TypeError, Code: ce.Code,
		Message: gatewayproto.Truncate(ce.Err.Error(), 300), Nonce: next[:]})
}

// redeem checks a show and grants its value to the session's client: by
// default once its spend is committed on chain, with Optimistic as soon as
// the local and on-chain checks pass (the spend follows in the next batch).
// A refused credential changes no balance.
func (g *Gateway) redeem(ctx context.Context, s *session, theta, nonce []byte) (uint64, error) {
	r := g.redeemer()
	if r == nil {
		return 0, CredentialErrorf(gatewayproto.CodeChainUnavailable, "this gateway has no chain connection to check credentials")
	}
	select {
	case g.verifySem <- struct{}{}:
	case <-ctx.Done():
		return 0, CredentialErrorf(gatewayproto.CodeChainUnavailable, "gateway busy: %v", ctx.Err())
	}
	c, err := r.Check(ctx, theta, nonce)
	<-g.verifySem
	if err != nil {
		return 0, err
	}
	if !g.claim(c.Tag) {
		return 0, CredentialErrorf(gatewayproto.CodeCredentialSpent, "the credential is being redeemed here by another session")
	}
	defer g.unclaim(c.Tag)
	if done, err := g.st.redeemed(c.Tag); err != nil {
		return 0, CredentialErrorf(gatewayproto.CodeChainUnavailable, "read the gateway's store: %v", err)
	} else if done {
		return 0, CredentialErrorf(gatewayproto.CodeCredentialSpent, "the credential was already redeemed at this gateway")
	}
	if !g.cfg.Optimistic {
		if err := r.Spend(ctx, c); err != nil {
			return 0, err
		}
	}
	if c.Value > 1<<62 {
		return 0, CredentialErrorf(gatewayproto.CodeCredentialMalformed, "value %d out of range", c.Value)
	}
	bal := s.acct.bal.Add(int64(c.Value))
	if err := g.st.redeem(s.client, c.Tag, bal, g.now()); err != nil {
		s.acct.bal.Add(-int64(c.Value))
		if errors.Is(err, ErrAlreadyRedeemed) {
			return 0, CredentialErrorf(gatewayproto.CodeCredentialSpent, "the credential was already redeemed at this gateway")
		}
		if !g.cfg.Optimistic {
			g.log.Error("a credential spent on chain could not be recorded: its bandwidth is lost to the client",
				"client", fmt.Sprintf("%x", s.client[:8]), "value", c.Value, "err", err)
		}
		return 0, CredentialErrorf(gatewayproto.CodeChainUnavailable, "record the credential: %v", err)
	}
	if g.cfg.Optimistic {
		r.SpendLater(c)
	}
	return c.Value, nil
}

// claim reserves a spend tag while it is being redeemed, so two sessions
// showing one credential at once cannot both be granted it.
func (g *Gateway) claim(tag [SpendTagSize]byte) bool {
	g.acctMu.Lock()
	defer g.acctMu.Unlock()
	if _, ok := g.claimed[tag]; ok {
		return false
	}
	g.claimed[tag] = struct{}{}
	return true
}

func (g *Gateway) unclaim(tag [SpendTagSize]byte) {
	g.acctMu.Lock()
	defer g.acctMu.Unlock()
	delete(g.claimed, tag)
}
