package search

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

const (
	aliceDID = syntax.DID("did:plc:alicefilterstest")
	bobDID   = syntax.DID("did:web:bob.example.com")
)

// filterTrack is a track of did whose record key is key.
func filterTrack(did syntax.DID, key, title, genre string, tags []string, day int) *relay.Track {
	at := t0.Add(time.Duration(day) * time.Hour)
	t := track(key, "Artist "+key, title, "", genre, tags, at)
	t.DID = did
	return t
}

// filterCatalogue: every title holds "love", most more than once or beside
// other words, so relevance ranks them apart; two artists, genres that
// differ only in case, and tags shared between them.
func filterCatalogue() []*relay.Track {
	return []*relay.Track{
		filterTrack(aliceDID, "a1", "Love Love Love", "Synth Pop", []string{"80s", "Dance"}, 1),
		filterTrack(aliceDID, "a2", "Love", "synth pop", []string{"ballad"}, 2),
		filterTrack(aliceDID, "a3", "Lovely Love Song of Love", "Rock", nil, 3),
		filterTrack(aliceDID, "a4", "Love Is a Long Road", "Synth", []string{"dance"}, 4),
		filterTrack(bobDID, "b1", "Love Me Do", "Synth Pop", []string{"dance", "60s"}, 5),
		filterTrack(bobDID, "b2", "Love Love", "Rock", []string{"80s"}, 6),
		filterTrack(bobDID, "b3", "Crazy Little Thing Called Love", "synth pop", nil, 7),
		filterTrack(bobDID, "b4", "Love Will Tear Us Apart", "Post-Punk", []string{"DANCE"}, 8),
		filterTrack(testDID, "c1", "Nothing to see", "Synth Pop", []string{"dance"}, 9),
	}
}

// TestFilters: a filter keeps exactly the matching tracks, in the order
// they had without it (the score is untouched), in both sorts, and
// hitsTotal counts only them.
func TestFilters(t *testing.T) {
	ix, _ := openTemp(t)
	cat := filterCatalogue()
	if err := ix.Apply(context.Background(), changes(1, cat...)); err != nil {
		t.Fatal(err)
	}
	byKey := map[string]*relay.Track{}
	for _, tr := range cat {
		byKey[string(tr.RKey)] = tr
	}
	for _, tc := range []struct {
		name  string
		f     Filter
		keep  func(*relay.Track) bool
		wantN int // how many "love" tracks the filter keeps
	}{
		{"artist", Filter{Artist: aliceDID.String()}, func(t *relay.Track) bool { return t.DID == aliceDID }, 4},
		{"did:web artist", Filter{Artist: bobDID.String()}, func(t *relay.Track) bool { return t.DID == bobDID }, 4},
		{"genre any case", Filter{Genre: "SYNTH pop"}, func(t *relay.Track) bool { return strings.EqualFold(t.Genre, "synth pop") }, 4},
		{"genre is whole", Filter{Genre: "synth"}, func(t *relay.Track) bool { return t.Genre == "Synth" }, 1},
		{"tag any of them", Filter{Tag: "dance"}, func(t *relay.Track) bool {
			return slices.ContainsFunc(t.Tags, func(s string) bool { return strings.EqualFold(s, "dance") })
		}, 4},
		{"all three", Filter{Artist: aliceDID.String(), Genre: "synth pop", Tag: "80s"}, func(t *relay.Track) bool { return t.RKey == "a1" }, 1},
		{"unknown artist", Filter{Artist: "did:plc:nobody"}, func(*relay.Track) bool { return false }, 0},
		{"none", Filter{}, func(t *relay.Track) bool { return true }, 8},
	} {
		for _, sort := range []Sort{SortRelevance, SortNewest} {
			t.Run(tc.name+"/"+sort.String(), func(t *testing.T) {
				all, _ := searchKeys(t, ix, Query{Text: "love", Sort: sort})
				if len(all) != 8 {
					t.Fatalf("unfiltered: %v, want the 8 love tracks", all)
				}
				var want []string
				for _, k := range all {
					if tc.keep(byKey[k]) {
						want = append(want, k)
					}
				}
				if len(want) != tc.wantN {
					t.Fatalf("the predicate keeps %v, want %d tracks: the table is wrong", want, tc.wantN)
				}
				got, res := searchKeys(t, ix, Query{Text: "love", Sort: sort, Filter: tc.f})
				if !slices.Equal(got, want) {
					t.Errorf("got %v, want %v (the unfiltered order, filtered)", got, want)
				}
				if res.Total != uint64(len(want)) {
					t.Errorf("total %d, want %d", res.Total, len(want))
				}
			})
		}
	}
}

// TestFilterCursors: paging under filters gives the one-page answer without
// repeat or skip, in both sorts; a relevance cursor issued under one filter
// set is refused under another.
func TestFilterCursors(t *testing.T) {
	ix, _ := openTemp(t)
	if err := ix.Apply(context.Background(), changes(1, filterCatalogue()...)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, f := range []Filter{{Artist: bobDID.String()}, {Tag: "Dance"}, {Genre: "synth pop"}} {
		for _, sort := range []Sort{SortRelevance, SortNewest} {
			want, _ := searchKeys(t, ix, Query{Text: "love", Sort: sort, Filter: f})
			var got []string
			q := Query{Text: "love", Sort: sort, Filter: f, Limit: 1}
			for range 10 {
				keys, res := searchKeys(t, ix, q)
				got = append(got, keys...)
				if res.Total != uint64(len(want)) {
					t.Errorf("%+v %v: page total %d, want %d", f, sort, res.Total, len(want))
				}
				if res.Cursor == "" {
					break
				}
				q.Cursor = res.Cursor
			}
			if len(want) < 2 || !slices.Equal(got, want) {
				t.Errorf("%+v %v: pages gave %v, one page %v", f, sort, got, want)
			}
		}
	}

	first, err := ix.Search(ctx, Query{Text: "love", Limit: 1, Filter: Filter{Artist: aliceDID.String()}})
	if err != nil || first.Cursor == "" {
		t.Fatalf("first page: %+v, %v", first, err)
	}
	for _, f := range []Filter{{}, {Artist: bobDID.String()}, {Artist: aliceDID.String(), Tag: "dance"}, {Genre: aliceDID.String()}} {
		_, err := ix.Search(ctx, Query{Text: "love", Limit: 1, Filter: f, Cursor: first.Cursor})
		if !errors.Is(err, ErrBadCursor) {
			t.Errorf("alice's cursor under %+v: %v, want ErrBadCursor", f, err)
		}
	}
	// A genre in another case is the same filter: its cursor goes on.
	g, err := ix.Search(ctx, Query{Text: "love", Limit: 1, Filter: Filter{Genre: "Synth Pop"}})
	if err != nil || g.Cursor == "" {
		t.Fatalf("first genre page: %+v, %v", g, err)
	}
	if _, err := ix.Search(ctx, Query{Text: "love", Limit: 1, Filter: Filter{Genre: "SYNTH POP"}, Cursor: g.Cursor}); err != nil {
		t.Errorf("a genre cursor under the genre in capitals: %v", err)
	}
}

// TestFilterBounds: an oversized filter value is a bad query, not work.
func TestFilterBounds(t *testing.T) {
	ix, _ := openTemp(t)
	long := strings.Repeat("x", maxFilterBytes+1)
	for _, f := range []Filter{{Artist: long}, {Genre: long}, {Tag: long}} {
		_, err := ix.Search(context.Background(), Query{Text: "love", Limit: 10, Filter: f})
		if !errors.Is(err, ErrBadQuery) {
			t.Errorf("filter of %d bytes: %v, want ErrBadQuery", maxFilterBytes+1, err)
		}
	}
}
