// Package keeper holds the coconut module's state and the logic that changes it:
// credential requests and spends (msg_server.go, request.go, spend.go), the
// record of issuers' partial signatures (issuance.go), issuance in vote
// extensions (voteext.go: signing, checking and recording extensions;
// handlers.go: the ABCI handlers the app wires), queries (grpc_query.go), the
// pruning of old requests and the DKG's end blocker (abci.go), genesis
// (genesis.go), the credential counts (stats.go), the DKG (dkg.go: its state and messages; dkg_abci.go: rounds
// and phases by height; dkg_voteext.go: its messages in vote extensions;
// dkg_handlers.go: the validator's own part, its message and its share of a
// completed round's key) and the epoch beacon (beacon.go: x/mixnet's next
// epoch signed with the key shares in the same vote extensions, recorded at
// the threshold).
//
// Keys are numbered by key id. Genesis sets the first, dealt by a trusted
// dealer (an interim, single-operator set-up); the DKG, fed by the vote
// extensions, sets the next ones, one key id per round, through ActivateKey.
// The issuers' partial signatures arrive per request id through vote
// extensions into RecordPartialSignature. The prepared (fixed-base) form of
// each verification key is built once and kept in memory (keyCache), never
// per transaction.
package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	"cosmossdk.io/core/address"
	"cosmossdk.io/core/store"
	errorsmod "cosmossdk.io/errors"
	"cosmossdk.io/log/v2"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/nyx-privacy/nyx/x/coconut/types"
)

// Keeper is the coconut module's keeper. Its whole state is the collections below.
type Keeper struct {
	cdc          codec.BinaryCodec
	storeService store.KVStoreService
	addressCodec address.Codec
	authKeeper   types.AccountKeeper
	bankKeeper   types.BankKeeper
	authority    string
	keys         *keyCache
	epochs       *epochRef
	validators   *validatorRef

	Schema collections.Schema
	// Params are the module's params.
	Params collections.Item[types.Params]
	// CurrentKeyID is the id of the key that issues now (0: none yet).
	CurrentKeyID collections.Item[uint64]
	// KeySets are the issuing keys, current and retired, by key id.
	KeySets collections.Map[uint64, types.KeySet]
	// CredentialTypes are the rates credentials were issued at, by the type's
	// attribute (32 bytes), so a spend finds its rate from what the show discloses.
	CredentialTypes collections.Map[[]byte, types.CredentialType]
	// NextRequestID hands out request ids.
	NextRequestID collections.Sequence
	// Requests are the credential requests within their retention, by id.
	Requests collections.Map[uint64, types.CredentialRequest]
	// PendingRequests are the ids of requests without threshold partial signatures yet.
	PendingRequests collections.KeySet[uint64]
	// RequestExpiry orders requests by the height they are pruned at.
	RequestExpiry collections.KeySet[collections.Pair[int64, uint64]]
	// PartialSignatures are the issuers' blinded signatures by (request id, signer index).
	PartialSignatures collections.Map[collections.Pair[uint64, uint32], []byte]
	// Spent are the spend tags of redeemed credentials.
	Spent collections.Map[[]byte, types.SpentCredential]
	// Stats are the credential counts per key id (stats.go), StatsTotal
	// their sums.
	Stats      collections.Map[uint64, types.CredentialStats]
	StatsTotal collections.Item[types.CredentialStats]
	// DKG is the state of the distributed key generation (dkg.go).
	DKG DKGState
	// Beacon is the state of the epoch beacon (beacon.go).
	Beacon BeaconState
}

// NewKeeper builds the keeper. authority is the address allowed to change the params
// (normally the gov module account). It panics if the module account is unknown to
// the account keeper, as a wiring error.
func NewKeeper(cdc codec.BinaryCodec, storeService store.KVStoreService, ak types.AccountKeeper, bk types.BankKeeper, authority string) Keeper {
	if ak.GetModuleAddress(types.ModuleName) == nil {
		panic(fmt.Sprintf("the %s module account has not been set", types.ModuleName))
	}
	if _, err := ak.AddressCodec().StringToBytes(authority); err != nil {
		panic(fmt.Sprintf("invalid %s authority address %q: %v", types.ModuleName, authority, err))
	}
	sb := collections.NewSchemaBuilder(storeService)
	k := Keeper{
		cdc:             cdc,
		storeService:    storeService,
		addressCodec:    ak.AddressCodec(),
		authKeeper:      ak,
		bankKeeper:      bk,
		authority:       authority,
		keys:            newKeyCache(),
		epochs:          &epochRef{},
		validators:      &validatorRef{},
		Params:          collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		CurrentKeyID:    collections.NewItem(sb, types.CurrentKeyIDKey, "current_key_id", collections.Uint64Value),
		KeySets:         collections.NewMap(sb, types.KeySetsKey, "key_sets", collections.Uint64Key, codec.CollValue[types.KeySet](cdc)),
		CredentialTypes: collections.NewMap(sb, types.CredentialTypesKey, "credential_types", collections.BytesKey, codec.CollValue[types.CredentialType](cdc)),
		NextRequestID:   collections.NewSequence(sb, types.NextRequestIDKey, "next_request_id"),
		Requests:        collections.NewMap(sb, types.RequestsKey, "requests", collections.Uint64Key, codec.CollValue[types.CredentialRequest](cdc)),
		PendingRequests: collections.NewKeySet(sb, types.PendingRequestsKey, "pending_requests", collections.Uint64Key),
		RequestExpiry: collections.NewKeySet(sb, types.RequestExpiryKey, "request_expiry",
			collections.PairKeyCodec(collections.Int64Key, collections.Uint64Key)),
		PartialSignatures: collections.NewMap(sb, types.PartialSignaturesKey, "partial_signatures",
			collections.PairKeyCodec(collections.Uint64Key, collections.Uint32Key), collections.BytesValue),
		Spent:      collections.NewMap(sb, types.SpentKey, "spent", collections.BytesKey, codec.CollValue[types.SpentCredential](cdc)),
		Stats:      collections.NewMap(sb, types.StatsKey, "stats", collections.Uint64Key, codec.CollValue[types.CredentialStats](cdc)),
		StatsTotal: collections.NewItem(sb, types.StatsTotalKey, "stats_total", codec.CollValue[types.CredentialStats](cdc)),
		DKG:        newDKGState(sb, cdc),
		Beacon:     newBeaconState(sb, cdc),
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

// Logger returns the module's logger.
func (k Keeper) Logger(ctx context.Context) log.Logger {
	return sdk.UnwrapSDKContext(ctx).Logger().With("module", "x/"+types.ModuleName)
}

// ModuleAddress returns the module account's address, which holds the deposits.
func (k Keeper) ModuleAddress() sdk.AccAddress {
	return k.authKeeper.GetModuleAddress(types.ModuleName)
}

func (k Keeper) parseAddress(what, s string) (sdk.AccAddress, error) {
	bz, err := k.addressCodec.StringToBytes(s)
	if err != nil {
		return nil, errorsmod.Wrapf(types.ErrInvalidAddress, "%s address %q: %v", what, s, err)
	}
	return bz, nil
}

// SetParams validates and stores p, and registers the credential type of its rate.
func (k Keeper) SetParams(ctx context.Context, p types.Params) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if err := k.Params.Set(ctx, p); err != nil {
		return err
	}
	ct := p.CurrentCredentialType()
	attr := types.TypeAttribute(ct.Name)
	return k.CredentialTypes.Set(ctx, attr[:], ct)
}

// ActivateKey makes ks the current key from this block on and retires the
// current one, which keeps verifying spends for key_grace_blocks. The DKG calls
// it when a round completes.
func (k Keeper) ActivateKey(ctx context.Context, ks types.KeySet) error {
	height := sdk.UnwrapSDKContext(ctx).BlockHeight()
	cur, err := k.CurrentKeyID.Get(ctx)
	if err != nil {
		return err
	}
	if ks.KeyId <= cur {
		return errorsmod.Wrapf(types.ErrInvalidKey, "key id %d is not above the current %d", ks.KeyId, cur)
	}
	ks.ActivatedHeight, ks.RetiredHeight = height, 0
	if err := ks.Validate(); err != nil {
		return errorsmod.Wrapf(types.ErrInvalidKey, "%v", err)
	}
	if cur != 0 {
		old, err := k.KeySets.Get(ctx, cur)
		if err != nil {
			return err
		}
		old.RetiredHeight = height
		if err := k.KeySets.Set(ctx, cur, old); err != nil {
			return err
		}
	}
	if err := k.KeySets.Set(ctx, ks.KeyId, ks); err != nil {
		return err
	}
	return k.CurrentKeyID.Set(ctx, ks.KeyId)
}

// verifies reports whether spends under ks are accepted at height: it is current,
// or was retired no more than grace blocks ago.
func verifies(ks types.KeySet, height int64, grace uint64) bool {
	return ks.RetiredHeight == 0 || height-ks.RetiredHeight <= int64(grace)
}
