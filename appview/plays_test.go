package appview

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/plays"
)

// newPlaysEnv is newEnv with a real plays.Counter writing to the env's
// store, and proxies trusted as given.
func newPlaysEnv(t *testing.T, trusted ...string) (*env, *plays.Counter) {
	t.Helper()
	proxies, err := plays.ParseProxies(trusted)
	if err != nil {
		t.Fatal(err)
	}
	var c *plays.Counter
	e := newEnvWith(t, func(cfg *Config) {
		c = plays.NewCounter(plays.Config{Store: cfg.Store.(plays.Store), Log: cfg.Log, Metrics: plays.NewMetrics(cfg.Gatherer.(prometheus.Registerer))})
		cfg.Plays, cfg.TrustedProxies = c, proxies
	})
	return e, c
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (e *env) play(method, path, forwarded string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if forwarded != "" {
		req.Header.Set("X-Forwarded-For", forwarded)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound && method == http.MethodGet {
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			e.t.Fatalf("%s %s: %d without a JSON error: %v", method, path, resp.StatusCode, err)
		}
		resp.Header.Set("X-Test-Error", fmt.Sprint(body["error"]))
	}
	return resp
}

// playsCounted reads relay_plays_total{result} from the env's registry.
func (e *env) playsCounted(result string) float64 {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "relay_plays_total" {
			for _, m := range mf.GetMetric() {
				if m.GetLabel()[0].GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	e.t.Fatalf("no relay_plays_total{result=%q}", result)
	return 0
}

func playPath(u syntax.ATURI) string {
	return "/play/" + u.Authority().String() + "/" + u.RecordKey().String()
}

// TestPlayNavigation: a browser following a /play link as a page goes to
// the track's page, uncounted; /play on this origin never sends a page to
// whatever URL a record names.
func TestPlayNavigation(t *testing.T) {
	e, _ := newPlaysEnv(t)
	u := catalogue(e)
	before := e.playsCounted("counted")
	req, err := http.NewRequest("GET", e.srv.URL+playPath(u[0]), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Sec-Fetch-Dest", "document")
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := "/track/" + u[0].Authority().String() + "/" + u[0].RecordKey().String()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
		t.Fatalf("navigation: %d to %q, want 303 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	if got := e.playsCounted("counted"); got != before {
		t.Errorf("a navigation counted a play (%v -> %v)", before, got)
	}
}

func TestPlay(t *testing.T) {
	e, counter := newPlaysEnv(t)
	u := catalogue(e)
	// A track whose audio is not https, one deleted, and the hidden artist's.
	plain := e.track("plain", "x", time.Now().Add(-time.Hour))
	plain.Track.AudioURL = "http://audio.example/plain.mp3"
	gone := e.track("gone", "x", time.Now().Add(-time.Hour))
	e.add(plain, gone)
	e.add(relay.Event{Kind: relay.TrackDelete, DID: artist, Collection: relay.TrackCollection, RKey: gone.Track.RKey, Rev: syntax.NewTIDNow(0).String()})
	hidden := e.catalogueTrack(hiddenDID, "hidden", "", "", time.Now().Add(-time.Hour))
	e.add(hidden)

	one := e.get1(u[0])
	for _, tc := range []struct {
		name     string
		method   string
		path     string
		status   int
		location string
		errName  string
		result   string // the relay_plays_total result it adds to ("": none)
	}{
		{"a track plays: 302 to its audio", "GET", playPath(u[0]), 302, one.AudioURL, "", "counted"},
		{"at once again: still 302, a repeat", "GET", playPath(u[0]), 302, one.AudioURL, "", "repeat"},
		{"HEAD answers without counting", "HEAD", playPath(u[1]), 302, e.get1(u[1]).AudioURL, "", ""},
		{"another track counts", "GET", playPath(u[1]), 302, e.get1(u[1]).AudioURL, "", "counted"},
		{"unknown track: 404", "GET", "/play/" + artist.String() + "/3kaaaaaaaaaaa", 404, "", "NotFound", "unknown_track"},
		{"deleted track: 404", "GET", playPath(gone.Track.URI()), 404, "", "NotFound", "unknown_track"},
		{"hidden artist's track: 404", "GET", playPath(hidden.Track.URI()), 404, "", "NotFound", "unknown_track"},
		{"audio that is not https: 404", "GET", playPath(plain.Track.URI()), 404, "", "NotFound", "unknown_track"},
		{"not a DID: 400", "GET", "/play/alice.example/3kaaaaaaaaaaa", 400, "", "InvalidRequest", ""},
		{"not a record key: 400", "GET", "/play/" + artist.String() + "/a@b", 400, "", "InvalidRequest", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := map[string]float64{}
			for _, r := range []string{"counted", "repeat", "unknown_track"} {
				before[r] = e.playsCounted(r)
			}
			resp := e.play(tc.method, tc.path, "")
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if got := resp.Header.Get("Location"); got != tc.location {
				t.Errorf("Location %q, want %q", got, tc.location)
			}
			if tc.errName != "" && resp.Header.Get("X-Test-Error") != tc.errName {
				t.Errorf("error %q, want %q", resp.Header.Get("X-Test-Error"), tc.errName)
			}
			if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("Cache-Control %q, Referrer-Policy %q", resp.Header.Get("Cache-Control"), resp.Header.Get("Referrer-Policy"))
			}
			for r, n := range before {
				want := n
				if r == tc.result {
					want++
				}
				if got := e.playsCounted(r); got != want {
					t.Errorf("relay_plays_total{result=%q} = %v, want %v", r, got, want)
				}
			}
		})
	}
	// The counted plays reach the store at the next flush.
	if err := counter.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	h := time.Now().Unix() / relay.HourSeconds
	rows, err := e.store.Trending(t.Context(), h-1, h+1, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	got := map[syntax.ATURI]int64{}
	for _, r := range rows {
		got[r.URI()] = r.Plays
	}
	if got[u[0]] != 1 || got[u[1]] != 1 || len(got) != 2 {
		t.Errorf("stored plays = %v, want one each of %s and %s", got, u[0], u[1])
	}
}

// get1 is the stored track at uri.
func (e *env) get1(u syntax.ATURI) *relay.StoredTrack {
	e.t.Helper()
	rows, err := e.store.Tracks(e.t.Context(), []syntax.ATURI{u})
	if err != nil || len(rows) != 1 {
		e.t.Fatalf("Tracks(%s) = %d rows, %v", u, len(rows), err)
	}
	return rows[0]
}

// TestPlayListeners: behind a trusted proxy each X-Forwarded-For client is
// a listener; without one the header is the client's own claim and ignored.
func TestPlayListeners(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted []string
		counted float64
	}{
		{"no trusted proxy: one listener, whatever the header says", nil, 1},
		{"loopback trusted: three clients, the spoofed left entry ignored", []string{"127.0.0.0/8", "::1"}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newPlaysEnv(t, tc.trusted...)
			u := catalogue(e)
			for _, xff := range []string{"203.0.113.1", "203.0.113.2", "198.51.100.7, 203.0.113.3", "203.0.113.1", "198.51.100.8, 203.0.113.3"} {
				if resp := e.play("GET", playPath(u[0]), xff); resp.StatusCode != http.StatusFound {
					t.Fatalf("status %d", resp.StatusCode)
				}
			}
			if got := e.playsCounted("counted"); got != tc.counted {
				t.Errorf("counted %v, want %v", got, tc.counted)
			}
		})
	}
}

// addPlays writes n plays of u at hour h straight to the store.
func (e *env) addPlays(u syntax.ATURI, h, n int64) {
	e.t.Helper()
	did, _ := u.Authority().AsDID()
	if err := e.store.AddPlays(e.t.Context(), []relay.PlayCount{{DID: did, Collection: u.Collection(), RKey: u.RecordKey(), Hour: h, N: n}}); err != nil {
		e.t.Fatal(err)
	}
}

// trendingPlays gives catalogue's tracks plays at hours before open (the
// hour getTrending takes as not yet complete): u[0] leads the day, u[1]
// the week, u[2] the month; u[3] only has plays in the hour in progress.
func trendingPlays(e *env, u []syntax.ATURI, open int64) {
	e.addPlays(u[0], open-1, 5)
	e.addPlays(u[1], open-2, 2)
	e.addPlays(u[1], open-30, 10)
	e.addPlays(u[2], open-200, 50)
	e.addPlays(u[3], open, 1000)
}

func TestTrendingWindows(t *testing.T) {
	e := newEnv(t)
	u := catalogue(e)
	open := plays.OpenHour(time.Now())
	trendingPlays(e, u, open)
	for _, tc := range []struct {
		window string
		want   []string
	}{
		{"day", []string{"one", "two"}},
		{"", []string{"two", "one"}}, // week by default
		{"week", []string{"two", "one"}},
		{"month", []string{"three", "two", "one"}},
	} {
		status, body := e.get("/xrpc/app.relay.feed.getTrending", url.Values{"window": {tc.window}})
		if status != http.StatusOK {
			t.Fatalf("window %q: status %d %v", tc.window, status, body)
		}
		if plays.OpenHour(time.Now()) != open {
			t.Skip("the hour turned during the test: the window moved")
		}
		if got := titles(body["feed"]); !slices.Equal(got, tc.want) {
			t.Errorf("window %q: %v, want %v", tc.window, got, tc.want)
		}
	}
}

func TestTrendingBadParams(t *testing.T) {
	e := newEnv(t)
	u := catalogue(e)
	trendingPlays(e, u, plays.OpenHour(time.Now()))
	_, first := e.get("/xrpc/app.relay.feed.getTrending", url.Values{"window": {"month"}, "limit": {"1"}})
	dayCursor, _ := first["cursor"].(string)
	if dayCursor == "" {
		t.Fatal("no cursor on a full page")
	}
	future := encodeTrendingCursor("month", plays.OpenHour(time.Now())+1, relay.TrendingKey{Plays: 1, Feed: relay.FeedKey{DID: artist, Collection: relay.TrackCollection, RKey: "3kaaaaaaaaaaa"}})
	// Two hours back: past the rankings kept, so each such cursor would
	// cost a ranking of its own.
	expired := encodeTrendingCursor("month", plays.OpenHour(time.Now())-2, relay.TrendingKey{Plays: 1, Feed: relay.FeedKey{DID: artist, Collection: relay.TrackCollection, RKey: "3kaaaaaaaaaaa"}})
	for _, params := range []url.Values{
		{"window": {"year"}},
		{"window": {"day", "week"}, "limit": {"0"}},
		{"limit": {"101"}},
		{"limit": {"ten"}},
		{"cursor": {"!!"}},
		{"cursor": {"bm90IGEgY3Vyc29y"}},
		{"window": {"week"}, "cursor": {dayCursor}}, // the month's cursor
		{"window": {"month"}, "cursor": {future}},
		{"window": {"month"}, "cursor": {expired}},
	} {
		status, body := e.get("/xrpc/app.relay.feed.getTrending", params)
		if status != http.StatusBadRequest || body["error"] != "InvalidRequest" || body["message"] == "" {
			t.Errorf("%v: %d %v, want 400 InvalidRequest with a message", params, status, body)
		}
	}
	if status, body := e.get("/xrpc/app.relay.feed.getTrending", url.Values{"window": {"month"}, "cursor": {dayCursor}}); status != http.StatusOK {
		t.Errorf("the cursor with its own window: %d %v", status, body)
	}
}

// TestTrendingPaging walks getTrending while tracks are deleted between
// pages and plays keep coming: none twice, none still present skipped.
func TestTrendingPaging(t *testing.T) {
	// The whole ranking in the cached head, and a head of 4 that the walk
	// crosses into the store's pages.
	for _, head := range []int{1000, 4} {
		defer func(h int) { trendingHead = h }(trendingHead)
		trendingHead = head
		testTrendingPaging(t, head)
	}
}

func testTrendingPaging(t *testing.T, head int) {
	for _, limit := range []int{1, 3, 7} {
		t.Run(fmt.Sprint("head ", head, " limit ", limit), func(t *testing.T) {
			e := newEnv(t)
			open := plays.OpenHour(time.Now())
			var evs []relay.Event
			for i := range 20 {
				evs = append(evs, e.track(fmt.Sprint("t", i), "a", time.Now().Add(-time.Duration(i%3)*time.Minute)))
			}
			e.add(evs...)
			for i, ev := range evs {
				e.addPlays(ev.Track.URI(), open-1-int64(i%4), int64(1+i%6))
			}
			seen, deleted := map[string]bool{}, map[string]bool{}
			cursor := ""
			for page := 0; page < 100; page++ {
				params := url.Values{"window": {"day"}, "limit": {fmt.Sprint(limit)}}
				if cursor != "" {
					params.Set("cursor", cursor)
				}
				status, body := e.get("/xrpc/app.relay.feed.getTrending", params)
				if status != http.StatusOK {
					t.Fatalf("page %d: %d %v", page, status, body)
				}
				for _, title := range titles(body["feed"]) {
					if seen[title] || deleted[title] {
						t.Fatalf("page %d: %s again, or after its delete", page, title)
					}
					seen[title] = true
				}
				cursor, _ = body["cursor"].(string)
				if cursor == "" {
					break
				}
				// One shown and one not yet shown leave; the hour in
				// progress gains plays that must not reorder the walk.
				for _, i := range []int{(page * 3) % 20, (page*7 + 5) % 20} {
					ev := evs[i]
					if !seen[ev.Track.Title] {
						deleted[ev.Track.Title] = true
					}
					e.add(relay.Event{Kind: relay.TrackDelete, DID: ev.DID, Collection: relay.TrackCollection, RKey: ev.Track.RKey, Rev: syntax.NewTIDNow(0).String()})
				}
				e.addPlays(evs[page%20].Track.URI(), open, 100)
			}
			for _, ev := range evs {
				if !seen[ev.Track.Title] && !deleted[ev.Track.Title] {
					t.Errorf("%s skipped", ev.Track.Title)
				}
			}
		})
	}
}
