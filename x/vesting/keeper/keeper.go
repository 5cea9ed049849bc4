// Package keeper holds the vesting module's state and the logic that changes it:
// messages (msg_server.go, each calling one keeper method in account.go or
// mixnet.go), queries (grpc_query.go), genesis (genesis.go), the invariant
// (invariants.go) and the x/mixnet hook through which coins come back
// (LockedReturned, mixnet.go). The schedule arithmetic is in types/schedule.go.
package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/core/address"
	"cosmossdk.io/core/store"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/math"
	"github.com/cosmos/gogoproto/proto"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/vesting/types"
)

// Keeper is the vesting module's keeper. Its whole state is the collections below.
type Keeper struct {
	cdc          codec.BinaryCodec
	addressCodec address.Codec
	authKeeper   types.AccountKeeper
	bankKeeper   types.BankKeeper
	mixnetKeeper types.MixnetKeeper
	authority    string
	moduleAddr   sdk.AccAddress

	Schema collections.Schema
	// Params are the module's params.
	Params collections.Item[types.Params]
	// Accounts are the vesting accounts, by owner.
	Accounts collections.Map[sdk.AccAddress, types.VestingAccount]
}

// NewKeeper builds the keeper. authority is the address allowed to change the
// params (normally the gov module account). It panics if the module account is
// unknown to the account keeper, as a wiring error.
func NewKeeper(cdc codec.BinaryCodec, storeService store.KVStoreService, ak types.AccountKeeper, bk types.BankKeeper, mk types.MixnetKeeper, authority string) Keeper {
	addr := ak.GetModuleAddress(types.ModuleName)
	if addr == nil {
		panic(fmt.Sprintf("the %s module account has not been set", types.ModuleName))
	}
	if _, err := ak.AddressCodec().StringToBytes(authority); err != nil {
		panic(fmt.Sprintf("invalid %s authority address %q: %v", types.ModuleName, authority, err))
	}
	sb := collections.NewSchemaBuilder(storeService)
	k := Keeper{
		cdc:          cdc,
		addressCodec: ak.AddressCodec(),
		authKeeper:   ak,
		bankKeeper:   bk,
		mixnetKeeper: mk,
		authority:    authority,
		moduleAddr:   addr,
		Params:       collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		Accounts:     collections.NewMap(sb, types.AccountsKey, "accounts", sdk.AccAddressKey, codec.CollValue[types.VestingAccount](cdc)),
	}
	schema, err := sb.Build()
	if err != nil {
		panic(err)
	}
	k.Schema = schema
	return k
}

// GetAuthority returns the address allowed to change the params.
func (k Keeper) GetAuthority() string { return k.authority }

// ModuleAddress returns the module account's address: it holds the accounts'
// free coins and pays their pledges and delegations.
func (k Keeper) ModuleAddress() sdk.AccAddress { return k.moduleAddr }

func (k Keeper) parseAddress(what, s string) (sdk.AccAddress, error) {
	bz, err := k.addressCodec.StringToBytes(s)
	if err != nil {
		return nil, errorsmod.Wrapf(types.ErrInvalidAddress, "%s address %q: %v", what, s, err)
	}
	return bz, nil
}

// account returns owner's account with a clear error.
func (k Keeper) account(ctx context.Context, owner sdk.AccAddress) (types.VestingAccount, error) {
	a, err := k.Accounts.Get(ctx, owner)
	if errorsmod.IsOf(err, collections.ErrNotFound) {
		return a, errorsmod.Wrapf(types.ErrAccountNotFound, "%s has no vesting account", owner)
	}
	return a, err
}

// blockTime is the current block's time in unix seconds: the clock of every
// schedule.
func blockTime(ctx context.Context) int64 { return sdk.UnwrapSDKContext(ctx).BlockTime().Unix() }

func emit(ctx context.Context, ev proto.Message) error {
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(ev)
}

func coin(amount math.Int) sdk.Coin { return sdk.NewCoin(types.Denom, amount) }
