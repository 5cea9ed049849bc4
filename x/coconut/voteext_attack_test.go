package coconut_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	abcicli "github.com/cometbft/cometbft/abci/client"
	abciserver "github.com/cometbft/cometbft/abci/server"
	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/privval"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	dbm "github.com/cosmos/cosmos-db"
	protoio "github.com/cosmos/gogoproto/io"
	"github.com/stretchr/testify/require"

	"cosmossdk.io/log/v2"

	"github.com/cosmos/cosmos-sdk/baseapp"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/server"
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	sdk "github.com/cosmos/cosmos-sdk/types"
	genutiltypes "github.com/cosmos/cosmos-sdk/x/genutil/types"

	"github.com/nyx-privacy/nyx/app"
	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/internal/devnet"
	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// abciNode is a real Nyx app (as devnet writes its home: a 1-of-1 issuing
// key, vote extensions on from height 1) served on an ABCI socket on
// 127.0.0.1, driven over that socket the way CometBFT drives it, so a test
// can play a byzantine validator or proposer.
type abciNode struct {
	cli      abcicli.Client
	chainID  string
	consAddr []byte
	power    int64
	pv       *privval.FilePV
	key      *types.IssuerKey
	request  *coconut.BlindSignRequest
	genTime  time.Time
}

func startABCINode(t *testing.T) *abciNode {
	t.Helper()
	const chainID = "nyx-attack"
	dir := t.TempDir()
	p := types.CredentialParams()
	var request *coconut.BlindSignRequest
	netw, err := devnet.Write(devnet.Config{Dir: dir, ChainID: chainID, Validators: 1,
		Ports: func(int) devnet.Ports { return devnet.Ports{P2P: 1, RPC: 2, GRPC: 3, API: 4} }, // never listened on
		Genesis: func(cdc codec.Codec, state app.GenesisState) error {
			// A pending request at genesis, for extensions to sign.
			var gs types.GenesisState
			if err := cdc.UnmarshalJSON(state[types.ModuleName], &gs); err != nil {
				return err
			}
			deposit := gs.Params.MinDeposit
			value := deposit.Amount.Uint64() * gs.Params.BytesPerUnym
			typ := types.CredentialTypeName(gs.Params.BytesPerUnym)
			v, err := coconut.NewBandwidthVoucher(rand.Reader, coconut.HashToScalar([]byte("client")), value, typ)
			if err != nil {
				return err
			}
			req, _, err := coconut.PrepareBlindSign(rand.Reader, p, v.Private(), v.Public())
			if err != nil {
				return err
			}
			request = req
			bz, _ := req.MarshalBinary()
			gs.Requests = append(gs.Requests, types.CredentialRequest{Id: 1, Sender: sdk.AccAddress(bytes.Repeat([]byte{1}, 20)).String(),
				BlindSignRequest: bz, Value: value, CredentialType: typ, Deposit: deposit, KeyId: 1, Height: 0, Status: types.REQUEST_STATUS_PENDING})
			gs.NextRequestId = 2
			state[types.ModuleName], err = cdc.MarshalJSON(&gs)
			return err
		},
	})
	require.NoError(t, err)
	home := netw.Nodes[0].Home
	g, err := genutiltypes.AppGenesisFromFile(filepath.Join(home, "config", "genesis.json"))
	require.NoError(t, err)
	doc, err := g.ToGenesisDoc()
	require.NoError(t, err)

	nyx := app.New(log.NewNopLogger(), dbm.NewMemDB(), true, simtestutil.AppOptionsMap{flags.FlagHome: home}, nil, baseapp.SetChainID(chainID))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := "tcp://" + l.Addr().String()
	l.Close()
	srv := abciserver.NewSocketServer(addr, server.NewCometABCIWrapper(nyx))
	require.NoError(t, srv.Start())
	t.Cleanup(func() { _ = srv.Stop() })
	cli := abcicli.NewSocketClient(addr, true)
	require.NoError(t, cli.Start())
	t.Cleanup(func() { _ = cli.Stop() })

	cp := doc.ConsensusParams.ToProto()
	ctx := context.Background()
	initRes, err := cli.InitChain(ctx, &abci.RequestInitChain{Time: doc.GenesisTime, ChainId: chainID,
		ConsensusParams: &cp, AppStateBytes: doc.AppState, InitialHeight: 1})
	require.NoError(t, err)
	require.Len(t, initRes.Validators, 1)

	pv := privval.LoadFilePV(filepath.Join(home, "config", "priv_validator_key.json"), filepath.Join(home, "data", "priv_validator_state.json"))
	keys, err := types.LoadIssuerKeys(types.IssuerKeyPath(home))
	require.NoError(t, err)
	require.Len(t, keys.Keys, 1)
	key := keys.Keys[0]
	n := &abciNode{cli: cli, chainID: chainID, consAddr: pv.Key.PubKey.Address(), power: initRes.Validators[0].Power,
		pv: pv, key: key, request: request, genTime: doc.GenesisTime}
	require.Equal(t, n.consAddr, key.ConsensusAddress)

	// Block 1: no injected commit (no extensions before it).
	fin, err := cli.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 1, Time: doc.GenesisTime.Add(time.Second),
		Hash: bytes.Repeat([]byte{1}, 32), ProposerAddress: n.consAddr})
	require.NoError(t, err)
	require.Empty(t, fin.TxResults)
	_, err = cli.Commit(ctx, &abci.RequestCommit{})
	require.NoError(t, err)
	return n
}

// extension is the validator's extension with partial signature bs on request 1.
func (n *abciNode) extension(t *testing.T, bs *coconut.BlindedSignature, signer uint32) []byte {
	t.Helper()
	b, _ := bs.MarshalBinary()
	bz, err := types.EncodeVoteExtension(&types.IssuanceVoteExtension{Version: types.VoteExtensionVersion, KeyId: 1, SignerIndex: signer,
		Partials: []types.ExtensionPartial{{RequestId: 1, BlindedSignature: b}}})
	require.NoError(t, err)
	return bz
}

// commit is the extended commit of height 1 carrying ext, signed with the
// validator's consensus key as CometBFT signs extensions, and the matching
// last commit.
func (n *abciNode) commit(t *testing.T, ext []byte) (abci.ExtendedCommitInfo, abci.CommitInfo) {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, protoio.NewDelimitedWriter(&buf).WriteMsg(&cmtproto.CanonicalVoteExtension{Extension: ext, Height: 1, Round: 0, ChainId: n.chainID}))
	sig, err := n.pv.Key.PrivKey.Sign(buf.Bytes())
	require.NoError(t, err)
	val := abci.Validator{Address: n.consAddr, Power: n.power}
	return abci.ExtendedCommitInfo{Votes: []abci.ExtendedVoteInfo{{Validator: val, VoteExtension: ext, ExtensionSignature: sig, BlockIdFlag: cmtproto.BlockIDFlagCommit}}},
		abci.CommitInfo{Votes: []abci.VoteInfo{{Validator: val, BlockIdFlag: cmtproto.BlockIDFlagCommit}}}
}

func (n *abciNode) processProposal(t *testing.T, txs [][]byte, last abci.CommitInfo) abci.ResponseProcessProposal_ProposalStatus {
	t.Helper()
	res, err := n.cli.ProcessProposal(context.Background(), &abci.RequestProcessProposal{Height: 2, Txs: txs, ProposedLastCommit: last,
		Time: n.genTime.Add(2 * time.Second), Hash: bytes.Repeat([]byte{2}, 32), ProposerAddress: n.consAddr})
	require.NoError(t, err)
	return res.Status
}

// TestVoteExtensionAttacks plays a byzantine validator and a byzantine
// proposer against a real app over its ABCI socket: every malformed,
// oversized, misattributed or wrongly signed extension is refused by
// VerifyVoteExtension, every block carrying one (or missing or garbling the
// injected commit) by ProcessProposal, and only the honest block is accepted
// and, finalized, issues the request.
func TestVoteExtensionAttacks(t *testing.T) {
	n := startABCINode(t)
	ctx := context.Background()
	p := types.CredentialParams()

	honestBS, err := coconut.BlindSign(p, n.key.Secret(), n.request)
	require.NoError(t, err)
	honest := n.extension(t, honestBS, n.key.SignerIndex)
	otherKey, err := coconut.KeyGen(rand.Reader, p)
	require.NoError(t, err)
	forgedBS, err := coconut.BlindSign(p, otherKey, n.request) // well-formed, wrong key
	require.NoError(t, err)
	forged := n.extension(t, forgedBS, n.key.SignerIndex)
	wrongVersion := bytes.Clone(honest)
	wrongVersion[1] = 2 // field 1 (version) is the first byte pair
	unknownSigner := n.extension(t, honestBS, 2)

	verify := func(consAddr, ext []byte) abci.ResponseVerifyVoteExtension_VerifyStatus {
		res, err := n.cli.VerifyVoteExtension(ctx, &abci.RequestVerifyVoteExtension{Hash: bytes.Repeat([]byte{1}, 32),
			ValidatorAddress: consAddr, Height: 2, VoteExtension: ext})
		require.NoError(t, err)
		return res.Status
	}
	require.Equal(t, abci.ResponseVerifyVoteExtension_ACCEPT, verify(n.consAddr, honest))
	require.Equal(t, abci.ResponseVerifyVoteExtension_ACCEPT, verify(n.consAddr, nil), "an empty extension is a validator with nothing to sign")
	for name, tc := range map[string]struct{ addr, ext []byte }{
		"garbage":           {n.consAddr, []byte("\x0a\xff\xff\xff\xff\x0fgarbage")},
		"oversized":         {n.consAddr, make([]byte, types.MaxVoteExtensionSize+1)},
		"wrong version":     {n.consAddr, wrongVersion},
		"forged partial":    {n.consAddr, forged},
		"unknown signer":    {n.consAddr, unknownSigner},
		"another validator": {bytes.Repeat([]byte{9}, 20), honest},
		"truncated":         {n.consAddr, honest[:len(honest)-1]},
	} {
		require.Equal(t, abci.ResponseVerifyVoteExtension_REJECT, verify(tc.addr, tc.ext), name)
	}

	inject := func(ext []byte) ([]byte, abci.CommitInfo) {
		ec, lc := n.commit(t, ext)
		bz, err := types.EncodeInjectedCommit(&ec)
		require.NoError(t, err)
		return bz, lc
	}
	good, last := inject(honest)
	bad, badLast := inject(forged)
	ecUnsigned, _ := n.commit(t, honest)
	ecUnsigned.Votes[0].ExtensionSignature = bytes.Repeat([]byte{3}, 64)
	unsigned, err := types.EncodeInjectedCommit(&ecUnsigned)
	require.NoError(t, err)
	for name, txs := range map[string][][]byte{
		"signed forged partial":     {bad},
		"no injected commit":        {},
		"garbage injected commit":   {[]byte(types.InjectedCommitPrefix + "\xff\xff\xff")},
		"bad extension signature":   {unsigned},
		"injected commit twice":     {good, good},
		"injected commit not first": {[]byte("x"), good},
	} {
		lc := last
		if name == "signed forged partial" {
			lc = badLast
		}
		require.Equal(t, abci.ResponseProcessProposal_REJECT, n.processProposal(t, txs, lc), name)
	}
	require.Equal(t, abci.ResponseProcessProposal_ACCEPT, n.processProposal(t, [][]byte{good}, last))

	// The honest block, finalized: the injected commit is not run as a
	// transaction and the partial signature issues request 1 (threshold 1).
	fin, err := n.cli.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 2, Txs: [][]byte{good}, DecidedLastCommit: last,
		Time: n.genTime.Add(2 * time.Second), Hash: bytes.Repeat([]byte{2}, 32), ProposerAddress: n.consAddr})
	require.NoError(t, err)
	require.Len(t, fin.TxResults, 1)
	require.Zero(t, fin.TxResults[0].Code, fin.TxResults[0].Log)
	_, err = n.cli.Commit(ctx, &abci.RequestCommit{})
	require.NoError(t, err)
	reqBz, err := (&types.QueryRequestRequest{RequestId: 1}).Marshal()
	require.NoError(t, err)
	q, err := n.cli.Query(ctx, &abci.RequestQuery{Path: "/nyx.coconut.v1.Query/Request", Data: reqBz})
	require.NoError(t, err)
	require.Zero(t, q.Code, q.Log)
	var r types.QueryRequestResponse
	require.NoError(t, r.Unmarshal(q.Value))
	require.Equal(t, types.REQUEST_STATUS_ISSUED, r.Request.Status, fmt.Sprint(r.Request))
	require.Len(t, r.PartialSignatures, 1)
	hb, _ := honestBS.MarshalBinary()
	require.Equal(t, hb, r.PartialSignatures[0].BlindedSignature)
}
