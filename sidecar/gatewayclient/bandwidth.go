package gatewayclient

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
)

// Bandwidth is where a connection gets credentials when its gateway
// enforces them (sidecar/clientcred's wallet is one).
type Bandwidth interface {
	// Show proves the next unused credential bound to the gateway's
	// identity and nonce; id names it for Result. An error means there is
	// none to present (the connection then tells its caller why sending
	// stopped).
	Show(gateway [gatewayproto.IdentitySize]byte, operator string, nonce [gatewayproto.CredentialNonceSize]byte) (id string, theta []byte, err error)
	// Result reports the gateway's answer for id: code "" if accepted,
	// else the error frame's code (gatewayproto.Code*).
	Result(id, code, message string)
}

// ErrNoBandwidth is wrapped by Send's error when the gateway enforces
// credentials, the balance is spent and no credential could be presented;
// the error says why.
var ErrNoBandwidth = errors.New("no bandwidth at the gateway")

// retryAfter is how long a connection waits before presenting again after
// the gateway could not check a credential (chain unavailable, busy).
const retryAfter = 3 * time.Second

// bwState is a connection's view of its bandwidth at an enforcing gateway.
type bwState struct {
	src     Bandwidth
	gateway [gatewayproto.IdentitySize]byte

	mu       sync.Mutex
	enforced bool
	balance  int64 // the gateway's last word, less what was sent and received since
	nonce    [gatewayproto.CredentialNonceSize]byte
	operator string
	pending  string    // id of the credential being presented
	stopped  error     // why sending stopped (nil: it did not)
	tried    time.Time // when stopped was last set
	changed  chan struct{}
}

// retryStopped is how often a connection whose sending stopped looks
// again for a credential (one may have been bought meanwhile) when asked
// to send.
const retryStopped = time.Second

// answerWait bounds how long a Send waits for the gateway's answer to a
// credential (the gateway's own bound, CredentialTimeout, is 2 minutes).
const answerWait = 150 * time.Second

// DialWithBandwidth is Dial for a gateway that may enforce credentials:
// the connection presents credentials from bw after authenticating if its
// balance is spent, and again whenever the gateway says it is; Send waits
// while one is checked and fails with ErrNoBandwidth when none is left.
func DialWithBandwidth(ctx context.Context, url string, gateway ed25519.PublicKey, identity ed25519.PrivateKey, key gatewayproto.SharedKey, bw Bandwidth) (*Conn, error) {
	return dialAuth(ctx, url, gateway, identity, key, bw)
}

// Balance returns the connection's view of its balance in bytes and
// whether the gateway enforces credentials.
func (c *Conn) Balance() (int64, bool) {
	c.bw.mu.Lock()
	defer c.bw.mu.Unlock()
	return c.bw.balance, c.bw.enforced
}

// onBandwidth handles a "bandwidth" frame: the gateway's balance and the
// nonce the next credential must be bound to.
func (c *Conn) onBandwidth(ctl *gatewayproto.Control) {
	b := &c.bw
	b.mu.Lock()
	b.enforced = true
	b.balance = ctl.Balance
	b.nonce = [gatewayproto.CredentialNonceSize]byte(ctl.Nonce)
	b.operator = ctl.Operator
	id := b.pending
	b.pending = ""
	if ctl.Balance > 0 {
		b.stopped = nil
	}
	b.wake()
	b.mu.Unlock()
	if id != "" && b.src != nil {
		b.src.Result(id, "", "")
	}
	if ctl.Balance <= 0 {
		c.present(1)
	}
}

// onError handles an error frame during the session; it reports whether
// the frame was about bandwidth.
func (c *Conn) onError(ctl *gatewayproto.Control) bool {
	b := &c.bw
	switch ctl.Code {
	case gatewayproto.CodeNoBandwidth:
		b.mu.Lock()
		b.enforced = true
		b.balance = min(b.balance, 0)
		b.mu.Unlock()
		c.present(1)
		return true
	case gatewayproto.CodeCredentialMalformed, gatewayproto.CodeCredentialForeignKey, gatewayproto.CodeCredentialReplayed,
		gatewayproto.CodeCredentialSpent, gatewayproto.CodeCredentialExpired, gatewayproto.CodeChainUnavailable,
		gatewayproto.CodeCredentialBusy:
	default:
		return false
	}
	b.mu.Lock()
	if ctl.Nonce != nil {
		b.nonce = [gatewayproto.CredentialNonceSize]byte(ctl.Nonce)
	}
	id := b.pending
	b.pending = ""
	retry := ctl.Code == gatewayproto.CodeChainUnavailable || ctl.Code == gatewayproto.CodeCredentialBusy
	if retry && b.balance <= 0 {
		b.stopped = fmt.Errorf("%w: the gateway cannot check credentials now (%s: %s); retrying", ErrNoBandwidth, ctl.Code, ctl.Message)
	}
	// A Send waiting for this answer presents the next credential itself.
	b.wake()
	b.mu.Unlock()
	if id != "" && b.src != nil {
		b.src.Result(id, ctl.Code, ctl.Message)
	}
	if retry {
		time.AfterFunc(retryAfter, func() { c.present(1) })
	} else {
		c.present(1)
	}
	return true
}

func (b *bwState) wake() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// present sends the next credential if the balance is below need and none
// is being checked.
func (c *Conn) present(need int64) {
	b := &c.bw
	b.mu.Lock()
	if b.pending != "" || b.balance >= need || c.Err() != nil {
		b.mu.Unlock()
		return
	}
	if b.src == nil {
		b.stopped, b.tried = fmt.Errorf("%w: the gateway requires bandwidth credentials and this client has none configured", ErrNoBandwidth), time.Now()
		b.wake()
		b.mu.Unlock()
		return
	}
	id, theta, err := b.src.Show(b.gateway, b.operator, b.nonce)
	if err != nil {
		b.stopped, b.tried = fmt.Errorf("%w: %v", ErrNoBandwidth, err), time.Now()
		b.wake()
		b.mu.Unlock()
		return
	}
	b.pending = id
	nonce := b.nonce
	b.mu.Unlock()
	_ = c.write(websocket.TextMessage, (&gatewayproto.Control{Type: gatewayproto.TypeCredential, Theta: theta, Nonce: nonce[:]}).Marshal())
}

// charge accounts a packet about to be sent: it waits while the balance is
// spent and a credential is being checked, and fails when sending stopped.
func (c *Conn) charge(n int) error {
	b := &c.bw
	var timeout <-chan time.Time
	for {
		b.mu.Lock()
		if !b.enforced || b.balance >= int64(n) {
			b.balance -= int64(n)
			b.mu.Unlock()
			return nil
		}
		if b.stopped != nil && (b.pending != "" || time.Since(b.tried) < retryStopped) {
			err := b.stopped
			b.mu.Unlock()
			return err
		}
		// Look for a credential again: one may have been bought.
		b.stopped = nil
		ch := b.changed
		idle := b.pending == ""
		b.mu.Unlock()
		if idle {
			c.present(int64(n))
		}
		if timeout == nil {
			t := time.NewTimer(answerWait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-ch:
		case <-c.done:
			return c.Err()
		case <-timeout:
			return fmt.Errorf("%w: the gateway did not answer the credential within %v", ErrNoBandwidth, answerWait)
		}
	}
}

// received accounts a delivered payload, which the gateway charges too.
func (c *Conn) received(n int) {
	c.bw.mu.Lock()
	if c.bw.enforced {
		c.bw.balance -= int64(n)
	}
	c.bw.mu.Unlock()
}

// CredentialNonce returns the nonce the gateway offered for the next
// credential and the operator address a show must be bound to: for tools
// and tests that present credentials by hand (WriteFrame).
func (c *Conn) CredentialNonce() ([gatewayproto.CredentialNonceSize]byte, string) {
	c.bw.mu.Lock()
	defer c.bw.mu.Unlock()
	return c.bw.nonce, c.bw.operator
}

// Stopped returns why sending stopped (an error wrapping ErrNoBandwidth), or
// nil while the connection can send.
func (c *Conn) Stopped() error {
	c.bw.mu.Lock()
	stopped := c.bw.enforced && c.bw.balance <= 0 && c.bw.stopped != nil
	retry := stopped && c.bw.pending == "" && time.Since(c.bw.tried) >= retryStopped
	if retry {
		c.bw.stopped = nil
	}
	err := c.bw.stopped
	c.bw.mu.Unlock()
	if retry {
		c.present(1)
		c.bw.mu.Lock()
		err = c.bw.stopped
		c.bw.mu.Unlock()
	}
	if err == nil || !stopped {
		return nil
	}
	return err
}
