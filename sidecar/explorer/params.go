package explorer

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/cosmos/cosmos-sdk/types/bech32"

	mixnettypes "github.com/nyx-privacy/nyx/x/mixnet/types"
)

// AccountPrefix is the bech32 prefix of Nyx account addresses.
const AccountPrefix = "n"

// maxParamLen bounds every parameter the explorer parses: the longest valid
// one, a bech32 address of a 32-byte key, is 60 characters.
const maxParamLen = 128

var errTooLong = errors.New("too long")

// ParseNodeID parses a node id in a path (decimal, 1 or more).
func ParseNodeID(s string) (uint64, error) {
	if len(s) > 20 {
		return 0, fmt.Errorf("node id: %w", errTooLong)
	}
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, errors.New("node id: not a positive decimal number")
	}
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		return 0, errors.New("node id: not a positive decimal number")
	}
	return id, nil
}

// ParseAddress parses a Nyx account address (bech32 with prefix n, 20 or
// 32 bytes) and returns it in its canonical (lower-case) spelling.
func ParseAddress(s string) (string, error) {
	if len(s) > maxParamLen {
		return "", fmt.Errorf("address: %w", errTooLong)
	}
	hrp, data, err := bech32.DecodeAndConvert(s)
	if err != nil {
		return "", fmt.Errorf("address: %w", err)
	}
	if hrp != AccountPrefix {
		return "", fmt.Errorf("address: prefix %q, want %q", hrp, AccountPrefix)
	}
	if len(data) != 20 && len(data) != 32 {
		return "", fmt.Errorf("address: %d bytes, want 20 or 32", len(data))
	}
	return bech32.ConvertAndEncode(AccountPrefix, data)
}

// ParseRole parses the role filter of the node list: empty or "all" for
// every node, else a role as roleName spells it.
func ParseRole(s string) (role mixnettypes.Role, all bool, err error) {
	if s == "" || s == "all" {
		return 0, true, nil
	}
	for _, r := range roleOrder {
		if roleName(r) == s {
			return r, false, nil
		}
	}
	if len(s) > maxParamLen {
		s = s[:maxParamLen]
	}
	return 0, false, fmt.Errorf("role %q: want all, entry, mix1, mix2, mix3, exit, standby or none", s)
}

// sortKeys are the orders the node list offers.
var sortKeys = []string{"id", "role", "stake", "saturation", "performance"}

// ParseSort parses the node list's order; empty means by id.
func ParseSort(s string) (string, error) {
	if s == "" {
		return "id", nil
	}
	for _, k := range sortKeys {
		if s == k {
			return k, nil
		}
	}
	if len(s) > maxParamLen {
		s = s[:maxParamLen]
	}
	return "", fmt.Errorf("sort %q: want id, role, stake, saturation or performance", s)
}
