package clientcred

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	cmtservice "github.com/cosmos/cosmos-sdk/client/grpc/cmtservice"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"google.golang.org/grpc"

	"github.com/nyx-privacy/nyx/coconut"
	"github.com/nyx-privacy/nyx/sidecar/chaintx"
	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
)

// ChainID asks the node behind conn for its chain id.
func ChainID(ctx context.Context, conn grpc.ClientConnInterface) (string, error) {
	info, err := cmtservice.NewServiceClient(conn).GetNodeInfo(ctx, &cmtservice.GetNodeInfoRequest{})
	if err != nil {
		return "", fmt.Errorf("ask the node for its chain id: %w", err)
	}
	if info.DefaultNodeInfo == nil || info.DefaultNodeInfo.Network == "" {
		return "", errors.New("the node did not say its chain id")
	}
	return info.DefaultNodeInfo.Network, nil
}

// Buy buys a credential for deposit (e.g. "1000000unym"): it makes a blind
// request for the value the chain gives that deposit now, keeps its
// secrets on disk (so a paid deposit is never lost to a crash), pays with
// signer (MsgRequestCredential), waits until the validators have signed it
// and assembles, verifies and stores the credential. It returns the record
// once it is durable.
func (w *Wallet) Buy(ctx context.Context, conn grpc.ClientConnInterface, signer *chaintx.Signer, chainID, deposit string) (*Record, error) {
	coin, err := sdk.ParseCoinNormalized(deposit)
	if err != nil {
		return nil, fmt.Errorf("deposit %q: %w", deposit, err)
	}
	if coin.Denom != coconuttypes.Denom || !coin.Amount.IsUint64() || coin.Amount.IsZero() {
		return nil, fmt.Errorf("deposit %s: must be a positive amount of %s", coin, coconuttypes.Denom)
	}
	q := coconuttypes.NewQueryClient(conn)
	params, err := q.Params(ctx, &coconuttypes.QueryParamsRequest{})
	if err != nil {
		return nil, fmt.Errorf("read the chain's credential params: %w", err)
	}
	p := params.Params
	if coin.IsLT(p.MinDeposit) || p.MaxDeposit.IsLT(coin) {
		return nil, fmt.Errorf("deposit %s: the chain takes %s to %s", coin, p.MinDeposit, p.MaxDeposit)
	}
	rate := p.BytesPerUnym
	value := coin.Amount.Uint64() * rate
	if value/rate != coin.Amount.Uint64() {
		return nil, fmt.Errorf("deposit %s: value overflows", coin)
	}
	typ := coconuttypes.CredentialTypeName(rate)
	v, err := coconut.NewBandwidthVoucher(rand.Reader, Binding(w.identity), value, typ)
	if err != nil {
		return nil, err
	}
	req, sec, err := coconut.PrepareBlindSign(rand.Reader, coconuttypes.CredentialParams(), v.Private(), v.Public())
	if err != nil {
		return nil, err
	}
	reqBz, err := req.MarshalBinary()
	if err != nil {
		return nil, err
	}
	secBz, err := sec.MarshalBinary()
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	rec := &Record{Version: 1, State: StatePending, ChainID: chainID, Value: value, Type: typ, Deposit: coin.String(),
		Secrets: hex.EncodeToString(secBz), Created: now,
		name: fmt.Sprintf("%s-%x", now.Format("20060102T150405.000"), sha256.Sum256(reqBz))[:len("20060102T150405.000")+1+16] + ".json"}
	if err := w.save(rec); err != nil {
		return nil, err
	}
	res, err := signer.Submit(ctx, &coconuttypes.MsgRequestCredential{Sender: signer.Address(), BlindSignRequest: reqBz,
		Value: value, CredentialType: typ, Deposit: coin})
	if err != nil {
		var txErr *chaintx.TxError
		if errors.As(err, &txErr) || errors.Is(err, chaintx.ErrUnfunded) {
			// Refused: no deposit was taken.
			_ = w.remove(rec.name)
		}
		return nil, fmt.Errorf("request a credential: %w", err)
	}
	id, err := requestID(res)
	if err != nil {
		return nil, err
	}
	rec.RequestID = id
	if err := w.save(rec); err != nil {
		return nil, err
	}
	return w.Resume(ctx, conn, rec)
}

// requestID reads the request id from the deposit's event.
func requestID(res *sdk.TxResponse) (uint64, error) {
	for _, ev := range res.Events {
		if !strings.HasSuffix(ev.Type, "EventCredentialRequested") {
			continue
		}
		for _, a := range ev.Attributes {
			if a.Key == "request_id" {
				return strconv.ParseUint(strings.Trim(a.Value, `"`), 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("tx %s: no request id in its events", res.TxHash)
}

// Resume waits for a pending request's partial signatures, assembles and
// verifies the credential and stores it ready.
func (w *Wallet) Resume(ctx context.Context, conn grpc.ClientConnInterface, rec *Record) (*Record, error) {
	if rec.State != StatePending || rec.RequestID == 0 {
		return nil, fmt.Errorf("credential %s is not a pending request", rec.name)
	}
	sec, err := rec.secrets()
	if err != nil {
		return nil, err
	}
	q := coconuttypes.NewQueryClient(conn)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		r, err := q.Request(ctx, &coconuttypes.QueryRequestRequest{RequestId: rec.RequestID})
		if err == nil && r.Request.Status == coconuttypes.REQUEST_STATUS_ISSUED {
			key, err := q.VerificationKey(ctx, &coconuttypes.QueryVerificationKeyRequest{KeyId: r.Request.KeyId})
			if err != nil {
				return nil, fmt.Errorf("read key %d: %w", r.Request.KeyId, err)
			}
			cred, _, err := coconuttypes.AssembleCredential(&key.KeySet, r.PartialSignatures, sec)
			if err != nil {
				return nil, fmt.Errorf("assemble credential %d: %w", rec.RequestID, err)
			}
			sig, err := cred.MarshalBinary()
			if err != nil {
				return nil, err
			}
			rec.State, rec.KeyID = StateReady, key.KeySet.KeyId
			rec.Signature, rec.MasterKey = hex.EncodeToString(sig), hex.EncodeToString(key.KeySet.MasterKey)
			if err := w.save(rec); err != nil {
				return nil, err
			}
			return rec, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("credential request %d not issued yet (run again to resume): %w", rec.RequestID, ctx.Err())
		case <-tick.C:
		}
	}
}
