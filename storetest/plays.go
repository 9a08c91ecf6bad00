package storetest

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/relaymusic/relay"
)

// Plays: AddPlays adds each count to its track's hour, in one
// transaction. Trending sums the plays of the hours [since, until) per
// visible track and ranks them by plays, then feed key, both descending,
// strictly after the key given; deleted and hidden tracks, and plays
// outside the window, are left out.

func (f *fixture) addPlays(counts ...relay.PlayCount) {
	f.t.Helper()
	if err := f.b.AddPlays(f.ctx, counts); err != nil {
		f.t.Fatalf("AddPlays: %v", err)
	}
}

func (f *fixture) trending(since, until int64, after *relay.TrendingKey, limit int) []*relay.TrendingTrack {
	f.t.Helper()
	rows, err := f.b.Trending(f.ctx, since, until, after, limit)
	if err != nil {
		f.t.Fatalf("Trending: %v", err)
	}
	// From the top, TrendingKeys is the same ranking without the rows.
	if after == nil {
		keys, err := f.b.TrendingKeys(f.ctx, since, until, limit)
		if err != nil {
			f.t.Fatalf("TrendingKeys: %v", err)
		}
		want := make([]relay.TrendingKey, len(rows))
		for i, r := range rows {
			want[i] = r.TrendingKey()
		}
		if !slices.Equal(keys, want) {
			f.t.Errorf("TrendingKeys = %v, Trending's keys %v", keys, want)
		}
	}
	return rows
}

func playsOf(tr *relay.Track, hour, n int64) relay.PlayCount {
	return relay.PlayCount{DID: tr.DID, Collection: tr.Collection, RKey: tr.RKey, Hour: hour, N: n}
}

func trendingOrder(a, b relay.TrendingKey) int {
	return cmp.Or(cmp.Compare(b.Plays, a.Plays), feedOrder(a.Feed, b.Feed))
}

func trendingKeys(rows []*relay.TrendingTrack) []relay.TrendingKey {
	out := make([]relay.TrendingKey, len(rows))
	for i, r := range rows {
		out[i] = r.TrendingKey()
	}
	return out
}

func testPlays(t *testing.T, open func(t *testing.T) Backend) {
	const h = 500000 // an hour (unix seconds / 3600)
	t.Run("counts sum over the window, and only it", func(t *testing.T) {
		f := newFixture(t, open)
		a := track(did(1), rkey(1), rev(1), "a", base)
		b := track(did(1), rkey(2), rev(1), "b", base.Add(time.Minute))
		f.apply(put(a), put(b))
		f.addPlays(playsOf(a, h, 2), playsOf(a, h+1, 3), playsOf(b, h+1, 4))
		f.addPlays(playsOf(a, h+1, 1), playsOf(b, h-1, 100), playsOf(b, h+2, 100)) // outside [h, h+2)
		got := f.trending(h, h+2, nil, 10)
		if len(got) != 2 || got[0].URI() != a.URI() || got[0].Plays != 6 || got[1].URI() != b.URI() || got[1].Plays != 4 {
			t.Fatalf("Trending = %v, want a:6 b:4", trendingKeys(got))
		}
		if got[0].Title != "a" || !sameJSON(got[0].Record, a.Record) {
			t.Errorf("Trending's track is not the stored track: %+v", got[0].Track)
		}
		if got := f.trending(h+5, h+6, nil, 10); len(got) != 0 {
			t.Errorf("Trending of an hour without plays = %d tracks", len(got))
		}
	})
	t.Run("ties broken by feed key; plays of unknown tracks show nowhere", func(t *testing.T) {
		f := newFixture(t, open)
		var trs []*relay.Track
		var counts []relay.PlayCount
		for i := range 6 {
			tr := track(did(i%2+1), rkey(i), rev(1), "t", base.Add(time.Duration(i%3)*time.Minute))
			trs = append(trs, tr)
			f.apply(put(tr))
			counts = append(counts, playsOf(tr, h, int64(1+i/2)))
		}
		counts = append(counts, playsOf(track(did(9), rkey(9), rev(1), "never stored", base), h, 50))
		f.addPlays(counts...)
		var want []relay.TrendingKey
		for i, tr := range trs {
			want = append(want, relay.TrendingKey{Plays: int64(1 + i/2), Feed: createdKey(tr)})
		}
		slices.SortFunc(want, trendingOrder)
		if got := trendingKeys(f.trending(h, h+1, nil, 100)); !slices.Equal(got, want) {
			t.Errorf("Trending:\n got %v\nwant %v", got, want)
		}
	})
	t.Run("deleted and hidden tracks leave trending, and come back with their account", func(t *testing.T) {
		f := newFixture(t, open)
		a := track(did(1), rkey(1), rev(1), "a", base)
		b := track(did(2), rkey(2), rev(1), "b", base)
		c := track(did(3), rkey(3), rev(1), "c", base)
		f.apply(put(a), put(b), put(c))
		f.addPlays(playsOf(a, h, 1), playsOf(b, h, 2), playsOf(c, h, 3))
		f.apply(del(did(1), rkey(1), rev(2)), account(did(2), false, "deactivated"))
		got := f.trending(h, h+1, nil, 10)
		if len(got) != 1 || got[0].URI() != c.URI() {
			t.Fatalf("Trending = %v, want only c", trendingKeys(got))
		}
		f.apply(account(did(2), true, ""))
		if got := f.trending(h, h+1, nil, 10); len(got) != 2 || got[1].URI() != b.URI() {
			t.Errorf("after reactivation Trending = %v, want c, b", trendingKeys(got))
		}
	})
	t.Run("pages never repeat or skip while tracks leave", func(t *testing.T) {
		f := newFixture(t, open)
		var trs []*relay.Track
		for i := range 30 {
			tr := track(did(i%3+1), rkey(i), rev(1), "t", base.Add(time.Duration(i%4)*time.Second))
			trs = append(trs, tr)
			f.apply(put(tr))
			f.addPlays(playsOf(tr, h, int64(1+i%5)), playsOf(tr, h+1, int64(i%2)))
		}
		deleted := map[string]bool{}
		seen := map[string]bool{}
		var after *relay.TrendingKey
		var prev *relay.TrendingKey
		for page := 0; ; page++ {
			rows := f.trending(h, h+2, after, 4)
			for _, r := range rows {
				u := r.URI().String()
				if seen[u] {
					t.Fatalf("%s twice", u)
				}
				if deleted[u] {
					t.Fatalf("%s shown after its delete", u)
				}
				seen[u] = true
				k := r.TrendingKey()
				if prev != nil && trendingOrder(*prev, k) >= 0 {
					t.Fatalf("out of order: %v then %v", *prev, k)
				}
				prev = &k
			}
			if len(rows) < 4 {
				break
			}
			k := rows[len(rows)-1].TrendingKey()
			after = &k
			// Between pages a track already shown and one not yet shown
			// are deleted, and plays land in an hour outside the window.
			victim := trs[(page*7)%len(trs)]
			if !seen[victim.URI().String()] {
				deleted[victim.URI().String()] = true
			}
			f.apply(del(victim.DID, victim.RKey, rev(2)))
			f.addPlays(playsOf(trs[page%len(trs)], h+2, 1000))
		}
		for _, tr := range trs {
			u := tr.URI().String()
			if !seen[u] && !deleted[u] {
				t.Errorf("%s skipped", u)
			}
		}
	})
}
