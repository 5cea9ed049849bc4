package keeper

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	"cosmossdk.io/log/v2"

	"github.com/cosmos/cosmos-sdk/baseapp"
	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// VoteExtensions are the ABCI handlers that carry issuance through consensus:
//
//   - ExtendVote (height H, on the state after H-1): a validator holding a key
//     share adds its blinded signature on each request SignPending returns,
//     and its partial of the next x/mixnet epoch's beacon (SignBeacon).
//   - VerifyVoteExtension: every other validator checks that extension
//     (Keeper.VerifyVoteExtension) and refuses the precommit if it fails.
//   - PrepareProposal (H+1): the proposer injects the extended commit of H,
//     every validator's signed extension, as the block's first transaction.
//   - ProcessProposal (H+1): every validator checks the injected commit
//     (the SDK's ValidateVoteExtensions: each extension signed by its
//     validator's consensus key, more than 2/3 of the power) and every partial
//     signature in it, and refuses a block that fails either.
//   - PreBlocker (H+1): records the partial signatures; a request with
//     threshold partials is issued, an epoch with threshold beacon partials
//     gets its beacon.
//
// The injected transaction never reaches the tx decoder or the ante handler:
// the proposal handlers strip it before calling the SDK's, and TxRunner skips
// it in FinalizeBlock.
type VoteExtensions struct {
	k        Keeper
	valStore baseapp.ValidatorStore
	keyPath  string
	logger   log.Logger

	memory *VerifiedPartials

	mu      sync.Mutex
	keys    *types.IssuerKeys
	loaded  bool
	matched map[uint64]bool // key id -> the key file matches the key set
	logged  map[string]bool // local problems, each logged once

	dkg dkgSide
}

// NewVoteExtensions returns the handlers; keyPath is the validator's
// coconut_key.json, and its DKG key is coconut_dkg_key.json beside it. A node
// without them (or with bad ones) takes no part in issuance or the DKG and
// says so once in its log; consensus is not affected.
func NewVoteExtensions(k Keeper, valStore baseapp.ValidatorStore, keyPath string, logger log.Logger) *VoteExtensions {
	return &VoteExtensions{k: k, valStore: valStore, keyPath: keyPath, logger: logger.With("module", "x/"+types.ModuleName), memory: NewVerifiedPartials(),
		matched: map[uint64]bool{}, logged: map[string]bool{},
		dkg: dkgSide{keyPath: filepath.Join(filepath.Dir(keyPath), types.DKGKeyFileName), derived: map[uint64]bool{}}}
}

func (v *VoteExtensions) logOnce(msg string, err error) {
	if !v.logged[msg+err.Error()] {
		v.logged[msg+err.Error()] = true
		v.logger.Error(msg, "err", err)
	}
}

// issuerKeys returns the validator's key shares that can sign under the key
// sets on chain, in increasing key id order, adding first the share of a key
// the DKG has just activated.
func (v *VoteExtensions) issuerKeys(ctx sdk.Context) []*types.IssuerKey {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.loaded {
		v.loaded = true
		keys, err := types.LoadIssuerKeys(v.keyPath)
		if err != nil {
			v.logOnce("no coconut issuer key: this validator adds no partial signatures until a DKG round gives it one", err)
		}
		v.keys = keys
	}
	v.adoptDKGShare(ctx)
	if v.keys == nil {
		return nil
	}
	var out []*types.IssuerKey
	for _, key := range v.keys.Keys {
		if _, ok := v.matched[key.KeyID]; !ok {
			ks, err := v.k.KeySets.Get(ctx, key.KeyID)
			if err == nil {
				err = key.MatchKeySet(&ks)
			}
			if err != nil {
				v.logOnce("coconut issuer key does not match the chain's key set: this validator adds no partial signatures under it", err)
				continue // checked again next time: the key set may arrive later
			}
			v.matched[key.KeyID] = true
		}
		out = append(out, key)
	}
	return out
}

// ExtendVoteHandler signs the pending requests, under the oldest key that
// has any (requests under a replaced key drain first, and no new ones come),
// and adds the validator's DKG message.
func (v *VoteExtensions) ExtendVoteHandler() sdk.ExtendVoteHandler {
	return func(ctx sdk.Context, req *abci.RequestExtendVote) (*abci.ResponseExtendVote, error) {
		var ext *types.IssuanceVoteExtension
		for _, key := range v.issuerKeys(ctx) {
			var err error
			if ext, err = v.k.SignPending(ctx, key); err != nil {
				return &abci.ResponseExtendVote{}, err
			} else if ext != nil {
				break
			}
		}
		if msg := v.dkgMessage(ctx, req.Height); len(msg) > 0 {
			if ext == nil {
				ext = &types.IssuanceVoteExtension{Version: types.VoteExtensionVersion}
			}
			ext.DkgMessage = msg
		}
		if ext == nil {
			return &abci.ResponseExtendVote{}, nil
		}
		bz, err := types.EncodeVoteExtension(ext)
		if err != nil {
			return &abci.ResponseExtendVote{}, err
		}
		return &abci.ResponseExtendVote{VoteExtension: bz}, nil
	}
}

// VerifyVoteExtensionHandler checks another validator's extension.
func (v *VoteExtensions) VerifyVoteExtensionHandler() sdk.VerifyVoteExtensionHandler {
	return func(ctx sdk.Context, req *abci.RequestVerifyVoteExtension) (*abci.ResponseVerifyVoteExtension, error) {
		if err := v.k.VerifyVoteExtension(ctx, req.ValidatorAddress, req.VoteExtension, v.memory); err != nil {
			v.logger.Info("refusing a vote extension", "validator", fmt.Sprintf("%X", req.ValidatorAddress), "height", req.Height, "err", err)
			return &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_REJECT}, nil
		}
		return &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_ACCEPT}, nil
	}
}

// injects reports whether a block at height carries an injected commit: the
// extensions of height-1 exist.
func injects(ctx sdk.Context, height int64) bool {
	cp := ctx.ConsensusParams()
	return cp.Abci != nil && cp.Abci.VoteExtensionsEnableHeight != 0 && height > cp.Abci.VoteExtensionsEnableHeight
}

// PrepareProposalHandler injects the previous height's extended commit in
// front of what next selects, which gets the rest of the block's bytes.
func (v *VoteExtensions) PrepareProposalHandler(next sdk.PrepareProposalHandler) sdk.PrepareProposalHandler {
	return func(ctx sdk.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
		inner := *req
		inner.Txs = withoutInjected(req.Txs)
		if !injects(ctx, req.Height) {
			return next(ctx, &inner)
		}
		bz, err := types.EncodeInjectedCommit(&req.LocalLastCommit)
		if err != nil {
			return nil, err
		}
		inner.MaxTxBytes -= int64(len(bz))
		resp, err := next(ctx, &inner)
		if err != nil {
			return nil, err
		}
		resp.Txs = append([][]byte{bz}, resp.Txs...)
		return resp, nil
	}
}

func withoutInjected(txs [][]byte) [][]byte {
	out := txs[:0:0]
	for _, tx := range txs {
		if !types.IsInjectedCommit(tx) {
			out = append(out, tx)
		}
	}
	return out
}

func reject() *abci.ResponseProcessProposal {
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}
}

// ProcessProposalHandler checks the injected commit and every partial
// signature in it, then hands the rest of the block to next.
func (v *VoteExtensions) ProcessProposalHandler(next sdk.ProcessProposalHandler) sdk.ProcessProposalHandler {
	return func(ctx sdk.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
		txs := req.Txs
		if injects(ctx, req.Height) {
			if err := v.checkInjected(ctx, txs); err != nil {
				v.logger.Info("refusing a proposal", "height", req.Height, "proposer", fmt.Sprintf("%X", req.ProposerAddress), "err", err)
				return reject(), nil
			}
			txs = txs[1:]
		}
		for _, tx := range txs {
			if types.IsInjectedCommit(tx) {
				v.logger.Info("refusing a proposal with a misplaced injected commit", "height", req.Height)
				return reject(), nil
			}
		}
		inner := *req
		inner.Txs = txs
		return next(ctx, &inner)
	}
}

func (v *VoteExtensions) checkInjected(ctx sdk.Context, txs [][]byte) error {
	if len(txs) == 0 {
		return fmt.Errorf("%w: no injected commit", types.ErrInvalidVoteExtension)
	}
	c, err := types.DecodeInjectedCommit(txs[0])
	if err != nil {
		return err
	}
	if err := baseapp.ValidateVoteExtensions(ctx, v.valStore, 0, "", *c); err != nil {
		return fmt.Errorf("%w: %v", types.ErrInvalidVoteExtension, err)
	}
	return v.k.CheckCommitExtensions(ctx, commitVotes(c), v.memory)
}

func commitVotes(c *abci.ExtendedCommitInfo) []CommitVote {
	out := make([]CommitVote, 0, len(c.Votes))
	for _, vote := range c.Votes {
		if vote.BlockIdFlag == cmtproto.BlockIDFlagCommit && len(vote.VoteExtension) > 0 {
			out = append(out, CommitVote{ConsAddress: vote.Validator.Address, Extension: vote.VoteExtension})
		}
	}
	return out
}

// PreBlocker records the partial signatures and the DKG messages of the
// block's injected commit.
func (v *VoteExtensions) PreBlocker(ctx sdk.Context, req *abci.RequestFinalizeBlock) error {
	if !injects(ctx, req.Height) || len(req.Txs) == 0 || !types.IsInjectedCommit(req.Txs[0]) {
		return nil
	}
	c, err := types.DecodeInjectedCommit(req.Txs[0])
	if err != nil {
		v.logger.Error("undecodable injected commit in a committed block", "height", req.Height, "err", err)
		return nil
	}
	votes := commitVotes(c)
	if _, err := v.k.RecordCommitExtensions(ctx, votes); err != nil {
		return err
	}
	_, err = v.k.RecordCommitDKG(ctx, votes)
	return err
}

// TxRunner wraps the block's tx runner so that an injected commit is never
// decoded or run as a transaction: it gets an empty successful result, and
// the other transactions keep their indices.
func (v *VoteExtensions) TxRunner(next sdk.TxRunner) sdk.TxRunner { return injectedSkipper{next} }

type injectedSkipper struct{ next sdk.TxRunner }

func (s injectedSkipper) Run(ctx context.Context, ms storetypes.MultiStore, txs [][]byte, deliverTx sdk.DeliverTxFunc) ([]*abci.ExecTxResult, error) {
	if len(txs) == 0 || !types.IsInjectedCommit(txs[0]) {
		return s.next.Run(ctx, ms, txs, deliverTx)
	}
	shifted := func(tx []byte, memTx sdk.Tx, ms storetypes.MultiStore, i int, cache map[string]any) *abci.ExecTxResult {
		return deliverTx(tx, memTx, ms, i+1, cache)
	}
	res, err := s.next.Run(ctx, ms, txs[1:], shifted)
	if err != nil {
		return nil, err
	}
	return append([]*abci.ExecTxResult{{Log: "x/coconut: injected vote extensions"}}, res...), nil
}
