// Package chaintx signs and submits transactions for the sidecars, which
// reach nyxd over its gRPC port only, as an operator's node on another
// machine does: no keyring, no CometBFT RPC, no app import.
//
// A Signer holds one secp256k1 account key (a file in the daemon's home,
// KeyFile). Submit reads the account's number and sequence from the auth
// query, simulates the transaction for its gas, pays gas × the configured
// gas price, signs in SIGN_MODE_DIRECT, broadcasts (sync) and waits until
// the transaction is in a block. A sequence mismatch (another transaction
// of the same account landed meanwhile) is retried once with the account
// read again. Submissions of one Signer are serialized, so one account
// never races itself.
//
// Errors a caller acts on: ErrUnfunded (the account does not exist on
// chain or cannot pay the fee: fund Address) and *TxError (the chain
// refused the transaction, with its code and log).
package chaintx

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/cosmos/gogoproto/proto"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/codec"
	"github.com/cosmos/cosmos-sdk/codec/address"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	"github.com/cosmos/cosmos-sdk/std"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	txtypes "github.com/cosmos/cosmos-sdk/types/tx"
	signingtypes "github.com/cosmos/cosmos-sdk/types/tx/signing"
	authsigning "github.com/cosmos/cosmos-sdk/x/auth/signing"
	authtx "github.com/cosmos/cosmos-sdk/x/auth/tx"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	"github.com/cosmos/cosmos-sdk/x/tx/signing"

	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// Config is how a Signer pays for and waits on its transactions.
type Config struct {
	// ChainID is the chain the signatures are for.
	ChainID string
	// GasPrice is what one unit of gas costs, as "0.025unym"; it must be at
	// least the validators' minimum. Default DefaultGasPrice.
	GasPrice string
	// GasAdjustment multiplies the simulated gas (a transaction may cost a
	// little more in the block than in the simulation). Default 1.5.
	GasAdjustment float64
	// Timeout bounds one Submit, from the account query to the block.
	// Default one minute.
	Timeout time.Duration
	// Poll is how often inclusion is checked. Default 250 ms.
	Poll time.Duration
	// Bech32Prefix of account addresses. Default "n".
	Bech32Prefix string
}

// Defaults of Config.
const (
	DefaultGasPrice      = "0.025unym"
	DefaultGasAdjustment = 1.5
	DefaultTimeout       = time.Minute
	DefaultPoll          = 250 * time.Millisecond
	DefaultBech32Prefix  = "n"
)

// ParseGasPrice checks a gas price such as "0.025unym": one positive amount
// of one denom.
func ParseGasPrice(s string) (sdk.DecCoin, error) {
	c, err := sdk.ParseDecCoin(s)
	if err != nil {
		return sdk.DecCoin{}, fmt.Errorf("gas price %q: %w", s, err)
	}
	if !c.Amount.IsPositive() {
		return sdk.DecCoin{}, fmt.Errorf("gas price %q must be positive", s)
	}
	return c, nil
}

// Errors of Submit.
var (
	// ErrUnfunded: the account does not exist on chain (it never received
	// tokens) or cannot pay the fee.
	ErrUnfunded = errors.New("chaintx: account unfunded")
	// ErrTimeout: the transaction was not seen in a block within Timeout.
	// It may still land.
	ErrTimeout = errors.New("chaintx: transaction not in a block in time")
)

// TxError is a transaction the chain refused, at broadcast or in its block.
type TxError struct {
	Hash      string
	Code      uint32
	Codespace string
	Log       string
}

func (e *TxError) Error() string {
	return fmt.Sprintf("chaintx: tx %s refused: %s code %d: %s", e.Hash, e.Codespace, e.Code, e.Log)
}

// Is makes errors.Is(err, sdkerrors.ErrX) work for the chain's refusals.
func (e *TxError) Is(target error) bool {
	var se interface {
		Codespace() string
		ABCICode() uint32
	}
	if errors.As(target, &se) {
		return se.Codespace() == e.Codespace && se.ABCICode() == e.Code
	}
	return false
}

// Signer submits transactions signed by one account key.
type Signer struct {
	conn     grpc.ClientConnInterface
	key      *secp256k1.PrivKey
	addr     string
	cfg      Config
	gasPrice sdk.DecCoin
	txCfg    client.TxConfig
	mu       sync.Mutex
}

// New returns a Signer for key on the chain behind conn. It does not talk
// to the chain.
func New(conn grpc.ClientConnInterface, key *secp256k1.PrivKey, cfg Config) (*Signer, error) {
	if key == nil {
		return nil, errors.New("chaintx: no account key")
	}
	if cfg.ChainID == "" {
		return nil, errors.New("chaintx: no chain id")
	}
	if cfg.GasPrice == "" {
		cfg.GasPrice = DefaultGasPrice
	}
	if cfg.GasAdjustment <= 0 {
		cfg.GasAdjustment = DefaultGasAdjustment
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Bech32Prefix == "" {
		cfg.Bech32Prefix = DefaultBech32Prefix
	}
	price, err := ParseGasPrice(cfg.GasPrice)
	if err != nil {
		return nil, fmt.Errorf("chaintx: %w", err)
	}
	addr, err := Address(key, cfg.Bech32Prefix)
	if err != nil {
		return nil, err
	}
	txCfg, err := newTxConfig(cfg.Bech32Prefix)
	if err != nil {
		return nil, err
	}
	return &Signer{conn: conn, key: key, addr: addr, cfg: cfg, gasPrice: price, txCfg: txCfg}, nil
}

// newTxConfig builds the codec a transaction is encoded and signed with.
// Only the messages the sidecars send are registered: an encoder needs
// nothing else.
func newTxConfig(prefix string) (client.TxConfig, error) {
	registry, err := codectypes.NewInterfaceRegistryWithOptions(codectypes.InterfaceRegistryOptions{
		ProtoFiles: proto.HybridResolver,
		SigningOptions: signing.Options{
			AddressCodec:          address.Bech32Codec{Bech32Prefix: prefix},
			ValidatorAddressCodec: address.Bech32Codec{Bech32Prefix: prefix + "valoper"},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("chaintx: codec: %w", err)
	}
	std.RegisterInterfaces(registry)
	authtypes.RegisterInterfaces(registry)
	banktypes.RegisterInterfaces(registry)
	mixnettypes.RegisterInterfaces(registry)
	coconuttypes.RegisterInterfaces(registry)
	return authtx.NewTxConfig(codec.NewProtoCodec(registry), []signingtypes.SignMode{signingtypes.SignMode_SIGN_MODE_DIRECT}), nil
}

// Address is the account's address: what the operator funds.
func (s *Signer) Address() string { return s.addr }

// ChainID is the chain the signer signs for.
func (s *Signer) ChainID() string { return s.cfg.ChainID }

// Address returns key's account address with the given bech32 prefix
// (DefaultBech32Prefix if empty).
func Address(key *secp256k1.PrivKey, prefix string) (string, error) {
	if prefix == "" {
		prefix = DefaultBech32Prefix
	}
	addr, err := address.Bech32Codec{Bech32Prefix: prefix}.BytesToString(key.PubKey().Address())
	if err != nil {
		return "", fmt.Errorf("chaintx: address: %w", err)
	}
	return addr, nil
}

// Submit signs msgs into one transaction, broadcasts it and waits until it
// is in a block. It returns the delivered result; ErrUnfunded, a *TxError
// or ErrTimeout otherwise.
func (s *Signer) Submit(ctx context.Context, msgs ...sdk.Msg) (*sdk.TxResponse, error) {
	if len(msgs) == 0 {
		return nil, errors.New("chaintx: no messages")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	res, err := s.submit(ctx, msgs)
	if errors.Is(err, sdkerrors.ErrWrongSequence) {
		res, err = s.submit(ctx, msgs)
	}
	return res, err
}

func (s *Signer) submit(ctx context.Context, msgs []sdk.Msg) (*sdk.TxResponse, error) {
	info, err := authtypes.NewQueryClient(s.conn).AccountInfo(ctx, &authtypes.QueryAccountInfoRequest{Address: s.addr})
	if status.Code(err) == codes.NotFound {
		return nil, fmt.Errorf("%w: %s does not exist on chain yet; send it some tokens", ErrUnfunded, s.addr)
	}
	if err != nil {
		return nil, fmt.Errorf("chaintx: read account %s: %w", s.addr, err)
	}
	num, seq := info.Info.AccountNumber, info.Info.Sequence

	// Simulate with an empty signature: the chain skips its check in a
	// simulation but needs the signer's public key and sequence. The fee
	// is a token one, not zero: a zero fee skips the fee transfer, whose
	// gas the real transaction then lacks.
	txb, err := s.build(msgs, 0, sdk.NewCoins(sdk.NewCoin(s.gasPrice.Denom, sdkmath.OneInt())), seq, nil)
	if err != nil {
		return nil, err
	}
	bz, err := s.txCfg.TxEncoder()(txb.GetTx())
	if err != nil {
		return nil, fmt.Errorf("chaintx: encode: %w", err)
	}
	sim, err := txtypes.NewServiceClient(s.conn).Simulate(ctx, &txtypes.SimulateRequest{TxBytes: bz})
	if err != nil {
		if strings.Contains(err.Error(), "insufficient funds") {
			return nil, fmt.Errorf("%w: %s: %v", ErrUnfunded, s.addr, err)
		}
		if strings.Contains(err.Error(), "account sequence mismatch") {
			return nil, fmt.Errorf("chaintx: simulate: %w: %v", sdkerrors.ErrWrongSequence, err)
		}
		return nil, fmt.Errorf("chaintx: simulate: %w", err)
	}
	gas := uint64(math.Ceil(float64(sim.GasInfo.GasUsed) * s.cfg.GasAdjustment))
	fee := sdk.NewCoins(sdk.NewCoin(s.gasPrice.Denom,
		s.gasPrice.Amount.MulInt(sdkmath.NewIntFromUint64(gas)).Ceil().TruncateInt()))

	txb, err = s.build(msgs, gas, fee, seq, nil)
	if err != nil {
		return nil, err
	}
	signerData := authsigning.SignerData{Address: s.addr, ChainID: s.cfg.ChainID, AccountNumber: num,
		Sequence: seq, PubKey: s.key.PubKey()}
	signBytes, err := authsigning.GetSignBytesAdapter(ctx, s.txCfg.SignModeHandler(), signingtypes.SignMode_SIGN_MODE_DIRECT, signerData, txb.GetTx())
	if err != nil {
		return nil, fmt.Errorf("chaintx: sign bytes: %w", err)
	}
	sig, err := s.key.Sign(signBytes)
	if err != nil {
		return nil, fmt.Errorf("chaintx: sign: %w", err)
	}
	if txb, err = s.build(msgs, gas, fee, seq, sig); err != nil {
		return nil, err
	}
	if bz, err = s.txCfg.TxEncoder()(txb.GetTx()); err != nil {
		return nil, fmt.Errorf("chaintx: encode: %w", err)
	}
	svc := txtypes.NewServiceClient(s.conn)
	br, err := svc.BroadcastTx(ctx, &txtypes.BroadcastTxRequest{TxBytes: bz, Mode: txtypes.BroadcastMode_BROADCAST_MODE_SYNC})
	if err != nil {
		return nil, fmt.Errorf("chaintx: broadcast: %w", err)
	}
	if r := br.TxResponse; r.Code != 0 {
		return r, refusal(r.TxHash, r.Codespace, r.Code, r.RawLog, s.addr)
	}
	return s.wait(ctx, br.TxResponse.TxHash)
}

// build makes the transaction; sig nil leaves the signature empty (for the
// simulation and for the sign bytes, which do not cover it).
func (s *Signer) build(msgs []sdk.Msg, gas uint64, fee sdk.Coins, seq uint64, sig []byte) (client.TxBuilder, error) {
	txb := s.txCfg.NewTxBuilder()
	if err := txb.SetMsgs(msgs...); err != nil {
		return nil, fmt.Errorf("chaintx: messages: %w", err)
	}
	txb.SetGasLimit(gas)
	txb.SetFeeAmount(fee)
	err := txb.SetSignatures(signingtypes.SignatureV2{
		PubKey:   s.key.PubKey(),
		Data:     &signingtypes.SingleSignatureData{SignMode: signingtypes.SignMode_SIGN_MODE_DIRECT, Signature: sig},
		Sequence: seq,
	})
	if err != nil {
		return nil, fmt.Errorf("chaintx: signature: %w", err)
	}
	return txb, nil
}

// wait polls GetTx until the transaction is in a block.
func (s *Signer) wait(ctx context.Context, hash string) (*sdk.TxResponse, error) {
	svc := txtypes.NewServiceClient(s.conn)
	tick := time.NewTicker(s.cfg.Poll)
	defer tick.Stop()
	for {
		r, err := svc.GetTx(ctx, &txtypes.GetTxRequest{Hash: hash})
		if err == nil && r.TxResponse != nil {
			if tr := r.TxResponse; tr.Code != 0 {
				return tr, refusal(hash, tr.Codespace, tr.Code, tr.RawLog, s.addr)
			}
			return r.TxResponse, nil
		}
		// NotFound until the block is indexed; other errors (the node
		// briefly unreachable) are retried until the deadline too.
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %s (%v)", ErrTimeout, hash, err)
		case <-tick.C:
		}
	}
}

func refusal(hash, codespace string, code uint32, log, addr string) error {
	e := &TxError{Hash: hash, Code: code, Codespace: codespace, Log: log}
	if codespace == sdkerrors.RootCodespace && code == sdkerrors.ErrInsufficientFunds.ABCICode() {
		return fmt.Errorf("%w: %s: %w", ErrUnfunded, addr, e)
	}
	return e
}
