package storetest

// A track is its at-uri: the collection is part of every key.

import (
	"slices"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// otherCollection is a second music collection. The store takes any NSID
// (which collections are indexed is validate's business), so the contract
// is checked with one no lexicon of ours covers yet.
const otherCollection = syntax.NSID("fm.plyr.track")

// in returns t moved to collection c.
func in(c syntax.NSID, t *relay.Track) *relay.Track {
	t.Collection = c
	return t
}

func delIn(c syntax.NSID, d syntax.DID, rk syntax.RecordKey, rv string) relay.Event {
	ev := del(d, rk, rv)
	ev.Collection = c
	return ev
}

func testCollections(t *testing.T, open func(t *testing.T) Backend) {
	t.Run("the same did and rkey in two collections are two tracks", func(t *testing.T) {
		f := newFixture(t, open)
		d, rk := did(1), rkey(1)
		ours := track(d, rk, rev(1), "ours", base)
		theirs := in(otherCollection, track(d, rk, rev(2), "theirs", base))
		before := f.head()
		f.apply(put(ours), put(theirs))
		if ours.URI() == theirs.URI() {
			t.Fatalf("two collections, one uri %s", ours.URI())
		}
		for _, want := range []*relay.Track{ours, theirs} {
			if got := f.get(want.URI()); got == nil || got.Title != want.Title || got.Collection != want.Collection {
				t.Errorf("Tracks(%s) = %+v, want %q", want.URI(), got, want.Title)
			}
			f.shownEverywhere(want.URI(), true)
		}
		ch := f.since(before)
		if len(ch) != 2 || ch[0].URI != ours.URI() || ch[1].URI != theirs.URI() || ch[1].Track == nil || ch[1].Track.Collection != otherCollection {
			t.Errorf("outbox = %+v, want an entry for each uri", ch)
		}

		// A delete in one collection leaves the other's track, and its
		// tombstone blocks only its own older creates.
		f.apply(delIn(otherCollection, d, rk, rev(5)))
		f.shownEverywhere(theirs.URI(), false)
		f.shownEverywhere(ours.URI(), true)
		if res := f.apply(put(in(otherCollection, track(d, rk, rev(4), "theirs again", base)))); res.Applied != 0 {
			t.Errorf("an older create over the tombstone in %s applied: %+v", otherCollection, res)
		}
		if res := f.apply(put(track(d, rk, rev(4), "ours, updated", base))); res.Applied != 1 {
			t.Errorf("a newer put in %s was blocked by %s's tombstone: %+v", relay.TrackCollection, otherCollection, res)
		}
		if got := f.get(ours.URI()); got == nil || got.Title != "ours, updated" {
			t.Errorf("Tracks(%s) = %+v, want the update", ours.URI(), got)
		}
		if got := f.get(theirs.URI()); got != nil {
			t.Errorf("the deleted %s came back: %+v", theirs.URI(), got)
		}
	})

	t.Run("feed pages across collections in key order", func(t *testing.T) {
		f := newFixture(t, open)
		// Same time, same did, same rkeys: only the collection breaks ties.
		var want []relay.FeedKey
		for i := range 3 {
			for _, c := range []syntax.NSID{relay.TrackCollection, otherCollection} {
				tr := in(c, track(did(1), rkey(i), rev(1), "t", base))
				f.apply(put(tr))
				// In the past: sortAt = createdAt.
				want = append(want, relay.FeedKey{SortAt: tr.CreatedAt.UnixMicro(), DID: tr.DID, Collection: c, RKey: tr.RKey})
			}
		}
		slices.SortFunc(want, feedOrder)
		var got []relay.FeedKey
		var after *relay.FeedKey
		for range len(want) + 1 {
			rows, err := f.b.Feed(f.ctx, after, 1)
			if err != nil {
				t.Fatalf("Feed: %v", err)
			}
			if len(rows) == 0 {
				break
			}
			k := keyOf(rows[0])
			got = append(got, k)
			after = &k
		}
		if !slices.Equal(got, want) {
			t.Errorf("pages = %+v, want %+v", got, want)
		}
	})

	t.Run("a resync deletes only in the collections it covers", func(t *testing.T) {
		f := newFixture(t, open)
		d := did(1)
		ours := track(d, rkey(1), rev(1), "ours", base)
		theirs := in(otherCollection, track(d, rkey(2), rev(1), "theirs", base))
		f.apply(put(ours), put(theirs))
		// A snapshot of app.relay.track that no longer holds ours.
		if res := f.resync(d, rev(3), ""); res.Applied != 1 {
			t.Errorf("resync = %+v, want one delete", res)
		}
		f.shownEverywhere(ours.URI(), false)
		f.shownEverywhere(theirs.URI(), true)
		if _, err := f.b.ResyncRepo(f.ctx, d, rev(4), "", nil, nil); err == nil {
			t.Errorf("a resync covering no collection was accepted")
		}
		if _, err := f.b.ResyncRepo(f.ctx, d, rev(4), "", []syntax.NSID{relay.TrackCollection}, []*relay.Track{theirs}); err == nil {
			t.Errorf("a resync holding a track of a collection it does not cover was accepted")
		}
		f.shownEverywhere(theirs.URI(), true)
	})

	t.Run("a track without a collection is refused", func(t *testing.T) {
		f := newFixture(t, open)
		for _, ev := range []relay.Event{put(in("", track(did(1), rkey(1), rev(1), "t", base))), delIn("", did(1), rkey(1), rev(1))} {
			if _, err := f.b.ApplyBatch(f.ctx, []relay.Event{ev}, 0); err == nil {
				t.Errorf("ApplyBatch(%+v without a collection) = nil error", ev.Kind)
			}
		}
		if rows := f.feed(); len(rows) != 0 {
			t.Errorf("feed after refused events = %v", rows)
		}
	})
}
