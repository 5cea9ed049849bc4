//go:build dkgfault

package types

import (
	"encoding/binary"
	"os"

	"github.com/nyx-privacy/nyx/coconut"
)

func faultDealing(dealing []byte) []byte {
	if os.Getenv(FaultEnv) != "bad-dealing" || len(dealing) < 8 {
		return dealing
	}
	dealer := int(binary.BigEndian.Uint16(dealing[0:]))
	t := int(binary.BigEndian.Uint16(dealing[2:]))
	n := int(binary.BigEndian.Uint16(dealing[4:]))
	q := int(dealing[6])
	if n < 2 || len(dealing) != coconut.DealingSize(t, n, q) {
		return dealing
	}
	victim := dealer % n // 0-based position of participant dealer+1 (wrapping)
	ct := 8 + coconut.G1Size + coconut.G2Size*(q+1)*t + coconut.ScalarSize*(q+1)*victim
	bad := append([]byte(nil), dealing...)
	bad[ct+5] ^= 0x40
	return bad
}
