package main

import (
	"strings"
	"testing"
)

// TestFlagsValidated: bad flags are refused with a clear error before
// anything listens.
func TestFlagsValidated(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--refresh", "1ms"}, "--refresh 1ms: want between 100ms and 1h"},
		{[]string{"--refresh", "2h"}, "--refresh 2h0m0s"},
		{[]string{"--history-epochs", "0"}, "--history-epochs 0: want 1 to 10000"},
		{[]string{"serve"}, `unexpected argument "serve"`},
		{[]string{"--listen", "256.0.0.1:1"}, "listen on 256.0.0.1:1"},
		{[]string{"--no-such-flag"}, "flag provided but not defined"},
	} {
		err := run(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want it to say %q", tc.args, err, tc.want)
		}
	}
}
