package search

import (
	"fmt"
	"slices"
	"time"

	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/char/asciifolding"
	"github.com/blevesearch/bleve/v2/analysis/token/edgengram"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/single"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"

	"github.com/relaymusic/relay"
)

// Analyzer and field names. They are part of the on-disk format: changing
// any of them (or the analysis chain) needs a bump of MappingVersion and a
// `relay reindex`.
const (
	musicAnalyzer  = "music"
	prefixAnalyzer = "music_prefix"
	edgeNgramName  = "music_edge_ngram"
	// keyAnalyzer makes a whole value one lower-cased term: the genre and
	// tag filters match the value exactly, case aside.
	keyAnalyzer = "music_key"
	// wholeAnalyzer makes a field matched whole one term (whole.go).
	wholeAnalyzer = "music_whole"
	// pairsAnalyzer makes each two adjacent words of a field one term
	// (pairs.go).
	pairsAnalyzer = "music_pairs"

	// prefixMin/prefixMax bound the edge n-grams: one letter would match
	// half the catalogue, and a prefix longer than 15 runes is cut to 15 at
	// query time (see prefixTerm).
	prefixMin = 2
	prefixMax = 15

	fieldTitle  = "title"
	fieldArtist = "artist"
	fieldAlbum  = "album"
	fieldGenre  = "genre"
	fieldTags   = "tags"
	fieldSortAt = "sortAt"

	// Filter fields: keywords, never searched as text, so they carry no
	// norms or frequencies and add only a term per track and value.
	fieldDID      = "did"
	fieldGenreKey = "genreKey"
	fieldTagKey   = "tagKey"

	prefixSuffix = "_prefix"
	wholeSuffix  = "_whole"
	pairsSuffix  = "_pairs"

	// Artist documents (artists.go) share the index under their own field
	// names, so no track query ever matches one. kind marks them, to count
	// them apart from tracks.
	fieldKind         = "kind"
	kindArtist        = "artist"
	fieldArtistHandle = "artistHandle"
	fieldArtistName   = "artistName"
	fieldArtistTracks = "artistTracks"

	// MappingVersion is stored in the index; Open refuses an index built
	// with another version rather than searching it with the wrong rules.
	MappingVersion = "relay-search-6"
)

// textFieldSpec is a searched field and how it is searched.
type textFieldSpec struct {
	name   string
	boost  float64
	prefix bool // has an edge n-gram sub-field name+"_prefix"
	// fuzzy fields tolerate typos. Each fuzzy clause builds its own
	// Levenshtein automaton and walks its field's dictionary, the largest
	// cost of a search; genres and tags are short, picked-from-a-list words
	// where a typo is rare, so they match exactly or by prefix only.
	fuzzy bool
	// whole fields have a sub-field name+"_whole" holding the field whole
	// (whole.go): a query that is all of it ranks first.
	whole bool
	// pairs fields have a sub-field name+"_pairs" holding each two adjacent
	// words (pairs.go): a query's words standing together there rank above
	// the same words apart.
	pairs bool
}

// textFields are the searched fields of a track with their boosts: who and
// what first, then the record, then the loose descriptors.
var textFields = []textFieldSpec{
	{fieldTitle, 3, true, true, true, true},
	{fieldArtist, 3, true, true, false, true},
	{fieldAlbum, 2, true, true, false, true},
	{fieldGenre, 1, false, false, false, false},
	{fieldTags, 1, false, false, false, false},
}

// artistFields are the searched fields of an artist: its handle (and the
// handle's first label) and the artist names its tracks credit, equally.
var artistFields = []textFieldSpec{
	{fieldArtistHandle, 3, true, true, false, false},
	{fieldArtistName, 3, true, true, false, false},
}

// newMapping returns relay's index mapping: static, nothing stored, no _all,
// no term vectors.
func newMapping() (*mapping.IndexMappingImpl, error) {
	im := mapping.NewIndexMapping()
	im.IndexDynamic = false
	im.StoreDynamic = false
	im.DocValuesDynamic = false

	if err := im.AddCustomTokenFilter(edgeNgramName, map[string]any{
		"type": edgengram.Name,
		"back": false,
		"min":  float64(prefixMin),
		"max":  float64(prefixMax),
	}); err != nil {
		return nil, fmt.Errorf("edge ngram filter: %w", err)
	}
	// No stop words and no stemming: "the who" and "the the" are band names,
	// and stemming would merge titles that users tell apart.
	if err := im.AddCustomAnalyzer(musicAnalyzer, map[string]any{
		"type":          custom.Name,
		"char_filters":  []any{asciifolding.Name},
		"tokenizer":     unicode.Name,
		"token_filters": []any{lowercase.Name, foldMarksName},
	}); err != nil {
		return nil, fmt.Errorf("music analyzer: %w", err)
	}
	if err := im.AddCustomAnalyzer(prefixAnalyzer, map[string]any{
		"type":          custom.Name,
		"char_filters":  []any{asciifolding.Name},
		"tokenizer":     unicode.Name,
		"token_filters": []any{lowercase.Name, foldMarksName, edgeNgramName},
	}); err != nil {
		return nil, fmt.Errorf("music prefix analyzer: %w", err)
	}
	if err := im.AddCustomAnalyzer(keyAnalyzer, map[string]any{
		"type":          custom.Name,
		"tokenizer":     single.Name,
		"token_filters": []any{lowercase.Name},
	}); err != nil {
		return nil, fmt.Errorf("music key analyzer: %w", err)
	}
	if err := im.AddCustomAnalyzer(wholeAnalyzer, map[string]any{
		"type":          custom.Name,
		"char_filters":  []any{asciifolding.Name},
		"tokenizer":     unicode.Name,
		"token_filters": []any{lowercase.Name, foldMarksName, wholeName},
	}); err != nil {
		return nil, fmt.Errorf("music whole analyzer: %w", err)
	}
	if err := im.AddCustomAnalyzer(pairsAnalyzer, map[string]any{
		"type":          custom.Name,
		"char_filters":  []any{asciifolding.Name},
		"tokenizer":     unicode.Name,
		"token_filters": []any{lowercase.Name, foldMarksName, pairsName},
	}); err != nil {
		return nil, fmt.Errorf("music pairs analyzer: %w", err)
	}
	im.DefaultAnalyzer = musicAnalyzer

	doc := mapping.NewDocumentStaticMapping()
	doc.AddSubDocumentMapping("_all", mapping.NewDocumentDisabledMapping())
	for _, f := range append(slices.Clone(textFields), artistFields...) {
		fms := []*mapping.FieldMapping{textField("", musicAnalyzer)}
		if f.prefix {
			fms = append(fms, textField(f.name+prefixSuffix, prefixAnalyzer))
		}
		if f.whole {
			// With norms: Bleve scores a term without them (SkipFreqNorm)
			// as NaN, and the index was no smaller for it.
			fms = append(fms, textField(f.name+wholeSuffix, wholeAnalyzer))
		}
		if f.pairs {
			fms = append(fms, textField(f.name+pairsSuffix, pairsAnalyzer))
		}
		doc.AddFieldMappingsAt(f.name, fms...)
	}
	doc.AddFieldMappingsAt(fieldDID, keyField(keyword.Name))
	doc.AddFieldMappingsAt(fieldGenreKey, keyField(keyAnalyzer))
	doc.AddFieldMappingsAt(fieldTagKey, keyField(keyAnalyzer))
	doc.AddFieldMappingsAt(fieldSortAt, &mapping.FieldMapping{
		Type:      "number",
		Index:     true,
		DocValues: true, // sorting by sortAt reads doc values
	})
	doc.AddFieldMappingsAt(fieldKind, keyField(keyword.Name))
	doc.AddFieldMappingsAt(fieldArtistTracks, &mapping.FieldMapping{
		Type:      "number",
		Index:     true,
		DocValues: true, // the tie break of artist search sorts by it
	})
	im.DefaultMapping = doc
	return im, nil
}

func textField(name, analyzer string) *mapping.FieldMapping {
	return &mapping.FieldMapping{
		Name:     name,
		Type:     "text",
		Analyzer: analyzer,
		Index:    true,
	}
}

// keyField is a filter field: one term per value, no norms, frequencies,
// term vectors or doc values, since filters never score or sort.
func keyField(analyzer string) *mapping.FieldMapping {
	return &mapping.FieldMapping{
		Type:         "text",
		Analyzer:     analyzer,
		Index:        true,
		SkipFreqNorm: true,
	}
}

// document is what Bleve indexes for a track. Bleve walks maps without
// reflection on struct tags, and the keys are the field names above.
func document(t *relay.Track) map[string]any {
	d := map[string]any{fieldSortAt: sortValue(t.SortAt), fieldDID: t.DID.String()}
	add := func(k, v string) {
		if v != "" {
			d[k] = v
		}
	}
	add(fieldTitle, t.Title)
	add(fieldArtist, t.Artist)
	add(fieldAlbum, t.Album)
	add(fieldGenre, t.Genre)
	add(fieldGenreKey, t.Genre)
	if len(t.Tags) > 0 {
		tags := make([]any, 0, len(t.Tags))
		for _, tag := range t.Tags {
			if tag != "" {
				tags = append(tags, tag)
			}
		}
		d[fieldTags] = tags
		d[fieldTagKey] = tags
	}
	return d
}

// sortValue is the sortAt field: unix microseconds, exact in a float64 for
// ±285 years around 1970. The zero time (unset) sorts as 1970 instead of
// year 1, which a float64 could not hold exactly.
func sortValue(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixMicro())
}
