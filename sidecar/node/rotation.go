package node

import (
	"context"
	"time"

	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// readParams reads the chain's x/mixnet params that size the replay
// filters of new keys; when the chain does not answer it keeps the values
// it had (at start: the config's replay_window sizes filters).
func (s *Server) readParams(ctx context.Context) (mixnettypes.Params, bool) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := mixnettypes.NewQueryClient(s.conn).Params(ctx, &mixnettypes.QueryParamsRequest{})
	if err != nil {
		s.log.Warn("could not read the chain's params", "err", err)
		return mixnettypes.Params{}, false
	}
	s.chainEpoch.Store(int64(resp.Params.EpochDuration))
	return resp.Params, true
}
