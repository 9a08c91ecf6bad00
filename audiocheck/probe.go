package audiocheck

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// result is what one check concluded.
type result int

const (
	// resultOK: the audio is there (2xx, 206 or 416: a range past the end
	// of a file that exists).
	resultOK result = iota + 1
	// resultGone: 404 or 410.
	resultGone
	// resultUnreachable: no answer (network error, timeout, refused
	// redirect) or one that says nothing of the file: 5xx, 429, 401/403 (a
	// private bucket answers 403 for files it has), other 3xx and 4xx.
	resultUnreachable
)

func (r result) String() string {
	switch r {
	case resultOK:
		return "ok"
	case resultGone:
		return "missing"
	default:
		return "unreachable"
	}
}

// classify is the rule from an exchange to a result. Pure.
func classify(status int, err error) result {
	switch {
	case err != nil:
		return resultUnreachable
	case status == http.StatusNotFound || status == http.StatusGone:
		return resultGone
	case status >= 200 && status < 300, status == http.StatusRequestedRangeNotSatisfiable:
		return resultOK
	default:
		return resultUnreachable
	}
}

// peekBytes is the most of any body a check reads: a ranged GET asks for
// one byte, and a server that ignores the range is not read further (the
// connection is closed rather than drained).
const peekBytes = 16

// errReservedName is the outcome of an audio URL at a name reserved for
// documentation and tests (RFC 2606, 6761), never looked up.
var errReservedName = errors.New("audiocheck: a reserved name, not looked up")

// reservedName reports whether host is a name that can never be on the
// public internet: the .example, .invalid and .test top-level domains and
// example.com, .net and .org. Test fixtures use them; asking a resolver
// about them would be traffic for nothing.
func reservedName(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	for _, tld := range []string{"example", "invalid", "test"} {
		if h == tld || strings.HasSuffix(h, "."+tld) {
			return true
		}
	}
	for _, d := range []string{"example.com", "example.net", "example.org"} {
		if h == d || strings.HasSuffix(h, "."+d) {
			return true
		}
	}
	return false
}

// probe asks whether rawURL is there: HEAD, and a ranged GET (bytes=0-0)
// when HEAD is refused (405 or 501).
func (c *Checker) probe(ctx context.Context, rawURL string) (int, error) {
	if u, err := url.Parse(rawURL); err != nil || reservedName(u.Hostname()) {
		return 0, errors.Join(errReservedName, err)
	}
	url := rawURL
	status, err := c.exchange(ctx, http.MethodHead, url)
	if err == nil && (status == http.StatusMethodNotAllowed || status == http.StatusNotImplemented) {
		status, err = c.exchange(ctx, http.MethodGet, url)
	}
	return status, err
}

func (c *Checker) exchange(ctx context.Context, method, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, err
	}
	if method == http.MethodGet {
		req.Header.Set("Range", "bytes=0-0")
	}
	resp, err := c.cfg.Client.Do(req)
	if err != nil {
		return 0, err
	}
	// The status is the answer; a few bytes read let a short body end the
	// exchange cleanly, and Close drops a connection with more to come.
	_, _ = io.CopyN(io.Discard, resp.Body, peekBytes)
	resp.Body.Close()
	return resp.StatusCode, nil
}
