package explorer

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"cosmossdk.io/math"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// syntheticSnapshot is a network of n nodes (a fifth in each path role,
// the rest standby) whose hosts are host, or node names when host is empty.
func syntheticSnapshot(n int, host string) *Snapshot {
	nodes := make([]mixnettypes.Node, n)
	roles := map[uint64]mixnettypes.Role{}
	for i := range nodes {
		id := uint64(i + 1)
		h := host
		if h == "" {
			h = fmt.Sprintf("node-%d.example.org", id)
		}
		nodes[i] = mixnettypes.Node{
			NodeId: id, Owner: fmt.Sprintf("n1owner%d", id), Host: h, MixPort: 1789, ClientsPort: 9000, HttpPort: 8000,
			IdentityKey: make([]byte, 32), Pledge: sdk.NewInt64Coin(mixnettypes.Denom, int64(100_000_000+i*1000)),
			Delegations: math.NewInt(int64(i * 5000)), OperatorReward: math.NewInt(int64(i)), DelegatorPool: math.NewInt(int64(2 * i)),
			Performance: math.LegacyNewDecWithPrec(int64(900+i%100), 3),
			CostParams:  mixnettypes.CostParams{ProfitMargin: math.LegacyNewDecWithPrec(2, 1), IntervalOperatingCost: sdk.NewInt64Coin(mixnettypes.Denom, 40_000_000)},
		}
		roles[id] = roleOrder[i%6]
	}
	pool := &mixnettypes.QueryRewardPoolResponse{RewardPool: math.NewInt(1_000_000_000), EpochBudget: math.LegacyNewDec(1000),
		StakeSaturationPoint: math.LegacyNewDec(250_000_000)}
	epoch := mixnettypes.QueryEpochStatusResponse{EpochId: 42, IntervalId: 1, EpochInInterval: 18, EpochsPerInterval: 24,
		Start: time.Now(), End: time.Now().Add(time.Hour)}
	s := BuildSnapshot(epoch, nodes, roles, pool)
	s.Fetched = time.Now()
	return s
}

// staticSource is a Source that always holds snap and has no chain.
func staticSource(snap *Snapshot) *Source {
	s := NewSource(nil, Config{})
	s.snap = snap
	return s
}

func serve(h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

// deadConn is a gRPC connection to a port nothing listens on.
func deadConn(t *testing.T) *grpc.ClientConn {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}
