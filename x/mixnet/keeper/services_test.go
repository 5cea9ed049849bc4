package keeper_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/query"

	"github.com/nyx-privacy/nyx/x/mixnet/types"
)

// clientKey is client's identity key.
func clientKey(client int) ed25519.PrivateKey {
	seed := sha256.Sum256(fmt.Appendf(nil, "client-identity-%d", client))
	return ed25519.NewKeyFromSeed(seed[:])
}

// nymAddress is a valid client address at the gateway node i (bonded or not).
func nymAddress(client, gatewayNode int) string {
	var a types.NymAddress
	copy(a.Identity[:], clientKey(client).Public().(ed25519.PublicKey))
	copy(a.Encryption[:], sphinxKey(1000+client, 0))
	copy(a.Gateway[:], nodeKey(gatewayNode).Public().(ed25519.PublicKey))
	return a.String()
}

// serviceMsg is an announcement of client's address at gatewayNode signed by
// the client's identity key.
func (f *fixture) serviceMsg(announcer sdk.AccAddress, kind string, client, gatewayNode int, desc string) *types.MsgAnnounceService {
	m := &types.MsgAnnounceService{Announcer: f.addr(announcer), Kind: kind, NymAddress: nymAddress(client, gatewayNode), Description: desc}
	m.SignService(testChainID, clientKey(client))
	return m
}

func (f *fixture) announce(announcer sdk.AccAddress, kind string, client, gatewayNode int) (uint64, error) {
	resp, err := f.msg.AnnounceService(f.ctx, f.serviceMsg(announcer, kind, client, gatewayNode, "exit in the test"))
	if err != nil {
		return 0, err
	}
	return resp.ServiceId, nil
}

func TestServiceAnnounceAndWithdraw(t *testing.T) {
	f := newFixture(t, 0)
	gw := f.bond(1, 5_000)
	deposit := int64(types.DefaultServiceDeposit)
	alice := f.account("alice", deposit+7)
	module := f.balance(f.k.ModuleAddress())

	id, err := f.announce(alice, types.ServiceKindNetworkRequester, 1, 1)
	require.NoError(t, err)
	require.Equal(t, uint64(1), id)
	require.Equal(t, math.NewInt(7), f.balance(alice), "the deposit is taken")
	require.Equal(t, module.AddRaw(deposit), f.balance(f.k.ModuleAddress()))
	f.checkInvariants()

	got, err := f.q.Service(f.ctx, &types.QueryServiceRequest{ServiceId: id})
	require.NoError(t, err)
	require.Equal(t, types.Service{ServiceId: 1, Announcer: f.addr(alice), Kind: types.ServiceKindNetworkRequester,
		NymAddress: nymAddress(1, 1), Description: "exit in the test", Deposit: coin(deposit), BlockHeight: f.ctx.BlockHeight()}, got.Service)

	// A raise of the deposit later does not change what this service returns.
	p, err := f.k.Params.Get(f.ctx)
	require.NoError(t, err)
	p.ServiceDeposit = coin(deposit * 2)
	_, err = f.msg.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.authority, Params: p})
	require.NoError(t, err)

	// Only its announcer withdraws it.
	bob := f.account("bob", 0)
	before := f.storeDump()
	_, err = f.msg.WithdrawService(f.ctx, &types.MsgWithdrawService{Announcer: f.addr(bob), ServiceId: id})
	require.ErrorIs(t, err, types.ErrNotAnnouncer)
	require.Equal(t, before, f.storeDump())

	resp, err := f.msg.WithdrawService(f.ctx, &types.MsgWithdrawService{Announcer: f.addr(alice), ServiceId: id})
	require.NoError(t, err)
	require.Equal(t, coin(deposit), resp.Deposit)
	require.Equal(t, math.NewInt(deposit+7), f.balance(alice))
	require.Equal(t, module, f.balance(f.k.ModuleAddress()))
	f.checkInvariants()
	_, err = f.q.Service(f.ctx, &types.QueryServiceRequest{ServiceId: id})
	require.ErrorContains(t, err, "not found")

	// The address is free again; the new entry gets a new id.
	f.mint(alice, deposit*2)
	id2, err := f.announce(alice, types.ServiceKindNetworkRequester, 1, 1)
	require.NoError(t, err)
	require.Equal(t, uint64(2), id2)
	_ = gw
}

// Every refused announcement or withdrawal changes nothing: no coins move, no
// entry or index is written.
func TestServiceRejections(t *testing.T) {
	f := newFixture(t, 0)
	f.bond(1, 5_000)
	leaving := f.bond(2, 5_000)
	_, err := f.msg.UnbondNode(f.ctx, &types.MsgUnbondNode{Owner: f.addr(leaving.owner)})
	require.NoError(t, err)
	deposit := int64(types.DefaultServiceDeposit)
	rich := f.account("rich", deposit*100)
	poor := f.account("poor", deposit-1)
	taken, err := f.announce(rich, "network-requester", 1, 1)
	require.NoError(t, err)

	// An account at the bound.
	p, err := f.k.Params.Get(f.ctx)
	require.NoError(t, err)
	full := f.account("full", deposit*int64(p.MaxServicesPerAnnouncer+1))
	for i := range int(p.MaxServicesPerAnnouncer) {
		_, err := f.announce(full, "network-requester", 100+i, 1)
		require.NoError(t, err)
	}
	f.checkInvariants()

	good := nymAddress(2, 1)
	enc := strings.Split(strings.Split(good, "@")[0], ".")
	lowOrder := types.NymAddress{}
	copy(lowOrder.Gateway[:], nodeKey(1).Public().(ed25519.PublicKey))
	lowOrder.Encryption[0] = 1 // u = 1: of low order
	owners := map[string]int{}
	for c := range 4 {
		for _, g := range []int{1, 2, 9} {
			owners[nymAddress(c, g)] = c
		}
	}
	// ms is an announcement signed by its address's key where the test
	// knows it (the others are refused before their signature is checked).
	ms := func(a sdk.AccAddress, kind, addr, desc string) *types.MsgAnnounceService {
		m := &types.MsgAnnounceService{Announcer: f.addr(a), Kind: kind, NymAddress: addr, Description: desc}
		m.SignService(testChainID, clientKey(owners[addr]))
		return m
	}
	resigned := func(m *types.MsgAnnounceService, change func(*types.MsgAnnounceService)) *types.MsgAnnounceService {
		change(m)
		return m
	}
	cases := []struct {
		name string
		msg  *types.MsgAnnounceService
		want error
	}{
		{"empty kind", ms(rich, "", good, ""), types.ErrInvalidService},
		{"kind in capitals", ms(rich, "Network-Requester", good, ""), types.ErrInvalidService},
		{"kind too long", ms(rich, strings.Repeat("a", types.MaxServiceKindLength+1), good, ""), types.ErrInvalidService},
		{"empty address", ms(rich, "network-requester", "", ""), types.ErrInvalidService},
		{"no gateway", ms(rich, "network-requester", enc[0]+"."+enc[1], ""), types.ErrInvalidService},
		{"no dot", ms(rich, "network-requester", enc[0]+"@"+strings.Split(good, "@")[1], ""), types.ErrInvalidService},
		{"not base58", ms(rich, "network-requester", "0OIl"+good[4:], ""), types.ErrInvalidService},
		{"not canonical", ms(rich, "network-requester", "1"+good, ""), types.ErrInvalidService},
		{"low-order encryption key", ms(rich, "network-requester", lowOrder.String(), ""), types.ErrInvalidService},
		{"address too long", ms(rich, "network-requester", good+strings.Repeat("z", 200), ""), types.ErrInvalidService},
		{"gateway not bonded", ms(rich, "network-requester", nymAddress(3, 9), ""), types.ErrInvalidService},
		{"gateway unbonding", ms(rich, "network-requester", nymAddress(3, 2), ""), types.ErrInvalidService},
		{"description too long", ms(rich, "network-requester", good, strings.Repeat("x", types.MaxServiceDescriptionLength+1)), types.ErrInvalidService},
		{"description with escape", ms(rich, "network-requester", good, "exit \x1b[2J"), types.ErrInvalidService},
		{"description not UTF-8", ms(rich, "network-requester", good, "\xff"), types.ErrInvalidService},
		{"address already listed", ms(rich, "socks5", nymAddress(1, 1), ""), types.ErrDuplicateService},
		{"deposit not affordable", ms(poor, "network-requester", good, ""), nil},
		{"announcer at the bound", ms(full, "network-requester", good, ""), types.ErrTooManyServices},
		{"bad announcer", resigned(ms(rich, "network-requester", good, ""), func(m *types.MsgAnnounceService) {
			m.Announcer = "n1notanaddress"
		}), types.ErrInvalidAddress},
		{"no identity signature", &types.MsgAnnounceService{Announcer: f.addr(rich), Kind: "network-requester", NymAddress: good}, types.ErrInvalidSignature},
		{"signed by another client's key (squatting)", resigned(ms(rich, "network-requester", good, ""), func(m *types.MsgAnnounceService) {
			m.SignService(testChainID, clientKey(3))
		}), types.ErrInvalidSignature},
		{"signed for another announcer", resigned(ms(poor, "network-requester", good, ""), func(m *types.MsgAnnounceService) {
			m.Announcer = f.addr(rich)
		}), types.ErrInvalidSignature},
		{"signed for another chain", resigned(ms(rich, "network-requester", good, ""), func(m *types.MsgAnnounceService) {
			m.SignService("nyx-other-1", clientKey(2))
		}), types.ErrInvalidSignature},
		{"kind changed after signing", resigned(ms(rich, "network-requester", good, ""), func(m *types.MsgAnnounceService) {
			m.Kind = "socks5"
		}), types.ErrInvalidSignature},
		{"description changed after signing", resigned(ms(rich, "network-requester", good, "fast exit"), func(m *types.MsgAnnounceService) {
			m.Description = "slow exit"
		}), types.ErrInvalidSignature},
		{"signature of the wrong size", resigned(ms(rich, "network-requester", good, ""), func(m *types.MsgAnnounceService) {
			m.IdentitySignature = m.IdentitySignature[:63]
		}), types.ErrInvalidSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := f.storeDump()
			balances := []math.Int{f.balance(rich), f.balance(poor), f.balance(full), f.balance(f.k.ModuleAddress())}
			_, err := f.msg.AnnounceService(f.ctx, tc.msg)
			require.Error(t, err)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
			} else {
				require.ErrorContains(t, err, "insufficient funds")
			}
			require.Equal(t, before, f.storeDump())
			require.Equal(t, balances, []math.Int{f.balance(rich), f.balance(poor), f.balance(full), f.balance(f.k.ModuleAddress())})
		})
	}
	withdrawals := []struct {
		name string
		msg  *types.MsgWithdrawService
		want error
	}{
		{"id 0", &types.MsgWithdrawService{Announcer: f.addr(rich), ServiceId: 0}, types.ErrServiceNotFound},
		{"unknown id", &types.MsgWithdrawService{Announcer: f.addr(rich), ServiceId: 999}, types.ErrServiceNotFound},
		{"someone else's", &types.MsgWithdrawService{Announcer: f.addr(full), ServiceId: taken}, types.ErrNotAnnouncer},
		{"bad announcer", &types.MsgWithdrawService{Announcer: "n1notanaddress", ServiceId: taken}, types.ErrInvalidAddress},
	}
	for _, tc := range withdrawals {
		t.Run("withdraw "+tc.name, func(t *testing.T) {
			before := f.storeDump()
			balances := []math.Int{f.balance(rich), f.balance(full), f.balance(f.k.ModuleAddress())}
			_, err := f.msg.WithdrawService(f.ctx, tc.msg)
			require.ErrorIs(t, err, tc.want)
			require.Equal(t, before, f.storeDump())
			require.Equal(t, balances, []math.Int{f.balance(rich), f.balance(full), f.balance(f.k.ModuleAddress())})
		})
	}
	f.checkInvariants()
}

func TestServicesQuery(t *testing.T) {
	f := newFixture(t, 0)
	f.bond(1, 5_000)
	a := f.account("a", int64(types.DefaultServiceDeposit)*10)
	var requesters []uint64
	for i := range 5 {
		kind := "network-requester"
		if i%2 == 1 {
			kind = "chat"
		}
		id, err := f.announce(a, kind, i, 1)
		require.NoError(t, err)
		if kind == "network-requester" {
			requesters = append(requesters, id)
		}
	}
	all, err := f.q.Services(f.ctx, &types.QueryServicesRequest{})
	require.NoError(t, err)
	require.Len(t, all.Services, 5)

	// By kind, two to a page.
	var got []uint64
	var key []byte
	for {
		resp, err := f.q.Services(f.ctx, &types.QueryServicesRequest{Kind: "network-requester", Pagination: &query.PageRequest{Key: key, Limit: 2}})
		require.NoError(t, err)
		for _, s := range resp.Services {
			require.Equal(t, "network-requester", s.Kind)
			got = append(got, s.ServiceId)
		}
		if key = resp.Pagination.NextKey; key == nil {
			break
		}
	}
	require.Equal(t, requesters, got)

	none, err := f.q.Services(f.ctx, &types.QueryServicesRequest{Kind: "nothing"})
	require.NoError(t, err)
	require.Empty(t, none.Services)
	_, err = f.q.Services(f.ctx, &types.QueryServicesRequest{Kind: "Bad Kind"})
	require.ErrorContains(t, err, "kind")

	// By address.
	one, err := f.q.ServiceByAddress(f.ctx, &types.QueryServiceByAddressRequest{NymAddress: nymAddress(2, 1)})
	require.NoError(t, err)
	require.Equal(t, requesters[1], one.Service.ServiceId)
	require.Equal(t, nymAddress(2, 1), one.Service.NymAddress)
	_, err = f.q.ServiceByAddress(f.ctx, &types.QueryServiceByAddressRequest{NymAddress: nymAddress(7, 1)})
	require.ErrorContains(t, err, "no service at")
	_, err = f.q.ServiceByAddress(f.ctx, &types.QueryServiceByAddressRequest{NymAddress: strings.Repeat("x", 1000)})
	require.ErrorContains(t, err, "longer than")
}

func TestServicesGenesisRoundTrip(t *testing.T) {
	f := newFixture(t, 0)
	f.bond(1, 5_000)
	a := f.account("a", int64(types.DefaultServiceDeposit)*3)
	for i := range 3 {
		_, err := f.announce(a, "network-requester", i, 1)
		require.NoError(t, err)
	}
	_, err := f.msg.WithdrawService(f.ctx, &types.MsgWithdrawService{Announcer: f.addr(a), ServiceId: 2})
	require.NoError(t, err)

	exported, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.NoError(t, exported.Validate())
	require.Len(t, exported.Services, 2)
	require.Equal(t, uint64(4), exported.NextServiceId)

	g := newFixture(t, f.balance(f.k.ModuleAddress()).Int64(), func(_ *fixture, gs *types.GenesisState) { *gs = *exported })
	reexported, err := g.k.ExportGenesis(g.ctx)
	require.NoError(t, err)
	require.Equal(t, exported, reexported)
	g.checkInvariants()
	// The derived indexes are rebuilt: the address is still taken, the kind lists
	// both, and the next id follows.
	_, err = g.announce(g.account("b", int64(types.DefaultServiceDeposit)), "network-requester", 0, 1)
	require.ErrorIs(t, err, types.ErrDuplicateService)
	byKind, err := g.q.Services(g.ctx, &types.QueryServicesRequest{Kind: "network-requester"})
	require.NoError(t, err)
	require.Len(t, byKind.Services, 2)
	id, err := g.announce(g.account("c", int64(types.DefaultServiceDeposit)), "network-requester", 7, 1)
	require.NoError(t, err)
	require.Equal(t, uint64(4), id)
	g.checkInvariants()

	// The deposits count in the module's funds: a genesis whose module account
	// lacks them is refused.
	h := newFixture(t, 1)
	require.ErrorContains(t, h.k.InitGenesis(h.ctx, exported), "the module account holds 1unym but the state owes")
	bad := *exported
	bad.Services = append([]types.Service{}, exported.Services...)
	bad.Services[1].NymAddress = bad.Services[0].NymAddress
	require.ErrorContains(t, bad.Validate(), "listed twice")
	bad.Services = append([]types.Service{}, exported.Services...)
	bad.Services[0].ServiceId = 9
	require.ErrorContains(t, bad.Validate(), "next_service_id")
}
