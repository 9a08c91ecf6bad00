package appview

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

const bob = syntax.DID("did:plc:bobsearchfilters")

// searchEnv holds five "love" tracks: three of alice's (handle
// alice.example.com) and two of bob's, with genres and tags.
func searchEnv(t *testing.T) *env {
	e := newEnv(t)
	at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	mk := func(title, genre string, tags []string, did syntax.DID, hours int) relay.Event {
		ev := e.track(title, "someone", at.Add(time.Duration(hours)*time.Hour))
		ev.DID, ev.Track.DID = did, did
		ev.Track.Genre, ev.Track.Tags = genre, tags
		return ev
	}
	e.add(
		mk("Love Love Love", "Synth Pop", []string{"dance"}, artist, 1),
		mk("Love Song", "Rock", nil, artist, 2),
		mk("Lovely Love", "synth pop", []string{"Ballad", "dance"}, artist, 3),
		mk("Love Me Do", "Synth Pop", []string{"60s"}, bob, 4),
		mk("Love Will Tear Us Apart", "Post-Punk", []string{"DANCE"}, bob, 5),
		relay.Event{Kind: relay.IdentityUpdate, DID: artist, Handle: "alice.example.com"},
	)
	return e
}

func (e *env) search(params url.Values) ([]string, float64) {
	e.t.Helper()
	status, body := e.get("/xrpc/app.relay.feed.searchTracks", params)
	if status != 200 {
		e.t.Fatalf("search %v: %d %v", params, status, body)
	}
	return titles(body["tracks"]), body["hitsTotal"].(float64)
}

// TestSearchSortAliases: top and latest, Bluesky's names, answer exactly as
// relevance and newest, and the two orders differ on this catalogue.
func TestSearchSortAliases(t *testing.T) {
	e := searchEnv(t)
	q := func(sort string) url.Values {
		v := url.Values{"q": {"love"}}
		if sort != "" {
			v.Set("sort", sort)
		}
		return v
	}
	rel, n := e.search(q("relevance"))
	if n != 5 || len(rel) != 5 {
		t.Fatalf("relevance: %v, total %v", rel, n)
	}
	for _, s := range []string{"", "top"} {
		if got, _ := e.search(q(s)); !slices.Equal(got, rel) {
			t.Errorf("sort %q: %v, relevance %v", s, got, rel)
		}
	}
	newest, _ := e.search(q("newest"))
	if got, _ := e.search(q("latest")); !slices.Equal(got, newest) {
		t.Errorf("latest: %v, newest %v", got, newest)
	}
	if newest[0] != "Love Will Tear Us Apart" || slices.Equal(newest, rel) {
		t.Errorf("newest %v, relevance %v: want the last written first, and another order", newest, rel)
	}
}

// TestSearchFilters: artist (DID or handle, any case), genre and tag narrow
// the hits and hitsTotal, in both sorts; an unknown handle is an empty
// answer, not an error.
func TestSearchFilters(t *testing.T) {
	e := searchEnv(t)
	for _, tc := range []struct {
		name   string
		params url.Values
		want   []string // in any order; checked against the unfiltered order below
	}{
		{"artist did", url.Values{"artist": {artist.String()}}, []string{"Love Love Love", "Love Song", "Lovely Love"}},
		{"artist handle", url.Values{"artist": {"Alice.Example.COM"}}, []string{"Love Love Love", "Love Song", "Lovely Love"}},
		{"bob", url.Values{"artist": {bob.String()}}, []string{"Love Me Do", "Love Will Tear Us Apart"}},
		{"unknown handle", url.Values{"artist": {"nobody.example.com"}}, nil},
		{"unknown did", url.Values{"artist": {"did:plc:nobody"}}, nil},
		{"genre", url.Values{"genre": {"SYNTH POP"}}, []string{"Love Love Love", "Lovely Love", "Love Me Do"}},
		{"tag", url.Values{"tag": {"dance"}}, []string{"Love Love Love", "Lovely Love", "Love Will Tear Us Apart"}},
		{"handle, genre and tag", url.Values{"artist": {"alice.example.com"}, "genre": {"synth pop"}, "tag": {"Dance"}},
			[]string{"Love Love Love", "Lovely Love"}},
	} {
		for _, sort := range []string{"top", "latest"} {
			t.Run(tc.name+"/"+sort, func(t *testing.T) {
				all, _ := e.search(url.Values{"q": {"love"}, "sort": {sort}})
				var want []string
				for _, title := range all {
					if slices.Contains(tc.want, title) {
						want = append(want, title)
					}
				}
				p := url.Values{"q": {"love"}, "sort": {sort}}
				for k, v := range tc.params {
					p[k] = v
				}
				got, n := e.search(p)
				if !slices.Equal(got, want) || len(want) != len(tc.want) {
					t.Errorf("got %v, want %v in the unfiltered order %v", got, tc.want, all)
				}
				if int(n) != len(tc.want) {
					t.Errorf("hitsTotal %v, want %d", n, len(tc.want))
				}
			})
		}
	}
}

// TestSearchFilterErrors: bad filter and sort values are 400 InvalidRequest
// saying what is accepted.
func TestSearchFilterErrors(t *testing.T) {
	e := searchEnv(t)
	for _, tc := range []struct {
		params url.Values
		says   string
	}{
		{url.Values{"sort": {"oldest"}}, "top, latest"},
		{url.Values{"sort": {"Top"}}, "top, latest"},
		{url.Values{"artist": {"not a handle"}}, "did or a handle"},
		{url.Values{"artist": {"did:web:" + strings.Repeat("a", 3000)}}, "did or a handle"},
		{url.Values{"tag": {"a", "b"}}, "once"},
		{url.Values{"genre": {"rock", "pop"}}, "once"},
		{url.Values{"genre": {strings.Repeat("é", maxFacetRunes+1)}}, "at most 64"},
		{url.Values{"tag": {"\xff"}}, "at most 64"},
	} {
		p := url.Values{"q": {"love"}}
		for k, v := range tc.params {
			p[k] = v
		}
		status, body := e.get("/xrpc/app.relay.feed.searchTracks", p)
		msg, _ := body["message"].(string)
		if status != 400 || body["error"] != "InvalidRequest" || !strings.Contains(strings.ToLower(msg), tc.says) {
			t.Errorf("%v: %d %v, want 400 InvalidRequest saying %q", tc.params, status, body, tc.says)
		}
	}
	// A genre of exactly the bound is fine.
	if _, n := e.search(url.Values{"q": {"love"}, "genre": {strings.Repeat("é", maxFacetRunes)}}); n != 0 {
		t.Errorf("hitsTotal %v for a genre nobody has", n)
	}
}
