// Package exitpolicy parses and applies exit policies in Tor's torrc
// ExitPolicy syntax: the network requester asks a Policy whether it may
// open a TCP connection to an address and port.
//
// A policy is a list of rules, considered first to last; the first rule
// that matches the destination decides. Unlike Tor, which appends its
// default exit policy, a destination no rule matches is rejected: an
// operator allows what the file says, nothing else.
//
// Rules are separated by commas or newlines; "#" starts a comment; a line
// may start with the keyword "ExitPolicy", as in a torrc. Each rule is
//
//	accept|reject|accept6|reject6 ADDR[/MASK][:PORT]
//
// ADDR is an IPv4 address, an IPv6 address in brackets, "*" (every IPv4
// and IPv6 address), "*4" (every IPv4 address), "*6" (every IPv6
// address), or "private" (the private, loopback, link-local and
// unspecified ranges of both families, as Tor lists them; unlike Tor we
// cannot add the relay's own public addresses, so reject those explicitly
// if the requester runs on a host with services it should not reach).
// MASK is a prefix length, or for IPv4 a dotted netmask. PORT is a port,
// a range "LO-HI", or "*"; omitted, it means "*". accept6 and reject6
// rules apply to IPv6 only: "*" there means "*6", and, as in Tor, an
// accept6/reject6 rule with an IPv4 address is ignored.
package exitpolicy

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Limits on a policy's text: it is read from a file an operator edits,
// and nothing in it should make the requester hold unbounded memory.
const (
	MaxPolicyBytes = 1 << 20
	MaxRules       = 10_000
)

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("exitpolicy: syntax error")

// Rule is one accept or reject rule.
type Rule struct {
	Accept bool
	// Prefixes is what the rule's address matches: one prefix, or the
	// several that "*" and "private" stand for. Empty matches nothing
	// (an accept6 rule with an IPv4 address).
	Prefixes []netip.Prefix
	// Ports is the inclusive port range the rule matches.
	PortLo, PortHi uint16
	// Text is the rule as written, for messages.
	Text string
}

// Matches reports whether the rule covers addr:port.
func (r Rule) Matches(addr netip.Addr, port uint16) bool {
	if port < r.PortLo || port > r.PortHi {
		return false
	}
	addr = addr.Unmap()
	for _, p := range r.Prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// Policy is an ordered list of rules.
type Policy struct {
	Rules []Rule
}

// Allows reports whether the policy accepts a connection to addr:port, and
// the rule that decided (nil when no rule matched: a rejection).
func (p *Policy) Allows(addr netip.Addr, port uint16) (bool, *Rule) {
	for i := range p.Rules {
		if p.Rules[i].Matches(addr, port) {
			return p.Rules[i].Accept, &p.Rules[i]
		}
	}
	return false, nil
}

// MayAllowPort reports whether some address could be accepted on port:
// false means every destination on that port is rejected, so the
// requester need not resolve a hostname to refuse it.
func (p *Policy) MayAllowPort(port uint16) bool {
	for _, r := range p.Rules {
		if port < r.PortLo || port > r.PortHi || len(r.Prefixes) == 0 {
			continue
		}
		if r.Accept {
			return true
		}
		if coversAll(r.Prefixes) {
			return false
		}
	}
	return false
}

// coversAll reports whether the prefixes include both whole families.
func coversAll(ps []netip.Prefix) bool {
	var v4, v6 bool
	for _, p := range ps {
		if p.Bits() == 0 {
			if p.Addr().Is4() {
				v4 = true
			} else {
				v6 = true
			}
		}
	}
	return v4 && v6
}

// String writes the policy back, one rule a line.
func (p *Policy) String() string {
	var b strings.Builder
	for _, r := range p.Rules {
		b.WriteString(r.Text)
		b.WriteByte('\n')
	}
	return b.String()
}

var (
	all4 = netip.MustParsePrefix("0.0.0.0/0")
	all6 = netip.MustParsePrefix("::/0")
	// Tor's private_nets (policies.c), the relay's own addresses aside.
	privateNets = []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("169.254.0.0/16"),
		netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("::/8"), netip.MustParsePrefix("fc00::/7"),
		netip.MustParsePrefix("fe80::/10"), netip.MustParsePrefix("fec0::/10"),
		netip.MustParsePrefix("ff00::/8"), netip.MustParsePrefix("::/127"),
	}
)

// Parse reads a policy.
func Parse(text string) (*Policy, error) {
	if len(text) > MaxPolicyBytes {
		return nil, fmt.Errorf("%w: policy of %d bytes, at most %d", ErrSyntax, len(text), MaxPolicyBytes)
	}
	p := &Policy{}
	for n, line := range strings.Split(text, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if kw, rest, ok := strings.Cut(line, " "); ok && strings.EqualFold(kw, "ExitPolicy") {
			line = rest
		} else if strings.EqualFold(line, "ExitPolicy") {
			return nil, fmt.Errorf("%w: line %d: ExitPolicy without rules", ErrSyntax, n+1)
		}
		for _, item := range strings.Split(line, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			r, err := parseRule(item)
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: %q: %v", ErrSyntax, n+1, truncate(item, 64), err)
			}
			if len(p.Rules) == MaxRules {
				return nil, fmt.Errorf("%w: more than %d rules", ErrSyntax, MaxRules)
			}
			p.Rules = append(p.Rules, r)
		}
	}
	return p, nil
}

// MustParse is Parse for policies written in the code.
func MustParse(text string) *Policy {
	p, err := Parse(text)
	if err != nil {
		panic(err)
	}
	return p
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func parseRule(s string) (Rule, error) {
	verb, target, ok := strings.Cut(s, " ")
	if !ok {
		return Rule{}, errors.New("a rule is accept|reject|accept6|reject6 ADDR[/MASK][:PORT]")
	}
	target = strings.TrimSpace(target)
	r := Rule{Text: strings.ToLower(verb) + " " + target}
	var only6 bool
	switch strings.ToLower(verb) {
	case "accept":
		r.Accept = true
	case "reject":
	case "accept6":
		r.Accept, only6 = true, true
	case "reject6":
		only6 = true
	default:
		return Rule{}, fmt.Errorf("unknown action %q", truncate(verb, 16))
	}
	addr, port, err := splitPort(target)
	if err != nil {
		return Rule{}, err
	}
	if r.PortLo, r.PortHi, err = parsePorts(port); err != nil {
		return Rule{}, err
	}
	if r.Prefixes, err = parseAddr(addr, only6); err != nil {
		return Rule{}, err
	}
	return r, nil
}

// splitPort splits ADDR[/MASK][:PORT]; an IPv6 address is in brackets, so
// the port is after the last colon outside them.
func splitPort(s string) (addr, port string, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", errors.New("IPv6 address without a closing bracket")
		}
		rest := s[end+1:]
		// A mask may follow the brackets: [fc00::]/7:80.
		if strings.HasPrefix(rest, "/") {
			mask, p, hasPort := strings.Cut(rest[1:], ":")
			if !hasPort {
				p = "*"
			}
			return s[:end+1] + "/" + mask, p, nil
		}
		if rest == "" {
			return s, "*", nil
		}
		if !strings.HasPrefix(rest, ":") {
			return "", "", errors.New("unexpected text after the IPv6 address")
		}
		return s[:end+1], rest[1:], nil
	}
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return s, "*", nil
	}
	return a, p, nil
}

func parsePorts(s string) (uint16, uint16, error) {
	if s == "*" {
		return 1, 65535, nil
	}
	lo, hi, isRange := strings.Cut(s, "-")
	a, err := parsePort(lo)
	if err != nil {
		return 0, 0, err
	}
	if !isRange {
		return a, a, nil
	}
	b, err := parsePort(hi)
	if err != nil {
		return 0, 0, err
	}
	if b < a {
		return 0, 0, fmt.Errorf("port range %d-%d is empty", a, b)
	}
	return a, b, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 || len(s) > 5 {
		return 0, fmt.Errorf("bad port %q (1-65535, LO-HI or *)", truncate(s, 16))
	}
	return uint16(n), nil
}

func parseAddr(s string, only6 bool) ([]netip.Prefix, error) {
	switch strings.ToLower(s) {
	case "*":
		if only6 {
			return []netip.Prefix{all6}, nil
		}
		return []netip.Prefix{all4, all6}, nil
	case "*4":
		if only6 {
			return nil, nil
		}
		return []netip.Prefix{all4}, nil
	case "*6":
		return []netip.Prefix{all6}, nil
	case "private":
		var out []netip.Prefix
		for _, p := range privateNets {
			if !only6 || p.Addr().Is6() {
				out = append(out, p)
			}
		}
		return out, nil
	}
	host, mask, hasMask := strings.Cut(s, "/")
	bracketed := strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]")
	if bracketed {
		host = host[1 : len(host)-1]
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return nil, fmt.Errorf("bad address %q (an IPv4 address, [IPv6], *, *4, *6 or private)", truncate(s, 48))
	}
	if a.Is6() != bracketed {
		if bracketed {
			return nil, errors.New("an IPv4 address in brackets")
		}
		return nil, errors.New("an IPv6 address goes in brackets: [addr]")
	}
	bits := a.BitLen()
	if hasMask {
		if bits, err = parseMask(mask, a.Is4()); err != nil {
			return nil, err
		}
	}
	if only6 && a.Is4() {
		return nil, nil // Tor warns and ignores such a rule.
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return nil, fmt.Errorf("bad mask /%s", truncate(mask, 16))
	}
	return []netip.Prefix{p}, nil
}

func parseMask(s string, v4 bool) (int, error) {
	if n, err := strconv.Atoi(s); err == nil && len(s) <= 3 {
		if n < 0 || (v4 && n > 32) || n > 128 {
			return 0, fmt.Errorf("mask /%d too long", n)
		}
		return n, nil
	}
	if !v4 {
		return 0, fmt.Errorf("bad IPv6 mask /%s (a prefix length)", truncate(s, 16))
	}
	m, err := netip.ParseAddr(s)
	if err != nil || !m.Is4() {
		return 0, fmt.Errorf("bad mask /%s (a prefix length or a dotted netmask)", truncate(s, 16))
	}
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := 0
	for v&(1<<31) != 0 {
		ones++
		v <<= 1
	}
	if v != 0 {
		return 0, fmt.Errorf("netmask %s is not contiguous", s)
	}
	return ones, nil
}
