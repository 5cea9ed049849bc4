package gatewaycred

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/gateway"
	"github.com/nyx-privacy/nyx/sidecar/gatewayproto"
	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
)

// batch collects spends for BatchInterval after the first (or until
// MaxBatch) and submits them as one MsgSpendCredentials. The chain refuses
// a whole batch for one bad entry, so a refused batch of several is
// submitted again entry by entry: a credential spent meanwhile at another
// gateway costs the others one more transaction, not their bandwidth.
func (r *Redeemer) batch() {
	defer r.wg.Done()
	for {
		var b []*spend
		select {
		case <-r.stop:
			r.drain()
			return
		case s := <-r.queue:
			b = append(b, s)
		}
		t := time.NewTimer(r.cfg.BatchInterval)
	collect:
		for len(b) < r.cfg.MaxBatch {
			select {
			case s := <-r.queue:
				b = append(b, s)
			case <-t.C:
				break collect
			case <-r.stop:
				break collect
			}
		}
		t.Stop()
		r.submit(b)
	}
}

func (r *Redeemer) drain() {
	for {
		select {
		case s := <-r.queue:
			finish(s, unavailable("gateway closing"))
		default:
			return
		}
	}
}

func finish(s *spend, err error) {
	if s.done != nil {
		s.done <- err
	}
}

func (r *Redeemer) submit(b []*spend) {
	err := r.send(b)
	if err == nil || len(b) == 1 {
		for _, s := range b {
			finish(s, err)
		}
		return
	}
	var txErr *chaintx.TxError
	if !errors.As(err, &txErr) {
		// The chain was not reached or the fee not paid: the same for
		// every entry.
		for _, s := range b {
			finish(s, err)
		}
		return
	}
	for _, s := range b {
		finish(s, r.send([]*spend{s}))
	}
}

// send submits one MsgSpendCredentials and maps its failure to a
// credential refusal.
func (r *Redeemer) send(b []*spend) error {
	msg := &coconuttypes.MsgSpendCredentials{Operator: r.operator}
	for _, s := range b {
		msg.Entries = append(msg.Entries, coconuttypes.SpendEntry{Theta: s.c.Theta, GatewayIdentity: r.identity[:], Nonce: s.c.Nonce})
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-r.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	defer cancel()
	res, err := r.signer.Submit(ctx, msg)
	if err == nil {
		r.log.Debug("credentials redeemed on chain", "count", len(b), "tx", res.TxHash, "height", res.Height)
		return nil
	}
	optimistic := b[0].done == nil
	switch {
	case errors.Is(err, coconuttypes.ErrAlreadySpent):
		err = gateway.CredentialErrorf(gatewayproto.CodeCredentialSpent, "the chain refused the spend: %v", err)
	case errors.Is(err, coconuttypes.ErrCredentialInvalid):
		err = gateway.CredentialErrorf(gatewayproto.CodeCredentialExpired, "the chain refused the show: %v", err)
	case errors.Is(err, chaintx.ErrUnfunded):
		r.rlog.Log(slog.LevelError, "operator account cannot pay for spends", "operator account cannot pay for spends: fund it",
			"operator", r.operator, "err", err)
		err = unavailable("the gateway operator's chain account cannot pay the fee")
	default:
		err = unavailable("redeem on chain: %v", err)
	}
	if optimistic || len(b) == 1 {
		r.rlog.Log(slog.LevelWarn, "spend refused", "spend refused", "entries", len(b), "optimistic", optimistic, "err", fmt.Sprint(err))
	}
	return err
}
