package search

import (
	"encoding/binary"
	"hash/fnv"
	"slices"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/registry"
)

// pairsName is the token filter behind the "<field>_pairs" sub-field that
// ranks words standing together (Meilisearch's proximity): it turns each
// two adjacent words of a field into one term, the bucket of "first
// second" (pairKey). A query of several words looks up the buckets of its
// own adjacent pairs (pairTerms), so "love heart" scores the title "Love
// Heart Forever" above a title "Heart" by an artist "Love": a plain term
// lookup, with no positions stored and no phrase search at query time.
const pairsName = "relay_pairs"

// maxPairs bounds the pairs one field adds: a query has at most maxWords
// words, and a hostile title of a thousand words would otherwise add a
// thousand terms.
const maxPairs = 16

// pairBuckets is how many distinct pair terms the index holds. A bucket is
// 2 bytes, so at a million tracks a pair is a posting in a shared list
// more than a term of its own in the dictionary (TestBytesPerTrack, 5000
// tracks, where buckets are still mostly unique: 672 B/track without
// pairs; title, artist and album +44 with 2-byte buckets, +54 with 4-byte
// hashes; the title alone +29). A collision only adds the bonus to a track
// that already matches every word of the query, with odds of about its
// pairs in 65536.
const pairBuckets = 1 << 16

func init() {
	if err := registry.RegisterTokenFilter(pairsName, func(map[string]any, *registry.Cache) (analysis.TokenFilter, error) {
		return pairs{}, nil
	}); err != nil {
		panic(err)
	}
}

type pairs struct{}

func (pairs) Filter(input analysis.TokenStream) analysis.TokenStream {
	if len(input) < 2 {
		return input[:0]
	}
	n := min(len(input)-1, maxPairs)
	out := make(analysis.TokenStream, 0, n)
	for i := range n {
		a, b := input[i], input[i+1]
		out = append(out, &analysis.Token{
			Term:     pairKey(a.Term, b.Term),
			Start:    a.Start,
			End:      b.End,
			Position: i + 1,
			Type:     analysis.Shingle,
		})
	}
	return out
}

// pairKey is the bucket of the words a then b: FNV-1a of "a b", folded to
// 16 bits.
func pairKey(a, b []byte) []byte {
	h := fnv.New32a()
	_, _ = h.Write(a) // a hash.Hash never fails to write
	_, _ = h.Write([]byte{' '})
	_, _ = h.Write(b)
	s := h.Sum32()
	return binary.BigEndian.AppendUint16(nil, uint16((s^s>>16)%pairBuckets))
}

// pairTerms are the distinct buckets of the query's adjacent words, in
// order; none for a single word.
func pairTerms(words []string) []string {
	var out []string
	for i := 0; i+1 < len(words) && i < maxPairs; i++ {
		k := string(pairKey([]byte(words[i]), []byte(words[i+1])))
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}
