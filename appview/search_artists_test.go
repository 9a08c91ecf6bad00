package appview

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// searchArtists returns the DIDs of one page and its cursor.
func (e *env) searchArtists(params url.Values) ([]string, string) {
	e.t.Helper()
	status, body := e.get("/xrpc/app.relay.actor.searchArtists", params)
	if status != http.StatusOK {
		e.t.Fatalf("searchArtists %v: %d %v", params, status, body)
	}
	var dids []string
	for _, a := range body["artists"].([]any) {
		dids = append(dids, a.(map[string]any)["did"].(string))
	}
	c, _ := body["cursor"].(string)
	return dids, c
}

// TestSearchArtistsEndpoint: hits are hydrated from the store (handle and
// track count), folded and typo-tolerant; an artist hidden after the index
// last applied is left out, never shown.
func TestSearchArtistsEndpoint(t *testing.T) {
	e := newEnv(t)
	mk := func(d syntax.DID, name string, n int) relay.Event {
		ev := e.track(fmt.Sprintf("song %d", n), name, time.Date(2025, 6, 1, 0, n, 0, 0, time.UTC))
		ev.DID, ev.Track.DID = d, d
		return ev
	}
	bjork := syntax.DID("did:plc:bjorkendpoint")
	e.add(mk(bjork, "Björk", 1), mk(bjork, "Björk", 2), mk(bob, "Bob Marley", 3),
		relay.Event{Kind: relay.IdentityUpdate, DID: bjork, Handle: "bjork.example"})

	status, body := e.get("/xrpc/app.relay.actor.searchArtists", url.Values{"q": {"BJORK"}})
	if status != http.StatusOK {
		t.Fatalf("status %d: %v", status, body)
	}
	if got, want := fmt.Sprint(body["artists"]), "[map[did:"+bjork.String()+" handle:bjork.example trackCount:2]]"; got != want {
		t.Errorf("artists = %s, want %s", got, want)
	}
	if got, _ := e.searchArtists(url.Values{"q": {"marly"}}); !slices.Equal(got, []string{bob.String()}) {
		t.Errorf("a typo: %v", got)
	}

	// Hidden in the store, not yet in the index: left out.
	if _, err := e.store.ApplyBatch(t.Context(), []relay.Event{{Kind: relay.AccountStatus, DID: bob, Active: false, Status: "takendown"}}, 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.searchArtists(url.Values{"q": {"marley"}}); len(got) != 0 {
		t.Errorf("a hidden artist is shown: %v", got)
	}
}

// TestSearchArtistsPaging walks the pages of an artist search while
// artists arrive and leave between pages: none twice, none present
// throughout skipped.
func TestSearchArtistsPaging(t *testing.T) {
	e := newEnv(t)
	var all []syntax.DID
	var evs []relay.Event
	for i := range 25 {
		d := syntax.DID(fmt.Sprintf("did:plc:pager%02d", i))
		all = append(all, d)
		ev := e.track("song", "Pager Band", time.Date(2025, 6, 1, 0, i, 0, 0, time.UTC))
		ev.DID, ev.Track.DID = d, d
		evs = append(evs, ev)
	}
	e.add(evs...)
	seen := map[string]int{}
	gone := map[string]bool{}
	cursor := ""
	for page := 0; page < 20; page++ {
		p := url.Values{"q": {"pager"}, "limit": {"4"}}
		if cursor != "" {
			p.Set("cursor", cursor)
		}
		dids, next := e.searchArtists(p)
		for _, d := range dids {
			seen[d]++
		}
		if next == "" {
			break
		}
		cursor = next
		newcomer := syntax.DID(fmt.Sprintf("did:plc:pagernew%02d", page))
		ev := e.track("song", "Pager Band", time.Now())
		ev.DID, ev.Track.DID = newcomer, newcomer
		victim := all[len(all)-1-page]
		gone[victim.String()] = true
		e.add(ev, relay.Event{Kind: relay.AccountStatus, DID: victim, Active: false, Status: "deactivated"})
	}
	for d, n := range seen {
		if n > 1 {
			t.Errorf("%s on %d pages", d, n)
		}
	}
	for _, d := range all {
		if !gone[d.String()] && seen[d.String()] != 1 {
			t.Errorf("%s, present throughout, seen %d times", d, seen[d.String()])
		}
	}
}

// TestSearchArtistsBadParams: every bad parameter is a 400 InvalidRequest
// with a message, never a 5xx.
func TestSearchArtistsBadParams(t *testing.T) {
	e := newEnv(t)
	e.add(e.track("one", "Someone", time.Now()), e.track("two", "Someone", time.Now()))
	_, cursor := e.searchArtists(url.Values{"q": {"someone"}, "limit": {"1"}})
	if cursor != "" {
		t.Fatalf("one artist, one page: cursor %q", cursor)
	}
	for _, p := range []url.Values{
		{},
		{"q": {"   "}},
		{"q": {strings.Repeat("a", 257)}},
		{"q": {"?!"}},
		{"q": {"someone"}, "limit": {"0"}},
		{"q": {"someone"}, "limit": {"101"}},
		{"q": {"someone"}, "limit": {"x"}},
		{"q": {"someone"}, "cursor": {"not a cursor"}},
		{"q": {"someone"}, "cursor": {strings.Repeat("A", 5000)}},
	} {
		status, body := e.get("/xrpc/app.relay.actor.searchArtists", p)
		if status != http.StatusBadRequest || body["error"] != "InvalidRequest" || body["message"] == "" {
			t.Errorf("%v: %d %v, want 400 InvalidRequest with a message", p, status, body)
		}
	}
}
