package validate

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
)

// ownOrigin is this instance's own origin (scheme://host[:port]), set once
// at start by TrustOrigin; nil: none. Media URLs under it pass IsMediaURL
// even over http, so that tracks published to local-disk storage on a
// loopback instance (make run, make demo) index and play.
var ownOrigin atomic.Pointer[string]

// TrustOrigin makes media URLs under origin (this instance's public URL)
// valid besides https ones. origin must be a bare https origin, or an http
// one on a loopback host: a plain-http origin anyone else could name would
// let records point players at unencrypted hosts. "" trusts none again.
func TrustOrigin(origin string) error {
	if origin == "" {
		ownOrigin.Store(nil)
		return nil
	}
	o, err := CheckOrigin(origin)
	if err != nil {
		return err
	}
	o = strings.ToLower(o)
	ownOrigin.Store(&o)
	return nil
}

// CheckOrigin checks that origin is an instance's public origin: a bare
// https origin, or http on a loopback host, and returns it as
// scheme://host[:port]. It is the one rule for --public-url, whatever
// uses it (TrustOrigin, the appview's did:web identity).
func CheckOrigin(origin string) (string, error) {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("public url %q must be a bare origin such as https://relay.example.com", origin)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
	default:
		return "", fmt.Errorf("public url %q must be https (http only on loopback)", origin)
	}
	return u.Scheme + "://" + u.Host, nil
}

// IsMediaURL reports whether raw may be a track's audio or artwork URL: an
// https URL with a host, or a URL under the origin given to TrustOrigin.
// It is the rule for every record URL relay lets into a src, an href or a
// redirect.
func IsMediaURL(raw string) bool {
	if IsHTTPS(raw) {
		return true
	}
	o := ownOrigin.Load()
	if o == nil {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil {
		return false
	}
	return u.Scheme+"://"+strings.ToLower(u.Host) == *o
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
