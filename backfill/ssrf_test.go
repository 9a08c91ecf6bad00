package backfill

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay/internal/nettest"
	"github.com/relaymusic/relay/outbound"
)

// plcServing is a PLC directory on loopback (operator-configured, so
// trusted) that answers every DID with a document declaring endpoint as its
// PDS.
func plcServing(t *testing.T, did syntax.DID, endpoint string) *httptest.Server {
	t.Helper()
	doc, err := json.Marshal(map[string]any{
		"id":          did.String(),
		"alsoKnownAs": []string{"at://victim.test"},
		"service": []map[string]string{{
			"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": endpoint,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/"+did.String() {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// The acceptance test of the SSRF finding: a DID document whose PDS
// endpoint is on loopback is refused without a single request to it, unless
// private networks are allowed; and then only its scheme and host are used.
func TestPDSEndpointOnLoopbackRefused(t *testing.T) {
	const did = syntax.DID("did:plc:abcdefghijklmnopqrstuvwx")
	// The body a hostile or internal server answers: long, with terminal
	// escapes and a forged log line.
	hostile := `{"error":"Internal","message":"\u001b[31mleak\nlevel=ERROR msg=forged ` + strings.Repeat("SECRET", 700) + `"}`
	handler := func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(hostile))
	}
	plainTrap := nettest.NewCounting(t, false, handler)
	tlsTrap := nettest.NewCounting(t, true, handler)
	port := func(s *httptest.Server) string { return s.URL[strings.LastIndexByte(s.URL, ':')+1:] }

	for _, tc := range []struct {
		name         string
		endpoint     string
		allowPrivate bool
		trap         *nettest.Counting
		wantErr      string // in the stored error
	}{
		{"http on loopback", "http://127.0.0.1:" + port(plainTrap.Server) + "/internal/admin?x=", false, plainTrap, "only https"},
		{"https on loopback", "https://127.0.0.1:" + port(tlsTrap.Server) + "/internal/admin?x=", false, tlsTrap, "is loopback"},
		{"https to a name resolving to loopback", "https://localhost:" + port(tlsTrap.Server) + "/", false, tlsTrap, "is loopback"},
		{"ipv4-mapped loopback", "https://[::ffff:127.0.0.1]:" + port(tlsTrap.Server) + "/", false, tlsTrap, "is loopback"},
		{"allowed on a private network", "http://127.0.0.1:" + port(plainTrap.Server) + "/internal/admin?x=", true, plainTrap, "HTTP 500: Internal: [31mleak level=ERROR msg=forged SECRET"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			conns0, reqs0 := tc.trap.Conns.Load(), tc.trap.Reqs.Load()
			plc := plcServing(t, did, tc.endpoint)
			dirClient, err := outbound.New(outbound.Options{Trusted: []string{plc.URL}})
			if err != nil {
				t.Fatal(err)
			}
			repoClient, err := outbound.New(outbound.Options{AllowPrivateNetwork: tc.allowPrivate, MaxBody: DefaultMaxRepoBytes + 1})
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			stats, err := Run(ctx, Config{
				Store:       openStore(t),
				DIDs:        []syntax.DID{did},
				Directory:   &identity.BaseDirectory{PLCURL: plc.URL, HTTPClient: *dirClient, SkipHandleVerification: true},
				HTTPClient:  repoClient,
				MaxAttempts: 1,
				Log:         slog.New(slog.NewJSONHandler(&logs, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(stats.Exhausted) != 1 {
				t.Fatalf("want the repo failed, got %+v", stats)
			}
			stored := stats.Exhausted[0].Error
			t.Logf("stored error: %s", stored)
			if !strings.Contains(stored, tc.wantErr) {
				t.Errorf("stored error %q does not say %q", stored, tc.wantErr)
			}
			conns, reqs := tc.trap.Conns.Load()-conns0, tc.trap.Reqs.Load()-reqs0
			if !tc.allowPrivate {
				if conns != 0 || reqs != 0 {
					t.Fatalf("the loopback endpoint got %d connections and %d requests", conns, reqs)
				}
				return
			}
			if reqs != 1 {
				t.Fatalf("the allowed endpoint got %d requests, want 1", reqs)
			}
			// Only the scheme and host of the declared endpoint are used.
			want := "/xrpc/com.atproto.sync.getRepo?did=" + strings.ReplaceAll(did.String(), ":", "%3A")
			if got := tc.trap.LastURL(); got != want {
				t.Errorf("requested %q, want %q", got, want)
			}
			// No remote text beyond a short sanitized reason, in the
			// database or the logs.
			if len(stored) > 300 || strings.Contains(stored, "\x1b") || strings.Contains(stored, "\n") {
				t.Errorf("stored error not bounded and sanitized: %q", stored)
			}
			if n := strings.Count(logs.String(), "SECRET"); n == 0 || n > 20 {
				t.Errorf("the logs carry %d copies of the remote body's text, want a few", n)
			}
			if strings.Contains(logs.String(), `\u001b`) || strings.Contains(logs.String(), `leak\n`) {
				t.Errorf("the logs carry remote control characters: %s", logs.String())
			}
		})
	}
}

// localNetworkClient is getRepo's client on the local test network, where
// every PDS is plain http on loopback: what --allow-private-network makes.
func localNetworkClient(t *testing.T) *http.Client {
	t.Helper()
	c, err := outbound.New(outbound.Options{AllowPrivateNetwork: true, Timeout: 5 * time.Minute, MaxBody: DefaultMaxRepoBytes + 1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPDSOrigin(t *testing.T) {
	for _, tc := range []struct {
		ep, want string // want "" for refused
	}{
		{"https://pds.example.com", "https://pds.example.com"},
		{"https://pds.example.com/", "https://pds.example.com"},
		{"https://pds.example.com:8443/internal/admin?x=#frag", "https://pds.example.com:8443"},
		{"https://user:pass@pds.example.com/x", "https://pds.example.com"},
		{"http://127.0.0.1:2583/admin?x=", "http://127.0.0.1:2583"}, // the address rule is the client's
		{"ftp://pds.example.com", ""},
		{"file:///etc/passwd", ""},
		{"pds.example.com", ""},
		{"https://", ""},
		{"https://pds\u202e.example.com", ""},
		{"https://" + strings.Repeat("a", maxEndpointLen), ""},
	} {
		u, err := pdsOrigin(tc.ep)
		if tc.want == "" {
			if err == nil {
				t.Errorf("pdsOrigin(%.40q) = %s, want refused", tc.ep, u)
			}
			continue
		}
		if err != nil || u.String() != tc.want {
			t.Errorf("pdsOrigin(%q) = %v, %v; want %s", tc.ep, u, err, tc.want)
		}
	}
}
