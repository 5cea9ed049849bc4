package app

import (
	"github.com/spf13/cast"

	"github.com/cosmos/cosmos-sdk/baseapp"
	"github.com/cosmos/cosmos-sdk/baseapp/txnrunner"
	"github.com/cosmos/cosmos-sdk/client/flags"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"

	coconutkeeper "github.com/nyx-privacy/nyx/x/coconut/keeper"
	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
)

type voteExtensions = *coconutkeeper.VoteExtensions

// setVoteExtensionHandlers wires x/coconut's issuance into consensus (vote
// extensions, the proposal handlers around the SDK's, the tx runner that
// skips the injected commit); the logic lives in x/coconut/keeper.
func (app *NyxApp) setVoteExtensionHandlers(appOpts servertypes.AppOptions) {
	homePath := cast.ToString(appOpts.Get(flags.FlagHome))
	ve := coconutkeeper.NewVoteExtensions(app.CoconutKeeper, app.StakingKeeper,
		coconuttypes.IssuerKeyPath(homePath), app.Logger())
	app.voteExtensions = ve
	app.SetExtendVoteHandler(ve.ExtendVoteHandler())
	app.SetVerifyVoteExtensionHandler(ve.VerifyVoteExtensionHandler())
	proposals := baseapp.NewDefaultProposalHandler(app.Mempool(), app)
	app.SetPrepareProposal(ve.PrepareProposalHandler(proposals.PrepareProposalHandler()))
	app.SetProcessProposal(ve.ProcessProposalHandler(proposals.ProcessProposalHandler()))
	app.SetBlockSTMTxRunner(ve.TxRunner(txnrunner.NewDefaultRunner(app.txConfig.TxDecoder())))
}
