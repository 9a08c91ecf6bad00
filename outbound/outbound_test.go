package outbound

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relaymusic/relay/internal/nettest"
)

func TestCheckAddr(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		public bool
	}{
		{"127.0.0.1", false},
		{"127.1.2.3", false},
		{"::1", false},
		{"10.0.0.1", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"100.64.0.1", false},
		{"100.127.255.255", false},
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"fc00::1", false},
		{"fd12:3456::1", false},
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"ff02::1", false},
		{"ff0e::1", false},
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"::", false},
		{"255.255.255.255", false},
		{"240.0.0.1", false},
		{"198.18.0.1", false},
		{"192.0.2.1", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"::127.0.0.1", false},         // IPv4-compatible
		{"64:ff9b::7f00:1", false},     // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", false},  // NAT64 of 169.254.169.254
		{"2002:7f00:1::1", false},      // 6to4 of 127.0.0.1
		{"2002:c0a8:101::1", false},    // 6to4 of 192.168.1.1
		{"2001:0:4136:e378::1", false}, // teredo
		{"2001:db8::1", false},
		{"fec0::1", false},
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"100.63.255.255", true}, // just below CGNAT
		{"100.128.0.0", true},    // just above
		{"172.32.0.1", true},     // just past 172.16/12
		{"::ffff:8.8.8.8", true},
		{"64:ff9b::808:808", true}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", true},  // 6to4 of 8.8.8.8
		{"2606:4700:4700::1111", true},
		{"2a00:1450:4001::1", true},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			a, err := netip.ParseAddr(tc.addr)
			if err != nil {
				t.Fatal(err)
			}
			err = CheckAddr(a)
			if tc.public && err != nil {
				t.Errorf("refused a public address: %v", err)
			}
			if !tc.public && !errors.Is(err, ErrForbiddenAddress) {
				t.Errorf("allowed %s (err %v)", tc.addr, err)
			}
			// The dial hook applies the same rule to what it is handed.
			network := "tcp4"
			if a.Unmap().Is6() || a.Is6() && !a.Is4In6() {
				network = "tcp6"
			}
			derr := checkDial(context.Background(), network, netip.AddrPortFrom(a, 443).String(), nil)
			if (derr == nil) != tc.public {
				t.Errorf("checkDial(%s) = %v, want public=%v", tc.addr, derr, tc.public)
			}
		})
	}
	if checkDial(context.Background(), "udp4", "8.8.8.8:53", nil) == nil {
		t.Error("a udp dial was allowed")
	}
}

func mustNew(t *testing.T, o Options) *http.Client {
	t.Helper()
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func get(ctx context.Context, c *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

func TestRefusedWithoutAConnection(t *testing.T) {
	ctx := context.Background()
	tlsSrv := nettest.NewCounting(t, true, nil)
	plainSrv := nettest.NewCounting(t, false, nil)
	_, tlsPort, _ := net.SplitHostPort(tlsSrv.Listener.Addr().String())
	_, plainPort, _ := net.SplitHostPort(plainSrv.Listener.Addr().String())
	c := mustNew(t, Options{})
	for _, tc := range []struct {
		name, url string
		want      error
	}{
		{"loopback ipv4", "https://127.0.0.1:" + tlsPort + "/", ErrForbiddenAddress},
		{"localhost name resolves to loopback", "https://localhost:" + tlsPort + "/", ErrForbiddenAddress},
		{"ipv4-mapped loopback", "https://[::ffff:127.0.0.1]:" + tlsPort + "/", ErrForbiddenAddress},
		{"unspecified", "https://0.0.0.0:" + tlsPort + "/", ErrForbiddenAddress},
		{"plain http", "http://127.0.0.1:" + plainPort + "/admin", ErrNotHTTPS},
		{"plain http by name", "http://localhost:" + plainPort + "/", ErrNotHTTPS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := get(ctx, c, tc.url)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	if n := tlsSrv.Conns.Load() + plainSrv.Conns.Load(); n != 0 {
		t.Fatalf("%d connections reached the loopback servers", n)
	}

	// IPv6 loopback, where the machine has it.
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Logf("no ipv6 loopback: %v", err)
		return
	}
	var accepted atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	defer l.Close()
	if _, err := get(ctx, c, "https://"+l.Addr().String()+"/"); !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("ipv6 loopback: got %v", err)
	}
	if n := accepted.Load(); n != 0 {
		t.Fatalf("%d connections reached [::1]", n)
	}
}

func TestRedirects(t *testing.T) {
	ctx := context.Background()
	target := nettest.NewCounting(t, true, nil)
	_, port, _ := net.SplitHostPort(target.Listener.Addr().String())
	toPrivate := nettest.NewCounting(t, false, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://127.0.0.1:"+port+"/internal", http.StatusFound)
	})
	// The first hop is an origin the operator trusts; the hop it redirects
	// to is not, and must be refused at dial.
	c := mustNew(t, Options{Trusted: []string{toPrivate.URL}})
	if _, err := get(ctx, c, toPrivate.URL+"/"); !errors.Is(err, ErrForbiddenAddress) {
		t.Fatalf("redirect to loopback: got %v", err)
	}
	if n := target.Conns.Load(); n != 0 {
		t.Fatalf("the redirect target got %d connections", n)
	}

	// From the network into a trusted origin: refused even where private
	// addresses are allowed.
	trusted := nettest.NewCounting(t, false, nil)
	intoTrusted := nettest.NewCounting(t, false, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, trusted.URL+"/secret", http.StatusFound)
	})
	c = mustNew(t, Options{AllowPrivateNetwork: true, Trusted: []string{trusted.URL}})
	if _, err := get(ctx, c, intoTrusted.URL+"/"); !errors.Is(err, ErrRedirect) {
		t.Fatalf("redirect into a trusted origin: got %v", err)
	}
	if n := trusted.Reqs.Load(); n != 0 {
		t.Fatalf("the trusted origin got %d requests through a redirect", n)
	}

	// A loop stops after MaxRedirects.
	var loop *nettest.Counting
	loop = nettest.NewCounting(t, false, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, loop.URL+"/again", http.StatusFound)
	})
	c = mustNew(t, Options{AllowPrivateNetwork: true, MaxRedirects: 2})
	if _, err := get(ctx, c, loop.URL+"/"); !errors.Is(err, ErrRedirect) {
		t.Fatalf("redirect loop: got %v", err)
	}
	if n := loop.Reqs.Load(); n != 3 {
		t.Fatalf("redirect loop made %d requests, want 3", n)
	}
}

func TestAllowPrivateNetwork(t *testing.T) {
	srv := nettest.NewCounting(t, false, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	c := mustNew(t, Options{AllowPrivateNetwork: true, UserAgent: "relay-test"})
	b, err := get(context.Background(), c, srv.URL+"/x")
	if err != nil || string(b) != "ok" {
		t.Fatalf("got %q, %v", b, err)
	}
	// A trusted origin is fetched as given without the flag.
	c = mustNew(t, Options{Trusted: []string{srv.URL}})
	if _, err := get(context.Background(), c, srv.URL+"/y"); err != nil {
		t.Fatalf("trusted origin refused: %v", err)
	}
	if n := srv.Reqs.Load(); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}
}

func TestBodyCap(t *testing.T) {
	const capBytes = 1000
	for _, tc := range []struct {
		name     string
		size     int
		declared bool
		tooLarge bool
	}{
		{"under", capBytes - 1, true, false},
		{"exactly", capBytes, true, false},
		{"exactly streamed", capBytes, false, false},
		{"over declared", capBytes + 1, true, true},
		{"over streamed", capBytes + 1, false, true},
		{"far over streamed", 1 << 20, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := nettest.NewCounting(t, false, func(w http.ResponseWriter, r *http.Request) {
				if !tc.declared {
					w.(http.Flusher).Flush() // no Content-Length: chunked
				}
				w.Write(bytes.Repeat([]byte("a"), tc.size))
			})
			c := mustNew(t, Options{AllowPrivateNetwork: true, MaxBody: capBytes})
			b, err := get(context.Background(), c, srv.URL)
			if tc.tooLarge {
				if !errors.Is(err, ErrTooLarge) {
					t.Fatalf("got %d bytes, err %v; want ErrTooLarge", len(b), err)
				}
				if len(b) > capBytes {
					t.Fatalf("read %d bytes past a cap of %d", len(b), capBytes)
				}
				return
			}
			if err != nil || len(b) != tc.size {
				t.Fatalf("got %d bytes, %v; want %d", len(b), err, tc.size)
			}
		})
	}
}

func TestLimitBody(t *testing.T) {
	for _, tc := range []struct {
		body string
		n    int64
		err  bool
	}{
		{"", 0, false},
		{"a", 0, true},
		{"abc", 3, false},
		{"abcd", 3, true},
		{strings.Repeat("x", 10000), 9999, true},
		{"no cap", math.MaxInt64, false},
	} {
		got, err := io.ReadAll(LimitBody(io.NopCloser(strings.NewReader(tc.body)), tc.n))
		if errors.Is(err, ErrTooLarge) != tc.err || (err != nil && !tc.err) {
			t.Errorf("LimitBody(%d bytes, %d): err %v", len(tc.body), tc.n, err)
		}
		if int64(len(got)) > tc.n {
			t.Errorf("LimitBody(%d bytes, %d) read %d", len(tc.body), tc.n, len(got))
		}
	}
}

func TestTimeout(t *testing.T) {
	srv := nettest.NewCounting(t, false, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	c := mustNew(t, Options{AllowPrivateNetwork: true, Timeout: 100 * time.Millisecond})
	start := time.Now()
	_, err := get(context.Background(), c, srv.URL)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("got %v, want a timeout", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("a 100ms timeout took %v", took)
	}
}

func TestSanitize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain", "plain"},
		{"  two\n\r\tlines  ", "two lines"},
		{"esc\x1b[31mred\x1b[0m", "esc[31mred[0m"},
		{"nul\x00byte", "nulbyte"},
		{"forged\nlevel=ERROR msg=pwned", "forged level=ERROR msg=pwned"},
		{"bidi\u202eevil", "bidievil"},
		{"bad\xffutf8", "bad\ufffdutf8"},
		{strings.Repeat("é", 150), strings.Repeat("é", ReasonMax) + "…"},
	} {
		if got := Sanitize(tc.in, ReasonMax); got != tc.want {
			t.Errorf("Sanitize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestReason(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   string
	}{
		{500, `{"error":"InternalServerError","message":"boom"}`, "HTTP 500: InternalServerError: boom"},
		{400, `{"error":"RepoNotFound"}`, "HTTP 400: RepoNotFound"},
		{502, "", "HTTP 502"},
		{503, "<html>\n<b>down</b>\x1b]0;title\x07", "HTTP 503: <html> <b>down</b>]0;title"},
		{500, strings.Repeat("A", 4096), "HTTP 500: " + strings.Repeat("A", ReasonMax) + "…"},
	} {
		resp := &http.Response{StatusCode: tc.status, Body: io.NopCloser(strings.NewReader(tc.body))}
		if got := Reason(resp); got != tc.want {
			t.Errorf("Reason(%d, %.20q) = %q, want %q", tc.status, tc.body, got, tc.want)
		}
	}
}
