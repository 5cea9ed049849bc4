package mixnet

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"time"

	"cosmossdk.io/math"
	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/app"
	"github.com/nyx-privacy/nyx/sphinx"
	"github.com/nyx-privacy/nyx/testutil/chain"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// Pledge is what the harness pledges for every node (the genesis it writes
// sets the minimum pledge to it).
const Pledge = 10_000_000

// GenesisParams are the x/mixnet params the harness's chain starts with.
type GenesisParams struct {
	// EpochDuration is the length of an epoch; zero gives 2 s.
	EpochDuration time.Duration
	// Entry, Exit and Mixnodes are the rewarded set's sizes (Mixnodes is
	// spread over the three layers); zero gives 1, 1 and 3.
	Entry, Exit, Mixnodes uint32
	// SphinxKeyRotationEpochs is the schedule nodes rotate their sphinx
	// keys by; zero (unlike the chain's default) means no schedule, so a
	// test's keys change only when it asks.
	SphinxKeyRotationEpochs uint32
	// Monitors are the accounts (bech32) listed as network monitors.
	Monitors []string
	// MinimumPerformance, if set (a decimal such as "0.1"), is the
	// performance below which a node is not drawn.
	MinimumPerformance string
	// CredentialBytesPerUnym, if set, is x/coconut's rate, and the minimum
	// deposit becomes CredentialMinDeposit: tests buy small credentials.
	CredentialBytesPerUnym uint64
	CredentialMinDeposit   int64
}

// Genesis returns a chain.Options.Genesis editor that sets short epochs, a
// small rewarded set and a low minimum pledge.
func Genesis(p GenesisParams) func(cdc codec.Codec, state app.GenesisState) error {
	if p.EpochDuration == 0 {
		p.EpochDuration = 2 * time.Second
	}
	if p.Entry == 0 && p.Exit == 0 && p.Mixnodes == 0 {
		p.Entry, p.Exit, p.Mixnodes = 1, 1, 3
	}
	return func(cdc codec.Codec, state app.GenesisState) error {
		var gs mixnettypes.GenesisState
		if err := cdc.UnmarshalJSON(state[mixnettypes.ModuleName], &gs); err != nil {
			return err
		}
		gs.Params.EpochDuration = p.EpochDuration
		gs.Params.EpochsPerInterval = 24
		gs.Params.MinimumPledge = sdk.NewInt64Coin(mixnettypes.Denom, Pledge)
		gs.Params.RewardedSet = mixnettypes.RewardedSetSizes{EntryGateways: p.Entry, ExitGateways: p.Exit, Mixnodes: p.Mixnodes}
		gs.Params.SphinxKeyRotationEpochs = p.SphinxKeyRotationEpochs
		if len(p.Monitors) > 0 {
			gs.Params.NetworkMonitors = p.Monitors
		}
		if p.MinimumPerformance != "" {
			mp, err := math.LegacyNewDecFromStr(p.MinimumPerformance)
			if err != nil {
				return err
			}
			gs.Params.MinimumPerformance = mp
		}
		bz, err := cdc.MarshalJSON(&gs)
		if err != nil {
			return err
		}
		state[mixnettypes.ModuleName] = bz
		if p.CredentialBytesPerUnym == 0 {
			return nil
		}
		return cheapCredentials(cdc, state, p.CredentialBytesPerUnym, p.CredentialMinDeposit)
	}
}

// NodeKeys are a node's keys and the addresses it bonds.
type NodeKeys struct {
	Identity                       ed25519.PrivateKey
	Sphinx                         *sphinx.PrivateKey
	Host                           string
	MixPort, ClientsPort, HTTPPort uint16
}

// NewNodeKeys makes fresh keys for a node on 127.0.0.1 with the given ports.
func NewNodeKeys(mix, clients, http uint16) (NodeKeys, error) {
	_, id, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return NodeKeys{}, err
	}
	sk, err := sphinx.GenerateKey(rand.Reader)
	if err != nil {
		return NodeKeys{}, err
	}
	return NodeKeys{Identity: id, Sphinx: sk, Host: "127.0.0.1", MixPort: mix, ClientsPort: clients, HTTPPort: http}, nil
}

// Bond bonds a node for the named account through a real transaction: it
// reads the owner's signing nonce over gRPC, signs the bond with the node's
// identity key and broadcasts MsgBondNode. It returns the node's id.
func Bond(ctx context.Context, c *chain.Chain, q mixnettypes.QueryClient, owner string, k NodeKeys) (uint64, error) {
	addr := c.Accounts[owner].String()
	nonce, err := q.SigningNonce(ctx, &mixnettypes.QuerySigningNonceRequest{Address: addr})
	if err != nil {
		return 0, fmt.Errorf("signing nonce of %s: %w", owner, err)
	}
	msg := &mixnettypes.MsgBondNode{
		Owner: addr, Pledge: sdk.NewInt64Coin(mixnettypes.Denom, Pledge),
		IdentityKey: k.Identity.Public().(ed25519.PublicKey), SphinxKey: k.Sphinx.PublicKey().Bytes(),
		Host: k.Host, MixPort: uint32(k.MixPort), ClientsPort: uint32(k.ClientsPort), HttpPort: uint32(k.HTTPPort),
	}
	msg.Signature = mixnettypes.SignBond(k.Identity, msg.BondPayload(c.ChainID, nonce.Nonce))
	if _, err := c.BroadcastTx(ctx, owner, msg); err != nil {
		return 0, fmt.Errorf("bond node of %s: %w", owner, err)
	}
	got, err := q.NodeByOwner(ctx, &mixnettypes.QueryNodeByOwnerRequest{Owner: addr})
	if err != nil {
		return 0, fmt.Errorf("node of %s: %w", owner, err)
	}
	return got.Node.NodeId, nil
}
