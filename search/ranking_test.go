package search

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// rankingCatalogue is built so that per-word scores alone rank wrongly:
// titles "Heart" on albums "Love Heart" gather more word matches for "love
// heart" than the title "Love Heart" does.
func rankingCatalogue() []*relay.Track {
	day := func(n int) time.Time { return t0.Add(time.Duration(n) * 24 * time.Hour) }
	return []*relay.Track{
		track("loveheart", "Ivy Vale", "Love Heart", "Singles", "Indie Pop", nil, day(1)),
		track("heartlove", "Ivy Vale", "Heart Love", "Singles", "Indie Pop", nil, day(2)),
		track("lhforever", "Ivy Vale", "Love Heart Forever", "Singles", "Indie Pop", nil, day(3)),
		track("heart1", "June Moss", "Heart", "Love Heart", "Folk", nil, day(4)),
		track("heart2", "Oak Road", "Heart", "Love Heart", "Country", nil, day(5)),
		track("heart3", "Paper Kite", "Heart", "Love Heart (Deluxe)", "Pop", nil, day(6)),
		track("heart4", "Rue Anders", "Heart", "Love Heart Live", "Pop", nil, day(7)),
		track("heart5", "Sol Ferro", "Heart", "Love, Heart", "Pop", nil, day(8)),
		track("heartsolo", "Ada North", "Heart", "North", "Pop", nil, day(9)),
		track("heartofglass", "Blondie", "Heart of Glass", "Parallel Lines", "New Wave", nil, day(10)),
		track("loreheart", "Sam Reed", "Lore Heart", "Tales", "Folk", nil, day(11)),
		// The same word as artist, title and album of three tracks.
		track("artmid", "Midnight", "Run", "Run", "Synth", nil, day(12)),
		track("titlemid", "Rue Anders", "Midnight", "Rue", "Synth", nil, day(13)),
		track("albmid", "Kay Lo", "Slow", "Midnight", "Synth", nil, day(14)),
		// The words of "love heart" apart: across artist and title, and in
		// one title of the same length as "Love Heart Forever" but in
		// another order. Both newer, so no tie break favours lhforever.
		track("scatter", "Love", "Heart Beats", "Singles", "Pop", nil, day(15)),
		track("apart", "Ivy Vale", "Heart Forever Love", "Singles", "Indie Pop", nil, day(16)),
		track("albtogether", "Kay Lo", "Rain", "Summer Rain Songs", "Pop", nil, day(17)),
		track("albapart", "Kay Lo", "Rain", "Songs Rain Summer", "Pop", nil, day(18)),
	}
}

func rankingIndex(t *testing.T) *Index {
	t.Helper()
	ix, _ := openTemp(t)
	if err := ix.Apply(context.Background(), changes(1, rankingCatalogue()...)); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return ix
}

// TestRankingTogether: a title the query's words make up whole, in order,
// outranks the same words scattered across fields and a longer title
// holding them, and the field boosts still order fields.
func TestRankingTogether(t *testing.T) {
	ix := rankingIndex(t)
	tests := []struct {
		name  string
		text  string
		first []string // the hits start with these, in any order
		above [][2]string
		among []string
	}{
		{name: "title together above title word and album together", text: "love heart",
			first: []string{"loveheart"},
			above: [][2]string{{"loveheart", "heart1"}, {"loveheart", "heart5"}}},
		// Words the other way round earn nothing: the title "Heart Love"
		// stays below the album "Love Heart" for "love heart".
		{name: "reversed title gets no bonus", text: "love heart",
			above: [][2]string{{"heart1", "heartlove"}}},
		{name: "word order counts", text: "heart love",
			first: []string{"heartlove"},
			above: [][2]string{{"heartlove", "loveheart"}}},
		// Holds by field norms alone; the whole bonus widens it.
		{name: "whole title above a title holding more", text: "love heart",
			above: [][2]string{{"loveheart", "lhforever"}}},
		// A listener typing one word that is a song's whole title means
		// that song, before longer titles holding the word.
		{name: "whole title above a longer title", text: "heart",
			first: []string{"heart1", "heart2", "heart3", "heart4", "heart5", "heartsolo"},
			above: [][2]string{{"heartsolo", "heartofglass"}}},
		{name: "whole title of three words", text: "heart of glass", first: []string{"heartofglass"}},
		{name: "artist and title above album", text: "midnight",
			first: []string{"artmid", "titlemid"},
			above: [][2]string{{"titlemid", "albmid"}}},
		// Proximity: words standing together, in order, in one field
		// outrank the same words apart, in one field or across fields.
		{name: "together in a longer title above apart across fields", text: "love heart",
			above: [][2]string{{"lhforever", "scatter"}}},
		{name: "together in a title above apart in a title", text: "love heart",
			above: [][2]string{{"lhforever", "apart"}}},
		{name: "together in an album above apart in an album", text: "summer rain",
			above: [][2]string{{"albtogether", "albapart"}}},
		{name: "three words in order above the same three apart", text: "heart forever love",
			first: []string{"apart"}, above: [][2]string{{"apart", "lhforever"}}},
		// A typo gets no bonus but still finds its track.
		{name: "typo finds the track", text: "lobe heart", among: []string{"loveheart"}},
		{name: "typo in last word finds the track", text: "love hearf", among: []string{"loveheart"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := searchKeys(t, ix, Query{Text: tt.text})
			if len(got) < len(tt.first) {
				t.Fatalf("%q: want hits starting with %v, got %v", tt.text, tt.first, got)
			}
			head := slices.Clone(got[:len(tt.first)])
			slices.Sort(head)
			want := slices.Clone(tt.first)
			slices.Sort(want)
			if !slices.Equal(head, want) {
				t.Errorf("%q: want hits starting with %v (any order), got %v", tt.text, tt.first, got)
			}
			for _, p := range tt.above {
				hi, lo := slices.Index(got, p[0]), slices.Index(got, p[1])
				if hi < 0 || lo < 0 || hi > lo {
					t.Errorf("%q: want %s above %s, got %v", tt.text, p[0], p[1], got)
				}
			}
			for _, k := range tt.among {
				if !slices.Contains(got, k) {
					t.Errorf("%q: want %s among hits, got %v", tt.text, k, got)
				}
			}
		})
	}
}

// TestRankingTogetherTypoPass: in the typo-tolerant pass (forced here), the
// exact words standing together still rank first, and a near word never
// earns the bonus of standing together.
func TestRankingTogetherTypoPass(t *testing.T) {
	ix := rankingIndex(t)
	tests := []struct {
		text  string
		above [][2]string
	}{
		{text: "love heart", above: [][2]string{{"loveheart", "loreheart"}, {"loveheart", "heart1"}}},
		{text: "lore heart", above: [][2]string{{"loreheart", "loveheart"}}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
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
			for _, p := range tt.above {
				hi, lo := slices.Index(got, p[0]), slices.Index(got, p[1])
				if hi < 0 || lo < 0 || hi > lo {
					t.Errorf("%q: want %s above %s, got %v", tt.text, p[0], p[1], got)
				}
			}
		})
	}
}

// TestWholeBound: the whole analyzer gives a field of fewer than maxWords
// words its one term, the key of the words as a query analyses them, and a
// longer field none (no query could match it whole: words keeps at most
// maxWords); a query of maxWords words asks for no whole term.
func TestWholeBound(t *testing.T) {
	ix, _ := openTemp(t)
	a := ix.Mapping().AnalyzerNamed(wholeAnalyzer)
	if a == nil {
		t.Fatalf("analyzer %q missing", wholeAnalyzer)
	}
	for _, n := range []int{1, 2, maxWords - 1, maxWords, maxWords + 1, 140} {
		ws := make([]string, n)
		for i := range ws {
			ws[i] = "wörd" + strings.Repeat("x", i%7)
		}
		field := strings.ToUpper(strings.Join(ws, ", "))
		var terms []string
		for _, tok := range a.Analyze([]byte(field)) {
			terms = append(terms, string(tok.Term))
		}
		words, err := ix.words(field)
		if err != nil {
			t.Fatal(err)
		}
		term, ok := wholeTerm(words)
		if want := n < maxWords; ok != want || len(terms) != min(n, 1)*boolInt(want) || (ok && terms[0] != term) {
			t.Errorf("%d words: indexed %q, query term %q (ok %v), want a whole term %v", n, terms, term, ok, want)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestPairsBound: the pairs analyzer gives a field of n words its n-1
// adjacent pairs, at most maxPairs (a hostile title of 140 words adds 16
// terms, not 139), each the bucket the query's words ask for in the same
// order, and never the bucket of the same two words reversed.
func TestPairsBound(t *testing.T) {
	ix, _ := openTemp(t)
	a := ix.Mapping().AnalyzerNamed(pairsAnalyzer)
	if a == nil {
		t.Fatalf("analyzer %q missing", pairsAnalyzer)
	}
	for _, n := range []int{0, 1, 2, 3, maxPairs, maxPairs + 1, maxPairs + 2, 140} {
		ws := make([]string, n)
		for i := range ws {
			ws[i] = fmt.Sprintf("Wörd%d", i)
		}
		var terms []string
		for _, tok := range a.Analyze([]byte(strings.Join(ws, ", "))) {
			terms = append(terms, string(tok.Term))
		}
		if want := min(max(n-1, 0), maxPairs); len(terms) != want {
			t.Errorf("%d words: %d pair terms, want %d", n, len(terms), want)
		}
		for i, term := range terms {
			words, err := ix.words(ws[i] + " " + ws[i+1])
			if err != nil {
				t.Fatal(err)
			}
			if q := pairTerms(words); len(q) != 1 || q[0] != term {
				t.Errorf("%d words: pair %d indexed %x, query %x", n, i, term, q)
			}
			if rev := pairTerms([]string{words[1], words[0]}); rev[0] == term {
				t.Errorf("%d words: pair %d and its reverse share bucket %x", n, i, term)
			}
		}
	}
	if q := pairTerms([]string{"one"}); q != nil {
		t.Errorf("one word asks for pairs %x", q)
	}
}
