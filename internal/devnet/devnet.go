// Package devnet writes the home directories of a local Nyx network: node
// and validator keys, a funded operator per validator, named funded
// accounts in a test keyring, one genesis with every validator's gentx, and
// config.toml, app.toml and client.toml wired to each other on 127.0.0.1.
// The genesis turns vote extensions on and holds an x/coconut issuing key
// dealt by a trusted dealer (this function) with threshold ceil(2n/3); each
// validator's share is written to its config/coconut_key.json. The dealer
// sees every share: an interim until the DKG issues keys on chain.
//
// `nyxd testnet init-files`, `make localnet` and the in-process test chain
// all build their networks with it, so the three never drift apart.
package devnet

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	cmttypes "github.com/cometbft/cometbft/types"
	cmttime "github.com/cometbft/cometbft/types/time"

	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/client/tx"
	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/crypto/hd"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	cryptotypes "github.com/cosmos/cosmos-sdk/crypto/types"
	serverconfig "github.com/cosmos/cosmos-sdk/server/config"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	"github.com/cosmos/cosmos-sdk/x/genutil"
	genutiltypes "github.com/cosmos/cosmos-sdk/x/genutil/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/nyx-privacy/nyx/app"
	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
	vestingtypes "github.com/nyx-privacy/nyx/x/vesting/types"
)

// Ports are the TCP ports one node listens on, all on 127.0.0.1.
type Ports struct {
	P2P, RPC, GRPC, API int
}

// PortsAt returns the ports of node i when every node's ports are taken
// from consecutive blocks of ten starting at base: P2P at base+10i, RPC
// +1, gRPC +2, REST +3.
func PortsAt(base, i int) Ports {
	b := base + 10*i
	return Ports{P2P: b, RPC: b + 1, GRPC: b + 2, API: b + 3}
}

// Config describes the network to write.
type Config struct {
	// Dir is the output directory; node i's home is Dir/node<i>.
	Dir     string
	ChainID string
	// Validators is the number of validator nodes (at least 1).
	Validators int
	// Ports returns node i's ports; nil uses PortsAt(26650, i).
	Ports func(i int) Ports
	// Accounts are the names of extra funded accounts, created in node0's
	// test keyring.
	Accounts []string
	// Balance is what every account and validator operator gets at
	// genesis; zero values use DefaultBalance.
	Balance sdk.Coins
	// SelfDelegation is each validator's bonded stake in unyx; zero uses 100 NYX.
	SelfDelegation sdkmath.Int
	// TimeoutCommit is CometBFT's pause after each block; zero uses 1 s.
	TimeoutCommit time.Duration
	// MixnetEpoch, if set, replaces x/mixnet's epoch duration (an hour by
	// default) so a local network assigns roles quickly.
	MixnetEpoch time.Duration
	// NetworkMonitors, if set, are the accounts x/mixnet takes performance
	// reports from.
	NetworkMonitors []string
	// RewardPool is unym given to x/mixnet's module account at genesis: the
	// pool its rewards are paid from.
	RewardPool sdkmath.Int
	// Genesis, if set, edits the app state before gentxs are collected
	// (module params, extra state).
	Genesis func(cdc codec.Codec, state app.GenesisState) error
	// Vesting, if set, gives one of Accounts an x/vesting account at genesis.
	Vesting *VestingGrant
}

// VestingGrant is an x/vesting account written into genesis: Amount unym for
// Account on Nym's default schedule (8 periods of 3 months from the time the
// files are written), held by x/vesting's module account.
type VestingGrant struct {
	Account string
	Amount  sdkmath.Int
}

// DefaultBalance is 1,000,000 NYX and 1,000,000 NYM (6 decimals).
func DefaultBalance() sdk.Coins {
	return sdk.NewCoins(
		sdk.NewCoin(app.BondDenom, sdkmath.NewInt(1_000_000_000_000)),
		sdk.NewCoin(app.MixDenom, sdkmath.NewInt(1_000_000_000_000)),
	)
}

// Node is one written node home.
type Node struct {
	Home     string
	Moniker  string
	NodeID   string
	Ports    Ports
	Operator sdk.AccAddress // the validator's operator account, key "validator"
}

// Account is a funded account with its key in node0's keyring.
type Account struct {
	Name     string
	Address  sdk.AccAddress
	Mnemonic string
}

// Network is what Write produced.
type Network struct {
	ChainID  string
	Nodes    []Node
	Accounts []Account
}

const (
	operatorKey    = "validator"
	keyringBackend = keyring.BackendTest
)

// Write creates every node home under cfg.Dir. It refuses a Dir that
// already holds a network, so a mistake never overwrites keys.
func Write(cfg Config) (*Network, error) {
	if cfg.Validators < 1 {
		return nil, errors.New("devnet: at least one validator is needed")
	}
	if cfg.ChainID == "" {
		return nil, errors.New("devnet: chain id is empty")
	}
	if cfg.Ports == nil {
		cfg.Ports = func(i int) Ports { return PortsAt(26650, i) }
	}
	if cfg.Balance.IsZero() {
		cfg.Balance = DefaultBalance()
	}
	if cfg.SelfDelegation.IsNil() || cfg.SelfDelegation.IsZero() {
		cfg.SelfDelegation = sdkmath.NewInt(100_000_000)
	}
	if cfg.TimeoutCommit == 0 {
		cfg.TimeoutCommit = time.Second
	}
	if _, err := os.Stat(filepath.Join(cfg.Dir, "node0", "config", "genesis.json")); err == nil {
		return nil, fmt.Errorf("devnet: %s already holds a network; remove it first", cfg.Dir)
	}

	enc := app.Template().EncodingConfig()

	net := &Network{ChainID: cfg.ChainID}
	gentxDir := filepath.Join(cfg.Dir, "gentxs")
	var (
		accounts []authtypes.GenesisAccount
		balances []banktypes.Balance
		pubKeys  []cryptotypes.PubKey
		consAddr [][]byte
		cmtCfgs  []*cmtcfg.Config
	)
	fund := func(addr sdk.AccAddress) {
		accounts = append(accounts, authtypes.NewBaseAccount(addr, nil, 0, 0))
		balances = append(balances, banktypes.Balance{Address: addr.String(), Coins: cfg.Balance})
	}

	for i := 0; i < cfg.Validators; i++ {
		moniker := fmt.Sprintf("node%d", i)
		home := filepath.Join(cfg.Dir, moniker)
		ports := cfg.Ports(i)
		if err := os.MkdirAll(filepath.Join(home, "config"), 0o755); err != nil {
			return nil, err
		}
		cc := cmtcfg.DefaultConfig()
		cc.SetRoot(home)
		cc.Moniker = moniker
		cc.P2P.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", ports.P2P)
		cc.RPC.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", ports.RPC)
		cc.P2P.AddrBookStrict = false
		cc.P2P.AllowDuplicateIP = true
		cc.Consensus.TimeoutCommit = cfg.TimeoutCommit
		cc.Instrumentation.Prometheus = false

		nodeID, pubKey, err := genutil.InitializeNodeValidatorFiles(cc)
		if err != nil {
			return nil, fmt.Errorf("node %d keys: %w", i, err)
		}
		kb, err := keyring.New(sdk.KeyringServiceName(), keyringBackend, home, nil, enc.Codec)
		if err != nil {
			return nil, err
		}
		operator, _, err := newKey(kb, operatorKey)
		if err != nil {
			return nil, fmt.Errorf("node %d operator key: %w", i, err)
		}
		fund(operator)

		if err := writeGentx(enc, kb, cfg, moniker, nodeID, pubKey, operator, ports, gentxDir); err != nil {
			return nil, fmt.Errorf("node %d gentx: %w", i, err)
		}
		if err := writeAppAndClientConfig(home, cfg.ChainID, ports); err != nil {
			return nil, err
		}
		net.Nodes = append(net.Nodes, Node{Home: home, Moniker: moniker, NodeID: nodeID, Ports: ports, Operator: operator})
		pubKeys = append(pubKeys, pubKey)
		consAddr = append(consAddr, pubKey.Address())
		cmtCfgs = append(cmtCfgs, cc)
	}

	kb0, err := keyring.New(sdk.KeyringServiceName(), keyringBackend, net.Nodes[0].Home, nil, enc.Codec)
	if err != nil {
		return nil, err
	}
	for _, name := range cfg.Accounts {
		addr, mnemonic, err := newKey(kb0, name)
		if err != nil {
			return nil, fmt.Errorf("account %q: %w", name, err)
		}
		fund(addr)
		net.Accounts = append(net.Accounts, Account{Name: name, Address: addr, Mnemonic: mnemonic})
	}
	var vesting []vestingtypes.VestingAccount
	if g := cfg.Vesting; g != nil {
		a, err := vestingAccount(net.Accounts, g, time.Now())
		if err != nil {
			return nil, err
		}
		vesting = append(vesting, a)
		balances = append(balances, banktypes.Balance{
			Address: authtypes.NewModuleAddress(vestingtypes.ModuleName).String(),
			Coins:   sdk.NewCoins(sdk.NewCoin(app.MixDenom, g.Amount)),
		})
	}

	// The issuing key: dealt here, by a trusted dealer, until the DKG runs
	// on chain. Each validator's share goes beside its consensus key.
	keySet, issuerKeys, err := coconuttypes.DealKeySet(rand.Reader, 1, consAddr)
	if err != nil {
		return nil, fmt.Errorf("deal the coconut issuing key: %w", err)
	}
	for i, n := range net.Nodes {
		if err := issuerKeys[i].Save(coconuttypes.IssuerKeyPath(n.Home)); err != nil {
			return nil, err
		}
		dkgKey, err := coconuttypes.GenerateDKGKey(rand.Reader, consAddr[i])
		if err != nil {
			return nil, err
		}
		if err := dkgKey.Save(coconuttypes.DKGKeyPath(n.Home)); err != nil {
			return nil, err
		}
		if keySet.PartialKeys[i].Validator, err = enc.TxConfig.SigningContext().ValidatorAddressCodec().BytesToString(n.Operator); err != nil {
			return nil, err
		}
	}

	state, err := initialAppState(enc, accounts, balances, keySet, vesting, cfg)
	if err != nil {
		return nil, err
	}

	// Every node gets the same genesis, with the same time, and knows every
	// other node as a persistent peer.
	genTime := cmttime.Now()
	for i, n := range net.Nodes {
		cc := cmtCfgs[i]
		var peers []string
		for j, m := range net.Nodes {
			if j != i {
				peers = append(peers, fmt.Sprintf("%s@127.0.0.1:%d", m.NodeID, m.Ports.P2P))
			}
		}
		cc.P2P.PersistentPeers = strings.Join(peers, ",")

		genesis := genutiltypes.AppGenesis{ChainID: cfg.ChainID, AppState: state, Consensus: &genutiltypes.ConsensusGenesis{}}
		if err := genesis.SaveAs(cc.GenesisFile()); err != nil {
			return nil, err
		}
		initCfg := genutiltypes.NewInitConfig(cfg.ChainID, gentxDir, n.NodeID, pubKeys[i])
		collected, err := genutil.GenAppStateFromConfig(enc.Codec, enc.TxConfig, cc, initCfg, &genesis,
			banktypes.GenesisBalancesIterator{}, genutiltypes.DefaultMessageValidator,
			enc.TxConfig.SigningContext().ValidatorAddressCodec())
		if err != nil {
			return nil, fmt.Errorf("collect gentxs for %s: %w", n.Moniker, err)
		}
		if err := WriteGenesisFile(cc.GenesisFile(), cfg.ChainID, collected, genTime); err != nil {
			return nil, err
		}
		cmtcfg.WriteConfigFile(filepath.Join(n.Home, "config", "config.toml"), cc)
	}
	return net, nil
}

// VoteExtensionsEnableHeight is the height from which a network written here
// runs vote extensions (x/coconut's issuance travels in them).
const VoteExtensionsEnableHeight = 1

// WriteGenesisFile writes a genesis with the app state and the network's
// consensus params: CometBFT's defaults with vote extensions on from
// VoteExtensionsEnableHeight.
func WriteGenesisFile(path, chainID string, appState json.RawMessage, genTime time.Time) error {
	g := genutiltypes.NewAppGenesisWithVersion(chainID, appState)
	g.GenesisTime = genTime
	cp := cmttypes.DefaultConsensusParams()
	cp.ABCI.VoteExtensionsEnableHeight = VoteExtensionsEnableHeight
	g.Consensus.Params = cp
	if err := g.ValidateAndComplete(); err != nil {
		return err
	}
	return g.SaveAs(path)
}

func newKey(kb keyring.Keyring, name string) (sdk.AccAddress, string, error) {
	algos, _ := kb.SupportedAlgorithms()
	algo, err := keyring.NewSigningAlgoFromString(string(hd.Secp256k1Type), algos)
	if err != nil {
		return nil, "", err
	}
	path := hd.CreateHDPath(app.CoinType, 0, 0).String()
	rec, mnemonic, err := kb.NewMnemonic(name, keyring.English, path, keyring.DefaultBIP39Passphrase, algo)
	if err != nil {
		return nil, "", err
	}
	addr, err := rec.GetAddress()
	return addr, mnemonic, err
}

func writeGentx(enc app.EncodingConfig, kb keyring.Keyring, cfg Config, moniker, nodeID string,
	pubKey cryptotypes.PubKey, operator sdk.AccAddress, ports Ports, dir string,
) error {
	valAddr, err := enc.TxConfig.SigningContext().ValidatorAddressCodec().BytesToString(operator)
	if err != nil {
		return err
	}
	msg, err := stakingtypes.NewMsgCreateValidator(
		valAddr, pubKey,
		sdk.NewCoin(app.BondDenom, cfg.SelfDelegation),
		stakingtypes.NewDescription(moniker, "", "", "", ""),
		stakingtypes.NewCommissionRates(sdkmath.LegacyNewDecWithPrec(1, 1), sdkmath.LegacyNewDecWithPrec(2, 1), sdkmath.LegacyNewDecWithPrec(1, 2)),
		sdkmath.OneInt(),
	)
	if err != nil {
		return err
	}
	memo := fmt.Sprintf("%s@127.0.0.1:%d", nodeID, ports.P2P)
	b := enc.TxConfig.NewTxBuilder()
	if err := b.SetMsgs(msg); err != nil {
		return err
	}
	b.SetGasLimit(300_000)
	b.SetMemo(memo)
	f := tx.Factory{}.WithChainID(cfg.ChainID).WithMemo(memo).WithKeybase(kb).WithTxConfig(enc.TxConfig)
	if err := tx.Sign(context.Background(), f, operatorKey, b, true); err != nil {
		return err
	}
	bz, err := enc.TxConfig.TxJSONEncoder()(b.GetTx())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, moniker+".json"), bz, 0o600)
}

// vestingAccount is g's account on Nym's default schedule from start.
func vestingAccount(accounts []Account, g *VestingGrant, start time.Time) (vestingtypes.VestingAccount, error) {
	const periods, length = 8, 91 * 24 * 3600 // 8 periods of about 3 months
	if g.Amount.IsNil() || !g.Amount.IsPositive() {
		return vestingtypes.VestingAccount{}, fmt.Errorf("devnet: vesting amount %v must be positive", g.Amount)
	}
	var owner string
	for _, a := range accounts {
		if a.Name == g.Account {
			owner = a.Address.String()
		}
	}
	if owner == "" {
		return vestingtypes.VestingAccount{}, fmt.Errorf("devnet: vesting account %q is not one of the accounts", g.Account)
	}
	// Each period vests an eighth; the last also takes the remainder.
	each := g.Amount.QuoRaw(periods)
	ps := make([]vestingtypes.Period, periods)
	for i := range ps {
		ps[i] = vestingtypes.Period{LengthSeconds: length, Amount: each}
	}
	ps[periods-1].Amount = g.Amount.Sub(each.MulRaw(periods - 1))
	a := vestingtypes.VestingAccount{
		Owner: owner, Funder: owner, StartTime: start.Unix(), Periods: ps, Original: g.Amount,
		Withdrawn: sdkmath.ZeroInt(), Pledged: sdkmath.ZeroInt(), Delegated: sdkmath.ZeroInt(),
	}
	if err := a.Validate(vestingtypes.DefaultMaxPeriods); err != nil {
		return vestingtypes.VestingAccount{}, fmt.Errorf("devnet: vesting account: %w", err)
	}
	return a, nil
}

func initialAppState(enc app.EncodingConfig, accounts []authtypes.GenesisAccount, balances []banktypes.Balance, keySet coconuttypes.KeySet, vesting []vestingtypes.VestingAccount, cfg Config) (json.RawMessage, error) {
	state := app.NewDefaultGenesisState()

	if len(vesting) > 0 {
		var vg vestingtypes.GenesisState
		enc.Codec.MustUnmarshalJSON(state[vestingtypes.ModuleName], &vg)
		vg.Accounts = append(vg.Accounts, vesting...)
		state[vestingtypes.ModuleName] = enc.Codec.MustMarshalJSON(&vg)
	}

	var cg coconuttypes.GenesisState
	enc.Codec.MustUnmarshalJSON(state[coconuttypes.ModuleName], &cg)
	cg.KeySets = append(cg.KeySets, keySet)
	state[coconuttypes.ModuleName] = enc.Codec.MustMarshalJSON(&cg)

	var authGen authtypes.GenesisState
	enc.Codec.MustUnmarshalJSON(state[authtypes.ModuleName], &authGen)
	packed, err := authtypes.PackAccounts(accounts)
	if err != nil {
		return nil, err
	}
	authGen.Accounts = append(authGen.Accounts, packed...)
	state[authtypes.ModuleName] = enc.Codec.MustMarshalJSON(&authGen)

	var bankGen banktypes.GenesisState
	enc.Codec.MustUnmarshalJSON(state[banktypes.ModuleName], &bankGen)
	bankGen.Balances = append(bankGen.Balances, balances...)
	if !cfg.RewardPool.IsNil() && cfg.RewardPool.IsPositive() {
		bankGen.Balances = append(bankGen.Balances, banktypes.Balance{
			Address: authtypes.NewModuleAddress(mixnettypes.ModuleName).String(),
			Coins:   sdk.NewCoins(sdk.NewCoin(app.MixDenom, cfg.RewardPool)),
		})
	}
	state[banktypes.ModuleName] = enc.Codec.MustMarshalJSON(&bankGen)

	if cfg.MixnetEpoch > 0 || len(cfg.NetworkMonitors) > 0 {
		var mg mixnettypes.GenesisState
		enc.Codec.MustUnmarshalJSON(state[mixnettypes.ModuleName], &mg)
		if cfg.MixnetEpoch > 0 {
			mg.Params.EpochDuration = cfg.MixnetEpoch
		}
		if len(cfg.NetworkMonitors) > 0 {
			mg.Params.NetworkMonitors = cfg.NetworkMonitors
		}
		state[mixnettypes.ModuleName] = enc.Codec.MustMarshalJSON(&mg)
	}
	if cfg.Genesis != nil {
		if err := cfg.Genesis(enc.Codec, state); err != nil {
			return nil, fmt.Errorf("edit genesis: %w", err)
		}
	}
	return json.MarshalIndent(state, "", "  ")
}

func writeAppAndClientConfig(home, chainID string, ports Ports) error {
	ac := app.DefaultAppConfig()
	ac.API.Enable = true
	ac.API.Address = fmt.Sprintf("tcp://127.0.0.1:%d", ports.API)
	ac.GRPC.Enable = true
	ac.GRPC.Address = fmt.Sprintf("127.0.0.1:%d", ports.GRPC)
	ac.Telemetry.Enabled = false //nolint:staticcheck // the SDK's telemetry flag; off for local networks
	serverconfig.SetConfigTemplate(app.AppConfigTemplate())
	serverconfig.WriteConfigFile(filepath.Join(home, "config", "app.toml"), ac)

	// client.toml: the CLI run with --home <node home> talks to this node
	// with the test keyring, and needs no other flag.
	client := fmt.Sprintf(`# Client configuration of nyxd for this node (written by devnet).
chain-id = %q
keyring-backend = %q
keyring-default-keyname = ""
output = "text"
node = "tcp://127.0.0.1:%d"
broadcast-mode = "sync"
`, chainID, keyringBackend, ports.RPC)
	return os.WriteFile(filepath.Join(home, "config", "client.toml"), []byte(client), 0o600)
}
