package appview

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/search"
	"github.com/relaymusic/relay/sqlite"
)

// env is a real store and index behind a real HTTP server.
type env struct {
	t     testing.TB
	store *sqlite.Store
	index *search.Index
	srv   *httptest.Server
	app   *Server
	db    string               // the store's file, for rows written behind its back
	reg   *prometheus.Registry // this server's metrics, as /metrics serves them
	n     int                  // tracks written
}

func newEnv(t testing.TB) *env { return newEnvTTL(t, -1) }

func newEnvTTL(t testing.TB, firstPageTTL time.Duration) *env {
	return newEnvWith(t, func(c *Config) { c.FirstPageTTL = firstPageTTL })
}

// newEnvWith serves the appview through the http.Server it builds itself
// (Server.HTTPServer), as serve does, with cfg adjusted by set.
func newEnvWith(t testing.TB, set func(*Config)) *env {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "relay.db"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := search.Open(filepath.Join(dir, "search.bleve"))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: store, index: idx, db: filepath.Join(dir, "relay.db"), reg: prometheus.NewRegistry()}
	cfg := Config{
		Store: store, Index: idx, Version: "test", FirstPageTTL: -1,
		Metrics: NewMetrics(e.reg), Gatherer: e.reg,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Health: func(context.Context) Health {
			return Health{Warnings: []string{"a warning"}}
		},
	}
	set(&cfg)
	e.app = New(cfg)
	e.srv = httptest.NewUnstartedServer(nil)
	e.srv.Config = e.app.HTTPServer()
	e.srv.Start()
	t.Cleanup(func() {
		e.srv.Close()
		idx.Close()
		store.Close()
	})
	return e
}

const artist = syntax.DID("did:plc:alice5rxbvqptxhmrrkjtu6m")

// add writes tracks through the store and brings the index up to date, as
// serve's follower does.
func (e *env) add(events ...relay.Event) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.store.ApplyBatch(ctx, events, 0); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.index.CatchUp(ctx, e.store); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) track(title, artistName string, created time.Time) relay.Event {
	e.n++
	rkey := syntax.NewTID(created.UnixMicro()+int64(e.n), 0)
	d := int64(200 + e.n)
	rec := fmt.Sprintf(`{"$type":"app.relay.track","title":%q,"artist":%q,"audioUrl":"https://audio.example/%d.mp3","fileType":"mp3","duration":%d,"createdAt":%q}`,
		title, artistName, e.n, d, created.UTC().Format("2006-01-02T15:04:05.000Z"))
	return relay.Event{Kind: relay.TrackPut, DID: artist, Track: &relay.Track{
		DID: artist, Collection: relay.TrackCollection, RKey: syntax.RecordKey(rkey.String()), Rev: syntax.NewTIDNow(0).String(),
		CID:   "bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxcpjwbdlbbn5gyzmxq",
		Title: title, Artist: artistName, FileType: "mp3", AudioURL: fmt.Sprintf("https://audio.example/%d.mp3", e.n),
		Duration: &d, Record: json.RawMessage(rec), CreatedAt: created,
	}}
}

func (e *env) get(path string, params url.Values) (int, map[string]any) {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + path + "?" + params.Encode())
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		e.t.Fatalf("%s: content type %q", path, ct)
	}
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, body
}

func (e *env) post(path string) (int, map[string]any) {
	e.t.Helper()
	resp, err := http.Post(e.srv.URL+path, "application/json", strings.NewReader("{}"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, body
}

func titles(list any) []string {
	var out []string
	for _, v := range list.([]any) {
		out = append(out, v.(map[string]any)["title"].(string))
	}
	return out
}

func TestBadParams(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		path   string
		params url.Values
		status int
		name   string
	}{
		{"/xrpc/app.relay.feed.getDiscoveryFeed", url.Values{"limit": {"0"}}, 400, "InvalidRequest"},
		{"/xrpc/app.relay.feed.getDiscoveryFeed", url.Values{"limit": {"101"}}, 400, "InvalidRequest"},
		{"/xrpc/app.relay.feed.getDiscoveryFeed", url.Values{"limit": {"ten"}}, 400, "InvalidRequest"},
		{"/xrpc/app.relay.feed.getDiscoveryFeed", url.Values{"cursor": {"garbage"}}, 400, "InvalidRequest"},
		{"/xrpc/app.relay.feed.getDiscoveryFeed", url.Values{"cursor": {"MTIz"}}, 400, "InvalidRequest"},
		{"/xrpc/app.relay.feed.searchTracks", url.Values{}, 400, "InvalidRequest"},
		{"/xrpc/app.relay.feed.searchTracks", url.Values{"q": {"   "}}, 400, "InvalidRequest"},
		{"/xrpc/app.relay.feed.searchTracks", url.Values{"q": {"!!!"}}, 400, "InvalidRequest"},
		{"/xrpc/app.relay.feed.searchTracks", url.Values{"q": {strings.Repeat("a ", 200)}}, 400, "InvalidRequest"},
		{"/xrpc/app.relay.feed.searchTracks", url.Values{"q": {"bjork"}, "limit": {"-1"}}, 400, "InvalidRequest"},
		{"/xrpc/app.relay.feed.searchTracks", url.Values{"q": {"bjork"}, "sort": {"oldest"}}, 400, "InvalidRequest"},
		{"/xrpc/app.relay.feed.searchTracks", url.Values{"q": {"bjork"}, "cursor": {"nope"}}, 400, "InvalidRequest"},
		{"/xrpc/app.relay.feed.getNothing", nil, 501, "MethodNotImplemented"},
		{"POST /xrpc/app.relay.feed.searchTracks", nil, 405, "InvalidRequest"},
	}
	for _, tc := range cases {
		t.Run(tc.path+"?"+tc.params.Encode(), func(t *testing.T) {
			var (
				status int
				body   map[string]any
			)
			if path, ok := strings.CutPrefix(tc.path, "POST "); ok {
				status, body = e.post(path)
			} else {
				status, body = e.get(tc.path, tc.params)
			}
			if status != tc.status || body["error"] != tc.name {
				t.Fatalf("got %d %v, want %d %s", status, body, tc.status, tc.name)
			}
			if msg, _ := body["message"].(string); msg == "" {
				t.Errorf("no message: %v", body)
			}
		})
	}
}

func TestDiscoveryFeed(t *testing.T) {
	e := newEnv(t)
	base := time.Now().Add(-time.Hour)
	for i := range 7 {
		e.add(e.track(fmt.Sprintf("song %d", i), "Björk", base.Add(time.Duration(i)*time.Minute)))
	}
	if _, err := e.store.ApplyBatch(context.Background(), []relay.Event{{Kind: relay.IdentityUpdate, DID: artist, Handle: "alice.example.com"}}, 0); err != nil {
		t.Fatal(err)
	}

	status, body := e.get("/xrpc/app.relay.feed.getDiscoveryFeed", url.Values{"limit": {"3"}})
	if status != 200 {
		t.Fatal(status, body)
	}
	if got := titles(body["feed"]); strings.Join(got, ",") != "song 6,song 5,song 4" {
		t.Fatalf("first page = %q", got)
	}
	view := body["feed"].([]any)[0].(map[string]any)
	for _, k := range []string{"uri", "cid", "did", "handle", "title", "artist", "duration", "fileType", "audioUrl", "createdAt", "indexedAt", "record"} {
		if _, ok := view[k]; !ok {
			t.Errorf("trackView lacks %s: %v", k, view)
		}
	}
	if view["handle"] != "alice.example.com" || view["duration"].(float64) != 207 {
		t.Errorf("view = %v", view)
	}
	if rec := view["record"].(map[string]any); rec["$type"] != "app.relay.track" || rec["title"] != "song 6" {
		t.Errorf("record = %v", rec)
	}
	if _, err := syntax.ParseDatetime(view["createdAt"].(string)); err != nil {
		t.Errorf("createdAt: %v", err)
	}

	// New tracks arrive between pages: they sort above the cursor, so the
	// pages that follow neither repeat nor skip.
	e.add(e.track("newcomer", "Björk", time.Now()))
	var all []string
	all = append(all, titles(body["feed"])...)
	cursor := body["cursor"].(string)
	for cursor != "" {
		_, body = e.get("/xrpc/app.relay.feed.getDiscoveryFeed", url.Values{"limit": {"3"}, "cursor": {cursor}})
		all = append(all, titles(body["feed"])...)
		e.add(e.track("another newcomer", "Björk", time.Now()))
		cursor, _ = body["cursor"].(string)
	}
	if strings.Join(all, ",") != "song 6,song 5,song 4,song 3,song 2,song 1,song 0" {
		t.Fatalf("pages = %q", all)
	}
}

func TestSearchTracks(t *testing.T) {
	e := newEnv(t)
	now := time.Now().Add(-time.Hour)
	e.add(e.track("Jóga", "Björk", now), e.track("Hoppípolla", "Sigur Rós", now.Add(time.Minute)), e.track("Army of Me", "Björk", now.Add(2*time.Minute)))

	cases := []struct {
		q, sort string
		want    string
	}{
		{"bjork", "newest", "Army of Me,Jóga"},
		{"sigur ros", "", "Hoppípolla"},
		{"hoppi", "", "Hoppípolla"},
		{"bjrok", "newest", "Army of Me,Jóga"}, // a transposition is one typo
		{"bxxrk", "", ""},                      // two typos at 5 letters are too many
		{"bjorkk", "newest", "Army of Me,Jóga"},
	}
	for _, tc := range cases {
		t.Run(tc.q, func(t *testing.T) {
			params := url.Values{"q": {tc.q}}
			if tc.sort != "" {
				params.Set("sort", tc.sort)
			}
			status, body := e.get("/xrpc/app.relay.feed.searchTracks", params)
			if status != 200 {
				t.Fatal(status, body)
			}
			if got := strings.Join(titles(body["tracks"]), ","); got != tc.want {
				t.Fatalf("tracks = %q, want %q", got, tc.want)
			}
			if int(body["hitsTotal"].(float64)) != len(titles(body["tracks"])) {
				t.Errorf("hitsTotal = %v", body["hitsTotal"])
			}
		})
	}

	// A track hidden after it was indexed never shows, even before the index
	// catches up.
	if _, err := e.store.ApplyBatch(context.Background(), []relay.Event{{Kind: relay.AccountStatus, DID: artist, Active: false, Status: "takendown"}}, 0); err != nil {
		t.Fatal(err)
	}
	_, body := e.get("/xrpc/app.relay.feed.searchTracks", url.Values{"q": {"bjork"}})
	if got := titles(body["tracks"]); len(got) != 0 {
		t.Fatalf("hidden tracks shown: %q", got)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	e := newEnv(t)
	status, body := e.get("/xrpc/_health", nil)
	if status != 200 || body["version"] != "test" || body["warnings"].([]any)[0] != "a warning" {
		t.Fatalf("health = %d %v", status, body)
	}
	e.get("/xrpc/app.relay.feed.getDiscoveryFeed", nil)
	resp, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `relay_xrpc_requests_total{method="app.relay.feed.getDiscoveryFeed",status="200"}`) {
		t.Errorf("metrics lack the request counter:\n%s", b)
	}
	// Only the given registry is served: not the process-wide default, where
	// Go's collectors and indigo's identity-cache counters live.
	for _, foreign := range []string{"go_goroutines", "atproto_"} {
		if strings.Contains(string(b), foreign) {
			t.Errorf("metrics carry %s from the default registry:\n%s", foreign, b)
		}
	}
}

// TestFirstPageCache: the feed's first page may be a moment old, never
// older than its TTL.
func TestFirstPageCache(t *testing.T) {
	const ttl = time.Second
	e := newEnvTTL(t, ttl)
	e.add(e.track("first", "Björk", time.Now().Add(-time.Hour)))
	_, body := e.get("/xrpc/app.relay.feed.getDiscoveryFeed", nil)
	if got := titles(body["feed"]); len(got) != 1 {
		t.Fatalf("feed = %q", got)
	}
	fetched := time.Now()
	e.add(e.track("second", "Björk", time.Now()))
	_, body = e.get("/xrpc/app.relay.feed.getDiscoveryFeed", nil)
	if elapsed := time.Since(fetched); elapsed >= ttl {
		t.Fatalf("the machine took %s to add a track and ask again; the TTL check needs under %s", elapsed, ttl)
	}
	if got := titles(body["feed"]); len(got) != 1 {
		t.Fatalf("within the TTL the cached page is served, got %q", got)
	}
	// Another limit is another page: not cached yet.
	_, body = e.get("/xrpc/app.relay.feed.getDiscoveryFeed", url.Values{"limit": {"10"}})
	if got := titles(body["feed"]); len(got) != 2 {
		t.Fatalf("limit=10 feed = %q", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, body = e.get("/xrpc/app.relay.feed.getDiscoveryFeed", nil)
		if got := titles(body["feed"]); len(got) == 2 {
			if time.Since(fetched) < ttl {
				t.Fatalf("fresh page served %s after caching, before the TTL %s", time.Since(fetched), ttl)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first page never refreshed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFeedOldCursor: a cursor handed out before cursors carried the
// collection ("sortAt rkey did") pages on as the new one does: a client
// paging across the deploy neither repeats nor skips.
func TestFeedOldCursor(t *testing.T) {
	e := newEnv(t)
	past := time.Now().Add(-time.Hour)
	for i := range 4 {
		e.add(e.track(fmt.Sprintf("song %d", i), "Björk", past.Add(time.Duration(i)*time.Minute)))
	}
	_, body := e.get("/xrpc/app.relay.feed.getDiscoveryFeed", url.Values{"limit": {"2"}})
	cursor, _ := body["cursor"].(string)
	k, err := decodeFeedCursor(cursor)
	if err != nil || k.Collection != relay.TrackCollection {
		t.Fatalf("cursor %q decodes to %+v, %v; want an app.relay.track key", cursor, k, err)
	}
	old := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d %s %s", k.SortAt, k.RKey, k.DID)))
	for _, c := range []string{cursor, old} {
		status, body := e.get("/xrpc/app.relay.feed.getDiscoveryFeed", url.Values{"limit": {"2"}, "cursor": {c}})
		if got := strings.Join(titles(body["feed"]), ","); status != 200 || got != "song 1,song 0" {
			t.Errorf("page after cursor %q = %d %q, want song 1,song 0", c, status, got)
		}
	}
}
