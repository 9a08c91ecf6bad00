package appview

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestNewServiceIdentity(t *testing.T) {
	cases := []struct {
		did, url string
		ok       bool
		endpoint string
	}{
		{"did:web:relay.example.com", "https://relay.example.com", true, "https://relay.example.com"},
		{"did:web:relay.example.com", "https://relay.example.com/", true, "https://relay.example.com"},
		{"did:web:localhost%3A8080", "http://localhost:8080", true, "http://localhost:8080"},
		{"", "", true, ""},
		{"did:web:relay.example.com", "", false, ""},
		{"", "https://relay.example.com", true, ""},
		{"", "http://relay.example.com", false, ""},
		{"did:plc:ewvi7nxzyoun6zhxrhs64oiz", "https://relay.example.com", false, ""},
		{"did:web:other.example.com", "https://relay.example.com", false, ""},
		{"did:web:relay.example.com:u:alice", "https://relay.example.com", false, ""},
		{"did:web:relay.example.com", "http://relay.example.com", false, ""},
		{"did:web:relay.example.com", "https://relay.example.com/app", false, ""},
		{"did:web:relay.example.com", "https://relay.example.com/?x=1", false, ""},
		{"did:web:relay.example.com", "relay.example.com", false, ""},
		{"not a did", "https://relay.example.com", false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.did+" "+tc.url, func(t *testing.T) {
			id, err := NewServiceIdentity(tc.did, tc.url)
			if (err == nil) != tc.ok {
				t.Fatalf("NewServiceIdentity = %v, want ok %v", err, tc.ok)
			}
			if got := ""; id != nil {
				got = id.PublicURL
				if got != tc.endpoint {
					t.Errorf("endpoint %q, want %q", got, tc.endpoint)
				}
			} else if tc.endpoint != "" {
				t.Errorf("no identity, want endpoint %q", tc.endpoint)
			}
		})
	}
}

func TestDIDDocument(t *testing.T) {
	id, err := NewServiceIdentity("did:web:relay.example.com", "https://relay.example.com")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, func(c *Config) { c.Identity = id })
	status, body := e.get("/.well-known/did.json", nil)
	if status != 200 || body["id"] != "did:web:relay.example.com" {
		t.Fatalf("did.json: %d %v", status, body)
	}
	svc, _ := body["service"].([]any)
	if len(svc) != 1 {
		t.Fatalf("service = %v", body["service"])
	}
	want := map[string]any{"id": "#relay_appview", "type": "RelayAppView", "serviceEndpoint": "https://relay.example.com"}
	got, _ := json.Marshal(svc[0])
	wantJSON, _ := json.Marshal(want)
	if string(got) != string(wantJSON) {
		t.Errorf("service = %s, want %s", got, wantJSON)
	}

	none := newEnv(t)
	status, body = none.get("/.well-known/did.json", nil)
	if status != 404 || body["error"] != "NotFound" || body["message"] == "" {
		t.Errorf("did.json without identity: %d %v", status, body)
	}
}

func TestPreflight(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		path string
		cors bool
	}{
		{"/xrpc/app.relay.feed.getDiscoveryFeed", true},
		{"/xrpc/app.relay.actor.getArtist", true},
		{"/xrpc/app.relay.feed.getNothing", true},
		{"/", false},
		{"/metrics", false},
		{"/.well-known/did.json", false},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodOptions, e.srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Origin", "https://app.example")
			req.Header.Set("Access-Control-Request-Method", "GET")
			req.Header.Set("Access-Control-Request-Headers", "atproto-proxy")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			h := resp.Header
			if !tc.cors {
				if h.Get("Access-Control-Allow-Origin") != "" || h.Get("Access-Control-Allow-Methods") != "" || resp.StatusCode == http.StatusNoContent {
					t.Errorf("%s: %d with CORS headers %v", tc.path, resp.StatusCode, h)
				}
				return
			}
			if resp.StatusCode != http.StatusNoContent || h.Get("Access-Control-Allow-Origin") != "*" ||
				h.Get("Access-Control-Allow-Methods") != "GET, POST, OPTIONS" || h.Get("Access-Control-Max-Age") == "" {
				t.Errorf("%s: %d %v", tc.path, resp.StatusCode, h)
			}
			for _, want := range []string{"atproto-proxy", "atproto-accept-labelers", "Authorization", "Content-Type"} {
				if !containsFold(h.Get("Access-Control-Allow-Headers"), want) {
					t.Errorf("Allow-Headers %q lacks %s", h.Get("Access-Control-Allow-Headers"), want)
				}
			}
		})
	}
}

func containsFold(list, want string) bool {
	for _, v := range strings.Split(list, ",") {
		if strings.EqualFold(strings.TrimSpace(v), want) {
			return true
		}
	}
	return false
}
