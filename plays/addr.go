package plays

import (
	"fmt"
	"net/netip"
	"strings"
)

// Bounds on X-Forwarded-For: what a chain of real proxies writes fits
// easily; the rest of a longer header is not read.
const (
	// MaxForwardedBytes is how much of the header's end is read.
	MaxForwardedBytes = 1024
	// MaxForwardedHops is how many entries, from the right, are looked at.
	MaxForwardedHops = 16
)

// Proxies are the address ranges whose X-Forwarded-For is honoured
// (--trusted-proxy). The zero value trusts none.
type Proxies struct {
	ranges []netip.Prefix
}

// ParseProxies reads CIDR ranges ("10.0.0.0/8", "fd00::/8"); a bare
// address is a range of one.
func ParseProxies(specs []string) (Proxies, error) {
	var p Proxies
	for _, s := range specs {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if pfx, err := netip.ParsePrefix(s); err == nil {
			p.ranges = append(p.ranges, pfx.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return Proxies{}, fmt.Errorf("trusted proxy %q is neither a CIDR range nor an address", s)
		}
		a = a.Unmap().WithZone("")
		p.ranges = append(p.ranges, netip.PrefixFrom(a, a.BitLen()))
	}
	return p, nil
}

func (p Proxies) trusted(a netip.Addr) bool {
	for _, r := range p.ranges {
		if r.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr is the address a request came from: the direct peer
// (remoteAddr, as http.Request.RemoteAddr has it), unless the peer is a
// trusted proxy. Then X-Forwarded-For (forwarded: every such header, in
// order) is walked from the right, skipping trusted addresses, and the
// first untrusted one is the client: entries to its left were written by
// the client itself and prove nothing. If every entry read is trusted the
// leftmost is the client. A malformed entry, or more than MaxForwardedHops
// trusted ones, means the proxies cannot be followed: the peer is used.
// Only the last MaxForwardedBytes of the header are read.
//
// ok is false only when remoteAddr itself is not an address (a unix
// socket, a test pipe).
func (p Proxies) ClientAddr(remoteAddr string, forwarded []string) (addr netip.Addr, ok bool) {
	peer, ok := parseHost(remoteAddr)
	if !ok {
		return netip.Addr{}, false
	}
	if !p.trusted(peer) || len(forwarded) == 0 {
		return peer, true
	}
	h := strings.Join(forwarded, ",")
	if len(h) > MaxForwardedBytes {
		// Keep the end: the entries nearest us are the ones proxies wrote.
		// The first one kept may be cut, so it is dropped.
		h = h[len(h)-MaxForwardedBytes:]
		i := strings.IndexByte(h, ',')
		if i < 0 {
			return peer, true
		}
		h = h[i+1:]
	}
	var last netip.Addr
	for hop := 0; hop < MaxForwardedHops; hop++ {
		entry := h
		if i := strings.LastIndexByte(h, ','); i >= 0 {
			entry, h = h[i+1:], h[:i]
		} else {
			h = ""
		}
		a, ok := parseHost(strings.TrimSpace(entry))
		if !ok {
			return peer, true
		}
		if !p.trusted(a) {
			return a, true
		}
		last = a
		if h == "" {
			return last, true
		}
	}
	return peer, true
}

// parseHost reads an address with or without a port ("192.0.2.1",
// "192.0.2.1:443", "2001:db8::1", "[2001:db8::1]:443"), IPv4-mapped IPv6
// as IPv4 and without a zone, so one host has one form.
func parseHost(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}
