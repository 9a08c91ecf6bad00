package outbound

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrNotHTTPS is returned for a plain-http request to an untrusted origin.
var ErrNotHTTPS = errors.New("only https is allowed")

// ErrRedirect is returned for a redirect the client will not follow.
var ErrRedirect = errors.New("redirect refused")

// Options configures New. Zero values take the defaults.
type Options struct {
	// AllowPrivateNetwork lifts the address rule and the https rule, for
	// local test networks (plain http on loopback).
	AllowPrivateNetwork bool
	// Trusted lists origins the operator named ("https://plc.directory",
	// "http://localhost:2582"): requests to exactly those origins are made
	// as given.
	Trusted []string
	// Timeout bounds a whole exchange, body included. Default 30s.
	Timeout time.Duration
	// MaxBody caps every response body (reads past it fail with
	// ErrTooLarge). Default 1 MiB.
	MaxBody int64
	// MaxRedirects is how many redirects a request may follow. Default 3.
	MaxRedirects int
	// UserAgent is set on requests that carry none.
	UserAgent string
	// RootCAs, when set, replaces the system's roots: for tests against a
	// loopback TLS server (httptest's certificate).
	RootCAs *x509.CertPool
}

// Timeouts of the parts of an exchange; Options.Timeout bounds the whole.
const (
	dialTimeout     = 10 * time.Second
	tlsTimeout      = 10 * time.Second
	headerTimeout   = 30 * time.Second
	maxHeaderBytes  = 64 << 10
	defaultTimeout  = 30 * time.Second
	defaultMaxBody  = 1 << 20
	defaultRedirect = 3
)

// New returns a client that applies the rules of this package. It fails
// only for a Trusted entry that is not an absolute http(s) URL.
func New(o Options) (*http.Client, error) {
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.MaxBody <= 0 {
		o.MaxBody = defaultMaxBody
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = defaultRedirect
	}
	t := &transport{
		trusted:      map[string]bool{},
		allowPrivate: o.AllowPrivateNetwork,
		maxBody:      o.MaxBody,
		userAgent:    o.UserAgent,
		plain:        newTransport(nil),
		guarded:      newTransport(nil),
	}
	if !o.AllowPrivateNetwork {
		t.guarded = newTransport(checkDial)
	}
	if o.RootCAs != nil {
		for _, rt := range []*http.Transport{t.plain, t.guarded} {
			rt.TLSClientConfig = &tls.Config{RootCAs: o.RootCAs}
		}
	}
	for _, raw := range o.Trusted {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("outbound: trusted origin %q is not an http(s) url", raw)
		}
		t.trusted[origin(u)] = true
	}
	return &http.Client{
		Transport: t,
		Timeout:   o.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > o.MaxRedirects {
				return fmt.Errorf("%w: more than %d redirects", ErrRedirect, o.MaxRedirects)
			}
			// A redirect must not carry a request from the network into
			// what the operator trusts (a private PDS, the PLC directory).
			if !t.isTrusted(via[0].URL) && t.isTrusted(req.URL) {
				return fmt.Errorf("%w: from an untrusted origin to a trusted one", ErrRedirect)
			}
			return nil
		},
	}, nil
}

func newTransport(control func(context.Context, string, string, syscall.RawConn) error) *http.Transport {
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second, ControlContext: control}
	return &http.Transport{
		Proxy:                  nil, // a proxy would be dialled instead of the checked address
		DialContext:            d.DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    tlsTimeout,
		ResponseHeaderTimeout:  headerTimeout,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: maxHeaderBytes,
		IdleConnTimeout:        90 * time.Second,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    4,
	}
}

// checkDial sees the resolved address of every connection attempt (each
// address of a multi-address name, each redirect), so what is checked is
// what is dialled.
func checkDial(_ context.Context, network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return fmt.Errorf("outbound: refusing %s connection to %s", network, address)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("outbound: refusing unparsable address %q: %w", address, err)
	}
	if err := CheckAddr(ap.Addr()); err != nil {
		return fmt.Errorf("outbound: refusing to connect: %w", err)
	}
	return nil
}

type transport struct {
	trusted        map[string]bool
	allowPrivate   bool
	maxBody        int64
	userAgent      string
	plain, guarded *http.Transport
}

func (t *transport) isTrusted(u *url.URL) bool { return t.trusted[origin(u)] }

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt := t.guarded
	if t.isTrusted(req.URL) {
		rt = t.plain
	} else if req.URL.Scheme != "https" && !t.allowPrivate {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("outbound: %w (got %s)", ErrNotHTTPS, Sanitize(req.URL.Scheme, 16))
	}
	if t.userAgent != "" && req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", t.userAgent)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > t.maxBody {
		resp.Body.Close()
		return nil, fmt.Errorf("outbound: %w: declared %d bytes, cap %d", ErrTooLarge, resp.ContentLength, t.maxBody)
	}
	resp.Body = LimitBody(resp.Body, t.maxBody)
	return resp, nil
}

// origin is scheme://host:port with the default port made explicit, so
// "https://plc.directory" and "https://plc.directory:443" are one origin.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}
