package search

import (
	"unicode"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/registry"
	"golang.org/x/text/unicode/norm"
)

// foldMarksName is the token filter that strips accents from Greek (and any
// Latin that asciifolding left): "Μπλε Ουρανός" is found by "ουρανος", as
// "Björk" is by "bjork". asciifolding does not fold Greek tonos. Marks on
// other scripts are kept: in Japanese or Devanagari they change the letter
// (が is not か).
const foldMarksName = "relay_fold_marks"

func init() {
	if err := registry.RegisterTokenFilter(foldMarksName, func(map[string]any, *registry.Cache) (analysis.TokenFilter, error) {
		return foldMarks{}, nil
	}); err != nil {
		panic(err)
	}
}

type foldMarks struct{}

func (foldMarks) Filter(input analysis.TokenStream) analysis.TokenStream {
	for _, tok := range input {
		if folded, ok := foldTerm(tok.Term); ok {
			tok.Term = folded
		}
	}
	return input
}

// foldTerm decomposes term and drops the combining marks that follow a
// Latin or Greek letter; ok is false when there was nothing to drop.
func foldTerm(term []byte) ([]byte, bool) {
	d := norm.NFD.Bytes(term)
	out := make([]rune, 0, len(d))
	var base rune
	dropped := false
	for _, r := range string(d) {
		if unicode.Is(unicode.Mn, r) {
			if unicode.Is(unicode.Latin, base) || unicode.Is(unicode.Greek, base) {
				dropped = true
				continue
			}
		} else {
			base = r
		}
		out = append(out, r)
	}
	if !dropped {
		return term, false
	}
	return norm.NFC.Bytes([]byte(string(out))), true
}
