package types_test

import (
	"testing"

	"cosmossdk.io/math"

	"github.com/nyx-privacy/nyx/x/vesting/types"
)

// FuzzGenesis: any bytes decoded as a genesis state (a file an operator hands the
// chain) are validated without a panic, and an accepted state's accounts answer
// every balance question consistently at any time.
func FuzzGenesis(f *testing.F) {
	gs := types.DefaultGenesisState()
	gs.Accounts = []types.VestingAccount{{
		Owner: "n1owner", StartTime: 1_700_000_000,
		Periods:  []types.Period{{LengthSeconds: 10, Amount: math.NewInt(5)}, {LengthSeconds: 20, Amount: math.NewInt(7)}},
		Original: math.NewInt(12), Withdrawn: math.NewInt(3), Pledged: math.NewInt(1), Delegated: math.NewInt(2),
	}}
	bz, err := gs.Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(bz, int64(1_700_000_015))
	f.Add([]byte{}, int64(0))
	f.Fuzz(func(t *testing.T, data []byte, now int64) {
		var gs types.GenesisState
		if err := gs.Unmarshal(data); err != nil {
			return
		}
		if err := gs.Validate(); err != nil {
			return
		}
		for _, a := range gs.Accounts {
			b := a.Balances(now, gs.Params)
			if !b.Vested.Add(b.Locked).Equal(a.Original) || b.Spendable.IsNegative() || b.Spendable.GT(b.Free) || b.Free.IsNegative() {
				t.Fatalf("inconsistent balances %v for account %v", b, a)
			}
		}
	})
}
