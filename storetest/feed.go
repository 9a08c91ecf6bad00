package storetest

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

func keyOf(r *relay.StoredTrack) relay.FeedKey {
	return relay.FeedKey{SortAt: r.SortAt.UnixMicro(), DID: r.DID, Collection: r.Collection, RKey: r.RKey}
}

// feedOrder compares in the feed's order: sortAt, then did, collection and
// rkey, all descending (negative: a comes first).
func feedOrder(a, b relay.FeedKey) int {
	return cmp.Or(cmp.Compare(b.SortAt, a.SortAt), cmp.Compare(b.DID, a.DID), cmp.Compare(b.Collection, a.Collection), cmp.Compare(b.RKey, a.RKey))
}

func testFeed(t *testing.T, open func(t *testing.T) Backend) {
	// Ten tracks on five distinct times, so ties are broken by did, then
	// rkey; all in the past, so sortAt = createdAt.
	seed := func(f *fixture) []relay.FeedKey {
		var evs []relay.Event
		var keys []relay.FeedKey
		for i := range 10 {
			tr := track(did(i%3), rkey(i), rev(1), "t", base.Add(-time.Duration(i/2)*time.Hour))
			evs = append(evs, put(tr))
			keys = append(keys, relay.FeedKey{SortAt: tr.CreatedAt.UnixMicro(), DID: tr.DID, Collection: tr.Collection, RKey: tr.RKey})
		}
		// One batch in scrambled order: the feed's order is not insertion order.
		slices.Reverse(evs[3:])
		f.apply(evs...)
		slices.SortFunc(keys, feedOrder)
		return keys
	}

	t.Run("newest first by sortAt, then did and rkey descending", func(t *testing.T) {
		f := newFixture(t, open)
		want := seed(f)
		got := f.feed()
		if len(got) != len(want) {
			t.Fatalf("Feed = %d tracks, want %d", len(got), len(want))
		}
		for i := range got {
			if k := keyOf(got[i]); k != want[i] {
				t.Errorf("Feed[%d] = %+v, want %+v", i, k, want[i])
			}
		}
	})

	t.Run("limit is respected", func(t *testing.T) {
		f := newFixture(t, open)
		want := seed(f)
		for _, limit := range []int{1, 3, len(want)} {
			rows, err := f.b.Feed(f.ctx, nil, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != limit {
				t.Errorf("Feed(limit %d) = %d tracks", limit, len(rows))
			}
		}
	})

	t.Run("keyset pages never repeat or skip while tracks arrive", func(t *testing.T) {
		f := newFixture(t, open)
		want := seed(f)
		var (
			got   []relay.FeedKey
			after *relay.FeedKey
			n     = 100
		)
		for page := 0; ; page++ {
			rows, err := f.b.Feed(f.ctx, after, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) == 0 {
				break
			}
			if page > 50 {
				t.Fatal("paging does not end")
			}
			for _, r := range rows {
				got = append(got, keyOf(r))
			}
			k := keyOf(rows[len(rows)-1])
			after = &k
			if page >= 3 {
				continue
			}
			// Between pages: a new track on top (above every cursor: not
			// in this walk), and an old-dated one below the cursor (ahead
			// of it: this walk must reach it).
			top := track(did(7), rkey(n), rev(1), "new", time.Now().Add(-time.Second))
			below := track(did(8), rkey(n+1), rev(1), "backfilled", time.UnixMicro(k.SortAt).Add(-30*time.Minute))
			n += 2
			f.apply(put(top), put(below))
			want = append(want, relay.FeedKey{SortAt: below.CreatedAt.UnixMicro(), DID: below.DID, Collection: below.Collection, RKey: below.RKey})
		}
		slices.SortFunc(want, feedOrder)
		if !slices.Equal(got, want) {
			t.Errorf("paged feed:\n got %v\nwant %v", got, want)
		}
	})

	t.Run("hidden and deleted tracks are not in the feed", func(t *testing.T) {
		f := newFixture(t, open)
		keep := track(did(1), rkey(1), rev(1), "keep", base)
		gone := track(did(1), rkey(2), rev(1), "gone", base)
		hid := track(did(2), rkey(3), rev(1), "hidden", base)
		f.apply(put(keep), put(gone), put(hid))
		f.apply(del(gone.DID, gone.RKey, rev(2)), account(hid.DID, false, "suspended"))
		if got := uris(f.feed()); !slices.Equal(got, []syntax.ATURI{keep.URI()}) {
			t.Errorf("Feed = %v, want only %s", got, keep.URI())
		}
	})
}

func testTracks(t *testing.T, open func(t *testing.T) Backend) {
	f := newFixture(t, open)
	a := track(did(1), rkey(1), rev(1), "a", base)
	b := track(did(1), rkey(2), rev(1), "b", base)
	c := track(did(2), rkey(3), rev(1), "c", base)
	gone := track(did(1), rkey(4), rev(1), "gone", base)
	hid := track(did(3), rkey(5), rev(1), "hidden", base)
	f.apply(put(a), put(b), put(c), put(gone), put(hid))
	f.apply(del(gone.DID, gone.RKey, rev(2)), account(hid.DID, false, "deactivated"))
	missing := relay.TrackURI(did(1), relay.TrackCollection, rkey(99))
	handleURI := syntax.ATURI("at://alice.example/" + relay.TrackCollection + "/" + rkey(1).String())
	// a's did and rkey in a collection nothing was stored in.
	otherURI := relay.TrackURI(did(1), otherCollection, rkey(1))
	cases := []struct {
		name string
		ask  []syntax.ATURI
		want []syntax.ATURI
	}{
		{"in the order asked", []syntax.ATURI{c.URI(), a.URI(), b.URI()}, []syntax.ATURI{c.URI(), a.URI(), b.URI()}},
		{"the reverse order", []syntax.ATURI{b.URI(), a.URI(), c.URI()}, []syntax.ATURI{b.URI(), a.URI(), c.URI()}},
		{"unknown, deleted and hidden left out", []syntax.ATURI{missing, a.URI(), gone.URI(), hid.URI(), c.URI()}, []syntax.ATURI{a.URI(), c.URI()}},
		{"a uri without a DID is ignored", []syntax.ATURI{handleURI, b.URI()}, []syntax.ATURI{b.URI()}},
		{"a uri of another collection is another track", []syntax.ATURI{otherURI, a.URI()}, []syntax.ATURI{a.URI()}},
		{"nothing asked", nil, nil},
		{"asked twice, given twice", []syntax.ATURI{a.URI(), c.URI(), a.URI()}, []syntax.ATURI{a.URI(), c.URI(), a.URI()}},
	}
	// More than one statement's worth (sqlite looks up 250 at a time),
	// the order still the one asked.
	var many, manyWant []syntax.ATURI
	for i := range 700 {
		u := []syntax.ATURI{a.URI(), missing, c.URI(), b.URI()}[i%4]
		many = append(many, u)
		if u != missing {
			manyWant = append(manyWant, u)
		}
	}
	cases = append(cases, struct {
		name string
		ask  []syntax.ATURI
		want []syntax.ATURI
	}{"700 asked", many, manyWant})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := uris(f.lookup(tc.ask...)); !slices.Equal(emptyOr(got), emptyOr(tc.want)) {
				t.Errorf("Tracks(%v) = %v, want %v", tc.ask, got, tc.want)
			}
		})
	}
}
