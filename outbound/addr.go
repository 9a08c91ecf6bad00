package outbound

import (
	"errors"
	"fmt"
	"net/netip"
)

// ErrForbiddenAddress is returned for a connection to an address that is not
// on the public internet.
var ErrForbiddenAddress = errors.New("address not on the public internet")

// special ranges that netip's predicates do not name.
var special = []struct {
	p      netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this-network"},
	{netip.MustParsePrefix("100.64.0.0/10"), "cgnat"},
	{netip.MustParsePrefix("192.0.0.0/24"), "ietf protocol"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // and 255.255.255.255
	{netip.MustParsePrefix("::/96"), "ipv4-compatible"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local nat64"},
	{netip.MustParsePrefix("100::/64"), "discard"},
	{netip.MustParsePrefix("2001::/32"), "teredo"}, // its IPv4 is obfuscated: refuse the lot
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// CheckAddr returns nil if a is a public unicast address, and otherwise an
// error wrapping ErrForbiddenAddress that says which kind it is. IPv6 forms
// that carry an IPv4 address (mapped, NAT64, 6to4) are judged by that
// address. Pure: no I/O.
func CheckAddr(a netip.Addr) error {
	if r := reason(a); r != "" {
		return fmt.Errorf("%w: %s is %s", ErrForbiddenAddress, a, r)
	}
	return nil
}

func reason(a netip.Addr) string {
	if !a.IsValid() {
		return "invalid"
	}
	a = a.WithZone("").Unmap()
	switch {
	case a.IsUnspecified():
		return "unspecified"
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate():
		return "private"
	case a.IsLinkLocalUnicast():
		return "link-local"
	case a.IsMulticast():
		return "multicast"
	}
	for _, s := range special {
		if s.p.Contains(a) {
			return s.reason
		}
	}
	if a.Is6() {
		b := a.As16()
		var v4 netip.Addr
		switch {
		case nat64.Contains(a):
			v4 = netip.AddrFrom4([4]byte(b[12:16]))
		case sixToFour.Contains(a):
			v4 = netip.AddrFrom4([4]byte(b[2:6]))
		}
		if v4.IsValid() {
			if r := reason(v4); r != "" {
				return r + " (embedded in " + a.String() + ")"
			}
		}
	}
	return ""
}
