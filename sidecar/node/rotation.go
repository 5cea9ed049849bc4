package node

import (
	"context"
	"encoding/hex"
	"errors"
	"log/slog"
	"path/filepath"
	"time"

	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/ratelog"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// readParams reads the chain's x/mixnet params that size the replay
// filters of new keys and set the rotation schedule; when the chain does
// not answer it keeps the values it had (at start: the config's
// replay_window sizes filters and the node does not rotate on its own).
func (s *Server) readParams(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := mixnettypes.NewQueryClient(s.conn).Params(ctx, &mixnettypes.QueryParamsRequest{})
	if err != nil {
		s.log.Warn("could not read the chain's params", "err", err)
		return
	}
	s.chainEpoch.Store(int64(resp.Params.EpochDuration))
	if old := s.rotationEpochs.Swap(resp.Params.SphinxKeyRotationEpochs); old != resp.Params.SphinxKeyRotationEpochs {
		s.log.Info("sphinx key rotation schedule", "every_epochs", resp.Params.SphinxKeyRotationEpochs,
			"epoch", resp.Params.EpochDuration)
	}
}

// newSigner makes the signer of the node's own transactions, creating the
// chain account key of a home made before there was one.
func (s *Server) newSigner(keys Keys) error {
	key := keys.Account
	if key == nil && s.home == "" {
		return nil // no home to keep a key in: no automatic rotation
	}
	if key == nil {
		var err error
		if key, err = chaintx.GenerateKeyFile(filepath.Join(s.home, ChainAccountKeyFile)); err != nil {
			return err
		}
	}
	signer, err := chaintx.New(s.conn, key, chaintx.Config{ChainID: s.cfg.Chain.ChainID, GasPrice: s.cfg.Chain.GasPrice})
	if err != nil {
		return err
	}
	s.signer = signer
	s.announceLog = ratelog.New(s.log, 1, time.Minute)
	if keys.Account == nil {
		s.log.Warn("made a chain account key for this home; fund its address so the node can announce its sphinx keys",
			"chain_account", signer.Address(), "file", ChainAccountKeyFile)
	}
	return nil
}

// rotateEvery checks, every interval until ctx ends, whether the node must
// announce a next sphinx key, and does.
func (s *Server) rotateEvery(ctx context.Context) {
	var lastEpoch uint64
	fundsChecked := false
	for {
		if t := s.reader.Current(); t != nil && t.Epoch != lastEpoch {
			lastEpoch = t.Epoch
			s.readParams(ctx)
		}
		if !fundsChecked && s.signer != nil && s.rotationEpochs.Load() > 0 {
			fundsChecked = s.checkFunds(ctx)
		}
		s.maybeAnnounce(ctx)
		// Several checks per epoch: a failed announcement is retried
		// well before the boundary.
		interval := min(max(time.Duration(s.chainEpoch.Load())/10, 200*time.Millisecond), 10*time.Second)
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// checkFunds warns at start when the chain account cannot pay for an
// announcement, so the operator hears of it before a rotation is due. It
// reports whether the chain answered.
func (s *Server) checkFunds(ctx context.Context) bool {
	price, err := chaintx.ParseGasPrice(s.cfg.Chain.GasPrice)
	if err != nil {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := banktypes.NewQueryClient(s.conn).Balance(ctx, &banktypes.QueryBalanceRequest{Address: s.signer.Address(), Denom: price.Denom})
	if err != nil {
		return false
	}
	if resp.Balance == nil || !resp.Balance.Amount.IsPositive() {
		s.log.Warn("the node's chain account has no "+price.Denom+": it cannot announce its next sphinx key on the chain's schedule; fund it",
			"chain_account", s.signer.Address())
	}
	return true
}

// rotationReason says why the node should announce a next key now, or "".
// On schedule: in the epoch before each boundary (epoch id + 1 a multiple
// of sphinx_key_rotation_epochs). Early: when the current key's replay
// filter holds more tags than it was sized for (its false-positive rate
// climbs), or was lost (its packets are dropped until the key goes).
func (s *Server) rotationReason(epoch uint64) string {
	n := s.rotationEpochs.Load()
	if n == 0 {
		return ""
	}
	if (epoch+1)%uint64(n) == 0 {
		return "schedule"
	}
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	e, ok := s.filters[hex.EncodeToString(s.sphinxKey.PublicKey().Bytes())]
	switch {
	case !ok:
		return ""
	case e.f == nil:
		return "the current key's replay filter was lost"
	case e.f.Full():
		return "the current key's replay filter is full"
	}
	return ""
}

// maybeAnnounce announces the next sphinx key when it is time: it makes the
// key (written to NextSphinxKeyFile, 0600, and taken up, before anything
// is sent), signs MsgAnnounceSphinxKey with the identity key and submits it
// from the node's chain account. The chain switches at the next boundary
// and followKeys switches with it.
func (s *Server) maybeAnnounce(ctx context.Context) {
	t := s.reader.Current()
	if t == nil || s.signer == nil {
		return
	}
	me, in := t.ByIdentity(s.id)
	if !in {
		return
	}
	reason := s.rotationReason(t.Epoch)
	if reason == "" {
		return
	}
	s.keyMu.Lock()
	next := s.next
	if next == nil {
		if _, err := GenerateNextSphinxKey(s.home); err != nil {
			s.keyMu.Unlock()
			s.logAnnounceErr("could not make the next sphinx key", err)
			return
		}
		if s.syncNextKeyFile() {
			s.applyKeysLogged()
		}
		next = s.next
	}
	s.keyMu.Unlock()
	if next == nil {
		return // syncNextKeyFile logged why
	}
	pub := next.PublicKey()
	if me.NextSphinxKey != nil && me.NextSphinxKey.Equal(pub) {
		return // the chain has it
	}
	if s.announced != nil && s.announced.Equal(pub) && t.Epoch <= s.announcedEpoch+1 {
		return // landed; the topology shows it at its next read
	}
	msg := &mixnettypes.MsgAnnounceSphinxKey{Sender: s.signer.Address(), NodeId: me.ID, NextSphinxKey: pub.Bytes(), EpochId: t.Epoch}
	msg.Signature = mixnettypes.SignAnnounceSphinxKey(s.identity, msg.AnnouncePayload(s.cfg.Chain.ChainID))
	res, err := s.signer.Submit(ctx, msg)
	if err != nil {
		s.logAnnounceErr("could not announce the next sphinx key; retrying", err)
		return
	}
	s.announced, s.announcedEpoch = pub, t.Epoch
	s.log.Info("next sphinx key announced", "reason", reason, "epoch", t.Epoch, "tx", res.TxHash,
		"next_sphinx_key", hex.EncodeToString(pub.Bytes()))
}

// logAnnounceErr logs an announcement failure: the first of a kind at
// once, then at most one a minute (retries come every few seconds).
func (s *Server) logAnnounceErr(what string, err error) {
	if errors.Is(err, chaintx.ErrUnfunded) {
		s.announceLog.Log(slog.LevelError, "unfunded", what+": the node's chain account has no funds for the fee; send it some unym",
			"chain_account", s.signer.Address(), "err", err)
		return
	}
	s.announceLog.Log(slog.LevelError, what, what, "err", err)
}
