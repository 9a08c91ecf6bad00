// Package nettest holds small test servers shared by the packages that
// check what relay may and may not reach on the network.
package nettest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// Counting is a loopback server that counts every connection and request
// made to it: a stand-in for an internal service that a hostile DID
// document or redirect points at, where the only right number is zero.
type Counting struct {
	*httptest.Server
	Conns, Reqs atomic.Int64
	lastURL     atomic.Value
}

// NewCounting starts a Counting server (TLS with httptest's certificate
// when tls is set) that passes requests to h, if h is not nil. It is closed
// when the test ends.
func NewCounting(t testing.TB, tls bool, h http.HandlerFunc) *Counting {
	t.Helper()
	c := &Counting{}
	c.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.Reqs.Add(1)
		c.lastURL.Store(r.URL.RequestURI())
		if h != nil {
			h(w, r)
		}
	}))
	c.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			c.Conns.Add(1)
		}
	}
	if tls {
		c.StartTLS()
	} else {
		c.Start()
	}
	t.Cleanup(c.Close)
	return c
}

// LastURL is the request URI (path and query) of the last request, "" if none.
func (c *Counting) LastURL() string {
	s, _ := c.lastURL.Load().(string)
	return s
}
