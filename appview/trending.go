package appview

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// trendingHead is how many positions of a ranking the cache keeps: pages
// past it are asked of the store, which sums every play row of the window
// for each (184 ms for the page after 5000 over 480k rows, against 4.4 ms
// from the cache: BenchmarkTrending; 3.6 s p50 under the 1M bench's load
// with a head of 1000). A position is about 250 bytes, so a ranking's
// head is at most 5 MB, and the cache holds at most two hours of three
// windows. A variable for the tests that cross it.
var trendingHead = 20000

// trendingTimeout bounds computing one ranking.
const trendingTimeout = 20 * time.Second

// trendingCache keeps the head of each window's ranking for the hour it is
// pinned to. A ranking sums closed hours only, which never change, so it
// is computed once per window and hour instead of once per page: the
// store's ranking reads every play row of the window (0.6 s for 480k rows
// beside 20k tracks, BenchmarkTrending). What can change within the hour
// is whether a ranked track is still shown (deleted, hidden, its audio
// gone): every page is checked against the store for that (Store.Tracks,
// by key, cheap), so a cached position never shows a track that left.
type trendingCache struct {
	mu      sync.Mutex
	entries map[trendingSlot]*trendingEntry
}

type trendingSlot struct {
	window string
	open   int64
}

type trendingEntry struct {
	ready chan struct{} // closed once ranks and err are set
	ranks []trendingRank
	// whole: the ranking has no more positions than ranks.
	whole bool
	err   error
}

type trendingRank struct {
	key relay.TrendingKey
	uri syntax.ATURI
}

// before reports whether a comes before b in trending order (plays, then
// the feed position, both descending).
func before(a, b relay.TrendingKey) bool {
	if a.Plays != b.Plays {
		return a.Plays > b.Plays
	}
	x, y := a.Feed, b.Feed
	switch {
	case x.SortAt != y.SortAt:
		return x.SortAt > y.SortAt
	case x.DID != y.DID:
		return x.DID > y.DID
	case x.Collection != y.Collection:
		return x.Collection > y.Collection
	default:
		return x.RKey > y.RKey
	}
}

// ranking returns the head of the ranking of slot, computing it once
// (concurrent askers wait for the one computation). Slots of hours before
// the previous one are dropped: only cursors that old still name them,
// and those are answered by the store.
func (c *trendingCache) ranking(ctx context.Context, slot trendingSlot, compute func(context.Context) ([]trendingRank, bool, error)) ([]trendingRank, bool, error) {
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[trendingSlot]*trendingEntry{}
	}
	e, ok := c.entries[slot]
	if !ok {
		for s := range c.entries {
			if s.open < slot.open-1 {
				delete(c.entries, s)
			}
		}
		e = &trendingEntry{ready: make(chan struct{})}
		c.entries[slot] = e
		c.mu.Unlock()
		// Not the asker's context: the result serves every asker of the
		// hour, and one client leaving must not fail it for the others.
		// Bounded all the same.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), trendingTimeout)
		e.ranks, e.whole, e.err = compute(cctx)
		cancel()
		if e.err != nil {
			c.mu.Lock()
			delete(c.entries, slot)
			c.mu.Unlock()
		}
		close(e.ready)
	} else {
		c.mu.Unlock()
	}
	select {
	case <-e.ready:
		return e.ranks, e.whole, e.err
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// trendingPage is the page of limit shown tracks after the key given
// (nil: the top) in the ranking of p's window and hour.
func (s *Server) trendingPage(ctx context.Context, p trendingParams) ([]*relay.TrendingTrack, error) {
	since := p.open - trendingWindows[p.window]
	ranks, whole, err := s.trending.ranking(ctx, trendingSlot{p.window, p.open}, func(ctx context.Context) ([]trendingRank, bool, error) {
		keys, err := s.store.TrendingKeys(ctx, since, p.open, trendingHead)
		if err != nil {
			return nil, false, err
		}
		out := make([]trendingRank, len(keys))
		for i, k := range keys {
			out[i] = trendingRank{key: k, uri: relay.TrackURI(k.Feed.DID, k.Feed.Collection, k.Feed.RKey)}
		}
		return out, len(keys) < trendingHead, nil
	})
	if err != nil {
		return nil, err
	}
	i := 0
	if p.after != nil {
		i = sort.Search(len(ranks), func(i int) bool { return before(*p.after, ranks[i].key) })
	}
	var page []*relay.TrendingTrack
	for i < len(ranks) && len(page) < p.limit {
		// A few more than the page needs, for the ones that left.
		n := min(len(ranks)-i, p.limit-len(page)+8)
		uris := make([]syntax.ATURI, n)
		for j := range uris {
			uris[j] = ranks[i+j].uri
		}
		shown, err := s.store.Tracks(ctx, uris)
		if err != nil {
			return nil, err
		}
		byURI := make(map[syntax.ATURI]*relay.StoredTrack, len(shown))
		for _, t := range shown {
			byURI[t.URI()] = t
		}
		for j := 0; j < n && len(page) < p.limit; j++ {
			r := ranks[i+j]
			t := byURI[r.uri]
			// Tracks shows a direct link to a track whose audio is
			// gone; trending, like the feed, does not.
			if t == nil || t.AudioStatus == relay.AudioMissing {
				continue
			}
			// The position is the ranking's: an update that moved the
			// track's sort time must not move the cursor built from it.
			st := *t
			st.SortAt = time.UnixMicro(r.key.Feed.SortAt).UTC()
			page = append(page, &relay.TrendingTrack{StoredTrack: st, Plays: r.key.Plays})
		}
		i += n
	}
	if len(page) == p.limit || whole {
		return page, nil
	}
	// Past the head: the store, after the last position seen.
	after := p.after
	if len(ranks) > 0 && (after == nil || before(*after, ranks[len(ranks)-1].key)) {
		k := ranks[len(ranks)-1].key
		after = &k
	}
	rest, err := s.store.Trending(ctx, since, p.open, after, p.limit-len(page))
	if err != nil {
		return nil, err
	}
	return append(page, rest...), nil
}
