package appview

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/search"
)

// getDiscoveryFeed: app.relay.feed.getDiscoveryFeed.
func (s *Server) getDiscoveryFeed(ctx context.Context, r *http.Request) (any, error) {
	after, limit, err := parseFeedParams(r.URL.Query())
	if err != nil {
		return nil, err
	}
	if after == nil {
		// The first page is what every client opens with: it is served from
		// a cache a moment old (Config.FirstPageTTL).
		return s.firstPage.get(limit, func() (any, error) { return s.feedPage(ctx, nil, limit) })
	}
	return s.feedPage(ctx, after, limit)
}

func (s *Server) feedPage(ctx context.Context, after *relay.FeedKey, limit int) (any, error) {
	rows, err := s.store.Feed(ctx, after, limit)
	if err != nil {
		return nil, err
	}
	return s.feedAnswer(ctx, rows, limit)
}

// feedAnswer is a page of a list in feed order ({"feed", "cursor"}): the
// hydrated views, and the last track's key as the cursor when the page is
// full.
func (s *Server) feedAnswer(ctx context.Context, rows []*relay.StoredTrack, limit int) (any, error) {
	views, err := s.views(ctx, rows)
	if err != nil {
		return nil, err
	}
	out := struct {
		Cursor string      `json:"cursor,omitempty"`
		Feed   []TrackView `json:"feed"`
	}{Feed: views}
	if len(rows) == limit {
		out.Cursor = encodeFeedCursor(rows[len(rows)-1].Key())
	}
	return out, nil
}

// The feed cursor is the last track's position in feed order, opaque to
// clients: base64url of "sortAt rkey did collection". A cursor of the
// format before a track was its at-uri, "sortAt rkey did", is still read,
// as an app.relay.track (the only collection then): a client paging across
// a deploy goes on where it was.
func encodeFeedCursor(k relay.FeedKey) string {
	raw := strconv.FormatInt(k.SortAt, 10) + " " + k.RKey.String() + " " + k.DID.String() + " " + k.Collection.String()
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeFeedCursor(c string) (relay.FeedKey, error) {
	bad := invalidRequest("cursor is not one this feed returned")
	if len(c) > maxCursorBytes {
		return relay.FeedKey{}, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return relay.FeedKey{}, bad
	}
	parts := strings.Split(string(raw), " ")
	if len(parts) != 3 && len(parts) != 4 {
		return relay.FeedKey{}, bad
	}
	sortAt, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return relay.FeedKey{}, bad
	}
	rkey, err := syntax.ParseRecordKey(parts[1])
	if err != nil {
		return relay.FeedKey{}, bad
	}
	did, err := syntax.ParseDID(parts[2])
	if err != nil {
		return relay.FeedKey{}, bad
	}
	collection := syntax.NSID(relay.TrackCollection)
	if len(parts) == 4 {
		if collection, err = syntax.ParseNSID(parts[3]); err != nil {
			return relay.FeedKey{}, bad
		}
	}
	return relay.FeedKey{SortAt: sortAt, DID: did, Collection: collection, RKey: rkey}, nil
}

// parseFeedParams reads getDiscoveryFeed's parameters: the position after
// which the page starts (nil: the top) and the limit.
func parseFeedParams(q url.Values) (*relay.FeedKey, int, error) {
	limit, err := limitParam(q)
	if err != nil {
		return nil, 0, err
	}
	c := q.Get("cursor")
	if c == "" {
		return nil, limit, nil
	}
	k, err := decodeFeedCursor(c)
	if err != nil {
		return nil, 0, err
	}
	return &k, limit, nil
}

// maxFacetRunes bounds the genre and tag filters: longer ones name
// nothing a client would offer.
const maxFacetRunes = 64

// searchParams are searchTracks' parameters: the index query and, when the
// artist was given as a handle, that handle, still to be resolved to the
// DID the index filters by.
type searchParams struct {
	query  search.Query
	handle syntax.Handle
}

// parseSearchParams reads searchTracks' parameters. The search index checks
// the text and the cursor further (ErrBadQuery, ErrBadCursor). q stays
// required with filters: filters narrow a search, and the discovery feed is
// what lists everything newest first.
func parseSearchParams(q url.Values) (searchParams, error) {
	limit, err := limitParam(q)
	if err != nil {
		return searchParams{}, err
	}
	text := q.Get("q")
	if strings.TrimSpace(text) == "" {
		return searchParams{}, invalidRequest("q is required")
	}
	p := searchParams{query: search.Query{Text: text, Limit: limit, Cursor: q.Get("cursor")}}
	// Bluesky's searchPosts names the two orders top and latest; relevance
	// and newest were relay's names first and stay.
	switch q.Get("sort") {
	case "", "top", "relevance":
		p.query.Sort = search.SortRelevance
	case "latest", "newest":
		p.query.Sort = search.SortNewest
	default:
		return searchParams{}, invalidRequest("sort must be top, latest, relevance or newest, got %q", truncate(q.Get("sort")))
	}
	if a := q.Get("artist"); a != "" {
		id, err := syntax.ParseAtIdentifier(a)
		if err != nil {
			return searchParams{}, invalidRequest("artist must be a did or a handle")
		}
		if id.IsDID() {
			p.query.Filter.Artist = id.DID().String()
		} else {
			p.handle = id.Handle().Normalize()
		}
	}
	for _, f := range []struct {
		name string
		to   *string
	}{{"genre", &p.query.Filter.Genre}, {"tag", &p.query.Filter.Tag}} {
		vs := q[f.name]
		if len(vs) > 1 {
			return searchParams{}, invalidRequest("%s may be given once", f.name)
		}
		if len(vs) == 0 || vs[0] == "" {
			continue
		}
		v := vs[0]
		if !utf8.ValidString(v) || utf8.RuneCountInString(v) > maxFacetRunes {
			return searchParams{}, invalidRequest("%s must be text of at most %d characters", f.name, maxFacetRunes)
		}
		*f.to = v
	}
	return p, nil
}

// truncate cuts client text echoed in an error message.
func truncate(s string) string {
	const max = 32
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// searchTracks: app.relay.feed.searchTracks.
func (s *Server) searchTracks(ctx context.Context, r *http.Request) (any, error) {
	p, err := parseSearchParams(r.URL.Query())
	if err != nil {
		return nil, err
	}
	type page struct {
		Cursor    string      `json:"cursor,omitempty"`
		HitsTotal uint64      `json:"hitsTotal"`
		Tracks    []TrackView `json:"tracks"`
	}
	if p.handle != "" {
		did, ok, err := s.store.ResolveHandle(ctx, p.handle)
		if err != nil {
			return nil, err
		}
		if !ok {
			// Nobody known has this handle, so nothing of theirs matches.
			return page{Tracks: []TrackView{}}, nil
		}
		p.query.Filter.Artist = did.String()
	}
	res, err := s.index.Search(ctx, p.query)
	if err != nil {
		return nil, searchError(err)
	}
	uris := make([]syntax.ATURI, 0, len(res.URIs))
	for _, u := range res.URIs {
		uris = append(uris, syntax.ATURI(u))
	}
	// The index may be a moment behind the store: a track hidden or deleted
	// since is left out here, never shown. Tracks keeps a track whose audio
	// is gone (a direct link shows it); search, like the feed, does not.
	rows, err := s.store.Tracks(ctx, uris)
	if err != nil {
		return nil, err
	}
	rows = slices.DeleteFunc(rows, func(t *relay.StoredTrack) bool { return t.AudioStatus == relay.AudioMissing })
	views, err := s.views(ctx, rows)
	if err != nil {
		return nil, err
	}
	return page{Cursor: res.Cursor, HitsTotal: res.Total, Tracks: views}, nil
}

// maxCacheBytes bounds the first-page cache: up to 100 limits could each
// hold a page, so entries are evicted, oldest first, to stay under it.
const maxCacheBytes = 4 << 20

// pageCache keeps the encoded first page of the feed per limit, for ttl,
// within maxBytes (maxCacheBytes when zero) in all.
type pageCache struct {
	ttl      time.Duration
	maxBytes int
	mu       sync.Mutex
	entries  map[int]cachedPage
	bytes    int // sum of the entries' body sizes
}

type cachedPage struct {
	body rawJSON
	at   time.Time
}

// get returns the cached page for limit, or builds, encodes and caches it.
// Concurrent misses each build it: simpler than coalescing, and bounded by
// the TTL.
func (c *pageCache) get(limit int, build func() (any, error)) (any, error) {
	c.mu.Lock()
	e, ok := c.entries[limit]
	c.mu.Unlock()
	if ok && time.Since(e.at) < c.ttl {
		return e.body, nil
	}
	v, err := build()
	if err != nil {
		return nil, err
	}
	body, err := encodeJSON(v)
	if err != nil {
		return nil, err
	}
	c.put(limit, body)
	return body, nil
}

// put caches body for limit, evicting the oldest entries past the byte
// bound. A page larger than the whole bound is served but not kept.
func (c *pageCache) put(limit int, body rawJSON) {
	max := c.maxBytes
	if max == 0 {
		max = maxCacheBytes
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[int]cachedPage{}
	}
	if old, ok := c.entries[limit]; ok {
		c.bytes -= len(old.body)
		delete(c.entries, limit)
	}
	if len(body) > max {
		return
	}
	for c.bytes+len(body) > max {
		oldest, first := 0, true
		for l, e := range c.entries {
			if first || e.at.Before(c.entries[oldest].at) {
				oldest, first = l, false
			}
		}
		c.bytes -= len(c.entries[oldest].body)
		delete(c.entries, oldest)
	}
	c.entries[limit] = cachedPage{body: body, at: time.Now()}
	c.bytes += len(body)
}

// size reports the entries and bytes cached.
func (c *pageCache) size() (entries, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.bytes
}

// searchError is the XRPC error of a failed search (tracks or artists):
// a bad cursor or query is the client's, a timeout a 503 to retry.
func searchError(err error) error {
	switch {
	case errors.Is(err, search.ErrBadCursor):
		return invalidRequest("cursor is not valid or has expired; start the search again")
	case errors.Is(err, search.ErrBadQuery):
		return invalidRequest("%s", strings.TrimPrefix(err.Error(), search.ErrBadQuery.Error()+": "))
	case errors.Is(err, context.DeadlineExceeded):
		return &xrpcError{Status: http.StatusServiceUnavailable, Name: "Timeout", Message: "the search took too long; try a more specific query"}
	default:
		return err
	}
}
