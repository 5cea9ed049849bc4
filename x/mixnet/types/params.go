package types

import (
	"fmt"
	"time"

	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/mixnet/rewarding"
	"github.com/nyx-privacy/nyx/x/mixnet/selection"
)

// Defaults of the module's params. Set sizes, reward constants and cost defaults are
// Nym mainnet's (nymtech/nym mixnet contract); the epoch is Nym's hour and the
// interval its 720 epochs (30 days).
const (
	DefaultEpochDuration     = time.Hour
	DefaultEpochsPerInterval = 720
	DefaultEntryGateways     = 50
	DefaultExitGateways      = 70
	DefaultMixnodes          = 120
	DefaultStandby           = 0
	// DefaultMinimumPledge is 100 NYM.
	DefaultMinimumPledge = 100_000_000
	// DefaultSphinxKeyRotationEpochs is Nym's daily rotation with hour-long epochs.
	DefaultSphinxKeyRotationEpochs = 24
	// MaxSphinxKeyRotationEpochs bounds the schedule: a key kept for longer than
	// this many epochs protects too many past packets once it leaks.
	MaxSphinxKeyRotationEpochs = 10_000
	// DefaultMaxEpochEventsPerBlock keeps a block's queued work to about a tenth of
	// a second on a small machine (BenchmarkEpochEventsBacklog: some 40-90 us an
	// event on two shared cores).
	DefaultMaxEpochEventsPerBlock = 2_000
	// MaxMaxEpochEventsPerBlock is the largest budget the params may set.
	MaxMaxEpochEventsPerBlock = 100_000
)

// maxSetSize bounds each rewarded-set size so an epoch's work stays bounded.
const maxSetSize = 100_000

// DefaultParams returns the module's default params.
func DefaultParams() Params {
	rp := rewarding.DefaultParams()
	return Params{
		MinimumPledge:     sdk.NewInt64Coin(Denom, DefaultMinimumPledge),
		EpochDuration:     DefaultEpochDuration,
		EpochsPerInterval: DefaultEpochsPerInterval,
		RewardedSet: RewardedSetSizes{
			EntryGateways: DefaultEntryGateways,
			ExitGateways:  DefaultExitGateways,
			Mixnodes:      DefaultMixnodes,
			Standby:       DefaultStandby,
		},
		RewardParams: RewardParams{
			IntervalPoolEmission:     rp.IntervalPoolEmission,
			SybilResistance:          rp.SybilResistance,
			ActiveSetWorkFactor:      rp.ActiveSetWorkFactor,
			StakingSupplyScaleFactor: rp.StakingSupplyScaleFactor,
		},
		NetworkMonitors:         nil,
		MinimumPerformance:      math.LegacyZeroDec(),
		SphinxKeyRotationEpochs: DefaultSphinxKeyRotationEpochs,
		MaxEpochEventsPerBlock:  DefaultMaxEpochEventsPerBlock,
		ServiceDeposit:          sdk.NewInt64Coin(Denom, DefaultServiceDeposit),
		MaxServicesPerAnnouncer: DefaultMaxServicesPerAnnouncer,
	}
}

// Validate checks every param; network monitor addresses are checked for form
// only by the keeper, which knows the address codec.
func (p Params) Validate() error {
	if p.MinimumPledge.Denom != Denom || p.MinimumPledge.Amount.IsNil() || !p.MinimumPledge.Amount.IsPositive() {
		return errorsmod.Wrapf(ErrInvalidParams, "minimum pledge %s must be a positive amount of %s", p.MinimumPledge, Denom)
	}
	if p.EpochDuration < time.Second {
		return errorsmod.Wrapf(ErrInvalidParams, "epoch duration %s is under one second", p.EpochDuration)
	}
	if p.EpochsPerInterval == 0 {
		return errorsmod.Wrap(ErrInvalidParams, "epochs per interval is zero")
	}
	if err := p.RewardedSet.Validate(); err != nil {
		return err
	}
	if err := p.RewardParams.ToRewarding().Validate(); err != nil {
		return errorsmod.Wrap(ErrInvalidParams, err.Error())
	}
	seen := make(map[string]bool, len(p.NetworkMonitors))
	for _, m := range p.NetworkMonitors {
		if m == "" {
			return errorsmod.Wrap(ErrInvalidParams, "empty network monitor address")
		}
		if seen[m] {
			return errorsmod.Wrapf(ErrInvalidParams, "duplicate network monitor %s", m)
		}
		seen[m] = true
	}
	if err := checkUnitDec("minimum performance", p.MinimumPerformance); err != nil {
		return errorsmod.Wrap(ErrInvalidParams, err.Error())
	}
	if p.SphinxKeyRotationEpochs > MaxSphinxKeyRotationEpochs {
		return errorsmod.Wrapf(ErrInvalidParams, "sphinx key rotation every %d epochs is above %d", p.SphinxKeyRotationEpochs, MaxSphinxKeyRotationEpochs)
	}
	if p.MaxEpochEventsPerBlock == 0 || p.MaxEpochEventsPerBlock > MaxMaxEpochEventsPerBlock {
		return errorsmod.Wrapf(ErrInvalidParams, "max epoch events per block %d is not in 1..%d", p.MaxEpochEventsPerBlock, MaxMaxEpochEventsPerBlock)
	}
	if err := validateDeposit("service deposit", p.ServiceDeposit); err != nil {
		return errorsmod.Wrap(ErrInvalidParams, err.Error())
	}
	if p.MaxServicesPerAnnouncer == 0 || p.MaxServicesPerAnnouncer > MaxMaxServicesPerAnnouncer {
		return errorsmod.Wrapf(ErrInvalidParams, "max services per announcer %d is not in 1..%d", p.MaxServicesPerAnnouncer, MaxMaxServicesPerAnnouncer)
	}
	return nil
}

// Validate checks the set sizes: at least one active node, none absurdly large.
func (s RewardedSetSizes) Validate() error {
	if s.EntryGateways+s.ExitGateways+s.Mixnodes == 0 {
		return errorsmod.Wrap(ErrInvalidParams, "the active set is empty")
	}
	for _, n := range []uint32{s.EntryGateways, s.ExitGateways, s.Mixnodes, s.Standby} {
		if n > maxSetSize {
			return errorsmod.Wrapf(ErrInvalidParams, "set size %d is above %d", n, maxSetSize)
		}
	}
	return nil
}

// Active is the number of nodes carrying traffic: gateways and mix nodes.
func (s RewardedSetSizes) Active() uint32 { return s.EntryGateways + s.ExitGateways + s.Mixnodes }

// ToSelection converts the sizes for the role draw.
func (s RewardedSetSizes) ToSelection() selection.Sizes {
	return selection.Sizes{EntryGateways: s.EntryGateways, ExitGateways: s.ExitGateways, MixNodes: s.Mixnodes, Standby: s.Standby}
}

// ToRewarding converts the sizes for the reward formula.
func (s RewardedSetSizes) ToRewarding() rewarding.SetSizes {
	return rewarding.SetSizes{Active: s.Active(), Standby: s.Standby}
}

// ToRewarding converts the reward constants for the reward formula.
func (r RewardParams) ToRewarding() rewarding.Params {
	return rewarding.Params{
		IntervalPoolEmission:     r.IntervalPoolEmission,
		SybilResistance:          r.SybilResistance,
		ActiveSetWorkFactor:      r.ActiveSetWorkFactor,
		StakingSupplyScaleFactor: r.StakingSupplyScaleFactor,
	}
}

// checkUnitDec accepts a decimal in [0, 1].
func checkUnitDec(what string, d math.LegacyDec) error {
	if d.IsNil() || d.IsNegative() || d.GT(math.LegacyOneDec()) {
		return fmt.Errorf("%s %v is not in [0, 1]", what, d)
	}
	return nil
}

// DefaultCostParams are Nym's default cost params: 20% profit margin and
// 40,000,000 unym operating cost per interval.
func DefaultCostParams() CostParams {
	c := rewarding.DefaultCostParams()
	return CostParams{ProfitMargin: c.ProfitMargin, IntervalOperatingCost: sdk.NewCoin(Denom, c.IntervalOperatingCost)}
}

// Validate checks the profit margin is in [0, 1] and the cost is unym.
func (c CostParams) Validate() error {
	if err := checkUnitDec("profit margin", c.ProfitMargin); err != nil {
		return errorsmod.Wrap(ErrInvalidCostParams, err.Error())
	}
	oc := c.IntervalOperatingCost
	if oc.Denom != Denom || oc.Amount.IsNil() || oc.Amount.IsNegative() {
		return errorsmod.Wrapf(ErrInvalidCostParams, "operating cost %s must be a non-negative amount of %s", oc, Denom)
	}
	if err := c.ToRewarding().Validate(); err != nil {
		return errorsmod.Wrap(ErrInvalidCostParams, err.Error())
	}
	return nil
}

// ToRewarding converts the cost params for the reward formula.
func (c CostParams) ToRewarding() rewarding.CostParams {
	return rewarding.CostParams{ProfitMargin: c.ProfitMargin, IntervalOperatingCost: c.IntervalOperatingCost.Amount}
}
