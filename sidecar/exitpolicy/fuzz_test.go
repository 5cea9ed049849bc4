package exitpolicy

import (
	"errors"
	"net/netip"
	"testing"
)

// FuzzParse: any text parses or fails with ErrSyntax; a parsed policy
// prints as text that parses to the same decisions.
func FuzzParse(f *testing.F) {
	f.Add(DefaultText, []byte{1, 2, 3, 4}, uint16(80))
	f.Add(torDefault, []byte{0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, uint16(25))
	f.Add("accept [::1]/64:1-2, reject6 *:*", []byte{127, 0, 0, 1}, uint16(1))
	f.Add("reject 10.0.0.0/255.0.0.0:*\naccept *4:*", []byte{10, 0, 0, 1}, uint16(443))
	f.Fuzz(func(t *testing.T, text string, ip []byte, port uint16) {
		p, err := Parse(text)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error does not wrap ErrSyntax: %v", err)
			}
			return
		}
		q, err := Parse(p.String())
		if err != nil {
			t.Fatalf("printed policy does not parse: %v\n%s", err, p)
		}
		a, ok := netip.AddrFromSlice(ip)
		if !ok {
			return
		}
		x, _ := p.Allows(a, port)
		y, _ := q.Allows(a, port)
		if x != y {
			t.Fatalf("printed policy decides %v:%d differently", a, port)
		}
		if x && !p.MayAllowPort(port) {
			t.Fatalf("%v:%d allowed, but MayAllowPort says no", a, port)
		}
	})
}
