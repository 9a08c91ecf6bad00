package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// albumTrack is track on an album, with artwork when image is not empty.
func albumTrack(d syntax.DID, n int, album, image string, created time.Time) *relay.Track {
	tr := track(d, rkey(n), rev(1), "t"+rkey(n).String(), created)
	tr.Album, tr.ImageURL = album, image
	return tr
}

func (f *fixture) artistFeed(d syntax.DID, album string, after *relay.FeedKey, limit int) []*relay.StoredTrack {
	f.t.Helper()
	rows, err := f.b.ArtistFeed(f.ctx, d, album, after, limit)
	if err != nil {
		f.t.Fatalf("ArtistFeed: %v", err)
	}
	return rows
}

func (f *fixture) artists(dids ...syntax.DID) map[syntax.DID]relay.Artist {
	f.t.Helper()
	as, err := f.b.Artists(f.ctx, dids)
	if err != nil {
		f.t.Fatalf("Artists: %v", err)
	}
	out := map[syntax.DID]relay.Artist{}
	for _, a := range as {
		if _, dup := out[a.DID]; dup {
			f.t.Fatalf("Artists returned %s twice", a.DID)
		}
		out[a.DID] = a
	}
	return out
}

func testArtists(t *testing.T, open func(t *testing.T) Backend) {
	t.Run("artist feed: newest first, only the artist's visible tracks, album filter", func(t *testing.T) {
		f := newFixture(t, open)
		var want, wantA []relay.FeedKey
		var evs []relay.Event
		for i := range 8 {
			album := "a"
			if i%2 == 1 {
				album = "b"
			}
			tr := albumTrack(did(1), i, album, "", base.Add(-time.Duration(i/2)*time.Hour))
			evs = append(evs, put(tr))
			if i != 5 { // deleted below
				want = append(want, createdKey(tr))
				if album == "a" {
					wantA = append(wantA, createdKey(tr))
				}
			}
		}
		evs = append(evs, put(albumTrack(did(2), 50, "a", "", base))) // another artist
		f.apply(evs...)
		f.apply(del(did(1), rkey(5), rev(2)))
		slices.SortFunc(want, feedOrder)
		slices.SortFunc(wantA, feedOrder)
		got := keysOf(f.artistFeed(did(1), "", nil, 100))
		if !slices.Equal(got, want) {
			t.Errorf("ArtistFeed:\n got %v\nwant %v", got, want)
		}
		if got := keysOf(f.artistFeed(did(1), "a", nil, 100)); !slices.Equal(got, wantA) {
			t.Errorf("ArtistFeed(album a):\n got %v\nwant %v", got, wantA)
		}
		if got := f.artistFeed(did(1), "none", nil, 100); len(got) != 0 {
			t.Errorf("ArtistFeed(album none) = %d tracks, want 0", len(got))
		}
		f.apply(account(did(1), false, "takendown"))
		if got := f.artistFeed(did(1), "", nil, 100); len(got) != 0 {
			t.Errorf("ArtistFeed of a hidden account = %d tracks, want 0", len(got))
		}
	})

	t.Run("artist feed pages never repeat or skip while tracks come and go", func(t *testing.T) {
		f := newFixture(t, open)
		present := map[relay.FeedKey]bool{}
		for i := range 12 {
			tr := albumTrack(did(1), i, "", "", base.Add(-time.Duration(i)*time.Minute))
			f.apply(put(tr))
			present[createdKey(tr)] = true
		}
		var (
			got   []relay.FeedKey
			after *relay.FeedKey
			n     = 100
		)
		deleted := map[relay.FeedKey]bool{}
		for page := 0; ; page++ {
			rows := f.artistFeed(did(1), "", after, 3)
			if len(rows) == 0 {
				break
			}
			if page > 50 {
				t.Fatal("paging does not end")
			}
			got = append(got, keysOf(rows)...)
			k := rows[len(rows)-1].Key()
			after = &k
			if page >= 3 {
				continue
			}
			// Between pages: one new on top, one old-dated below the
			// cursor (to be reached), and the next track below deleted
			// (never to be shown).
			top := albumTrack(did(1), n, "", "", time.Now().Add(-time.Second))
			below := albumTrack(did(1), n+1, "", "", time.UnixMicro(k.SortAt).Add(-90*time.Second))
			n += 2
			f.apply(put(top), put(below))
			present[createdKey(below)] = true
			next := f.artistFeed(did(1), "", after, 2)
			for _, r := range next {
				if r.URI() != below.URI() {
					f.apply(del(r.DID, r.RKey, rev(2)))
					deleted[r.Key()] = true
					delete(present, r.Key())
					break
				}
			}
		}
		seen := map[relay.FeedKey]bool{}
		for _, k := range got {
			if seen[k] {
				t.Errorf("%v shown twice", k)
			}
			seen[k] = true
			if deleted[k] {
				t.Errorf("%v shown after its delete", k)
			}
		}
		for k := range present {
			// Everything present when the walk passed it, and older than
			// the first page's top, is seen; the tracks put on top are not.
			if k.SortAt < base.Add(time.Minute).UnixMicro() && !seen[k] {
				t.Errorf("%v skipped", k)
			}
		}
		if !slices.IsSortedFunc(got, feedOrder) {
			t.Errorf("pages out of order: %v", got)
		}
	})

	t.Run("artists: handles and visible counts, in one call", func(t *testing.T) {
		f := newFixture(t, open)
		f.apply(put(albumTrack(did(1), 1, "", "", base)), put(albumTrack(did(1), 2, "", "", base)), put(albumTrack(did(1), 3, "", "", base)),
			put(albumTrack(did(2), 4, "", "", base)), put(albumTrack(did(3), 5, "", "", base)), put(albumTrack(did(4), 6, "", "", base)))
		f.apply(identity(did(1), "one.example"), del(did(1), rkey(3), rev(2)), account(did(3), false, "suspended"),
			del(did(4), rkey(6), rev(2)))
		got := f.artists(did(1), did(2), did(3), did(4), did(9))
		want := map[syntax.DID]relay.Artist{
			did(1): {DID: did(1), Handle: "one.example", TrackCount: 2},
			did(2): {DID: did(2), TrackCount: 1},
		}
		if len(got) != len(want) {
			t.Errorf("Artists = %v, want %v", got, want)
		}
		for d, w := range want {
			if got[d] != w {
				t.Errorf("Artists[%s] = %+v, want %+v", d, got[d], w)
			}
		}
		if got := f.artists(); len(got) != 0 {
			t.Errorf("Artists() = %v, want none", got)
		}
	})

	t.Run("artists: counts follow puts, updates, deletes, replays and resurrections", func(t *testing.T) {
		f := newFixture(t, open)
		count := func(want int64, when string) {
			t.Helper()
			got := f.artists(did(1))[did(1)].TrackCount
			if got != want {
				t.Errorf("TrackCount %s = %d, want %d", when, got, want)
			}
		}
		f.apply(put(albumTrack(did(1), 1, "", "", base)), put(albumTrack(did(1), 2, "", "", base)))
		count(2, "after two puts")
		up := albumTrack(did(1), 1, "", "", base)
		up.Rev, up.Title = rev(2), "updated"
		f.apply(put(up))
		count(2, "after an update")
		f.apply(del(did(1), rkey(1), rev(3)), del(did(1), rkey(1), rev(3)))
		count(1, "after a delete, twice")
		f.apply(put(albumTrack(did(1), 1, "", "", base)))
		count(1, "after a replayed create older than the delete")
		back := albumTrack(did(1), 1, "", "", base)
		back.Rev = rev(4)
		f.apply(put(back))
		count(2, "after a newer create brings it back")
		f.apply(del(did(1), rkey(7), rev(1)))
		count(2, "after the delete of a track never seen")
	})

	t.Run("artist by handle: case aside, visible accounts only", func(t *testing.T) {
		f := newFixture(t, open)
		f.apply(put(albumTrack(did(1), 1, "", "", base)), put(albumTrack(did(1), 2, "", "", base)), put(albumTrack(did(2), 3, "", "", base)))
		f.apply(identity(did(1), "Alice.Example"), identity(did(2), "hidden.example"), account(did(2), false, "deactivated"))
		cases := []struct {
			handle string
			want   *relay.Artist
		}{
			{"alice.example", &relay.Artist{DID: did(1), Handle: "Alice.Example", TrackCount: 2}},
			{"ALICE.example", &relay.Artist{DID: did(1), Handle: "Alice.Example", TrackCount: 2}},
			{"hidden.example", nil},
			{"nobody.example", nil},
		}
		for _, tc := range cases {
			got, err := f.b.ArtistByHandle(f.ctx, syntax.Handle(tc.handle))
			if err != nil {
				t.Fatalf("ArtistByHandle(%s): %v", tc.handle, err)
			}
			if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
				t.Errorf("ArtistByHandle(%s) = %+v, want %+v", tc.handle, got, tc.want)
			}
		}
	})

	t.Run("albums: visible counts, artwork, newest first", func(t *testing.T) {
		f := newFixture(t, open)
		f.apply(
			put(albumTrack(did(1), 1, "old", "https://img.example/old.jpg", base.Add(-3*time.Hour))),
			put(albumTrack(did(1), 2, "new", "", base.Add(-time.Hour))),
			put(albumTrack(did(1), 3, "new", "https://img.example/new.jpg", base.Add(-2*time.Hour))),
			put(albumTrack(did(1), 4, "new", "", base)),
			put(albumTrack(did(1), 5, "", "", base)),      // no album
			put(albumTrack(did(1), 6, "gone", "", base)),  // deleted below
			put(albumTrack(did(2), 7, "other", "", base)), // another artist
		)
		f.apply(del(did(1), rkey(6), rev(2)), del(did(1), rkey(4), rev(2)))
		got, err := f.b.Albums(f.ctx, did(1), 100)
		if err != nil {
			t.Fatal(err)
		}
		want := []relay.Album{
			{Name: "new", TrackCount: 2, ImageURL: "https://img.example/new.jpg"},
			{Name: "old", TrackCount: 1, ImageURL: "https://img.example/old.jpg"},
		}
		if !slices.Equal(got, want) {
			t.Errorf("Albums = %+v, want %+v", got, want)
		}
		if got, _ := f.b.Albums(f.ctx, did(1), 1); len(got) != 1 {
			t.Errorf("Albums(limit 1) = %d albums", len(got))
		}
	})
}

// createdKey is the feed key of a track dated in the past (sortAt = createdAt).
func createdKey(tr *relay.Track) relay.FeedKey {
	return relay.FeedKey{SortAt: tr.CreatedAt.UnixMicro(), DID: tr.DID, Collection: tr.Collection, RKey: tr.RKey}
}

func keysOf(rows []*relay.StoredTrack) []relay.FeedKey {
	out := make([]relay.FeedKey, len(rows))
	for i, r := range rows {
		out[i] = r.Key()
	}
	return out
}
