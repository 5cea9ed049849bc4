package explorer

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"cosmossdk.io/math"
	"github.com/cosmos/cosmos-sdk/client/grpc/cmtservice"
	grpctypes "github.com/cosmos/cosmos-sdk/types/grpc"
	"github.com/cosmos/cosmos-sdk/types/query"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	coconuttypes "github.com/nyx-privacy/nyx/x/coconut/types"
	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// keysShown is how many of the latest issuing keys the overview lists.
const keysShown = 10

// Sample is one node's figures at the end of an epoch the explorer watched.
type Sample struct {
	Epoch       uint64
	Performance string
	// Reward is what the node earned (operator and delegators) between the
	// previous sample and this one, in unym; empty for the first sample.
	Reward string
	earned math.Int
}

// Source reads the chain over gRPC and keeps the last good Snapshot, the
// error of the last refresh, and each node's recent history.
type Source struct {
	conn    *grpc.ClientConn
	mixnet  mixnettypes.QueryClient
	coconut coconuttypes.QueryClient
	blocks  cmtservice.ServiceClient
	cfg     Config
	log     *slog.Logger

	mu      sync.Mutex
	snap    *Snapshot
	err     error
	errAt   time.Time
	history map[uint64][]Sample
}

// NewSource reads the chain through conn.
func NewSource(conn *grpc.ClientConn, cfg Config) *Source {
	cfg = cfg.withDefaults()
	cc := gogoConn{conn}
	return &Source{
		conn: conn, cfg: cfg, log: cfg.Logger,
		mixnet: mixnettypes.NewQueryClient(cc), coconut: coconuttypes.NewQueryClient(cc),
		blocks:  cmtservice.NewServiceClient(cc),
		history: map[uint64][]Sample{},
	}
}

// Current returns the last good snapshot (nil before the first) and the
// error of the last refresh (nil if it succeeded) with its time.
func (s *Source) Current() (*Snapshot, error, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap, s.err, s.errAt
}

// History returns a node's samples, oldest first.
func (s *Source) History(id uint64) []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sample(nil), s.history[id]...)
}

// Run refreshes until ctx ends: every Refresh, and soon after the epoch is
// due to end so the countdown and roles turn over promptly.
func (s *Source) Run(ctx context.Context) {
	for {
		wait := s.cfg.Refresh
		if err := s.Refresh(ctx); err != nil {
			s.log.Warn("chain unreachable", "err", err)
		} else if snap, _, _ := s.Current(); snap != nil {
			if d := time.Until(snap.Epoch.End) + 500*time.Millisecond; d > 0 && d < wait {
				wait = d
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// Refresh reads the chain once and replaces the snapshot.
func (s *Source) Refresh(ctx context.Context) error {
	snap, err := s.read(ctx)
	s.cfg.Metrics.refreshed(snap, err)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.err, s.errAt = err, time.Now()
		return err
	}
	s.err = nil
	if prev := s.snap; prev == nil || prev.Epoch.EpochId != snap.Epoch.EpochId {
		s.record(snap)
	}
	s.snap = snap
	return nil
}

func (s *Source) read(ctx context.Context) (*Snapshot, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	var md metadata.MD
	topo, err := s.mixnet.Topology(ctx, &mixnettypes.QueryTopologyRequest{}, grpc.Header(&md))
	if err != nil {
		return nil, fmt.Errorf("query topology: %w", err)
	}
	// Every later query reads the state the topology came from, so a
	// snapshot is one block's: roles, nodes, pool and counts agree, and
	// anyone can check a page against the chain at the height it shows.
	height, ctx := pin(ctx, md)
	roles := make(map[uint64]mixnettypes.Role, len(topo.Nodes))
	for _, n := range topo.Nodes {
		roles[n.NodeId] = n.Role
	}
	var nodes []mixnettypes.Node
	var key []byte
	for {
		resp, err := s.mixnet.Nodes(ctx, &mixnettypes.QueryNodesRequest{Pagination: &query.PageRequest{Key: key, Limit: 500}})
		if err != nil {
			return nil, fmt.Errorf("query nodes: %w", err)
		}
		nodes = append(nodes, resp.Nodes...)
		if resp.Pagination == nil || len(resp.Pagination.NextKey) == 0 {
			break
		}
		if len(nodes) > s.cfg.MaxNodes {
			return nil, fmt.Errorf("query nodes: more than %d bonded nodes", s.cfg.MaxNodes)
		}
		key = resp.Pagination.NextKey
	}
	pool, err := s.mixnet.RewardPool(ctx, &mixnettypes.QueryRewardPoolRequest{})
	if err != nil {
		return nil, fmt.Errorf("query reward pool: %w", err)
	}
	snap := BuildSnapshot(topo.Epoch, nodes, roles, pool)
	snap.Fetched = time.Now()
	snap.Height = height
	if height == 0 {
		block, err := s.blocks.GetLatestBlock(ctx, &cmtservice.GetLatestBlockRequest{})
		if err != nil {
			return nil, fmt.Errorf("query latest block: %w", err)
		}
		if block.SdkBlock != nil {
			snap.Height = block.SdkBlock.Header.Height
		} else if block.Block != nil {
			snap.Height = block.Block.Header.Height
		}
	}
	// Credential counts are best effort: a chain without x/coconut's counts
	// still shows its network.
	snap.Credentials = s.credentials(ctx)
	return snap, nil
}

// pin returns the height a query's answer was read at (from the header the
// chain's gRPC server sets; 0 if there is none) and ctx with that height
// asked of every later query.
func pin(ctx context.Context, md metadata.MD) (int64, context.Context) {
	v := md.Get(grpctypes.GRPCBlockHeightHeader)
	if len(v) != 1 {
		return 0, ctx
	}
	h, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil || h <= 0 {
		return 0, ctx
	}
	return h, metadata.AppendToOutgoingContext(ctx, grpctypes.GRPCBlockHeightHeader, v[0])
}

// record adds a sample per node for the epoch snap begins; called with s.mu held.
func (s *Source) record(snap *Snapshot) {
	seen := make(map[uint64]bool, len(snap.Nodes))
	for _, n := range snap.Nodes {
		seen[n.ID] = true
		earned := math.ZeroInt()
		if v, ok := math.NewIntFromString(n.OperatorReward); ok {
			earned = v
		}
		if v, ok := math.NewIntFromString(n.DelegatorPool); ok {
			earned = earned.Add(v)
		}
		h := s.history[n.ID]
		sm := Sample{Epoch: snap.Epoch.EpochId, Performance: n.Performance, earned: earned}
		if len(h) > 0 {
			// A withdrawal lowers the accumulators; the reward is then unknown.
			if d := earned.Sub(h[len(h)-1].earned); !d.IsNegative() {
				sm.Reward = d.String()
			}
		}
		h = append(h, sm)
		if len(h) > s.cfg.HistoryEpochs {
			h = append(h[:0], h[len(h)-s.cfg.HistoryEpochs:]...)
		}
		s.history[n.ID] = h
	}
	for id := range s.history {
		if !seen[id] {
			delete(s.history, id)
		}
	}
}

// credentials reads x/coconut's counts, the current key and the DKG round.
func (s *Source) credentials(ctx context.Context) CredentialStats {
	var c CredentialStats
	if vk, err := s.coconut.VerificationKey(ctx, &coconuttypes.QueryVerificationKeyRequest{}); err == nil {
		c.KeyID = vk.KeySet.KeyId
	}
	if r, err := s.coconut.DKGRound(ctx, &coconuttypes.QueryDKGRoundRequest{}); err == nil && r.Round != nil {
		c.DKGRound, c.DKGPhase = r.Round.RoundId, r.Round.Phase.String()
	}
	st, err := s.coconut.Stats(ctx, &coconuttypes.QueryStatsRequest{Pagination: &query.PageRequest{Limit: keysShown, Reverse: true}})
	if err != nil {
		s.log.Warn("query credential counts", "err", err)
		return c
	}
	t := st.Total
	c.Known = true
	c.Requested, c.Issued, c.Spent = t.Requested, t.Issued, t.Spent
	c.Deposited, c.Paid = t.Deposited.String(), t.Paid.String()
	for _, k := range st.Keys {
		c.Keys = append(c.Keys, KeyStats{KeyID: k.KeyId, Requested: k.Requested, Issued: k.Issued, Spent: k.Spent})
	}
	return c
}
