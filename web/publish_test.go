package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/identity"
	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/appview"
	"github.com/relaymusic/relay/auth"
	"github.com/relaymusic/relay/datadir"
	"github.com/relaymusic/relay/internal/testnet"
	"github.com/relaymusic/relay/outbound"
	"github.com/relaymusic/relay/publish"
	"github.com/relaymusic/relay/storage"
	"github.com/relaymusic/relay/validate"
)

// testNetwork is the local ATProto network (PLC, a real PDS, a relay and
// jetstream) of the publish tests, started by the first and closed by
// TestMain.
var testNetwork *testnet.Network

func startNetwork(t *testing.T) *testnet.Network {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a PLC directory, a PDS, a relay and jetstream")
	}
	if testNetwork == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		nw, err := testnet.Start(ctx, testnet.Options{})
		if err != nil {
			t.Fatalf("starting the test network: %v", err)
		}
		testNetwork = nw
	}
	return testNetwork
}

// pubEnv is relay serve's publishing side as cmd/relay wires it, on
// loopback: a data dir (SQLite and Bleve) following its outbox, local
// media storage served at /audio/ and /art/, auth and publish routed
// beside the appview, and this package at / with auth as its Sessions.
type pubEnv struct {
	nw    *testnet.Network
	dd    *datadir.Dir
	media string
	url   string
}

func newPubEnv(t *testing.T) *pubEnv {
	t.Helper()
	nw := startNetwork(t)
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	dd, err := datadir.Serving(ctx, filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	e := &pubEnv{nw: nw, dd: dd, media: filepath.Join(dir, "media")}
	srv := httptest.NewUnstartedServer(nil)
	e.url = "http://" + srv.Listener.Addr().String()
	// The service's own http origin is trusted for media URLs, as
	// --public-url makes it (validate.TrustOrigin).
	if err := validate.TrustOrigin(e.url); err != nil {
		t.Fatal(err)
	}
	local, err := storage.NewLocal(e.media, e.url)
	if err != nil {
		t.Fatal(err)
	}
	client, err := outbound.New(outbound.Options{AllowPrivateNetwork: true, Trusted: []string{nw.PLCURL}, Timeout: 20 * time.Second, MaxBody: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	dirc := identity.NewCacheDirectory(&identity.BaseDirectory{PLCURL: nw.PLCURL, HTTPClient: *client, SkipHandleVerification: true}, 100, time.Hour, time.Minute, time.Minute)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	app, err := auth.NewOAuthApp(e.url, dd.Store.OAuthStore(), dirc, client)
	if err != nil {
		t.Fatal(err)
	}
	authn := auth.New(auth.Config{Store: dd.Store, Directory: dirc, HTTPClient: client, PublicURL: e.url, Page: "/publish",
		TrustDeclaredHandles: true, OAuth: app, Log: log})
	wake := make(chan struct{}, 1)
	pub, err := publish.New(publish.Config{
		Auth: authn, Store: dd.Store, Ledger: dd.Store, Media: local,
		SpoolDir: filepath.Join(dir, "spool"), Journal: filepath.Join(dir, "journal"),
		MaxUploadBytes: 8 << 20, MinRate: 1024, Log: log,
		Committed: func() {
			select {
			case wake <- struct{}{}:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "spool"), 0o755); err != nil {
		t.Fatal(err)
	}
	view := appview.New(appview.Config{
		Store: dd.Store, Index: dd.Index, Media: local.Handler(), FirstPageTTL: -1, Log: log,
		Routes: func(mux *http.ServeMux) { authn.Register(mux); pub.Register(mux) },
		Pages: func(s *appview.Server) http.Handler {
			return New(Config{Views: s, Sessions: authn, MaxUploadBytes: 8 << 20, Log: log})
		},
	})
	srv.Config = view.HTTPServer()
	srv.Start()
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		_ = dd.Index.Follow(ctx, dd.Store, 200*time.Millisecond, wake)
	}()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-followed
		local.Close()
		dd.Close()
		validate.TrustOrigin("")
	})
	return e
}

// account is a new account on the PDS and an app password of it.
func (e *pubEnv) account(t *testing.T, prefix string) (*testnet.Account, string) {
	t.Helper()
	ctx := context.Background()
	acct, err := e.nw.CreateAccount(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	var pw struct {
		Password string `json:"password"`
	}
	if err := acct.Client().Post(ctx, "com.atproto.server.createAppPassword", map[string]any{"name": "relay"}, &pw); err != nil {
		t.Fatal(err)
	}
	return acct, pw.Password
}

// record is the track record at rkey on acct's PDS; nil if there is none.
func record(t *testing.T, acct *testnet.Account, rkey string) map[string]any {
	t.Helper()
	var out struct {
		Value map[string]any `json:"value"`
	}
	err := acct.Client().Get(context.Background(), "com.atproto.repo.getRecord",
		map[string]any{"repo": acct.DID, "collection": relay.TrackCollection, "rkey": rkey}, &out)
	var apiErr *atclient.APIError
	if err != nil && errors.As(err, &apiErr) && (apiErr.StatusCode == 400 || apiErr.StatusCode == 404) {
		return nil
	}
	if err != nil {
		t.Fatalf("getRecord %s: %v", rkey, err)
	}
	return out.Value
}

// TestBrowserPublish drives the publish page in headless Chromium through
// real parts: a wrong app password, then the right one on the real PDS;
// an upload of a generated WAV with artwork, its progress shown while a
// throttled connection sends it; the record on the PDS; the hostile title
// shown as text on the page and found by search at once; delete, and the
// track gone from the PDS, the index and storage; log out.
func TestBrowserPublish(t *testing.T) {
	e := newPubEnv(t)
	acct, password := e.account(t, "webpub")
	b := newBrowser(t)

	// Nobody logged in: the login forms.
	b.open(e.url + "/publish")
	b.wait(`document.getElementById('login-oauth') && document.getElementById('login-password')`, 5*time.Second)

	// OAuth as far as this network allows: the PDS's authorization server
	// is plain http on loopback, which indigo's client refuses, so the
	// login comes back to the page with its message.
	b.do(chromedp.SendKeys(chromedp.ID("login-handle"), acct.DID), chromedp.Click(chromedp.CSS("#login-oauth button")))
	b.wait(`location.search.indexOf('error=oauth') >= 0 && document.querySelector('.error')`, 30*time.Second)
	if got := b.text(".error"); !strings.Contains(got, "could not start the login") {
		t.Errorf("oauth error shown: %q", got)
	}

	// A wrong app password, then the right one.
	b.do(chromedp.Click(chromedp.CSS(".alt summary")),
		chromedp.SendKeys(chromedp.ID("login-identifier"), acct.DID),
		chromedp.SendKeys(chromedp.ID("login-secret"), "wrong-wrong-wrong-wrong"),
		chromedp.Click(chromedp.CSS("#login-password button")))
	b.wait(`location.search.indexOf('error=credentials') >= 0`, 30*time.Second)
	if got := b.text(".error"); !strings.Contains(got, "refused") {
		t.Errorf("bad password shown: %q", got)
	}
	b.do(chromedp.Click(chromedp.CSS(".alt summary")),
		chromedp.SendKeys(chromedp.ID("login-identifier"), acct.DID),
		chromedp.SendKeys(chromedp.ID("login-secret"), password),
		chromedp.Click(chromedp.CSS("#login-password button")))
	b.wait(`document.getElementById('upload')`, 30*time.Second)
	if got := b.text(".who"); !strings.Contains(got, "logged in as") {
		t.Errorf("after login: %q", got)
	}

	// The upload: 12 s of WAV (192 KB) and a PNG, sent at 48 KB/s so the
	// progress shows between 0 and 100%.
	dir := t.TempDir()
	wav := filepath.Join(dir, "song.wav")
	if err := os.WriteFile(wav, tone(12*time.Second), 0o644); err != nil {
		t.Fatal(err)
	}
	var art bytes.Buffer
	if err := png.Encode(&art, artwork(2)); err != nil {
		t.Fatal(err)
	}
	artPath := filepath.Join(dir, "cover.png")
	if err := os.WriteFile(artPath, art.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	title := "harbour " + hostile1
	b.do(chromedp.SetUploadFiles(chromedp.ID("up-file"), []string{wav}),
		chromedp.SetUploadFiles(chromedp.ID("up-art"), []string{artPath}),
		chromedp.SendKeys(chromedp.ID("up-title"), title),
		chromedp.SendKeys(chromedp.ID("up-artist"), hostile2),
		chromedp.SendKeys(chromedp.ID("up-album"), "first light"),
		chromedp.SendKeys(chromedp.ID("up-tags"), "calm, test"))
	b.throttleUpload(48 << 10)
	b.do(chromedp.Click(chromedp.ID("up-go")))
	var seen []string
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(b.location(), "published=") {
		if time.Now().After(deadline) {
			t.Fatalf("no publish after 60 s; status shown %q", seen)
		}
		if s := b.text("#up-status"); s != "" && (len(seen) == 0 || seen[len(seen)-1] != s) {
			seen = append(seen, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.throttleUpload(-1)
	if !partway(seen) {
		t.Errorf("the upload's progress was never shown partway: %q", seen)
	}
	b.wait(`document.querySelector('.notice')`, 10*time.Second)
	if got := b.text(".notice a"); got != title {
		t.Errorf("notice names %q, want %q", got, title)
	}
	mine := listTitles(b, "#mine")
	if len(mine) != 1 || mine[0] != title {
		t.Fatalf("my tracks: %q", mine)
	}
	var rkey string
	b.eval(`document.querySelector('#mine li.track').dataset.rkey`, &rkey)
	screenshot(b, "publish-desktop")

	// On the PDS, as publish wrote it.
	rec := record(t, acct, rkey)
	if rec == nil {
		t.Fatal("no record on the PDS")
	}
	if rec["title"] != title || rec["fileType"] != "wav" || rec["audioSha256"] == nil || rec["duration"] != float64(12) {
		t.Errorf("record: %v", rec)
	}
	audioURL, _ := rec["audioUrl"].(string)
	if !strings.HasPrefix(audioURL, e.url+"/audio/") {
		t.Fatalf("audioUrl %q is not this service's", audioURL)
	}
	object := filepath.Join(e.media, strings.TrimPrefix(audioURL, e.url+"/"))
	if _, err := os.Stat(object); err != nil {
		t.Fatalf("the audio object: %v", err)
	}

	// Search finds it at once.
	b.do(chromedp.SendKeys(chromedp.ID("q"), "harbour"))
	b.wait(`document.querySelectorAll('#results-list li.track').length === 1`, 10*time.Second)
	if got := listTitles(b, "#results-list"); len(got) != 1 || got[0] != title {
		t.Errorf("search: %q", got)
	}
	b.do(chromedp.SendKeys(chromedp.ID("q"), "\x1b"))
	b.wait(`!document.getElementById('main').hidden`, 5*time.Second)

	// The page fits a phone.
	b.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	var width int
	b.eval(`document.documentElement.scrollWidth`, &width)
	if width > 390 {
		t.Errorf("publish page: scrollWidth %d at 390 px", width)
	}
	screenshot(b, "publish-phone")
	b.do(chromedp.EmulateViewport(1200, 900))

	// Delete asks once more on its own button, then deletes everywhere.
	b.do(chromedp.Click(chromedp.CSS("#mine .del")))
	b.wait(`document.querySelector('#mine .del').textContent === 'delete?'`, 5*time.Second)
	b.do(chromedp.Click(chromedp.CSS("#mine .del")))
	b.wait(`document.querySelectorAll('#mine li.track').length === 0`, 30*time.Second)
	if got := b.text("#mine-status"); got != "deleted" {
		t.Errorf("after delete: %q", got)
	}
	if rec := record(t, acct, rkey); rec != nil {
		t.Errorf("the record is still on the PDS: %v", rec)
	}
	uri := relay.TrackURI(syntax.DID(acct.DID), relay.TrackCollection, syntax.RecordKey(rkey))
	if got, err := e.dd.Store.Tracks(context.Background(), []syntax.ATURI{uri}); err != nil || len(got) != 0 {
		t.Errorf("the track is still in the store (%d, %v)", len(got), err)
	}
	if _, err := os.Stat(object); !os.IsNotExist(err) {
		t.Errorf("the audio object is still stored: %v", err)
	}
	resp, err := http.Get(e.url + "/xrpc/app.relay.feed.searchTracks?q=harbour")
	if err != nil {
		t.Fatal(err)
	}
	var hits struct {
		Tracks []json.RawMessage `json:"tracks"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&hits)
	resp.Body.Close()
	if len(hits.Tracks) != 0 {
		t.Errorf("search still finds %d tracks", len(hits.Tracks))
	}

	// Log out: the login forms again.
	b.do(chromedp.Click(chromedp.ID("logout")))
	b.wait(`location.pathname === '/'`, 10*time.Second)
	b.open(e.url + "/publish")
	b.wait(`document.getElementById('login-oauth') && !document.getElementById('upload')`, 5*time.Second)
	b.noDialogs()
}

// screenshot saves the page under docs/screenshots when RELAY_SCREENSHOTS
// is set (make screenshots), as TestScreenshots does.
func screenshot(b *browser, name string) {
	b.t.Helper()
	if os.Getenv("RELAY_SCREENSHOTS") == "" {
		return
	}
	b.wait(`Array.from(document.images).every(i => i.complete)`, 10*time.Second)
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "docs", "screenshots", name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// partway reports whether a status "uploading N%" with 0 < N < 100 was
// shown.
func partway(seen []string) bool {
	for _, s := range seen {
		var n int
		if _, err := fmt.Sscanf(s, "uploading %d%%", &n); err == nil && n > 0 && n < 100 {
			return true
		}
	}
	return false
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	var s string
	b.eval(`(document.querySelector(`+jsString(sel)+`) || {}).textContent || ''`, &s)
	return strings.TrimSpace(s)
}

// throttleUpload caps what the page sends, bytes a second (-1: no cap).
func (b *browser) throttleUpload(rate float64) {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: []*network.Conditions{{DownloadThroughput: -1, UploadThroughput: rate}},
	}); err != nil {
		b.t.Fatalf("throttling: %v", err)
	}
}

func (b *browser) location() string {
	b.t.Helper()
	var s string
	b.eval(`location.href`, &s)
	return s
}

// TestPublishLoginForm: the app-password form's answers without a
// browser: another site's post logs nobody in, a refused password and a
// malformed identifier go back to the page with their codes, the right
// one sets a HttpOnly cookie that the page then knows.
func TestPublishLoginForm(t *testing.T) {
	e := newPubEnv(t)
	acct, password := e.account(t, "webform")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(origin string, form url.Values) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.url+"/login/password", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, tc := range []struct {
		name, origin, identifier, password, want string
	}{
		{"another site", "https://evil.example", acct.DID, password, "/publish?error=cross-site"},
		{"no origin", "", acct.DID, password, "/publish?error=cross-site"},
		{"wrong password", e.url, acct.DID, "nope-nope-nope-nope", "/publish?error=credentials"},
		{"not an identifier", e.url, "not an identifier", password, "/publish?error=invalid"},
		{"no password", e.url, acct.DID, "", "/publish?error=invalid"},
		// Past the form's 8 KiB bound: refused before the PDS is asked.
		{"a body over 8 KiB", e.url, acct.DID, strings.Repeat("p", 9<<10), "/publish?error=invalid"},
	} {
		resp := post(tc.origin, url.Values{"identifier": {tc.identifier}, "password": {tc.password}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tc.want || len(resp.Cookies()) != 0 {
			t.Errorf("%s: %d to %q with %d cookies, want 303 to %q and none", tc.name, resp.StatusCode, resp.Header.Get("Location"), len(resp.Cookies()), tc.want)
		}
	}
	resp := post(e.url, url.Values{"identifier": {acct.DID}, "password": {password}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/publish" {
		t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "relay_session" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookie: %+v", cookie)
	}
	req, _ := http.NewRequest(http.MethodGet, e.url+"/publish", nil)
	req.AddCookie(cookie)
	page, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(body), `id="upload"`) || !strings.Contains(string(body), acct.DID) && !strings.Contains(string(body), acct.Handle) {
		t.Errorf("the page with the cookie shows no upload form for the user")
	}
	if cc := page.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	if p := page.Header.Get("Content-Security-Policy"); !strings.Contains(p, "form-action 'self' https:") || strings.Contains(p, "unsafe") {
		t.Errorf("publish CSP %q", p)
	}
	// The page's words for an error code, never text from the URL.
	req, _ = http.NewRequest(http.MethodGet, e.url+"/publish?error=call+0800+now", nil)
	page, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(page.Body)
	page.Body.Close()
	if strings.Contains(string(body), "0800") || strings.Contains(string(body), `class="error"`) {
		t.Errorf("an unknown error code put text on the page")
	}
}
