package search

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	bsearch "github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/bleve/v2/search/searcher"
)

// ErrBadQuery wraps every invalid query: empty text after analysis, text too
// long, limit out of range, unknown sort.
var ErrBadQuery = errors.New("bad search query")

// Sort is the order of search results.
type Sort int

const (
	// SortRelevance orders by score, best first (the zero value).
	SortRelevance Sort = iota
	// SortNewest orders by SortAt, newest first.
	SortNewest
)

func (s Sort) String() string {
	switch s {
	case SortRelevance:
		return "relevance"
	case SortNewest:
		return "newest"
	}
	return fmt.Sprintf("Sort(%d)", int(s))
}

// Query is one page request. Cursor is empty for the first page, else the
// Cursor of the previous Result for the same Text, Filter and Sort.
type Query struct {
	Text   string
	Limit  int
	Cursor string
	Sort   Sort
	Filter Filter
}

// Filter narrows a search to the tracks matching every field set; the zero
// Filter keeps all. Filters never touch the score, so the tracks that
// remain rank as they did without it.
type Filter struct {
	// Artist is the uploader's DID, matched exactly.
	Artist string
	// Genre and Tag match the track's genre, or any one of its tags, whole
	// and ignoring case.
	Genre string
	Tag   string
}

// maxFilterBytes bounds each filter value: a DID may be 2 KB (did:web),
// and a genre or tag longer than this matches nothing a UI would offer.
const maxFilterBytes = 2048

// Result is one page: track at-uris in order, the cursor of the next page
// ("" on the last page), and the number of matches.
type Result struct {
	URIs   []string
	Cursor string
	Total  uint64
}

const (
	maxTextBytes = 256
	maxLimit     = 100
	maxWords     = 10
	// maxRanked is how deep relevance paging goes (Algolia's default
	// pagination limit is also 1000).
	maxRanked     = 1000
	searchTimeout = 2 * time.Second

	boostExact  = 10.0
	boostPrefix = 4.0
	boostFuzzy  = 1.0
	// boostWhole weighs a field matched whole by the query (whole.go), a
	// bonus beside the word clauses, times the field's boost.
	boostWhole = 20.0
	// boostPair weighs each two of the query's words standing together, in
	// order, in one field (pairs.go), times the field's boost: below a
	// field matched whole. TestRankingTogether needs at least 12 for "love
	// heart" to rank the title "Love Heart Forever" above the title "Heart
	// Beats" by the artist "Love" (short fields score high word by word).
	boostPair = 15.0

	// maxClauses caps how many index terms one fuzzy clause may expand to.
	// Past it Bleve fails the search (it does not truncate), so Search
	// retries without typo tolerance.
	maxClauses = 1024

	// typoThreshold: fewer exact and prefix hits than this, and the search
	// runs again with typo tolerance.
	typoThreshold = 1
)

var configureOnce sync.Once

// configureSearcher bounds Bleve's term expansion. The setting is global to
// the process, so it is set once and only if nobody has chosen a value.
func configureSearcher() {
	configureOnce.Do(func() {
		if searcher.DisjunctionMaxClauseCount == 0 {
			searcher.DisjunctionMaxClauseCount = maxClauses
		}
	})
}

// Search runs one page of q.
func (ix *Index) Search(ctx context.Context, q Query) (Result, error) {
	if q.Limit < 1 || q.Limit > maxLimit {
		return Result{}, fmt.Errorf("%w: limit %d not in 1..%d", ErrBadQuery, q.Limit, maxLimit)
	}
	if len(q.Text) > maxTextBytes {
		return Result{}, fmt.Errorf("%w: text is %d bytes, over %d", ErrBadQuery, len(q.Text), maxTextBytes)
	}
	if q.Sort != SortRelevance && q.Sort != SortNewest {
		return Result{}, fmt.Errorf("%w: unknown sort %d", ErrBadQuery, q.Sort)
	}
	words, err := ix.words(q.Text)
	if err != nil {
		return Result{}, err
	}
	fq, err := ix.filter(q.Filter)
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, searchTimeout)
	defer cancel()
	// A typo-tolerant search allocates large automata; bounding how many
	// run at once bounds memory, and queueing beats thrashing on a busy box.
	select {
	case ix.running <- struct{}{}:
		defer func() { <-ix.running }()
	case <-ctx.Done():
		return Result{}, fmt.Errorf("search: waiting for a slot: %w", ctx.Err())
	}
	if q.Sort == SortNewest {
		return ix.searchNewest(ctx, fq, words, q)
	}
	return ix.searchRelevance(ctx, fq, words, q)
}

// filters is a Filter made into terms as the index analysed them. key names
// it in relevance cursors and frozen rankings, so a cursor continues only
// under the filters it was issued for.
type filters struct {
	terms []*query.TermQuery
	key   string
}

// filter analyses f's values with the fields' own analyzers.
func (ix *Index) filter(f Filter) (filters, error) {
	var out filters
	for _, v := range []struct{ field, analyzer, value string }{
		{fieldDID, keyword.Name, f.Artist},
		{fieldGenreKey, keyAnalyzer, f.Genre},
		{fieldTagKey, keyAnalyzer, f.Tag},
	} {
		if len(v.value) > maxFilterBytes {
			return filters{}, fmt.Errorf("%w: %s filter is %d bytes, over %d", ErrBadQuery, v.field, len(v.value), maxFilterBytes)
		}
		if v.value == "" {
			continue
		}
		a := ix.Mapping().AnalyzerNamed(v.analyzer)
		if a == nil {
			return filters{}, fmt.Errorf("search: analyzer %q missing from index mapping", v.analyzer)
		}
		toks := a.Analyze([]byte(v.value))
		if len(toks) != 1 {
			return filters{}, fmt.Errorf("search: %s filter analysed to %d terms", v.field, len(toks))
		}
		t := query.NewTermQuery(string(toks[0].Term))
		t.SetField(v.field)
		out.terms = append(out.terms, t)
		out.key += "\x00" + v.field + "=" + t.Term
	}
	return out, nil
}

// apply restricts q to the filters' tracks without touching its scores.
func (f filters) apply(q query.Query) query.Query {
	if len(f.terms) == 0 {
		return q
	}
	qs := make([]query.Query, len(f.terms))
	for i, t := range f.terms {
		qs[i] = t
	}
	b := query.NewBooleanQuery([]query.Query{q}, nil, nil)
	b.AddFilter(query.NewConjunctionQuery(qs))
	return b
}

// words analyses text as the index does, so the query matches exactly the
// terms that indexing produced (folded, lower-cased, segmented).
func (ix *Index) words(text string) ([]string, error) {
	a := ix.Mapping().AnalyzerNamed(musicAnalyzer)
	if a == nil {
		return nil, fmt.Errorf("search: analyzer %q missing from index mapping", musicAnalyzer)
	}
	var words []string
	for _, tok := range a.Analyze([]byte(text)) {
		if len(words) == maxWords {
			break
		}
		words = append(words, string(tok.Term))
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("%w: no searchable words in %q", ErrBadQuery, text)
	}
	return words, nil
}

// buildQuery makes the conjunction (every word must match) of one
// disjunction per word over all fields: exact terms boosted high, prefix
// terms for the last word in between, typo-tolerant terms lowest, so an
// exact match always outranks a near one. Beside it, never required, the
// bonus of a field matched whole (wholeField). With fuzzy set, every word
// tolerates typos through Bleve's fuzzy query: the reference the typo pass
// (typo.go, buildTypoQuery) follows with a few dictionary corrections.
func buildQuery(fields []textFieldSpec, words []string, fuzzy bool) query.Query {
	return withWhole(fields, words, matchWords(fields, words, fuzzy, nil))
}

// buildTypoQuery is buildQuery's typo-tolerant query with each word of corr
// standing also for its corrections, scored as Bleve scores a fuzzy
// query's expansions (the field's fuzzy boost over 1 + edits).
func buildTypoQuery(fields []textFieldSpec, words []string, corr corrections) query.Query {
	return withWhole(fields, words, matchWords(fields, words, false, corr))
}

// withWhole adds to match, never required, the bonuses of the query's
// words standing together: a field matched whole (wholeField) and each
// two adjacent words found adjacent in one field (pairsField).
func withWhole(fields []textFieldSpec, words []string, match query.Query) query.Query {
	var bonus []query.Query
	if q := wholeField(fields, words); q != nil {
		bonus = append(bonus, q)
	}
	bonus = append(bonus, pairsField(fields, words)...)
	if len(bonus) == 0 {
		return match
	}
	return query.NewBooleanQuery([]query.Query{match}, bonus, nil)
}

// noPairs is set only in BenchmarkSearchCorpus's "nopairs" runs, which
// measure what the pairs clauses cost a query on the same index.
var noPairs atomic.Bool

// pairsField scores each two adjacent words of the query that a field
// with a pairs sub-field holds adjacent, in order (Meilisearch's
// proximity): "love heart" ranks the title "Love Heart Forever" above the
// title "Heart" by the artist "Love", whose words score more one by one.
// Exact words only, as for wholeField; none for one word, so single-word
// queries and artist search are unchanged.
func pairsField(fields []textFieldSpec, words []string) []query.Query {
	if noPairs.Load() {
		return nil
	}
	terms := pairTerms(words)
	if len(terms) == 0 {
		return nil
	}
	var clauses []query.Query
	for _, f := range fields {
		if !f.pairs {
			continue
		}
		for _, term := range terms {
			t := query.NewTermQuery(term)
			t.SetField(f.name + pairsSuffix)
			t.SetBoost(boostPair * f.boost)
			clauses = append(clauses, t)
		}
	}
	return clauses
}

// wholeField scores a field with a whole sub-field (the title) that the
// query's words make up exactly, in order (Meilisearch's exactness): "love
// heart" ranks the title "Love Heart" above titles "Heart" on albums "Love
// Heart", whose words score more one by one, and "heart love" ranks "Heart
// Love" first. Exact words only: a typo or a word still being typed gets
// no bonus. Nil when no field has one (artist search), so artist search is
// unchanged.
func wholeField(fields []textFieldSpec, words []string) query.Query {
	term, ok := wholeTerm(words)
	if !ok {
		return nil
	}
	var clauses []query.Query
	for _, f := range fields {
		if !f.whole {
			continue
		}
		t := query.NewTermQuery(term)
		t.SetField(f.name + wholeSuffix)
		t.SetBoost(boostWhole * f.boost)
		clauses = append(clauses, t)
	}
	switch len(clauses) {
	case 0:
		return nil
	case 1:
		return clauses[0]
	}
	return query.NewDisjunctionQuery(clauses)
}

// matchWords is the conjunction of one disjunction per word; a word
// tolerates typos through Bleve's fuzzy query (fuzzy) or through its
// corrections in corr.
func matchWords(fields []textFieldSpec, words []string, fuzzy bool, corr corrections) query.Query {
	perWord := make([]query.Query, 0, len(words))
	for i, w := range words {
		last := i == len(words)-1
		n := utf8.RuneCountInString(w)
		edits := fuzziness(n)
		var clauses []query.Query
		for _, f := range fields {
			exact := query.NewTermQuery(w)
			exact.SetField(f.name)
			exact.SetBoost(boostExact * f.boost)
			clauses = append(clauses, exact)

			if last && f.prefix && n >= 2 {
				p := query.NewTermQuery(prefixTerm(w))
				p.SetField(f.name + prefixSuffix)
				p.SetBoost(boostPrefix * f.boost)
				clauses = append(clauses, p)
			}
			if fuzzy && f.fuzzy && edits > 0 {
				fq := query.NewFuzzyQuery(w)
				fq.SetField(f.name)
				fq.SetFuzziness(edits)
				fq.SetPrefix(1) // first letter must match: fewer, saner candidates
				fq.SetBoost(boostFuzzy * f.boost)
				clauses = append(clauses, fq)
			}
			if cs, ok := corr[i]; ok && f.fuzzy {
				if c := correctionClause(f, cs); c != nil {
					clauses = append(clauses, c)
				}
			}
		}
		perWord = append(perWord, query.NewDisjunctionQuery(clauses))
	}
	if len(perWord) == 1 {
		return perWord[0]
	}
	return query.NewConjunctionQuery(perWord)
}

// correctionClause is the disjunction of a word's corrections held by
// field f, each weighed as Bleve's fuzzy query weighs an expansion; nil
// when f holds none.
func correctionClause(f textFieldSpec, cs []correction) query.Query {
	var terms []query.Query
	for _, c := range cs {
		if !slices.Contains(c.fields, f.name) {
			continue
		}
		t := query.NewTermQuery(c.term)
		t.SetField(f.name)
		t.SetBoost(boostFuzzy * f.boost / float64(1+c.edits))
		terms = append(terms, t)
	}
	switch len(terms) {
	case 0:
		return nil
	case 1:
		return terms[0]
	}
	return query.NewDisjunctionQuery(terms)
}

// fuzziness is the number of typos a word of n runes tolerates. Bleve's auto
// fuzziness counts bytes, which punishes accented and non-Latin words.
func fuzziness(n int) int {
	switch {
	case n >= 8:
		return 2
	case n >= 4:
		return 1
	default:
		return 0
	}
}

// prefixTerm is the edge n-gram that a word typed so far must equal: the
// n-grams stop at prefixMax runes, so a longer word is cut to that.
func prefixTerm(w string) string {
	i, n := 0, 0
	for i < len(w) && n < prefixMax {
		_, size := utf8.DecodeRuneInString(w[i:])
		i += size
		n++
	}
	return w[:i]
}

// run executes the query for words, typo tolerance last: as Typesense does
// by default (typo_tokens_threshold 1), it looks for near matches only when
// nothing matches exactly or as a prefix, and near matches would rank below
// the exact ones anyway. A word no field holds (missingWords) means nothing
// can match exactly, so the exact pass is skipped and only such words are
// corrected (typoPass); when every word is held but not together, every
// word that tolerates typos is. fuzzy reports which of the two answered.
func (ix *Index) run(ctx context.Context, fields []textFieldSpec, fq filters, words []string, prepare func(q query.Query) *bleve.SearchRequest) (res *bleve.SearchResult, fuzzy bool, err error) {
	rd, err := ix.reader()
	if err != nil {
		return nil, false, err
	}
	defer func() {
		if cerr := rd.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("search: close reader: %w", cerr)
		}
	}()
	missing, err := missingWords(ctx, rd, fields, words)
	if err != nil {
		return nil, false, err
	}
	if len(missing) == 0 {
		res, err = ix.runOnce(ctx, fields, fq, words, false, prepare)
		if err != nil {
			return nil, false, err
		}
		if res.Total >= typoThreshold || !anyFuzzy(words) {
			return res, false, nil
		}
	} else {
		// What the exact pass would have found.
		res = &bleve.SearchResult{Status: &bleve.SearchStatus{Total: 1, Successful: 1}}
	}
	fz, ok, err := ix.typoPass(ctx, rd, fields, fq, words, missing, prepare)
	if errors.Is(err, errTooManyClauses) {
		return res, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if !ok {
		return res, false, nil
	}
	return fz, true, nil
}

var errTooManyClauses = errors.New("typo tolerance expands to too many terms")

// runOnce executes the query for words with or without typo tolerance,
// deciding afresh which words to correct, so a later page of a
// typo-tolerant search runs the query its first page ran. Without a match
// the typo-tolerant result is empty.
func (ix *Index) runOnce(ctx context.Context, fields []textFieldSpec, fq filters, words []string, fuzzy bool, prepare func(q query.Query) *bleve.SearchRequest) (res *bleve.SearchResult, err error) {
	if !fuzzy {
		return ix.search(ctx, prepare(fq.apply(buildQuery(fields, words, false))))
	}
	rd, err := ix.reader()
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := rd.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("search: close reader: %w", cerr)
		}
	}()
	missing, err := missingWords(ctx, rd, fields, words)
	if err != nil {
		return nil, err
	}
	res, ok, err := ix.typoPass(ctx, rd, fields, fq, words, missing, prepare)
	if err != nil {
		return nil, err
	}
	if !ok {
		return &bleve.SearchResult{Status: &bleve.SearchStatus{Total: 1, Successful: 1}}, nil
	}
	return res, nil
}

// anyFuzzy reports whether any word is long enough to tolerate a typo.
func anyFuzzy(words []string) bool {
	for _, w := range words {
		if fuzziness(utf8.RuneCountInString(w)) > 0 {
			return true
		}
	}
	return false
}

// searchNewest pages by (sortAt, _id) descending with search-after, so a
// page boundary is a position in a total order that inserts and deletes
// elsewhere cannot move.
func (ix *Index) searchNewest(ctx context.Context, fq filters, words []string, q Query) (Result, error) {
	var after []string
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor, SortNewest)
		if err != nil {
			return Result{}, err
		}
		after = c.After
	}
	res, _, err := ix.run(ctx, textFields, fq, words, func(bq query.Query) *bleve.SearchRequest {
		req := bleve.NewSearchRequestOptions(bq, q.Limit+1, 0, false)
		req.SortByCustom(bsearch.SortOrder{
			&bsearch.SortField{Field: fieldSortAt, Desc: true, Type: bsearch.SortFieldAsNumber},
			&bsearch.SortDocID{Desc: true},
		})
		if after != nil {
			req.SetSearchAfter(after)
		}
		return req
	})
	if err != nil {
		return Result{}, err
	}
	out := Result{Total: res.Total}
	hits := res.Hits
	if len(hits) > q.Limit {
		hits = hits[:q.Limit]
		last := hits[len(hits)-1]
		if len(last.DecodedSort) != 2 {
			return Result{}, fmt.Errorf("search: hit %s has %d sort values, want 2", last.ID, len(last.DecodedSort))
		}
		out.Cursor = encodeCursor(cursor{Kind: kindNewest, After: last.DecodedSort})
	}
	for _, h := range hits {
		out.URIs = append(out.URIs, h.ID)
	}
	return out, nil
}

// relevanceOrder is score first, then _id, so equal scores order the same
// every time and a (score, id) pair is a position in a total order.
func relevanceOrder() bsearch.SortOrder {
	return bsearch.SortOrder{&bsearch.SortScore{Desc: true}, &bsearch.SortDocID{}}
}

// searchRelevance ranks once, up to maxRanked ids, and pages through that
// frozen ranking: scores change as documents come and go, so re-running the
// query per page could repeat and skip hits. The frozen ranking lives only
// in this process and only while the cache keeps it; without it (another
// replica, a restart, eviction, expiry) the cursor's position continues the
// ranking by search-after on (score, id), which gives the same pages while
// the index is unchanged.
func (ix *Index) searchRelevance(ctx context.Context, fq filters, words []string, q Query) (Result, error) {
	// The words and then the filters: "\x00" cannot occur in either.
	key := strings.Join(words, "\x00") + "\x01" + fq.key
	qh := queryHash(key)
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor, SortRelevance)
		if err != nil {
			return Result{}, err
		}
		if c.Query != qh {
			return Result{}, fmt.Errorf("%w: cursor belongs to another query", ErrBadCursor)
		}
		if c.Token != "" {
			if snap, ok := ix.snaps.get(c.Token); ok && snap.key == key && c.Offset <= len(snap.ids) {
				return ix.page(ctx, snap, c.Offset, q.Limit, qh)
			}
		}
		return ix.continueRanking(ctx, fq, words, c, q.Limit)
	}

	res, fuzzy, err := ix.run(ctx, textFields, fq, words, func(bq query.Query) *bleve.SearchRequest {
		req := bleve.NewSearchRequestOptions(bq, maxRanked, 0, false)
		req.SortByCustom(relevanceOrder())
		return req
	})
	if err != nil {
		return Result{}, err
	}
	snap := &snapshot{key: key, total: res.Total, fuzzy: fuzzy,
		ids: make([]string, len(res.Hits)), scores: make([]float64, len(res.Hits))}
	for i, h := range res.Hits {
		snap.ids[i], snap.scores[i] = h.ID, h.Score
	}
	out := Result{Total: res.Total}
	if len(snap.ids) <= q.Limit {
		out.URIs = snap.ids
		return out, nil
	}
	if _, err := ix.snaps.put(snap); err != nil {
		return Result{}, err
	}
	out.URIs = snap.ids[:q.Limit]
	out.Cursor = snap.cursor(q.Limit, qh)
	return out, nil
}

// cursor is the cursor of the page starting at offset into s.
func (s *snapshot) cursor(offset int, qh string) string {
	if s.tracks != nil {
		return encodeCursor(cursor{Kind: kindArtists, Token: s.token, Offset: offset, Query: qh, Fuzzy: s.fuzzy,
			After: []string{formatScore(s.scores[offset-1]), formatScore(s.tracks[offset-1]), s.ids[offset-1]}})
	}
	return encodeCursor(cursor{Kind: kindRelevance, Token: s.token, Offset: offset, Query: qh, Fuzzy: s.fuzzy,
		After: []string{formatScore(s.scores[offset-1]), s.ids[offset-1]}})
}

// page serves ids[offset:offset+limit] of a snapshot, leaving out tracks
// that have left the index since (deleted or hidden), so a hidden track is
// never returned; the page may then be short, but nothing repeats or skips.
func (ix *Index) page(ctx context.Context, snap *snapshot, offset, limit int, qh string) (Result, error) {
	end := min(offset+limit, len(snap.ids))
	ids := snap.ids[offset:end]
	out := Result{Total: snap.total}
	if end < len(snap.ids) {
		out.Cursor = snap.cursor(end, qh)
	}
	if len(ids) == 0 {
		return out, nil
	}
	req := bleve.NewSearchRequestOptions(query.NewDocIDQuery(ids), len(ids), 0, false)
	res, err := ix.bi.SearchInContext(ctx, req)
	if err != nil {
		return Result{}, fmt.Errorf("search: check page ids: %w", err)
	}
	live := make(map[string]bool, len(res.Hits))
	for _, h := range res.Hits {
		live[h.ID] = true
	}
	for _, id := range ids {
		if live[id] {
			out.URIs = append(out.URIs, id)
		}
	}
	return out, nil
}

// continueRanking serves the page after c's position by search-after on
// (score, id), in the same mode (exact or typo-tolerant) as the first page,
// and no deeper than maxRanked, as a frozen ranking would. While the index
// is unchanged the scores are the same bits, so the pages are exactly the
// frozen ranking's. When it has changed, scores shift with term statistics
// and hits near a boundary can repeat or be skipped: the price of not
// sharing state between replicas. The boundary hit itself is never
// repeated, even if its score came back a hair lower.
func (ix *Index) continueRanking(ctx context.Context, fq filters, words []string, c cursor, limit int) (Result, error) {
	n := min(limit, maxRanked-c.Offset)
	prepare := func(bq query.Query) *bleve.SearchRequest {
		// Two extra: one to know there is more, one for the boundary hit.
		req := bleve.NewSearchRequestOptions(bq, n+2, 0, false)
		req.SortByCustom(relevanceOrder())
		req.SetSearchAfter(c.After)
		return req
	}
	fuzzy := c.Fuzzy
	res, err := ix.runOnce(ctx, textFields, fq, words, fuzzy, prepare)
	if errors.Is(err, errTooManyClauses) {
		// The index grew past what typo tolerance may expand to.
		fuzzy = false
		res, err = ix.runOnce(ctx, textFields, fq, words, false, prepare)
	}
	if err != nil {
		return Result{}, err
	}
	hits := make([]*bsearch.DocumentMatch, 0, len(res.Hits))
	for _, h := range res.Hits {
		if h.ID != c.After[1] {
			hits = append(hits, h)
		}
	}
	out := Result{Total: res.Total}
	if len(hits) > n {
		hits = hits[:n]
		if end := c.Offset + n; end < maxRanked {
			last := hits[n-1]
			out.Cursor = encodeCursor(cursor{Kind: kindRelevance, Token: c.Token, Offset: end, Query: c.Query,
				Fuzzy: fuzzy, After: []string{formatScore(last.Score), last.ID}})
		}
	}
	for _, h := range hits {
		out.URIs = append(out.URIs, h.ID)
	}
	return out, nil
}
