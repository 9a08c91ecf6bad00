package search

import (
	"context"
	"slices"
	"testing"

	"github.com/blevesearch/bleve/v2"
	"github.com/bluesky-social/indigo/atproto/syntax"
)

// TestSearchMatches holds the matching rules: which queries find which
// tracks, and which must not.
func TestSearchMatches(t *testing.T) {
	ix := catalogueIndex(t)
	tests := []struct {
		name  string
		text  string
		want  []string // must be among the hits
		avoid []string // must not be among the hits
		none  bool     // no hits at all
	}{
		// Diacritics fold both ways.
		{name: "plain finds accented artist", text: "bjork", want: []string{"joga"}},
		{name: "accented finds accented", text: "Björk", want: []string{"joga"}},
		{name: "upper case", text: "BJÖRK", want: []string{"joga"}},
		{name: "two accented words", text: "sigur ros", want: []string{"hoppipolla"}},
		{name: "query accents kept", text: "Sigur Rós", want: []string{"hoppipolla"}},
		{name: "umlaut", text: "motorhead", want: []string{"aceofspades"}},
		{name: "umlaut in query", text: "Motörhead", want: []string{"aceofspades"}},
		{name: "acute e", text: "beyonce", want: []string{"halo"}},
		{name: "two umlauts", text: "motley crue", want: []string{"kickstart"}, avoid: []string{"aceofspades"}},
		{name: "accents in query, none in doc", text: "thé whö", want: []string{"babaoriley"}},
		{name: "accented title", text: "joga", want: []string{"joga"}},
		{name: "accented title word", text: "hoppipolla", want: []string{"hoppipolla"}},

		// Non-Latin scripts.
		{name: "cyrillic title", text: "группа", want: []string{"gruppa"}},
		{name: "cyrillic artist, upper case", text: "КИНО", want: []string{"gruppa"}},
		{name: "cyrillic typo 1 edit at 6 runes", text: "грулпа", want: []string{"gruppa"}},
		{name: "japanese title", text: "夜に駆ける", want: []string{"yoru"}},
		{name: "japanese part", text: "駆ける", want: []string{"yoru"}},

		// Typos, counted in runes.
		{name: "1 edit at 4 runes", text: "bjrk", want: []string{"joga"}},
		{name: "1 edit at 6 runes", text: "bjoerk", want: []string{"joga"}},
		{name: "1 edit at 6 runes, not last word", text: "spadez of", want: []string{"aceofspades"}},
		{name: "2 edits at 6 runes", text: "sprads", none: true},
		{name: "1 edit at 3 runes", text: "jga", none: true},
		{name: "1 edit at 3 runes, not last word", text: "bek loser", none: true},
		{name: "1 edit at 8 runes", text: "motorhed", want: []string{"aceofspades"}},
		{name: "2 edits at 8 runes", text: "hopipola", want: []string{"hoppipolla"}},
		{name: "2 edits at 9 runes", text: "motorhaed", want: []string{"aceofspades"}},
		{name: "2 edits at 7 runes", text: "motrhed", none: true},
		{name: "typo in second word", text: "harder beter", want: []string{"hbfs"}},
		{name: "1 edit at 8 runes, middle of title", text: "stronker", want: []string{"hbfs"}},
		{name: "apostrophe dropped is 1 edit", text: "baba oriley", want: []string{"babaoriley"}},
		{name: "first letter must match", text: "vjork", none: true},
		{name: "first letter must match, long word", text: "lotorhead", none: true},

		// Prefix of the last word only.
		{name: "prefix", text: "hopp", want: []string{"hoppipolla"}},
		{name: "3 rune prefix", text: "hop", want: []string{"hoppipolla"}},
		{name: "prefix folds", text: "motö", want: []string{"aceofspades"}, avoid: []string{"kickstart"}},
		{name: "prefix after full word", text: "daft pu", want: []string{"hbfs"}},
		{name: "only the last word is a prefix", text: "daf pu", none: true},
		{name: "prefix of artist", text: "the wh", want: []string{"babaoriley"}},
		{name: "prefix of album", text: "homog", want: []string{"joga"}},
		{name: "one letter gets no prefix", text: "h", none: true},
		{name: "prefix longer than the n-grams is cut", text: "supercalifragilist", want: []string{"supercal"}},
		{name: "prefix needs the other words", text: "beck lov", none: true},

		// No stop words: band names made of them.
		{name: "the the", text: "the the", want: []string{"thisistheday"}},
		{name: "the who", text: "the who", want: []string{"babaoriley"}, avoid: []string{"thisistheday"}},
		{name: "all stop words", text: "this is the day", want: []string{"thisistheday"}},

		// Every word must match.
		{name: "all words required", text: "bjork halo", none: true},
		{name: "words across fields", text: "icelandic rock", want: []string{"hoppipolla"}, avoid: []string{"joga"}},
		{name: "tag", text: "electronic", want: []string{"joga", "hbfs"}},
		{name: "genre", text: "heavy metal", want: []string{"aceofspades"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := searchKeys(t, ix, Query{Text: tt.text})
			if tt.none && len(got) > 0 {
				t.Fatalf("%q: want no hits, got %v", tt.text, got)
			}
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("%q: want %s among hits, got %v", tt.text, w, got)
				}
			}
			for _, a := range tt.avoid {
				if slices.Contains(got, a) {
					t.Errorf("%q: want no %s among hits, got %v", tt.text, a, got)
				}
			}
		})
	}
}

// TestSearchRanking holds the ordering rules: exact over fuzzy, field
// boosts, and band names made of stop words.
// TestTypoPassRanking holds the ranking of the typo-tolerant query itself:
// when it runs (nothing matched exactly), an exact word still outranks a
// near one. The pass is forced here on words that also match exactly.
func TestTypoPassRanking(t *testing.T) {
	ix := catalogueIndex(t)
	tests := []struct {
		name string
		text string
		want []string
	}{
		{name: "exact beats 1-edit variant", text: "lover", want: []string{"lover", "loser"}},
		{name: "exact in a tag beats 1-edit variant in title and album", text: "loser", want: []string{"loser", "creep", "lover"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			words, err := ix.words(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			req := bleve.NewSearchRequestOptions(buildQuery(textFields, words, true), 100, 0, false)
			res, err := ix.bi.SearchInContext(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range res.Hits {
				got = append(got, string(syntax.ATURI(h.ID).RecordKey()))
			}
			if len(got) < len(tt.want) || !slices.Equal(got[:len(tt.want)], tt.want) {
				t.Fatalf("%q: want hits starting %q, got %q", tt.text, tt.want, got)
			}
		})
	}
}

// TestTypoThreshold: near matches are looked for only when nothing matches
// exactly or as a prefix (Typesense's default).
func TestTypoThreshold(t *testing.T) {
	ix := catalogueIndex(t)
	// An exact hit: no typo pass, so no "loser" (one edit away).
	if got, _ := searchKeys(t, ix, Query{Text: "lover"}); !slices.Equal(got, []string{"lover"}) {
		t.Errorf(`"lover": got %q, want only "lover"`, got)
	}
	// Nothing exact: the typo pass runs and finds it.
	if got, _ := searchKeys(t, ix, Query{Text: "lovre"}); !slices.Contains(got, "lover") {
		t.Errorf(`"lovre": got %q, want "lover" among them`, got)
	}
}

func TestSearchRanking(t *testing.T) {
	ix := catalogueIndex(t)
	tests := []struct {
		name string
		text string
		want []string // the hits must start with these, in order
	}{
		{name: "exact beats prefix-only", text: "lov", want: []string{"lover"}},
		{name: "artist over album over genre", text: "soul", want: []string{"superbonbon", "thisistheday", "respect"}},
		{name: "the the first", text: "the the", want: []string{"thisistheday"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := searchKeys(t, ix, Query{Text: tt.text})
			if len(got) < len(tt.want) || !slices.Equal(got[:len(tt.want)], tt.want) {
				t.Fatalf("%q: want hits starting %v, got %v", tt.text, tt.want, got)
			}
		})
	}
}

// TestSearchNewest orders matches by SortAt, newest first.
func TestSearchNewest(t *testing.T) {
	ix := catalogueIndex(t)
	got, res := searchKeys(t, ix, Query{Text: "electronic", Sort: SortNewest})
	if want := []string{"hbfs", "joga"}; !slices.Equal(got, want) || res.Total != 2 || res.Cursor != "" {
		t.Fatalf("want %v total 2 no cursor, got %v total %d cursor %q", want, got, res.Total, res.Cursor)
	}
}
