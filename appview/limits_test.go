package appview

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/relaymusic/relay/search"
)

// rawRequest writes req on a fresh connection to e and reads until the
// server answers and closes, or 10 s pass. It returns the status line ("" if
// none), the answer and how long the connection stayed open.
func rawRequest(t *testing.T, e *env, req string) (string, string, time.Duration) {
	status, answer, _, open := rawRequestTimed(t, e, req)
	return status, answer, open
}

// rawRequestTimed is rawRequest that also says when the answer's first
// byte came (0: none came).
func rawRequestTimed(t *testing.T, e *env, req string) (status, answer string, firstByte, open time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	first := make([]byte, 1)
	if n, _ := conn.Read(first); n == 0 {
		return "", "", 0, time.Since(start)
	}
	firstByte = time.Since(start)
	rest, _ := io.ReadAll(conn) // until the server closes (or the deadline)
	b := append(first, rest...)
	status, _, _ = strings.Cut(string(b), "\r\n")
	return status, string(b), firstByte, time.Since(start)
}

// TestSlowRequests: a client that announces a body and sends one byte of it,
// or never finishes its headers, is answered or cut off within the read
// timeouts, never held.
func TestSlowRequests(t *testing.T) {
	const timeout = time.Second
	e := newEnvWith(t, func(c *Config) {
		c.Limits = Limits{ReadTimeout: timeout, ReadHeaderTimeout: timeout}
	})
	cases := []struct {
		name, req  string
		wantStatus string // "" : cut off without an answer
		wantBody   string
		// answeredAt once: the answer comes before the read timeout, not
		// after it (the close may still wait for it).
		atOnce bool
	}{
		// Refused at once: a query takes no body.
		{"GET with a body it never sends", "GET /xrpc/app.relay.feed.getDiscoveryFeed HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\na",
			"HTTP/1.1 400 Bad Request", `"error":"InvalidRequest"`, true},
		{"GET with a chunked body", "GET /xrpc/_health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na",
			"HTTP/1.1 400 Bad Request", `"error":"InvalidRequest"`, true},
		// Not read by its handler: net/http drains it, within ReadTimeout.
		{"POST with a body it never sends", "POST /xrpc/app.relay.feed.searchTracks HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\na",
			"HTTP/1.1 405 Method Not Allowed", `"error":"InvalidRequest"`, false},
		{"headers never finished", "GET /xrpc/_health HTTP/1.1\r\nHost: x\r\nX-Slow: a", "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, answer, firstByte, open := rawRequestTimed(t, e, tc.req)
			if open > timeout+time.Second {
				t.Fatalf("connection held %s, read timeout %s", open, timeout)
			}
			if tc.atOnce && firstByte > timeout/2 {
				t.Errorf("answered after %s, not at once", firstByte)
			}
			if status != tc.wantStatus || !strings.Contains(answer, tc.wantBody) {
				t.Fatalf("answer %q, want status %q with %s", answer, tc.wantStatus, tc.wantBody)
			}
			t.Logf("answered after %s, closed after %s", firstByte.Round(time.Millisecond), open.Round(time.Millisecond))
		})
	}
}

// TestHeaderBound: headers past MaxHeaderBytes are refused with 431.
func TestHeaderBound(t *testing.T) {
	e := newEnvWith(t, func(c *Config) { c.Limits = Limits{MaxHeaderBytes: 1 << 10} })
	for _, tc := range []struct {
		size int
		want string
	}{
		{512, "HTTP/1.1 200 OK"},
		{64 << 10, "HTTP/1.1 431 Request Header Fields Too Large"},
	} {
		req := "GET /xrpc/_health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: " + strings.Repeat("b", tc.size) + "\r\n\r\n"
		if status, answer, _ := rawRequest(t, e, req); status != tc.want {
			t.Errorf("header of %d bytes: %.200q, want %s", tc.size, answer, tc.want)
		}
	}
}

// TestInFlightBound: past MaxInFlight requests being served, one more is
// answered 503 with an XRPC error at once, and served again once they end.
func TestInFlightBound(t *testing.T) {
	const max = 3
	release := make(chan struct{})
	var entered sync.WaitGroup
	entered.Add(max)
	e := newEnvWith(t, func(c *Config) {
		c.Limits = Limits{MaxInFlight: max}
		c.Health = func(ctx context.Context) Health {
			entered.Done()
			<-release
			return Health{}
		}
	})
	done := make(chan int, max)
	for range max {
		go func() {
			resp, err := http.Get(e.srv.URL + "/xrpc/_health")
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
	}
	entered.Wait() // max requests are being served
	before := xrpcCount(t, e.reg, "app.relay.feed.getDiscoveryFeed", "503")
	start := time.Now()
	status, body := e.get("/xrpc/app.relay.feed.getDiscoveryFeed", nil)
	if status != http.StatusServiceUnavailable || body["error"] != "Overloaded" || body["message"] == "" {
		t.Fatalf("over the bound: %d %v", status, body)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Fatalf("the refusal waited %s", waited)
	}
	if got := xrpcCount(t, e.reg, "app.relay.feed.getDiscoveryFeed", "503"); got != before+1 {
		t.Errorf("503s counted %v, want %v", got, before+1)
	}
	entered.Add(1) // the health request below enters too
	close(release)
	for range max {
		if s := <-done; s != 200 {
			t.Fatalf("a request in flight got %d", s)
		}
	}
	if status, _ := e.get("/xrpc/app.relay.feed.getDiscoveryFeed", nil); status != 200 {
		t.Fatalf("after the others finished: %d", status)
	}
}

// TestResponseHeaders: every answer says nosniff; only XRPC answers allow
// other origins.
func TestResponseHeaders(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		path string
		cors bool
	}{
		{"/xrpc/app.relay.feed.getDiscoveryFeed", true},
		{"/xrpc/app.relay.feed.getNothing", true},
		{"/xrpc/_health", true},
		{"/", false},
		{"/metrics", false},
		{"/nothing", false},
	} {
		resp, err := http.Get(e.srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", tc.path, got)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); (got == "*") != tc.cors {
			t.Errorf("%s: Access-Control-Allow-Origin %q, want it: %v", tc.path, got, tc.cors)
		}
	}
}

// cancelledSearcher lets a search start only once its client has gone, so
// the real index runs it under a cancelled context.
type cancelledSearcher struct {
	*search.Index
	started chan struct{}
}

func (c cancelledSearcher) Search(ctx context.Context, q search.Query) (search.Result, error) {
	close(c.started)
	<-ctx.Done()
	return c.Index.Search(ctx, q)
}

// TestClientGoneMidSearch: a client that leaves during a search is a quiet
// cancellation: no ERROR logged, counted as 499, never as a 5xx.
func TestClientGoneMidSearch(t *testing.T) {
	var logs syncBuffer
	started := make(chan struct{})
	e := newEnvWith(t, func(c *Config) {
		c.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.Index = cancelledSearcher{Index: c.Index.(*search.Index), started: started}
	})
	e.add(e.track("Jóga", "Björk", time.Now().Add(-time.Hour)))
	const nsid = "app.relay.feed.searchTracks"
	gone, fivexx := xrpcCount(t, e.reg, nsid, "499"), xrpc5xx(t, e.reg, nsid)

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/xrpc/"+nsid+"?"+url.Values{"q": {"bjork"}}.Encode(), nil)
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-started
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("the request finished though its client left")
	}
	deadline := time.Now().Add(5 * time.Second)
	for xrpcCount(t, e.reg, nsid, "499") == gone {
		if time.Now().After(deadline) {
			t.Fatalf("no 499 counted; logs:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := xrpc5xx(t, e.reg, nsid); got != fivexx {
		t.Errorf("5xx counted: %v, was %v", got, fivexx)
	}
	if s := logs.String(); strings.Contains(s, "level=ERROR") || !strings.Contains(s, "client went away") {
		t.Errorf("logs:\n%s", s)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// xrpcCount reads relay_xrpc_requests_total{method, status} as scraped.
func xrpcCount(t *testing.T, g prometheus.Gatherer, method, status string) float64 {
	t.Helper()
	var n float64
	eachXRPCSample(t, g, func(m, s string, v float64) {
		if m == method && s == status {
			n += v
		}
	})
	return n
}

// xrpc5xx sums relay_xrpc_requests_total of method over 5xx statuses.
func xrpc5xx(t *testing.T, g prometheus.Gatherer, method string) float64 {
	t.Helper()
	var n float64
	eachXRPCSample(t, g, func(m, s string, v float64) {
		if m == method && strings.HasPrefix(s, "5") {
			n += v
		}
	})
	return n
}

func eachXRPCSample(t *testing.T, g prometheus.Gatherer, f func(method, status string, v float64)) {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "relay_xrpc_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			f(labels["method"], labels["status"], m.GetCounter().GetValue())
		}
	}
}
