package node

import (
	"errors"
	"time"

	"github.com/nyx-privacy/nyx/sidecar/gatewaycred"
)

// startRedeemer gives a gateway that enforces credentials its chain side:
// the shows are bound to, spent with and paid to the node's own chain
// account (the one that announces its sphinx keys).
func (s *Server) startRedeemer(cfg Config) error {
	if !cfg.Gateway.EnforceCredentials {
		return nil
	}
	if s.signer == nil {
		return errors.New("gateway.enforce_credentials needs the node's chain account key (keys/chain_account.key): start the node with its home")
	}
	red, err := gatewaycred.New(s.conn, s.signer, s.id, gatewaycred.Config{ChainID: cfg.Chain.ChainID,
		BatchInterval: time.Duration(cfg.Gateway.SpendBatchInterval)}, s.log)
	if err != nil {
		return err
	}
	s.redeemer = red
	s.gw.SetRedeemer(red)
	s.log.Info("gateway enforces bandwidth credentials", "operator", red.Operator(), "optimistic", cfg.Gateway.Optimistic)
	return nil
}
