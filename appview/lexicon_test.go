package appview

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/lexicons"
	"github.com/relaymusic/relay/plays"
)

const (
	bobDID    = syntax.DID("did:plc:bob4444rxbvqptxhmrrkjtu6m")
	hiddenDID = syntax.DID("did:plc:hid4444rxbvqptxhmrrkjtu6m")
	// guestDID is featured but has no tracks of its own.
	guestDID = syntax.DID("did:web:guest.example")
)

// catalogueTrack is a track of d on album (none when empty), with artwork
// and features when given.
func (e *env) catalogueTrack(d syntax.DID, title, album, image string, created time.Time, feats ...relay.Feature) relay.Event {
	ev := e.track(title, "credited "+title, created)
	tr := ev.Track
	ev.DID, tr.DID = d, d
	tr.Album, tr.ImageURL, tr.Features = album, image, feats
	rec := map[string]any{}
	if err := json.Unmarshal(tr.Record, &rec); err != nil {
		e.t.Fatal(err)
	}
	if album != "" {
		rec["album"] = album
	}
	if image != "" {
		rec["imageUrl"] = image
	}
	if len(feats) > 0 {
		rec["features"] = feats
	}
	tr.Record, _ = json.Marshal(rec)
	return ev
}

// catalogue writes tracks of three artists (one hiddenDID), with albums,
// artwork and features, and returns the uris of the visible ones.
func catalogue(e *env) []syntax.ATURI {
	now := time.Now().Add(-time.Hour)
	evs := []relay.Event{
		e.catalogueTrack(artist, "one", "first album", "https://img.example/1.jpg", now.Add(-5*time.Minute)),
		e.catalogueTrack(artist, "two", "first album", "", now.Add(-4*time.Minute),
			relay.Feature{DID: bobDID.String(), Handle: "bob.example", DisplayName: "Bob"},
			relay.Feature{DID: guestDID.String(), Handle: "guest.example", DisplayName: "Guest"}),
		e.catalogueTrack(artist, "three", "", "", now.Add(-3*time.Minute)),
		e.catalogueTrack(bobDID, "four", "bob's", "https://img.example/4.jpg", now.Add(-2*time.Minute),
			relay.Feature{DID: artist.String(), DisplayName: "Alice"}),
		e.catalogueTrack(hiddenDID, "five", "", "", now.Add(-time.Minute)),
	}
	e.add(evs...)
	e.add(relay.Event{Kind: relay.IdentityUpdate, DID: artist, Handle: "alice.example"},
		relay.Event{Kind: relay.IdentityUpdate, DID: hiddenDID, Handle: "hidden.example"},
		relay.Event{Kind: relay.AccountStatus, DID: hiddenDID, Active: false, Status: "takendown"})
	var out []syntax.ATURI
	for _, ev := range evs[:4] {
		out = append(out, ev.Track.URI())
	}
	return out
}

// getRaw returns the status and body of a GET.
func (e *env) getRaw(path string, params url.Values) (int, []byte) {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + path + "?" + params.Encode())
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, body
}

// TestAnswersMatchLexicons holds the real answer of every query endpoint
// to its own output lexicon, and checks what the answers say.
func TestAnswersMatchLexicons(t *testing.T) {
	e := newEnv(t)
	u := catalogue(e)
	trendingPlays(e, u, plays.OpenHour(time.Now()))
	cases := []struct {
		nsid   string
		params url.Values
		check  func(t *testing.T, body map[string]any)
	}{
		{"app.relay.feed.getDiscoveryFeed", url.Values{"limit": {"3"}}, func(t *testing.T, b map[string]any) {
			if got := titles(b["feed"]); !slices.Equal(got, []string{"four", "three", "two"}) {
				t.Errorf("feed = %v", got)
			}
			if b["cursor"] == nil {
				t.Error("no cursor on a full page")
			}
		}},
		{"app.relay.feed.searchTracks", url.Values{"q": {"four"}}, func(t *testing.T, b map[string]any) {
			if got := titles(b["tracks"]); !slices.Equal(got, []string{"four"}) {
				t.Errorf("tracks = %v", got)
			}
		}},
		{"app.relay.feed.getTracks", url.Values{"uris": {u[3].String(), u[0].String(), u[1].String()}}, func(t *testing.T, b map[string]any) {
			if got := titles(b["tracks"]); !slices.Equal(got, []string{"four", "one", "two"}) {
				t.Errorf("tracks = %v", got)
			}
		}},
		{"app.relay.feed.getArtistFeed", url.Values{"actor": {"alice.example"}}, func(t *testing.T, b map[string]any) {
			if got := titles(b["feed"]); !slices.Equal(got, []string{"three", "two", "one"}) {
				t.Errorf("feed = %v", got)
			}
			two := b["feed"].([]any)[1].(map[string]any)
			up := two["uploader"].(map[string]any)
			if up["did"] != artist.String() || up["handle"] != "alice.example" || up["trackCount"] != 3.0 {
				t.Errorf("uploader = %v", up)
			}
			fa := two["featuredArtists"].([]any)
			want := []map[string]any{
				{"did": bobDID.String(), "displayName": "Bob", "trackCount": 1.0},
				{"did": guestDID.String(), "displayName": "Guest", "trackCount": 0.0},
			}
			if len(fa) != len(want) {
				t.Fatalf("featuredArtists = %v", fa)
			}
			for i := range want {
				if fmt.Sprint(fa[i]) != fmt.Sprint(want[i]) {
					t.Errorf("featuredArtists[%d] = %v, want %v", i, fa[i], want[i])
				}
			}
		}},
		{"app.relay.feed.getArtistFeed", url.Values{"actor": {artist.String()}, "album": {"first album"}, "limit": {"1"}}, func(t *testing.T, b map[string]any) {
			if got := titles(b["feed"]); !slices.Equal(got, []string{"two"}) || b["cursor"] == nil {
				t.Errorf("feed = %v, cursor %v", got, b["cursor"])
			}
		}},
		{"app.relay.actor.getArtist", url.Values{"actor": {"Alice.Example"}}, func(t *testing.T, b map[string]any) {
			if b["did"] != artist.String() || b["handle"] != "alice.example" || b["trackCount"] != 3.0 {
				t.Errorf("artist = %v", b)
			}
			albums := fmt.Sprint(b["albums"])
			if want := "[map[imageUrl:https://img.example/1.jpg name:first album trackCount:2]]"; albums != want {
				t.Errorf("albums = %s, want %s", albums, want)
			}
		}},
		{"app.relay.feed.getTrending", url.Values{"window": {"month"}, "limit": {"2"}}, func(t *testing.T, b map[string]any) {
			if got := titles(b["feed"]); !slices.Equal(got, []string{"three", "two"}) || b["cursor"] == nil {
				t.Errorf("feed = %v, cursor %v", got, b["cursor"])
			}
		}},
		{"app.relay.actor.searchArtists", url.Values{"q": {"alice"}}, func(t *testing.T, b map[string]any) {
			if got := fmt.Sprint(b["artists"]); got != "[map[did:"+artist.String()+" handle:alice.example trackCount:3]]" {
				t.Errorf("artists = %s", got)
			}
		}},
		{"app.relay.actor.getArtist", url.Values{"actor": {bobDID.String()}}, func(t *testing.T, b map[string]any) {
			if b["did"] != bobDID.String() || b["handle"] != nil || b["trackCount"] != 1.0 {
				t.Errorf("artist = %v", b)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.nsid+"?"+tc.params.Encode(), func(t *testing.T) {
			status, raw := e.getRaw("/xrpc/"+tc.nsid, tc.params)
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, raw)
			}
			if err := lexicons.ValidateQueryOutput(tc.nsid, raw); err != nil {
				t.Errorf("answer does not match its lexicon: %v\n%s", err, raw)
			}
			var body map[string]any
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatal(err)
			}
			tc.check(t, body)
		})
	}
}

func TestLookupBadParams(t *testing.T) {
	e := newEnv(t)
	u := catalogue(e)
	many := url.Values{}
	for range 26 {
		many.Add("uris", u[0].String())
	}
	cases := []struct {
		nsid   string
		params url.Values
		status int
		name   string
	}{
		{"app.relay.feed.getTracks", url.Values{}, 400, "InvalidRequest"},
		{"app.relay.feed.getTracks", many, 400, "InvalidRequest"},
		{"app.relay.feed.getTracks", url.Values{"uris": {"https://example.com/x"}}, 400, "InvalidRequest"},
		{"app.relay.feed.getTracks", url.Values{"uris": {"at://" + artist.String()}}, 400, "InvalidRequest"},
		{"app.relay.feed.getTracks", url.Values{"uris": {"at://" + artist.String() + "/" + relay.TrackCollection}}, 400, "InvalidRequest"},
		{"app.relay.feed.getTracks", url.Values{"uris": {u[0].String(), "nope"}}, 400, "InvalidRequest"},
		{"app.relay.feed.getArtistFeed", url.Values{}, 400, "InvalidRequest"},
		{"app.relay.feed.getArtistFeed", url.Values{"actor": {"not an actor"}}, 400, "InvalidRequest"},
		{"app.relay.feed.getArtistFeed", url.Values{"actor": {"alice.example"}, "limit": {"0"}}, 400, "InvalidRequest"},
		{"app.relay.feed.getArtistFeed", url.Values{"actor": {"alice.example"}, "limit": {"101"}}, 400, "InvalidRequest"},
		{"app.relay.feed.getArtistFeed", url.Values{"actor": {"alice.example"}, "cursor": {"garbage"}}, 400, "InvalidRequest"},
		{"app.relay.feed.getArtistFeed", url.Values{"actor": {"alice.example"}, "album": {string(make([]byte, 3001))}}, 400, "InvalidRequest"},
		{"app.relay.feed.getArtistFeed", url.Values{"actor": {"nobody.example"}}, 404, "NotFound"},
		{"app.relay.feed.getArtistFeed", url.Values{"actor": {hiddenDID.String()}}, 404, "NotFound"},
		{"app.relay.actor.getArtist", url.Values{}, 400, "InvalidRequest"},
		{"app.relay.actor.getArtist", url.Values{"actor": {"did:nope"}}, 400, "InvalidRequest"},
		{"app.relay.actor.getArtist", url.Values{"actor": {"hidden.example"}}, 404, "NotFound"},
		{"app.relay.actor.getArtist", url.Values{"actor": {guestDID.String()}}, 404, "NotFound"},
	}
	for _, tc := range cases {
		t.Run(tc.nsid+"?"+tc.params.Encode(), func(t *testing.T) {
			status, body := e.get("/xrpc/"+tc.nsid, tc.params)
			if status != tc.status || body["error"] != tc.name || body["message"] == "" {
				t.Errorf("status %d, body %v; want %d %s with a message", status, body, tc.status, tc.name)
			}
		})
	}
	// What is well formed but not shown is left out, no error.
	status, body := e.get("/xrpc/app.relay.feed.getTracks", url.Values{"uris": {
		"at://alice.example/app.relay.track/" + u[0].RecordKey().String(), u[1].String(),
		relay.TrackURI(hiddenDID, relay.TrackCollection, "3lqk7lk5g2223").String(),
	}})
	if status != 200 || !slices.Equal(titles(body["tracks"]), []string{"two"}) {
		t.Errorf("getTracks of a handle uri, a shown and an unknown one: %d %v", status, body)
	}
}

// TestArtistFeedPaging walks getArtistFeed while tracks are put on top,
// put below the cursor and deleted ahead of it: none is shown twice, none
// deleted is shown, none present all along is skipped.
func TestArtistFeedPaging(t *testing.T) {
	e := newEnv(t)
	start := time.Now().Add(-24 * time.Hour)
	present := map[string]bool{}
	var evs []relay.Event
	for i := range 12 {
		ev := e.catalogueTrack(artist, fmt.Sprintf("t%02d", i), "", "", start.Add(-time.Duration(i)*time.Minute))
		evs = append(evs, ev)
		present[ev.Track.Title] = true
	}
	e.add(evs...)
	e.add(e.catalogueTrack(bobDID, "not alice's", "", "", start))
	var (
		seen   = map[string]bool{}
		gone   = map[string]bool{}
		cursor string
		n      int
	)
	for page := 0; ; page++ {
		if page > 20 {
			t.Fatal("paging does not end")
		}
		params := url.Values{"actor": {artist.String()}, "limit": {"4"}}
		if cursor != "" {
			params.Set("cursor", cursor)
		}
		status, body := e.get("/xrpc/app.relay.feed.getArtistFeed", params)
		if status != 200 {
			t.Fatalf("page %d: %d %v", page, status, body)
		}
		feed := body["feed"].([]any)
		for _, v := range feed {
			title := v.(map[string]any)["title"].(string)
			if seen[title] {
				t.Errorf("%s shown twice", title)
			}
			if gone[title] {
				t.Errorf("%s shown after its delete", title)
			}
			seen[title] = true
		}
		c, _ := body["cursor"].(string)
		if c == "" {
			break
		}
		cursor = c
		if page >= 2 {
			continue
		}
		last := feed[len(feed)-1].(map[string]any)
		lastAt, err := time.Parse(time.RFC3339, last["createdAt"].(string))
		if err != nil {
			t.Fatal(err)
		}
		n++
		top := e.catalogueTrack(artist, fmt.Sprintf("top%d", n), "", "", time.Now().Add(-time.Second))
		below := e.catalogueTrack(artist, fmt.Sprintf("below%d", n), "", "", lastAt.Add(-90*time.Second))
		e.add(top, below)
		present[below.Track.Title] = true
		// Delete the next track ahead of the cursor (not the one just put).
		for _, ev := range evs {
			if !gone[ev.Track.Title] && !seen[ev.Track.Title] {
				e.add(relay.Event{Kind: relay.TrackDelete, DID: artist, Collection: relay.TrackCollection, RKey: ev.Track.RKey, Rev: syntax.NewTIDNow(0).String()})
				gone[ev.Track.Title] = true
				delete(present, ev.Track.Title)
				break
			}
		}
	}
	for title := range present {
		if !seen[title] {
			t.Errorf("%s skipped", title)
		}
	}
	if seen["not alice's"] {
		t.Error("another artist's track in the feed")
	}
	if len(gone) != 2 {
		t.Errorf("%d deletes between pages, want 2", len(gone))
	}
}
