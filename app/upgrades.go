package app

import (
	"context"
	"fmt"

	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	"github.com/cosmos/cosmos-sdk/types/module"
	upgradetypes "github.com/cosmos/cosmos-sdk/x/upgrade/types"
)

// Upgrade is one named software upgrade: the migration that runs at the
// upgrade height and the stores it adds, renames or deletes.
type Upgrade struct {
	Name          string
	StoreUpgrades storetypes.StoreUpgrades
	// Handler runs at the upgrade height; nil runs the modules' registered
	// migrations and nothing else.
	Handler func(ctx context.Context, app *NyxApp, plan upgradetypes.Plan, from module.VersionMap) (module.VersionMap, error)
}

// Upgrades lists every upgrade this binary knows. None yet: the first
// network launches from this version.
var Upgrades []Upgrade

func (app *NyxApp) registerUpgradeHandlers() {
	for _, u := range Upgrades {
		u := u
		app.UpgradeKeeper.SetUpgradeHandler(u.Name, func(ctx context.Context, plan upgradetypes.Plan, from module.VersionMap) (module.VersionMap, error) {
			if u.Handler != nil {
				return u.Handler(ctx, app, plan, from)
			}
			return app.ModuleManager.RunMigrations(ctx, app.configurator, from)
		})
	}

	info, err := app.UpgradeKeeper.ReadUpgradeInfoFromDisk()
	if err != nil {
		panic(fmt.Errorf("read upgrade info from disk: %w", err))
	}
	if info.Name == "" || app.UpgradeKeeper.IsSkipHeight(info.Height) {
		return
	}
	for _, u := range Upgrades {
		if u.Name == info.Name {
			app.SetStoreLoader(upgradetypes.UpgradeStoreLoader(info.Height, &u.StoreUpgrades))
			return
		}
	}
}
