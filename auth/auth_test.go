package auth

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/identity"
	_ "github.com/mattn/go-sqlite3"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/internal/testnet"
	"github.com/relaymusic/relay/outbound"
	"github.com/relaymusic/relay/sqlite"
)

// fixture is a real PDS and PLC (internal/testnet), a real SQLite store,
// and the login endpoints on a loopback server.
type fixture struct {
	nw     *testnet.Network
	store  *sqlite.Store
	dbPath string
	svc    *Service
	srv    *httptest.Server
}

// shared is the test network of every test here, started by the first
// that needs it and closed by TestMain.
var shared *testnet.Network

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		_ = shared.Close()
	}
	os.Exit(code)
}

func newFixture(t *testing.T, ttl time.Duration) *fixture {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a PLC directory and a PDS")
	}
	if shared == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		nw, err := testnet.Start(ctx, testnet.Options{})
		if err != nil {
			t.Fatalf("start test network: %v", err)
		}
		shared = nw
	}
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "relay.db")
	store, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	client, err := outbound.New(outbound.Options{AllowPrivateNetwork: true, Trusted: []string{shared.PLCURL}, Timeout: 20 * time.Second, MaxBody: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	dir := identity.NewCacheDirectory(&identity.BaseDirectory{
		PLCURL: shared.PLCURL, HTTPClient: *client, SkipHandleVerification: true,
	}, 100, time.Hour, time.Minute, time.Minute)
	f := &fixture{nw: shared, store: store, dbPath: dbPath}
	mux := http.NewServeMux()
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	app, err := NewOAuthApp(f.srv.URL, store.OAuthStore(), dir, client)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = New(Config{Store: store, Directory: dir, HTTPClient: client, TokenTTL: ttl, PublicURL: f.srv.URL, OAuth: app, TrustDeclaredHandles: true})
	f.svc.Register(mux)
	return f
}

func (f *fixture) do(t *testing.T, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// appPassword makes an app password for acct on the PDS, as a user would
// in their account settings.
func appPassword(t *testing.T, acct *testnet.Account) string {
	t.Helper()
	var out struct {
		Password string `json:"password"`
	}
	if err := acct.Client().Post(context.Background(), "com.atproto.server.createAppPassword", map[string]any{"name": "relay-" + time.Now().Format("150405.000")}, &out); err != nil {
		t.Fatal(err)
	}
	return out.Password
}

// TestSessionLifecycle: an app-password login against the real PDS gives
// a token of ours; that token reads the session and writes to the user's
// repo through the PDS client it carries; deleteSession ends it; every
// bad request is a 4xx with a message.
func TestSessionLifecycle(t *testing.T) {
	f := newFixture(t, time.Hour)
	ctx := context.Background()
	acct, err := f.nw.CreateAccount(ctx, "authlc")
	if err != nil {
		t.Fatal(err)
	}
	pw := appPassword(t, acct)

	status, out := f.do(t, "POST", "/xrpc/app.relay.auth.createSession", "", map[string]string{"identifier": acct.DID, "password": pw})
	if status != 200 {
		t.Fatalf("createSession = %d %v", status, out)
	}
	token, _ := out["token"].(string)
	if out["did"] != acct.DID || out["handle"] != acct.Handle || !strings.HasPrefix(token, tokenPrefix) {
		t.Fatalf("createSession answered %v", out)
	}
	status, out = f.do(t, "GET", "/xrpc/app.relay.auth.getSession", token, nil)
	if status != 200 || out["did"] != acct.DID || out["method"] != relay.MethodPassword {
		t.Fatalf("getSession = %d %v", status, out)
	}

	// The login's PDS client writes as the user.
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	u, err := f.svc.Authenticate(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		URI string `json:"uri"`
	}
	rec := map[string]any{"$type": relay.TrackCollection, "title": "t", "artist": "a", "audioUrl": "https://cdn.example.com/a.mp3", "fileType": "mp3", "createdAt": time.Now().UTC().Format(time.RFC3339)}
	if err := u.PDS.Post(ctx, "com.atproto.repo.createRecord", map[string]any{"repo": acct.DID, "collection": relay.TrackCollection, "record": rec}, &created); err != nil {
		t.Fatalf("createRecord through the login's PDS client: %v", err)
	}
	if !strings.HasPrefix(created.URI, "at://"+acct.DID+"/"+relay.TrackCollection+"/") {
		t.Fatalf("createRecord uri = %q", created.URI)
	}

	if status, out = f.do(t, "POST", "/xrpc/app.relay.auth.deleteSession", token, nil); status != 200 {
		t.Fatalf("deleteSession = %d %v", status, out)
	}
	if status, out = f.do(t, "GET", "/xrpc/app.relay.auth.getSession", token, nil); status != 401 || out["error"] != "AuthenticationRequired" {
		t.Fatalf("getSession after deleteSession = %d %v, want 401", status, out)
	}

	for _, tc := range []struct {
		name   string
		body   any
		status int
	}{
		{"wrong password", map[string]string{"identifier": acct.DID, "password": "nope-nope-nope-nope"}, 401},
		// .test handles are a reserved TLD: the directory cannot verify
		// them, so only a DID logs in on this network.
		{"unresolvable handle", map[string]string{"identifier": acct.Handle, "password": pw}, 401},
		{"account password is still a password", map[string]string{"identifier": acct.DID, "password": acct.Password}, 200},
		{"not an identifier", map[string]string{"identifier": "not a handle", "password": pw}, 400},
		{"no password", map[string]string{"identifier": acct.Handle}, 400},
		{"oversized", map[string]string{"identifier": acct.Handle, "password": strings.Repeat("x", 9000)}, 413},
		{"not json", "just a string", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := f.do(t, "POST", "/xrpc/app.relay.auth.createSession", "", tc.body)
			if status != tc.status {
				t.Fatalf("status = %d %v, want %d", status, out, tc.status)
			}
			if status != 200 && out["message"] == "" {
				t.Fatalf("error without a message: %v", out)
			}
		})
	}
	for _, tok := range []string{"", "rly_unknown", "Basic abc", strings.Repeat("rly_", 100)} {
		if status, _ := f.do(t, "GET", "/xrpc/app.relay.auth.getSession", tok, nil); status != 401 {
			t.Errorf("getSession with %q = %d, want 401", tok, status)
		}
	}
}

// TestTokenExpires: a login past its TTL is refused.
func TestTokenExpires(t *testing.T) {
	f := newFixture(t, 1500*time.Millisecond)
	ctx := context.Background()
	acct, err := f.nw.CreateAccount(ctx, "authexp")
	if err != nil {
		t.Fatal(err)
	}
	status, out := f.do(t, "POST", "/xrpc/app.relay.auth.createSession", "", map[string]string{"identifier": acct.DID, "password": appPassword(t, acct)})
	if status != 200 {
		t.Fatalf("createSession = %d %v", status, out)
	}
	token := out["token"].(string)
	if status, _ := f.do(t, "GET", "/xrpc/app.relay.auth.getSession", token, nil); status != 200 {
		t.Fatalf("getSession = %d", status)
	}
	time.Sleep(1600 * time.Millisecond)
	if status, _ := f.do(t, "GET", "/xrpc/app.relay.auth.getSession", token, nil); status != 401 {
		t.Fatalf("getSession after expiry = %d, want 401", status)
	}
	if n, err := f.store.PruneAuthSessions(ctx, time.Now(), time.Hour); err != nil || n != 1 {
		t.Fatalf("PruneAuthSessions = %d, %v; want 1 pruned", n, err)
	}
}

// TestTokensStoredHashed: the database holds no token, only hashes.
func TestTokensStoredHashed(t *testing.T) {
	f := newFixture(t, time.Hour)
	ctx := context.Background()
	acct, err := f.nw.CreateAccount(ctx, "authhash")
	if err != nil {
		t.Fatal(err)
	}
	_, out := f.do(t, "POST", "/xrpc/app.relay.auth.createSession", "", map[string]string{"identifier": acct.DID, "password": appPassword(t, acct)})
	token, _ := out["token"].(string)
	if token == "" {
		t.Fatalf("no token: %v", out)
	}
	db, err := sql.Open("sqlite3", "file:"+f.dbPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM auth_sessions WHERE instr(token_hash || pds || handle, ?) > 0`, strings.TrimPrefix(token, tokenPrefix)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("the token itself is in the database")
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM auth_sessions WHERE token_hash = ?`, hashToken(token)).Scan(&n); err != nil || n != 1 {
		t.Fatalf("sessions under the token's hash = %d, %v; want 1", n, err)
	}
}

// TestCookieCrossOrigin: a write with the login cookie from another site
// is refused; the same request from this origin passes.
func TestCookieCrossOrigin(t *testing.T) {
	f := newFixture(t, time.Hour)
	ctx := context.Background()
	token, a, err := f.svc.start(ctx, relay.AuthSession{Kind: relay.SessionCookie, Method: relay.MethodPassword, DID: "did:plc:ewvi7nxzyoun6zhxrhs64oiz", PDS: `{"account_did":"did:plc:ewvi7nxzyoun6zhxrhs64oiz","host":"http://127.0.0.1:1"}`})
	if err != nil {
		t.Fatal(err)
	}
	_ = a
	for _, tc := range []struct {
		name    string
		method  string
		headers map[string]string
		ok      bool
	}{
		{"read, no origin", "GET", nil, true},
		{"write from this origin", "POST", map[string]string{"Origin": f.srv.URL}, true},
		{"write, fetch metadata same-origin", "POST", map[string]string{"Sec-Fetch-Site": "same-origin"}, true},
		{"write from another site", "POST", map[string]string{"Origin": "https://evil.example"}, false},
		{"write, fetch metadata cross-site", "POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": f.srv.URL}, false},
		{"write without an origin", "POST", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, f.srv.URL+"/tracks", nil)
			req.AddCookie(&http.Cookie{Name: cookieName, Value: token})
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			_, err := f.svc.Authenticate(req)
			if (err == nil) != tc.ok {
				t.Fatalf("Authenticate = %v, want ok %v", err, tc.ok)
			}
		})
	}
	// A cookie is not a bearer token, nor the other way round.
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if _, err := f.svc.Authenticate(req); err == nil {
		t.Fatal("a cookie's token passed as a bearer token")
	}
}

// TestOAuthEndpoints: the client metadata and the login's first step. The
// loopback PDS is plain http on a port, which indigo's OAuth resolver
// refuses (an authorization server must be https on the default port), so
// the flow cannot go further on this network: /login says why, as a 400.
func TestOAuthEndpoints(t *testing.T) {
	f := newFixture(t, time.Hour)
	ctx := context.Background()
	acct, err := f.nw.CreateAccount(ctx, "authoauth")
	if err != nil {
		t.Fatal(err)
	}
	status, meta := f.do(t, "GET", "/oauth/client-metadata.json", "", nil)
	if status != 200 {
		t.Fatalf("client metadata = %d", status)
	}
	id, _ := meta["client_id"].(string)
	if !strings.HasPrefix(id, "http://localhost?") || !strings.Contains(id, "redirect_uri=http%3A%2F%2F127.0.0.1") {
		t.Fatalf("client_id = %q, want the loopback client form", id)
	}
	if scope, _ := meta["scope"].(string); scope != strings.Join(Scopes, " ") || strings.Contains(scope, "transition:generic") {
		t.Fatalf("scope = %q, want only %v", scope, Scopes)
	}
	if status, jwks := f.do(t, "GET", "/oauth/jwks.json", "", nil); status != 200 || jwks["keys"] == nil {
		t.Fatalf("jwks = %d %v", status, jwks)
	}
	for _, tc := range []struct {
		q    string
		want int
	}{
		{"", 400},
		{"?handle=https://evil.example", 400},
		{"?handle=" + acct.DID, 400}, // http PDS: refused by the resolver
	} {
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Get(f.srv.URL + "/login" + tc.q)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != tc.want || out["message"] == "" {
			t.Errorf("/login%s = %d %v, want %d with a message", tc.q, resp.StatusCode, out, tc.want)
		}
	}
	// A callback with a state nobody asked for is refused.
	if status, out := f.do(t, "GET", "/oauth/callback?state=forged&iss=https://x&code=y", "", nil); status != 400 {
		t.Fatalf("forged callback = %d %v, want 400", status, out)
	}
	// A browser navigating (the web UI's forms) is sent back to the page
	// with a code instead, whatever the error says.
	for _, tc := range []struct{ path, want string }{
		{"/login", "/?error=invalid"},
		{"/login?handle=https://evil.example", "/?error=invalid"},
		{"/login?handle=" + acct.DID, "/?error=oauth"},
		{"/oauth/callback?state=forged&iss=https://x&code=y", "/?error=callback"},
	} {
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, _ := http.NewRequest("GET", f.srv.URL+tc.path, nil)
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tc.want {
			t.Errorf("navigating to %s = %d to %q, want 303 to %q", tc.path, resp.StatusCode, resp.Header.Get("Location"), tc.want)
		}
	}
}

// TestPublicClientMetadata: off loopback the client_id is the metadata
// document's own URL, with the https callback.
func TestPublicClientMetadata(t *testing.T) {
	app, err := NewOAuthApp("https://relay.example.com", nil, nil, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{PublicURL: "https://relay.example.com", OAuth: app})
	rec := httptest.NewRecorder()
	s.handleClientMetadata(rec, httptest.NewRequest("GET", "/oauth/client-metadata.json", nil))
	var meta map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &meta); err != nil {
		t.Fatal(err)
	}
	if meta["client_id"] != "https://relay.example.com/oauth/client-metadata.json" {
		t.Errorf("client_id = %v", meta["client_id"])
	}
	if uris, _ := meta["redirect_uris"].([]any); len(uris) != 1 || uris[0] != "https://relay.example.com/oauth/callback" {
		t.Errorf("redirect_uris = %v", meta["redirect_uris"])
	}
	c := s.cookie("rly_x", time.Now().Add(time.Hour))
	if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Errorf("cookie = %+v, want Secure, HttpOnly, SameSite=Lax", c)
	}
}

// TestLogoutCrossSite: another site cannot log a user out; this site's
// own page can.
func TestLogoutCrossSite(t *testing.T) {
	s := New(Config{PublicURL: "https://relay.example.com"})
	for _, tc := range []struct {
		name    string
		headers map[string]string
		status  int
	}{
		{"from another site", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"fetch metadata cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"no origin at all", nil, http.StatusForbidden},
		{"this site's page", map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "https://relay.example.com/logout", nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			s.handleLogout(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			cleared := strings.Contains(rec.Header().Get("Set-Cookie"), cookieName+"=;")
			if cleared != (tc.status == http.StatusSeeOther) {
				t.Errorf("cookie cleared = %v (Set-Cookie %q)", cleared, rec.Header().Get("Set-Cookie"))
			}
		})
	}
}
