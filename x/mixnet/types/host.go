package types

import (
	"net"
	"net/netip"
	"strings"

	errorsmod "cosmossdk.io/errors"
)

// CanonicalHost returns the one spelling of a node's host that the chain stores
// and keys uniqueness on, or an error if host is neither an IP address nor a DNS
// name:
//
//   - an IPv4 address in dotted decimal ("10.0.0.1");
//   - an IPv4-mapped IPv6 address as its IPv4 address ("::ffff:10.0.0.1" is "10.0.0.1");
//   - any other IPv6 address in RFC 5952 form (lower case, zeros compressed: "2001:db8::1");
//   - a DNS name in lower case without its trailing dot ("Mix.Example.NET." is
//     "mix.example.net").
//
// IPv6 zones are refused (they name an interface of one machine), and so is a DNS
// name whose last label does not start with a letter: no top-level domain does, and
// resolvers read names like "127.1", "2130706433" or "0x7f000001" as IPv4 addresses,
// which would let one address be bonded under several spellings.
func CanonicalHost(host string) (string, error) {
	if host == "" || len(host) > MaxHostLength {
		return "", errorsmod.Wrapf(ErrInvalidHost, "host must be 1 to %d characters", MaxHostLength)
	}
	if strings.ContainsRune(host, ':') {
		a, err := netip.ParseAddr(host)
		if err != nil {
			return "", errorsmod.Wrapf(ErrInvalidHost, "host %q is not an IP address or a DNS name", host)
		}
		if a.Zone() != "" {
			return "", errorsmod.Wrapf(ErrInvalidHost, "host %q has an IPv6 zone", host)
		}
		return a.Unmap().String(), nil
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.String(), nil
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	labels := strings.Split(name, ".")
	for _, label := range labels {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", errorsmod.Wrapf(ErrInvalidHost, "host %q is not an IP address or a DNS name", host)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", errorsmod.Wrapf(ErrInvalidHost, "host %q is not an IP address or a DNS name", host)
			}
		}
	}
	if tld := labels[len(labels)-1]; tld[0] < 'a' || tld[0] > 'z' {
		return "", errorsmod.Wrapf(ErrInvalidHost, "host %q: the last label of a DNS name must start with a letter", host)
	}
	return name, nil
}

// ValidateHost checks a host is an IP address or a DNS name (see CanonicalHost).
func ValidateHost(host string) error {
	_, err := CanonicalHost(host)
	return err
}

// ValidatePorts checks the three ports are set and distinct.
func ValidatePorts(mix, clients, http uint32) error {
	for _, p := range []uint32{mix, clients, http} {
		if p == 0 || p > 65535 {
			return errorsmod.Wrapf(ErrInvalidHost, "port %d is not in 1..65535", p)
		}
	}
	if mix == clients || mix == http || clients == http {
		return errorsmod.Wrapf(ErrInvalidHost, "ports %d, %d, %d are not distinct", mix, clients, http)
	}
	return nil
}

// HostPortKeys returns the keys under which a node's host and ports are unique:
// the canonical host (CanonicalHost) with each port, so two spellings of one
// address collide. A host that is not valid is used as given, lower-cased; it
// cannot be bonded, so its keys never meet a valid one's.
func HostPortKeys(host string, mix, clients, http uint32) []string {
	h, err := CanonicalHost(host)
	if err != nil {
		h = strings.ToLower(host)
	}
	return []string{
		net.JoinHostPort(h, itoa(mix)),
		net.JoinHostPort(h, itoa(clients)),
		net.JoinHostPort(h, itoa(http)),
	}
}

func itoa(v uint32) string {
	var buf [10]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(buf[i:])
		}
	}
}
