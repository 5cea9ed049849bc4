package requester

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cosmos/cosmos-sdk/types/query"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	"github.com/nyx-privacy/nyx/sidecar/client"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// Kind is what a requester announces itself as in the chain's service
// directory, and what SOCKS5 clients look for.
const Kind = mixnettypes.ServiceKindNetworkRequester

// maxDirectoryPages bounds a walk of the directory (100 entries a page): a
// chain that lists more requesters than this is not read to the end.
const maxDirectoryPages = 1000

// FindAnnounced looks addr up in the chain's service directory and returns
// its entry, or false if it is not listed.
func FindAnnounced(ctx context.Context, q mixnettypes.QueryClient, addr client.Address) (mixnettypes.Service, bool, error) {
	resp, err := q.ServiceByAddress(ctx, &mixnettypes.QueryServiceByAddressRequest{NymAddress: addr.String()})
	if status.Code(err) == codes.NotFound {
		return mixnettypes.Service{}, false, nil
	}
	if err != nil {
		return mixnettypes.Service{}, false, fmt.Errorf("read the service directory: %w", err)
	}
	return resp.Service, true, nil
}

// WalkServices calls fn on every service of kind in the chain's directory,
// in id order, until fn returns false.
func WalkServices(ctx context.Context, q mixnettypes.QueryClient, kind string, fn func(mixnettypes.Service) bool) error {
	var key []byte
	for range maxDirectoryPages {
		resp, err := q.Services(ctx, &mixnettypes.QueryServicesRequest{Kind: kind, Pagination: &query.PageRequest{Key: key, Limit: 100}})
		if err != nil {
			return fmt.Errorf("read the service directory: %w", err)
		}
		for _, s := range resp.Services {
			if !fn(s) {
				return nil
			}
		}
		if resp.Pagination == nil || len(resp.Pagination.NextKey) == 0 {
			return nil
		}
		key = resp.Pagination.NextKey
	}
	return nil
}

// Announce lists addr in the chain's service directory as a network
// requester, paid by signer's account (the service_deposit param, returned
// by Withdraw), and returns its service id. keys are the client's whose
// address addr is: its identity key signs the announcement, as the chain
// requires. An address listed already is not announced again: its entry's
// id comes back with existing set (only the holder of keys can have listed
// it).
func Announce(ctx context.Context, conn grpc.ClientConnInterface, signer *chaintx.Signer, keys *client.Keys, addr client.Address, description string) (id uint64, existing bool, err error) {
	if keys.IdentityPublic() != addr.Identity {
		return 0, false, fmt.Errorf("announce %s: the keys given are not that address's", addr)
	}
	q := mixnettypes.NewQueryClient(conn)
	if s, ok, err := FindAnnounced(ctx, q, addr); err != nil {
		return 0, false, err
	} else if ok {
		return s.ServiceId, true, nil
	}
	msg := &mixnettypes.MsgAnnounceService{Announcer: signer.Address(), Kind: Kind, NymAddress: addr.String(), Description: description}
	msg.SignService(signer.ChainID(), keys.Identity)
	if err := msg.ValidateBasic(); err != nil {
		return 0, false, err
	}
	if _, err := signer.Submit(ctx, msg); err != nil {
		return 0, false, fmt.Errorf("announce %s: %w", addr, err)
	}
	s, ok, err := FindAnnounced(ctx, q, addr)
	if err != nil {
		return 0, false, err
	}
	if !ok {
		return 0, false, fmt.Errorf("announce %s: the transaction landed but the directory does not list it", addr)
	}
	return s.ServiceId, false, nil
}

// Withdraw removes service id (announced by signer's account) from the
// directory; the chain returns its deposit to that account.
func Withdraw(ctx context.Context, signer *chaintx.Signer, id uint64) error {
	if _, err := signer.Submit(ctx, &mixnettypes.MsgWithdrawService{Announcer: signer.Address(), ServiceId: id}); err != nil {
		return fmt.Errorf("withdraw service %d: %w", id, err)
	}
	return nil
}

// announceRetry bounds the wait between attempts of announceUntil.
var announceRetry = struct{ first, max time.Duration }{10 * time.Second, 5 * time.Minute}

// announceUntil announces addr (Announce) until it is listed or ctx ends,
// waiting longer after each failure: an account that is funded late, or a
// chain that is down for a while, still ends with the requester listed.
func announceUntil(ctx context.Context, conn grpc.ClientConnInterface, signer func() (*chaintx.Signer, error), keys *client.Keys, addr client.Address, description string, log *slog.Logger, announced func(uint64)) {
	wait := announceRetry.first
	for {
		s, err := signer()
		var id uint64
		var existing bool
		if err == nil {
			id, existing, err = Announce(ctx, conn, s, keys, addr, description)
		}
		if err == nil {
			if existing {
				log.Info("network requester already in the service directory", "service_id", id)
			} else {
				log.Info("network requester announced in the service directory", "service_id", id, "announcer", s.Address())
			}
			if announced != nil {
				announced(id)
			}
			return
		}
		if ctx.Err() != nil {
			return
		}
		hint := ""
		if errors.Is(err, chaintx.ErrUnfunded) {
			hint = "fund the account (nym-network-requester chain-address): announcing takes the service_deposit param"
		}
		log.Warn("could not announce the network requester; retrying", "err", err, "retry_in", wait.String(), "hint", hint)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, announceRetry.max)
	}
}
