package search

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// ArtistSource is what the index reads of the store to build the document
// of an artist (an account with visible tracks). Both reads take many DIDs
// in one call: a batch of changes refreshes every artist it touches.
type ArtistSource interface {
	// Artists returns those of dids with visible tracks, with their
	// handles and visible track counts; the others are left out.
	Artists(ctx context.Context, dids []syntax.DID) ([]relay.Artist, error)
	// ArtistNames returns the distinct artist names each DID's visible
	// tracks credit, those on the most tracks first, at most perArtist each.
	ArtistNames(ctx context.Context, dids []syntax.DID, perArtist int) (map[syntax.DID][]string, error)
}

const (
	// maxArtistNames bounds the names an artist document holds: an account
	// crediting a new name on each of its tracks gets its 16 most used,
	// not a document that grows with its catalogue.
	maxArtistNames = 16
	// artistReadBatch is how many DIDs one pair of store reads covers.
	artistReadBatch = 500
)

// ArtistQuery is one page of an artist search. Cursor is empty for the
// first page, else the Cursor of the previous ArtistResult for the same Text.
type ArtistQuery struct {
	Text   string
	Limit  int
	Cursor string
}

// ArtistResult is one page of artists, best match first: their DIDs, the
// cursor of the next page ("" on the last), and the number of matches.
type ArtistResult struct {
	DIDs   []syntax.DID
	Cursor string
	Total  uint64
}

// kindArtists is the cursor kind of artist rankings: After is (score,
// track count, DID).
const kindArtists = "a"

// artistDocument is what Bleve indexes for an artist: its handle and the
// handle's first label ("alice" of alice.bsky.social, so the name typed
// alone matches exactly), the names its tracks credit, and its track count
// for the tie break. The account's own display name is not known to the
// store (relay ingests no profiles), and a featured artist's displayName
// is another account's claim, so neither is searched.
func artistDocument(a relay.Artist, names []string) map[string]any {
	d := map[string]any{fieldKind: kindArtist, fieldArtistTracks: float64(a.TrackCount)}
	if h := a.Handle; h != "" && h != syntax.HandleInvalid.String() {
		hs := []any{h}
		if first, _, ok := strings.Cut(h, "."); ok && first != "" {
			hs = append(hs, first)
		}
		d[fieldArtistHandle] = hs
	}
	if len(names) > 0 {
		ns := make([]any, 0, len(names))
		for _, n := range names {
			ns = append(ns, n)
		}
		d[fieldArtistName] = ns
	}
	return d
}

// touched returns the DIDs of changes above applied, once each, in order.
func touched(changes []relay.Change, applied int64) []syntax.DID {
	seen := map[syntax.DID]bool{}
	var out []syntax.DID
	for _, c := range changes {
		if c.Seq <= applied {
			continue
		}
		d, err := c.URI.Authority().AsDID()
		if err != nil || seen[d] {
			continue
		}
		seen[d] = true
		out = append(out, d)
	}
	return out
}

// The artist documents of the accounts a batch names are not rebuilt in
// every batch while the follower has a backlog: ArtistNames reads every
// visible track of each account, and the same accounts are named again by
// batch after batch (the big ones of a Zipf catalogue by nearly every one;
// about 2700 of the 5000 accounts by each batch of a 100k replay), so
// their tracks were read over and over (18.7% of all CPU replaying 100k
// events). The accounts named wait in a pending set and are rebuilt
// together when due.
const (
	// artistInterval is the longest a backlog defers the rebuild: artist
	// documents lag track documents by at most this, plus one rebuild,
	// while catching up. Replaying 100k events over 5000 accounts, each
	// rebuild covered nearly all of them (about 4.8k, some 2.5 s on a
	// loaded 2-core machine): 2 s rebuilt 11-12 times and was slower
	// (1473, 1803 events/s searchable), 5 s 6 times (1871, 1873), 10 s 4
	// times for no clear gain over the noise (1961, 1580).
	artistInterval = 5 * time.Second
	// maxPendingArtists bounds the pending set (and the rebuild that
	// empties it): about 100 bytes a DID.
	maxPendingArtists = 100_000
	// artistFlushBatch is how many artist documents one Bleve batch of a
	// rebuild holds: a large pending set is written in several, the last
	// with the track changes and the artist seq.
	artistFlushBatch = 4000
)

// artistState is what the index remembers between batches of the artists
// it has not rebuilt yet. It lives in memory only: after a restart the
// entries after ArtistSeq, which the outbox keeps (PrunableSeq), name them
// again.
type artistState struct {
	// pending holds the accounts named by entries applied after ArtistSeq.
	pending map[syntax.DID]struct{}
	// complete says pending holds all of them; false after Open of an
	// index whose artists are behind, until the rebuild that reads the
	// entries after ArtistSeq again.
	complete bool
	// last is when artist documents were last rebuilt (or the index
	// opened).
	last time.Time
	// every and max are artistInterval and maxPendingArtists, set by
	// tests.
	every time.Duration
	max   int
}

func newArtistState() artistState {
	return artistState{pending: map[syntax.DID]struct{}{}, last: time.Now(), every: artistInterval, max: maxPendingArtists}
}

// refreshArtists adds to b, the batch applying the entries (applied, top]
// that name dids, what they change of artist documents. When the rebuild
// is due (caughtUp, artistInterval since the last, or maxPendingArtists
// accounts pending) b gets the documents of every pending account and of
// dids, and artist seq top; otherwise b keeps the artist seq where it is,
// written explicitly since a missing key would read as the new
// AppliedSeq. It returns what to do once b is written: a batch that fails
// changes nothing, in the index or here. Call with writeMu held.
func (ix *Index) refreshArtists(ctx context.Context, b *bleve.Batch, src Source, dids []syntax.DID, applied, top int64, caughtUp bool) (func(), error) {
	st := &ix.artists
	at, err := ix.ArtistSeq()
	if err != nil {
		return nil, err
	}
	if !caughtUp && time.Since(st.last) < st.every && len(st.pending)+len(dids) < st.max {
		// Pending before the batch is written: scorch can make a batch
		// live and then fail it (its segment is searchable, the write to
		// disk failed), and AppliedSeq would then have moved past
		// accounts the set never got. One pending too many only costs a
		// rebuild.
		for _, d := range dids {
			st.pending[d] = struct{}{}
		}
		b.SetInternal(keyArtistSeq, encodeSeq(at))
		return nil, nil
	}
	all := maps.Clone(st.pending)
	for _, d := range dids {
		all[d] = struct{}{}
	}
	if !st.complete && at < applied {
		if err := pendingFromOutbox(ctx, src, at, applied, all); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	list := slices.Sorted(maps.Keys(all))
	accounts := len(list)
	// Documents written before the batch that carries the seq are only
	// ahead of it: after a crash in between they are rebuilt again.
	for len(list) > artistFlushBatch {
		ab := ix.bi.NewBatch()
		if err := indexArtists(ctx, ab, src, list[:artistFlushBatch]); err != nil {
			return nil, err
		}
		if err := ix.bi.Batch(ab); err != nil {
			return nil, fmt.Errorf("search: write artists: %w", err)
		}
		list = list[artistFlushBatch:]
	}
	if err := indexArtists(ctx, b, src, list); err != nil {
		return nil, err
	}
	b.SetInternal(keyArtistSeq, encodeSeq(top))
	return func() {
		clear(st.pending)
		st.complete = true
		st.last = time.Now()
		slog.DebugContext(ctx, "artist documents rebuilt", "accounts", accounts, "artist_seq", top,
			"caught_up", caughtUp, "took", st.last.Sub(start).Round(time.Millisecond))
	}, nil
}

// pendingFromOutbox adds to set the accounts named by the entries
// (after, upto] of src: the pending set a restarted process lost.
func pendingFromOutbox(ctx context.Context, src Source, after, upto int64, set map[syntax.DID]struct{}) error {
	for after < upto {
		cs, err := src.Changes(ctx, after, catchUpBatch)
		if err != nil {
			return fmt.Errorf("search: read pending artists after %d: %w", after, err)
		}
		// Seqs are gap-free: a first entry past after+1 means the ones
		// between were pruned, and the artists they name are lost.
		if len(cs) == 0 || cs[0].Seq != after+1 {
			return fmt.Errorf("search: artists are at seq %d but the outbox no longer has seq %d: rebuild the index", after, after+1)
		}
		for _, c := range cs {
			if c.Seq > upto {
				return nil
			}
			after = c.Seq
			if d, err := c.URI.Authority().AsDID(); err == nil {
				set[d] = struct{}{}
			}
		}
	}
	return nil
}

// flushArtists rebuilds the pending artists and sets the artist seq to
// AppliedSeq, in a batch of its own: CatchUp found nothing more to apply
// after a batch that deferred them.
func (ix *Index) flushArtists(ctx context.Context, src Source) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("search: rebuild artists: %w", err)
	}
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	applied, err := ix.AppliedSeq()
	if err != nil {
		return err
	}
	at, err := ix.ArtistSeq()
	if err != nil {
		return err
	}
	if at >= applied && len(ix.artists.pending) == 0 {
		return nil
	}
	b := ix.bi.NewBatch()
	written, err := ix.refreshArtists(ctx, b, src, nil, applied, applied, true)
	if err != nil {
		return fmt.Errorf("search: rebuild artists up to seq %d: %w", applied, err)
	}
	if err := ix.bi.Batch(b); err != nil {
		ix.artists.complete = false // see apply
		return fmt.Errorf("search: rebuild artists up to seq %d: %w", applied, err)
	}
	written()
	return nil
}

// indexArtists adds to b the current document of each of dids as src
// reads it now, or its deletion when it has no visible track left. The
// store may be ahead of the batch's seq: the entries between replay and
// rebuild the document again, so the index converges on the store.
func indexArtists(ctx context.Context, b *bleve.Batch, src ArtistSource, dids []syntax.DID) error {
	for chunk := range slices.Chunk(dids, artistReadBatch) {
		as, err := src.Artists(ctx, chunk)
		if err != nil {
			return fmt.Errorf("search: read artists: %w", err)
		}
		names, err := src.ArtistNames(ctx, chunk, maxArtistNames)
		if err != nil {
			return fmt.Errorf("search: read artist names: %w", err)
		}
		shown := make(map[syntax.DID]bool, len(as))
		for _, a := range as {
			if a.TrackCount < 1 {
				continue
			}
			shown[a.DID] = true
			if err := b.Index(a.DID.String(), artistDocument(a, names[a.DID])); err != nil {
				return fmt.Errorf("search: index artist %s: %w", a.DID, err)
			}
		}
		for _, d := range chunk {
			if !shown[d] {
				b.Delete(d.String())
			}
		}
	}
	return nil
}

// ArtistCount is the number of artist documents (accounts with visible
// tracks, as last applied).
func (ix *Index) ArtistCount(ctx context.Context) (uint64, error) {
	tq := query.NewTermQuery(kindArtist)
	tq.SetField(fieldKind)
	res, err := ix.bi.SearchInContext(ctx, bleve.NewSearchRequestOptions(tq, 0, 0, false))
	if err != nil {
		return 0, fmt.Errorf("search: count artists: %w", err)
	}
	return res.Total, nil
}

// artistOrder is score first, then track count (more first), then DID, a
// total order a (score, tracks, DID) position continues.
func artistOrder() bsearch.SortOrder {
	return bsearch.SortOrder{
		&bsearch.SortScore{Desc: true},
		&bsearch.SortField{Field: fieldArtistTracks, Desc: true, Type: bsearch.SortFieldAsNumber},
		&bsearch.SortDocID{},
	}
}

// SearchArtists runs one page of an artist search over handles and the
// artist names on tracks, under the rules of track search: the same
// analysis (accents, case, punctuation), the last word as a prefix, typo
// tolerance only when nothing matches otherwise, every word required.
// Best match first, more tracks first among equals. Paging is as
// relevance paging of tracks: the first ranking (up to 1000) is frozen in
// this process; elsewhere the cursor continues by search-after.
func (ix *Index) SearchArtists(ctx context.Context, q ArtistQuery) (ArtistResult, error) {
	if q.Limit < 1 || q.Limit > maxLimit {
		return ArtistResult{}, fmt.Errorf("%w: limit %d not in 1..%d", ErrBadQuery, q.Limit, maxLimit)
	}
	if len(q.Text) > maxTextBytes {
		return ArtistResult{}, fmt.Errorf("%w: text is %d bytes, over %d", ErrBadQuery, len(q.Text), maxTextBytes)
	}
	words, err := ix.words(q.Text)
	if err != nil {
		return ArtistResult{}, err
	}
	// "\x02" keeps artist rankings apart from track rankings (whose keys
	// hold "\x01") in the shared cache.
	key := "\x02artists\x00" + strings.Join(words, "\x00")
	qh := queryHash(key)
	var c cursor
	if q.Cursor != "" {
		if c, err = decodeArtistCursor(q.Cursor); err != nil {
			return ArtistResult{}, err
		}
		if c.Query != qh {
			return ArtistResult{}, fmt.Errorf("%w: cursor belongs to another query", ErrBadCursor)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, searchTimeout)
	defer cancel()
	select {
	case ix.running <- struct{}{}:
		defer func() { <-ix.running }()
	case <-ctx.Done():
		return ArtistResult{}, fmt.Errorf("search: waiting for a slot: %w", ctx.Err())
	}

	if q.Cursor != "" {
		if c.Token != "" {
			if snap, ok := ix.snaps.get(c.Token); ok && snap.key == key && c.Offset <= len(snap.ids) {
				res, err := ix.page(ctx, snap, c.Offset, q.Limit, qh)
				return artistPage(res, err)
			}
		}
		return ix.continueArtists(ctx, words, c, q.Limit)
	}

	res, fuzzy, err := ix.run(ctx, artistFields, filters{}, words, func(bq query.Query) *bleve.SearchRequest {
		req := bleve.NewSearchRequestOptions(bq, maxRanked, 0, false)
		req.SortByCustom(artistOrder())
		return req
	})
	if err != nil {
		return ArtistResult{}, err
	}
	snap := &snapshot{key: key, total: res.Total, fuzzy: fuzzy, ids: make([]string, len(res.Hits)),
		scores: make([]float64, len(res.Hits)), tracks: make([]float64, len(res.Hits))}
	for i, h := range res.Hits {
		n, err := hitTracks(h)
		if err != nil {
			return ArtistResult{}, err
		}
		snap.ids[i], snap.scores[i], snap.tracks[i] = h.ID, h.Score, n
	}
	out := ArtistResult{Total: res.Total}
	if len(snap.ids) <= q.Limit {
		out.DIDs = dids(snap.ids)
		return out, nil
	}
	if _, err := ix.snaps.put(snap); err != nil {
		return ArtistResult{}, err
	}
	out.DIDs = dids(snap.ids[:q.Limit])
	out.Cursor = snap.cursor(q.Limit, qh)
	return out, nil
}

// hitTracks is the track count an artist hit was sorted by.
func hitTracks(h *bsearch.DocumentMatch) (float64, error) {
	if len(h.DecodedSort) != 3 {
		return 0, fmt.Errorf("search: artist hit %s has %d sort values, want 3", h.ID, len(h.DecodedSort))
	}
	n, err := strconv.ParseFloat(h.DecodedSort[1], 64)
	if err != nil {
		return 0, fmt.Errorf("search: artist hit %s has track count %q: %w", h.ID, h.DecodedSort[1], err)
	}
	return n, nil
}

// artistPage turns a page of a frozen ranking into artists.
func artistPage(res Result, err error) (ArtistResult, error) {
	if err != nil {
		return ArtistResult{}, err
	}
	return ArtistResult{DIDs: dids(res.URIs), Cursor: res.Cursor, Total: res.Total}, nil
}

// dids are the ids of artist documents, DIDs written from parsed values.
func dids(ids []string) []syntax.DID {
	out := make([]syntax.DID, len(ids))
	for i, id := range ids {
		out[i] = syntax.DID(id)
	}
	return out
}

// continueArtists serves the page after c's position by search-after on
// (score, track count, DID), as continueRanking does for tracks.
func (ix *Index) continueArtists(ctx context.Context, words []string, c cursor, limit int) (ArtistResult, error) {
	n := min(limit, maxRanked-c.Offset)
	prepare := func(bq query.Query) *bleve.SearchRequest {
		req := bleve.NewSearchRequestOptions(bq, n+2, 0, false)
		req.SortByCustom(artistOrder())
		req.SetSearchAfter(c.After)
		return req
	}
	fuzzy := c.Fuzzy
	res, err := ix.runOnce(ctx, artistFields, filters{}, words, fuzzy, prepare)
	if errors.Is(err, errTooManyClauses) {
		fuzzy = false
		res, err = ix.runOnce(ctx, artistFields, filters{}, words, false, prepare)
	}
	if err != nil {
		return ArtistResult{}, err
	}
	hits := make([]*bsearch.DocumentMatch, 0, len(res.Hits))
	for _, h := range res.Hits {
		if h.ID != c.After[2] {
			hits = append(hits, h)
		}
	}
	out := ArtistResult{Total: res.Total}
	if len(hits) > n {
		hits = hits[:n]
		if end := c.Offset + n; end < maxRanked {
			last := hits[n-1]
			tracks, err := hitTracks(last)
			if err != nil {
				return ArtistResult{}, err
			}
			out.Cursor = encodeCursor(cursor{Kind: kindArtists, Token: c.Token, Offset: end, Query: c.Query, Fuzzy: fuzzy,
				After: []string{formatScore(last.Score), formatScore(tracks), last.ID}})
		}
	}
	for _, h := range hits {
		out.DIDs = append(out.DIDs, syntax.DID(h.ID))
	}
	return out, nil
}

// decodeArtistCursor parses and validates s as an artist search cursor.
func decodeArtistCursor(s string) (cursor, error) {
	c, err := decodeRaw(s)
	if err != nil {
		return c, err
	}
	if c.Kind != kindArtists || len(c.After) != 3 {
		return c, fmt.Errorf("%w: not an artist search cursor", ErrBadCursor)
	}
	if !finite(c.After[0]) {
		return c, fmt.Errorf("%w: bad score %q", ErrBadCursor, c.After[0])
	}
	if n, err := strconv.ParseFloat(c.After[1], 64); err != nil || n < 0 || n != float64(int64(n)) {
		return c, fmt.Errorf("%w: bad track count %q", ErrBadCursor, c.After[1])
	}
	if err := checkRanked(c); err != nil {
		return c, err
	}
	if _, err := syntax.ParseDID(c.After[2]); err != nil {
		return c, fmt.Errorf("%w: bad artist", ErrBadCursor)
	}
	return c, nil
}
