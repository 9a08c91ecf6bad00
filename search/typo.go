package search

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
)

// The typo pass corrects query words against the index's term dictionaries
// first and then searches exact terms, as Typesense and Meilisearch do,
// instead of a Bleve fuzzy query per word and field. Measured on the bench
// corpus, a fuzzy query spends its time walking each field's dictionary
// (one Levenshtein automaton per word and field, 2 edits costing about
// 2.5 times 1) and scoring the postings of every expansion; here a word
// the index holds is not corrected at all while another word is missing,
// one edit is tried before two, and a word keeps only its few closest
// corrections. The missing word's dictionaries are still walked once per
// typo-tolerant field: one field holding every title, artist and album
// word would walk one, but measured 764 bytes per track against 698
// (TestBytesPerTrack, +9.5%), so there is none.
const (
	// maxCorrections is how many dictionary terms a word first stands for
	// (Typesense's max_candidates is 4): fewer edits first, then the more
	// documents a term is in, as the likelier intended word.
	maxCorrections = 4
	// maxCorrectionsAll is how many it stands for when those few matched
	// nothing together with the other words.
	maxCorrectionsAll = 64
)

// correction is a dictionary term a query word may stand for, in the
// fields that hold it.
type correction struct {
	term   string
	edits  int
	fields []string
	docs   uint64 // documents holding it, over its fields; set only to rank
}

// corrections maps a word's index to what it may stand for (its own
// term included when a field holds it, as Bleve's fuzzy query does).
type corrections map[int][]correction

// reader is a snapshot of the index for dictionary look-ups; Close it.
func (ix *Index) reader() (index.IndexReader, error) {
	adv, err := ix.bi.Advanced()
	if err != nil {
		return nil, fmt.Errorf("search: index internals: %w", err)
	}
	r, err := adv.Reader()
	if err != nil {
		return nil, fmt.Errorf("search: index reader: %w", err)
	}
	return r, nil
}

// missingWords lists the words no field holds: not as a term, nor, for the
// last word, as a prefix. The exact pass cannot match while one is
// missing, and only they need correcting. (Looking terms up through
// FieldDictContains, without postings, measured no cheaper: it opens each
// segment's dictionary in a goroutine per field.)
func missingWords(ctx context.Context, rd index.IndexReader, fields []textFieldSpec, words []string) ([]int, error) {
	var missing []int
	for i, w := range words {
		last := i == len(words)-1
		found := false
		for _, f := range fields {
			ok, err := hasTerm(ctx, rd, f.name, w)
			if err != nil {
				return nil, err
			}
			if !ok && last && f.prefix && utf8.RuneCountInString(w) >= prefixMin {
				ok, err = hasTerm(ctx, rd, f.name+prefixSuffix, prefixTerm(w))
				if err != nil {
					return nil, err
				}
			}
			if ok {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, i)
		}
	}
	return missing, nil
}

// hasTerm reports whether a field's dictionary holds term.
func hasTerm(ctx context.Context, rd index.IndexReader, field, term string) (bool, error) {
	n, err := termDocs(ctx, rd, field, term)
	return n > 0, err
}

// termDocs is the number of documents whose field holds term.
func termDocs(ctx context.Context, rd index.IndexReader, field, term string) (uint64, error) {
	tfr, err := rd.TermFieldReader(ctx, []byte(term), field, false, false, false)
	if err != nil {
		return 0, fmt.Errorf("search: look up %s:%q: %w", field, term, err)
	}
	n := tfr.Count()
	if err := tfr.Close(); err != nil {
		return 0, fmt.Errorf("search: look up %s:%q: %w", field, term, err)
	}
	return n, nil
}

// correct finds the dictionary terms within edits of word (at most the
// word's own fuzziness) in the typo-tolerant fields, first letter fixed,
// closest first, then the most documents, then by term.
func correct(ctx context.Context, rd index.IndexReader, fields []textFieldSpec, word string, edits int) ([]correction, error) {
	fz, ok := rd.(index.IndexReaderFuzzy)
	if !ok {
		return nil, fmt.Errorf("search: index reader %T has no fuzzy dictionary", rd)
	}
	_, size := utf8.DecodeRuneInString(word)
	byTerm := map[string]*correction{}
	var out []correction
	for _, f := range fields {
		if !f.fuzzy {
			continue
		}
		d, err := fz.FieldDictFuzzy(f.name, word, edits, word[:size])
		if err != nil {
			return nil, fmt.Errorf("search: dictionary of %s near %q: %w", f.name, word, err)
		}
		var next error
		for e, err := d.Next(); ; e, err = d.Next() {
			if err != nil || e == nil {
				next = err
				break
			}
			if c, ok := byTerm[e.Term]; ok {
				c.fields = append(c.fields, f.name)
				c.edits = min(c.edits, int(e.EditDistance))
				continue
			}
			byTerm[e.Term] = &correction{term: e.Term, edits: int(e.EditDistance), fields: []string{f.name}}
		}
		if err := d.Close(); err != nil && next == nil {
			next = err
		}
		if next != nil {
			return nil, fmt.Errorf("search: dictionary of %s near %q: %w", f.name, word, next)
		}
	}
	for _, c := range byTerm {
		out = append(out, *c)
	}
	// Document counts only matter when some corrections are left out.
	if len(out) > maxCorrections {
		for i := range out {
			for _, field := range out[i].fields {
				n, err := termDocs(ctx, rd, field, out[i].term)
				if err != nil {
					return nil, err
				}
				out[i].docs += n
			}
		}
	}
	slices.SortFunc(out, func(a, b correction) int {
		if c := cmp.Compare(a.edits, b.edits); c != 0 {
			return c
		}
		if c := cmp.Compare(b.docs, a.docs); c != 0 {
			return c
		}
		return strings.Compare(a.term, b.term)
	})
	return out, nil
}

// typoPass runs the typo-tolerant search: the words in fix (the missing
// words) stand for their dictionary corrections, and if that matches
// nothing (or fix is empty), every word that tolerates typos does, for a
// typo that made another word the index holds. ok is false when nothing
// matched (res is then nil). The same index gives the same steps, so a
// cursor's later pages rerun the query its first page ran.
func (ix *Index) typoPass(ctx context.Context, rd index.IndexReader, fields []textFieldSpec, fq filters, words []string, fix []int, prepare func(q query.Query) *bleve.SearchRequest) (res *bleve.SearchResult, ok bool, err error) {
	if len(fix) > 0 {
		res, ok, err := ix.typoStep(ctx, rd, fields, fq, words, fix, prepare)
		if ok || err != nil {
			return res, ok, err
		}
	}
	return ix.typoStep(ctx, rd, fields, fq, words, nil, prepare)
}

// typoStep runs the typo-tolerant search with the words in fix (every
// typo-tolerant word when fix is nil) standing for their corrections, one
// edit away first, then two; at each step the few closest first, then
// more, stopping at the first query with typoThreshold hits. The other
// words match as in the exact pass.
func (ix *Index) typoStep(ctx context.Context, rd index.IndexReader, fields []textFieldSpec, fq filters, words []string, fix []int, prepare func(q query.Query) *bleve.SearchRequest) (res *bleve.SearchResult, ok bool, err error) {
	if fix == nil {
		for i, w := range words {
			if fuzziness(utf8.RuneCountInString(w)) > 0 {
				fix = append(fix, i)
			}
		}
	}
	maxEdits := 0
	for _, i := range fix {
		e := fuzziness(utf8.RuneCountInString(words[i]))
		if e == 0 {
			// A missing word too short to correct: nothing can match.
			return nil, false, nil
		}
		maxEdits = max(maxEdits, e)
	}
	found := map[int][]correction{}
	for edits := 1; edits <= maxEdits; edits++ {
		grew, short := false, false
		for _, i := range fix {
			most := fuzziness(utf8.RuneCountInString(words[i]))
			if most < edits {
				continue // corrected in full at the step before
			}
			cs, err := correct(ctx, rd, fields, words[i], edits)
			if err != nil {
				return nil, false, err
			}
			if len(cs) == 0 && edits == most {
				return nil, false, nil // this word can match nothing
			}
			grew = grew || len(cs) > len(found[i])
			short = short || len(cs) == 0
			found[i] = cs
		}
		if short || !grew {
			continue
		}
		for _, limit := range []int{maxCorrections, maxCorrectionsAll} {
			corr := corrections{}
			cut := false
			for _, i := range fix {
				cs := found[i]
				if len(cs) > limit {
					cs, cut = cs[:limit], true
				}
				corr[i] = cs
			}
			res, err := ix.search(ctx, prepare(fq.apply(buildTypoQuery(fields, words, corr))))
			if err != nil {
				return nil, false, err
			}
			if res.Total >= typoThreshold {
				return res, true, nil
			}
			if !cut {
				break
			}
		}
	}
	return nil, false, nil
}

// search runs one request.
func (ix *Index) search(ctx context.Context, req *bleve.SearchRequest) (*bleve.SearchResult, error) {
	res, err := ix.bi.SearchInContext(ctx, req)
	if err != nil && strings.Contains(err.Error(), "TooManyClauses") {
		// Bleve reports this with a plain fmt error, hence the string match.
		return nil, fmt.Errorf("search: %w: %v", errTooManyClauses, err)
	}
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	return res, nil
}
