package audiocheck

import (
	"context"
	"io"
	"net/http"
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

// probe asks whether url is there: HEAD, and a ranged GET (bytes=0-0) when
// HEAD is refused (405 or 501).
func (c *Checker) probe(ctx context.Context, url string) (int, error) {
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
