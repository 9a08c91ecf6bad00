package handles

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// HTTPClient is the client for a directory that resolves network input: a
// handle's /.well-known host and a did:web host are named by anyone, so it
// dials only public addresses (checked at dial time, after DNS and on every
// redirect). trusted ("host:port", the operator's PLC directory) is dialled
// as given, so a local test network's PLC on loopback works.
func HTTPClient(trusted string, timeout time.Duration) *http.Client {
	pub := &net.Dialer{Timeout: timeout, Control: publicOnly}
	plain := &net.Dialer{Timeout: timeout}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == trusted {
			return plain.DialContext(ctx, network, addr)
		}
		return pub.DialContext(ctx, network, addr)
	}
	return &http.Client{Timeout: timeout, Transport: tr}
}

// publicOnly refuses a connection to a loopback, private, link-local,
// multicast or unspecified address.
func publicOnly(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dialing %s: %w", address, err)
	}
	ip := ap.Addr().Unmap()
	if !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
		return fmt.Errorf("dialing %s: not a public address", address)
	}
	// Shared address space (RFC 6598), not covered by IsPrivate.
	if netip.MustParsePrefix("100.64.0.0/10").Contains(ip) {
		return fmt.Errorf("dialing %s: not a public address", address)
	}
	return nil
}
