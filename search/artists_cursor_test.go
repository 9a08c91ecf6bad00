package search

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// listedArtists is an ArtistSource over fixed artists, in process: beside
// artists_test.go, which follows the real store, it lets this test build
// two replicas of one catalogue.
type listedArtists map[syntax.DID]relay.Artist

func (l listedArtists) Artists(ctx context.Context, dids []syntax.DID) ([]relay.Artist, error) {
	var out []relay.Artist
	for _, d := range dids {
		if a, ok := l[d]; ok {
			out = append(out, a)
		}
	}
	return out, nil
}

func (l listedArtists) ArtistNames(ctx context.Context, dids []syntax.DID, n int) (map[syntax.DID][]string, error) {
	out := map[syntax.DID][]string{}
	for _, d := range dids {
		if _, ok := l[d]; ok {
			out[d] = []string{"Lantern Echo"}
		}
	}
	return out, nil
}

// listedSource is listedArtists as a Source whose outbox is empty: apply,
// told each batch is the last, rebuilds the artists of each and never
// reads the outbox for pending ones.
type listedSource struct{ listedArtists }

func (listedSource) Changes(ctx context.Context, after int64, limit int) ([]relay.Change, error) {
	return nil, nil
}

// TestArtistCursorElsewhere: an artist cursor continues on a replica that
// never froze the ranking (another process, or one restarted), by
// search-after on (score, tracks, DID), giving the same pages.
func TestArtistCursorElsewhere(t *testing.T) {
	ctx := context.Background()
	src := listedArtists{}
	var cs []relay.Change
	for i := range 30 {
		d := syntax.DID(fmt.Sprintf("did:plc:lantern%02d", i))
		src[d] = relay.Artist{DID: d, TrackCount: int64(1 + i%5)}
		cs = append(cs, relay.Change{Seq: int64(i + 1), URI: relay.TrackURI(d, relay.TrackCollection, "3jzfcijpj2z2a")})
	}
	build := func(batch int) *Index {
		ix, _ := openTemp(t)
		for c := range slices.Chunk(cs, batch) {
			if err := ix.apply(ctx, c, listedSource{src}, true); err != nil {
				t.Fatal(err)
			}
		}
		return ix
	}
	a, b := build(30), build(7)
	walk := func(first, rest *Index) []syntax.DID {
		var got []syntax.DID
		q := ArtistQuery{Text: "lantern", Limit: 4}
		for ix := first; ; ix = rest {
			res, err := ix.SearchArtists(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, res.DIDs...)
			if res.Cursor == "" {
				return got
			}
			q.Cursor = res.Cursor
		}
	}
	pinned := walk(a, a)
	elsewhere := walk(a, b)
	if len(pinned) != 30 {
		t.Fatalf("pinned walk: %d artists, want 30", len(pinned))
	}
	if !slices.Equal(pinned, elsewhere) {
		t.Errorf("continued elsewhere:\n%v\nwant\n%v", elsewhere, pinned)
	}
	// More tracks first: the ranking's track counts never rise.
	for i := 1; i < len(pinned); i++ {
		if src[pinned[i]].TrackCount > src[pinned[i-1]].TrackCount {
			t.Errorf("%s (%d tracks) after %s (%d)", pinned[i], src[pinned[i]].TrackCount, pinned[i-1], src[pinned[i-1]].TrackCount)
		}
	}
}

func FuzzDecodeArtistCursor(f *testing.F) {
	f.Add(encodeCursor(cursor{Kind: kindArtists, After: []string{"1.25", "3", "did:plc:a"}, Offset: 3, Query: queryHash("x")}))
	f.Add(encodeCursor(cursor{Kind: kindRelevance, After: []string{"1.25", "at://a"}, Offset: 3, Query: queryHash("x")}))
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeArtistCursor(s)
		if err != nil {
			if !errors.Is(err, ErrBadCursor) {
				t.Fatalf("decodeArtistCursor(%q) = %v, not ErrBadCursor", s, err)
			}
			return
		}
		if _, err := decodeArtistCursor(encodeCursor(c)); err != nil {
			t.Fatalf("re-encoded %+v fails: %v", c, err)
		}
	})
}
