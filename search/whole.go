package search

import (
	"bytes"
	"encoding/binary"
	"hash/fnv"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/registry"
)

// wholeName is the token filter behind the "<field>_whole" sub-field that
// ranks a field matched whole: it turns a field of fewer than maxWords
// words into one term, the key of its words joined by spaces ("Love
// Heart!" and "love heart" are both the key of "love heart"), and a
// longer field into none. A query looks up the key of its own words
// (wholeTerm), so the match is a plain term lookup: no positions stored,
// no phrase search at query time.
const wholeName = "relay_whole"

func init() {
	if err := registry.RegisterTokenFilter(wholeName, func(map[string]any, *registry.Cache) (analysis.TokenFilter, error) {
		return whole{}, nil
	}); err != nil {
		panic(err)
	}
}

type whole struct{}

func (whole) Filter(input analysis.TokenStream) analysis.TokenStream {
	// A query has at most maxWords words, and one of maxWords may have been
	// cut short (words): a field that long is never matched whole.
	if len(input) == 0 || len(input) >= maxWords {
		return input[:0]
	}
	terms := make([][]byte, len(input))
	for i, t := range input {
		terms[i] = t.Term
	}
	return analysis.TokenStream{{
		Term:     termKey(bytes.Join(terms, []byte(" "))),
		Start:    input[0].Start,
		End:      input[len(input)-1].End,
		Position: 1,
		Type:     analysis.Shingle,
	}}
}

// termKey is what the index keeps of a whole field: 4 bytes of its FNV-1a
// hash. Whole titles are mostly unique, and as text they cost about twice
// the index (TestBytesPerTrack, 5000 tracks: about +45 bytes/track as text,
// +25 hashed, on about 675). A collision can only add the bonus to a track
// that already matches every word of the query.
func termKey(t []byte) []byte {
	h := fnv.New32a()
	_, _ = h.Write(t) // a hash.Hash never fails to write
	return binary.BigEndian.AppendUint32(nil, h.Sum32())
}

// wholeTerm is the key of a field made of exactly these words; ok is
// false when the query may have been cut to maxWords (then no field is
// matched whole).
func wholeTerm(words []string) (string, bool) {
	if len(words) >= maxWords {
		return "", false
	}
	var b bytes.Buffer
	for i, w := range words {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	return string(termKey(b.Bytes())), true
}
