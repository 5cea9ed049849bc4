package types

import (
	"math"

	errorsmod "cosmossdk.io/errors"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// Defaults of the module's params.
const (
	// DefaultBytesPerUnym makes 1 NYM (1,000,000 unym) worth 1 GiB of bandwidth.
	DefaultBytesPerUnym = 1 << 30 / 1_000_000
	// DefaultMinDeposit is 1 NYM: every request costs each issuer a blind
	// signature, so it must not be cheap to ask for many.
	DefaultMinDeposit = 1_000_000
	// DefaultMaxDeposit is 1,000,000 NYM.
	DefaultMaxDeposit = 1_000_000_000_000
	// DefaultRequestRetentionBlocks is about a day of 5-second blocks.
	DefaultRequestRetentionBlocks = 17_280
	// DefaultMaxRequestsSignedPerBlock bounds each validator's blind signatures per block.
	DefaultMaxRequestsSignedPerBlock = 50
	// DefaultMaxSpendsPerTx bounds a MsgSpendCredentials: about 100 verifications.
	DefaultMaxSpendsPerTx = 100
	// DefaultKeyGraceBlocks is about a day of 5-second blocks.
	DefaultKeyGraceBlocks = 17_280
)

// Upper bounds on params, so that governance cannot make one block's or one tx's
// work unbounded.
const (
	maxRequestsSignedPerBlock = 1_000
	maxSpendsPerTx            = 1_000
)

// DefaultParams returns the module's default params.
func DefaultParams() Params {
	return Params{
		BytesPerUnym:              DefaultBytesPerUnym,
		MinDeposit:                sdk.NewInt64Coin(Denom, DefaultMinDeposit),
		MaxDeposit:                sdk.NewInt64Coin(Denom, DefaultMaxDeposit),
		RequestRetentionBlocks:    DefaultRequestRetentionBlocks,
		MaxRequestsSignedPerBlock: DefaultMaxRequestsSignedPerBlock,
		MaxSpendsPerTx:            DefaultMaxSpendsPerTx,
		KeyGraceBlocks:            DefaultKeyGraceBlocks,
	}
}

func paramsErr(format string, args ...any) error {
	return errorsmod.Wrapf(ErrInvalidParams, format, args...)
}

// Validate checks every param and that the largest deposit's value fits in the
// 64-bit value attribute.
func (p Params) Validate() error {
	if p.BytesPerUnym == 0 {
		return paramsErr("bytes_per_unym must be positive")
	}
	for what, c := range map[string]sdk.Coin{"min_deposit": p.MinDeposit, "max_deposit": p.MaxDeposit} {
		if c.Denom != Denom {
			return paramsErr("%s must be in %s, not %q", what, Denom, c.Denom)
		}
		if c.Amount.IsNil() || !c.Amount.IsPositive() || !c.Amount.IsUint64() {
			return paramsErr("%s must be a positive 64-bit amount", what)
		}
	}
	if p.MaxDeposit.Amount.LT(p.MinDeposit.Amount) {
		return paramsErr("max_deposit %s is below min_deposit %s", p.MaxDeposit, p.MinDeposit)
	}
	if p.MaxDeposit.Amount.Uint64() > math.MaxUint64/p.BytesPerUnym {
		return paramsErr("max_deposit x bytes_per_unym overflows 64 bits")
	}
	if p.RequestRetentionBlocks == 0 || p.RequestRetentionBlocks > math.MaxInt64/2 {
		return paramsErr("request_retention_blocks must be positive and below 2^62")
	}
	if p.MaxRequestsSignedPerBlock == 0 || p.MaxRequestsSignedPerBlock > maxRequestsSignedPerBlock {
		return paramsErr("max_requests_signed_per_block must be in 1..%d", maxRequestsSignedPerBlock)
	}
	if p.MaxSpendsPerTx == 0 || p.MaxSpendsPerTx > maxSpendsPerTx {
		return paramsErr("max_spends_per_tx must be in 1..%d", maxSpendsPerTx)
	}
	if p.KeyGraceBlocks > math.MaxInt64/2 {
		return paramsErr("key_grace_blocks must be below 2^62")
	}
	return nil
}

// CurrentCredentialType is the type of credentials issued under p.
func (p Params) CurrentCredentialType() CredentialType {
	return CredentialType{Name: CredentialTypeName(p.BytesPerUnym), BytesPerUnym: p.BytesPerUnym}
}
