package app

import (
	"encoding/json"
	"fmt"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	slashingtypes "github.com/cosmos/cosmos-sdk/x/slashing/types"
	"github.com/cosmos/cosmos-sdk/x/staking"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"
)

// ExportAppStateAndValidators exports the app state as a genesis app state
// and the validator set. With forZeroHeight the state is first rewritten so
// a new chain can start from it at height 0 (rewards paid out, heights
// reset, validators not in jailAllowedAddrs jailed when the list is set).
func (app *NyxApp) ExportAppStateAndValidators(forZeroHeight bool, jailAllowedAddrs, modulesToExport []string) (servertypes.ExportedApp, error) {
	ctx := app.NewContextLegacy(true, cmtproto.Header{Height: app.LastBlockHeight()})

	// A chain started from this export begins at the next height.
	height := app.LastBlockHeight() + 1
	if forZeroHeight {
		height = 0
		if err := app.prepareZeroHeightGenesis(ctx, jailAllowedAddrs); err != nil {
			return servertypes.ExportedApp{}, fmt.Errorf("prepare zero-height genesis: %w", err)
		}
	}

	state, err := app.ModuleManager.ExportGenesisForModules(ctx, app.appCodec, modulesToExport)
	if err != nil {
		return servertypes.ExportedApp{}, fmt.Errorf("export module genesis: %w", err)
	}
	appState, err := json.MarshalIndent(state, "", "  ")
	if err != nil {
		return servertypes.ExportedApp{}, err
	}
	validators, err := staking.WriteValidators(ctx, app.StakingKeeper)
	if err != nil {
		return servertypes.ExportedApp{}, fmt.Errorf("export validators: %w", err)
	}
	return servertypes.ExportedApp{
		AppState:        appState,
		Validators:      validators,
		Height:          height,
		ConsensusParams: app.GetConsensusParams(ctx),
	}, nil
}

// prepareZeroHeightGenesis settles distribution (every commission and
// delegator reward paid out, leftovers to the community pool, periods
// restarted), resets every height recorded in staking and slashing to 0,
// and jails the validators not allowed to continue.
func (app *NyxApp) prepareZeroHeightGenesis(ctx sdk.Context, jailAllowedAddrs []string) error {
	allowed := make(map[string]bool, len(jailAllowedAddrs))
	for _, a := range jailAllowedAddrs {
		if _, err := sdk.ValAddressFromBech32(a); err != nil {
			return fmt.Errorf("jail-allowed address %q: %w", a, err)
		}
		allowed[a] = true
	}
	valCodec := app.StakingKeeper.ValidatorAddressCodec()

	var validators []sdk.ValAddress
	if err := app.StakingKeeper.IterateValidators(ctx, func(_ int64, v stakingtypes.ValidatorI) bool {
		bz, err := valCodec.StringToBytes(v.GetOperator())
		if err == nil {
			validators = append(validators, bz)
		}
		return false
	}); err != nil {
		return err
	}

	// Pay out: commissions (an empty commission is not an error worth
	// stopping for), then every delegator's rewards.
	for _, v := range validators {
		_, _ = app.DistrKeeper.WithdrawValidatorCommission(ctx, v)
	}
	delegations, err := app.StakingKeeper.GetAllDelegations(ctx)
	if err != nil {
		return err
	}
	for _, d := range delegations {
		val, err := sdk.ValAddressFromBech32(d.ValidatorAddress)
		if err != nil {
			return err
		}
		del, err := sdk.AccAddressFromBech32(d.DelegatorAddress)
		if err != nil {
			return err
		}
		if _, err := app.DistrKeeper.WithdrawDelegationRewards(ctx, del, val); err != nil {
			return fmt.Errorf("withdraw rewards of %s from %s: %w", d.DelegatorAddress, d.ValidatorAddress, err)
		}
	}
	app.DistrKeeper.DeleteAllValidatorSlashEvents(ctx)
	app.DistrKeeper.DeleteAllValidatorHistoricalRewards(ctx)

	// Restart every distribution period at height 0; rounding dust still
	// outstanding goes to the community pool.
	lastHeight := ctx.BlockHeight()
	ctx = ctx.WithBlockHeight(0)
	hooks := app.DistrKeeper.Hooks()
	for _, v := range validators {
		dust, err := app.DistrKeeper.GetValidatorOutstandingRewardsCoins(ctx, v)
		if err != nil {
			return err
		}
		pool, err := app.DistrKeeper.FeePool.Get(ctx)
		if err != nil {
			return err
		}
		pool.CommunityPool = pool.CommunityPool.Add(dust...)
		if err := app.DistrKeeper.FeePool.Set(ctx, pool); err != nil {
			return err
		}
		if err := hooks.AfterValidatorCreated(ctx, v); err != nil {
			return err
		}
	}
	for _, d := range delegations {
		val, _ := sdk.ValAddressFromBech32(d.ValidatorAddress)
		del, _ := sdk.AccAddressFromBech32(d.DelegatorAddress)
		if err := hooks.BeforeDelegationCreated(ctx, del, val); err != nil {
			return err
		}
		if err := hooks.AfterDelegationModified(ctx, del, val); err != nil {
			return err
		}
	}
	ctx = ctx.WithBlockHeight(lastHeight)

	// Staking: every recorded height back to 0.
	var redelegations []stakingtypes.Redelegation
	if err := app.StakingKeeper.IterateRedelegations(ctx, func(_ int64, r stakingtypes.Redelegation) bool {
		redelegations = append(redelegations, r)
		return false
	}); err != nil {
		return err
	}
	for _, r := range redelegations {
		for i := range r.Entries {
			r.Entries[i].CreationHeight = 0
		}
		if err := app.StakingKeeper.SetRedelegation(ctx, r); err != nil {
			return err
		}
	}
	var unbondings []stakingtypes.UnbondingDelegation
	if err := app.StakingKeeper.IterateUnbondingDelegations(ctx, func(_ int64, u stakingtypes.UnbondingDelegation) bool {
		unbondings = append(unbondings, u)
		return false
	}); err != nil {
		return err
	}
	for _, u := range unbondings {
		for i := range u.Entries {
			u.Entries[i].CreationHeight = 0
		}
		if err := app.StakingKeeper.SetUnbondingDelegation(ctx, u); err != nil {
			return err
		}
	}
	for _, addr := range validators {
		v, err := app.StakingKeeper.GetValidator(ctx, addr)
		if err != nil {
			return err
		}
		v.UnbondingHeight = 0
		if len(allowed) > 0 && !allowed[v.OperatorAddress] {
			v.Jailed = true
		}
		if err := app.StakingKeeper.SetValidator(ctx, v); err != nil {
			return err
		}
	}
	if _, err := app.StakingKeeper.ApplyAndReturnValidatorSetUpdates(ctx); err != nil {
		return err
	}

	// Slashing: signing windows restart at 0.
	infos := map[string]slashingtypes.ValidatorSigningInfo{}
	if err := app.SlashingKeeper.IterateValidatorSigningInfos(ctx, func(a sdk.ConsAddress, i slashingtypes.ValidatorSigningInfo) bool {
		infos[string(a)] = i
		return false
	}); err != nil {
		return err
	}
	for addr, info := range infos {
		info.StartHeight = 0
		if err := app.SlashingKeeper.SetValidatorSigningInfo(ctx, sdk.ConsAddress(addr), info); err != nil {
			return err
		}
	}
	return nil
}
