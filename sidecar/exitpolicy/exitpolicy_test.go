package exitpolicy

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// torDefault is Tor's own default exit policy (torrc man page, ExitPolicy).
const torDefault = `reject *:25
reject *:119
reject *:135-139
reject *:445
reject *:563
reject *:1214
reject *:4661-4666
reject *:6346-6429
reject *:6699
reject *:6881-6999
accept *:*`

type dest struct {
	addr  string
	port  uint16
	allow bool
}

// TestTorExamples: policies from Tor's manual and its default policy decide
// each destination as Tor would (first match wins).
func TestTorExamples(t *testing.T) {
	for _, tc := range []struct {
		name, policy string
		dests        []dest
	}{
		{"tor default policy", torDefault, []dest{
			{"93.184.216.34", 80, true}, {"93.184.216.34", 25, false}, {"[2001:db8::1]", 25, false},
			{"93.184.216.34", 137, false}, {"93.184.216.34", 140, true}, {"93.184.216.34", 6400, false},
			{"93.184.216.34", 6430, true}, {"[2001:db8::1]", 443, true}, {"10.0.0.1", 443, true},
		}},
		{"irc ports only (man page)", "ExitPolicy accept *:6660-6667,reject *:*", []dest{
			{"1.2.3.4", 6660, true}, {"1.2.3.4", 6667, true}, {"1.2.3.4", 6668, false},
			{"[2001:db8::1]", 6665, true}, {"1.2.3.4", 80, false},
		}},
		{"all IPv4, no IPv6", "ExitPolicy accept *4:*\nExitPolicy reject *:*", []dest{
			{"1.2.3.4", 22, true}, {"[2001:db8::1]", 22, false}, {"[::ffff:1.2.3.4]", 22, true},
		}},
		{"nntp on IPv6 only (man page)", "ExitPolicy accept6 *6:119\nExitPolicy reject *:*", []dest{
			{"[2001:db8::1]", 119, true}, {"1.2.3.4", 119, false}, {"[2001:db8::1]", 120, false},
		}},
		{"accept6 with * means *6", "accept6 *:80, reject *:*", []dest{
			{"[2001:db8::1]", 80, true}, {"1.2.3.4", 80, false},
		}},
		{"accept6 with an IPv4 address is ignored", "accept6 1.2.3.4:80, accept *:443, reject *:*", []dest{
			{"1.2.3.4", 80, false}, {"1.2.3.4", 443, true},
		}},
		{"reject private, then all", "ExitPolicy reject private:*, accept *:*", []dest{
			{"127.0.0.1", 80, false}, {"10.1.2.3", 80, false}, {"172.16.5.4", 80, false}, {"172.32.0.1", 80, true},
			{"192.168.1.1", 443, false}, {"169.254.0.1", 80, false}, {"0.0.0.0", 80, false},
			{"[::1]", 80, false}, {"[fe80::1]", 80, false}, {"[fd00::1]", 80, false}, {"[::]", 80, false},
			{"8.8.8.8", 53, true}, {"[2001:4860:4860::8888]", 53, true},
		}},
		{"dotted netmask and prefix", "reject 192.168.0.0/255.255.0.0:*\nreject 10.0.0.0/8:*\naccept *:*", []dest{
			{"192.168.4.4", 80, false}, {"192.169.0.1", 80, true}, {"10.255.255.255", 80, false}, {"11.0.0.0", 80, true},
		}},
		{"single host, a port range", "accept 18.7.22.69:20-23\nreject *:*", []dest{
			{"18.7.22.69", 20, true}, {"18.7.22.69", 23, true}, {"18.7.22.69", 24, false}, {"18.7.22.70", 22, false},
		}},
		{"IPv6 with mask and port", "reject [2001:db8::]/32:80, accept [2001:db8::1]:*, accept [::]/0:443, reject *:*", []dest{
			{"[2001:db8::1]", 80, false}, {"[2001:db8::1]", 81, true}, {"[2001:db9::1]", 443, true}, {"[2001:db9::1]", 80, false},
		}},
		{"host without a port means every port", "accept 1.2.3.4, reject *:*", []dest{
			{"1.2.3.4", 1, true}, {"1.2.3.4", 65535, true}, {"1.2.3.5", 80, false},
		}},
		{"no rule matches: rejected", "accept *:80", []dest{
			{"1.2.3.4", 80, true}, {"1.2.3.4", 81, false},
		}},
		{"first match wins", "accept 1.2.3.4:80\nreject 1.2.3.0/24:*\naccept *:*", []dest{
			{"1.2.3.4", 80, true}, {"1.2.3.4", 81, false}, {"1.2.4.4", 81, true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range tc.dests {
				a := netip.MustParseAddr(strings.Trim(d.addr, "[]"))
				if got, _ := p.Allows(a, d.port); got != d.allow {
					t.Errorf("%s port %d: allowed %v, want %v", d.addr, d.port, got, d.allow)
				}
			}
		})
	}
}

func TestDefaultPolicy(t *testing.T) {
	p := Default()
	for _, d := range []dest{
		{"93.184.216.34", 80, true}, {"93.184.216.34", 443, true}, {"93.184.216.34", 8332, true},
		{"93.184.216.34", 25, false}, {"93.184.216.34", 6881, false},
		{"127.0.0.1", 80, false}, {"10.0.0.1", 443, false}, {"192.168.1.1", 80, false},
		{"169.254.169.254", 80, false}, {"100.64.0.1", 80, false}, {"224.0.0.1", 80, false},
		{"[::1]", 443, false}, {"[fe80::1]", 443, false}, {"[fd12::1]", 443, false},
		{"[2606:2800:220:1::1]", 443, true}, {"[::ffff:127.0.0.1]", 80, false},
	} {
		a := netip.MustParseAddr(strings.Trim(d.addr, "[]"))
		if got, _ := p.Allows(a, d.port); got != d.allow {
			t.Errorf("default policy, %s port %d: allowed %v, want %v", d.addr, d.port, got, d.allow)
		}
	}
	if !p.MayAllowPort(443) || p.MayAllowPort(25) {
		t.Error("MayAllowPort: want 443 possible and 25 not")
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{
		"allow *:80", "accept", "accept *:0", "accept *:70000", "accept *:90-80", "accept 1.2.3:80",
		"accept ::1:80", "accept [1.2.3.4]:80", "accept 1.2.3.4/33", "accept 1.2.3.4/255.0.255.0",
		"accept [::1/64", "accept [::1]x", "accept [fe80::1%eth0]:80", "accept *:8a", "ExitPolicy",
		"accept [::1]/129:80", "accept *:-1",
	} {
		if _, err := Parse(bad); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q): %v, want a syntax error", bad, err)
		}
	}
	if _, err := Parse(strings.Repeat("accept *:80\n", MaxRules+1)); err == nil {
		t.Error("a policy with too many rules was accepted")
	}
}

func TestRoundTrip(t *testing.T) {
	p := Default()
	q, err := Parse(p.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Rules) != len(p.Rules) {
		t.Fatalf("%d rules back from %d", len(q.Rules), len(p.Rules))
	}
}
