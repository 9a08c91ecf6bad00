package search

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// forceTypo runs the dictionary typo pass as Search would once nothing
// matched exactly: missing words corrected, else every word; keys of up
// to 100 hits by relevance.
func forceTypo(t *testing.T, ix *Index, text string) []string {
	t.Helper()
	ctx := context.Background()
	words, err := ix.words(text)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ix.runOnce(ctx, textFields, filters{}, words, true, func(q query.Query) *bleve.SearchRequest {
		req := bleve.NewSearchRequestOptions(q, 100, 0, false)
		req.SortByCustom(relevanceOrder())
		return req
	})
	if err != nil {
		t.Fatal(err)
	}
	return hitKeys(res)
}

func hitKeys(res *bleve.SearchResult) []string {
	var keys []string
	for _, h := range res.Hits {
		keys = append(keys, string(syntax.ATURI(h.ID).RecordKey()))
	}
	return keys
}

// TestTypoPassFollowsReference: on the test catalogue, the dictionary
// typo pass finds what Bleve's fuzzy query over every word and field (the
// reference, buildQuery with fuzzy set) ranks first, and nothing the
// reference does not find.
func TestTypoPassFollowsReference(t *testing.T) {
	ix := catalogueIndex(t)
	ctx := context.Background()
	for _, text := range []string{
		"bjrk", "bjoerk", "spadez of", "motorhed", "hopipola", "motorhaed",
		"harder beter", "stronker", "baba oriley", "грулпа", "lovre", "lover",
		"loser", "sprads", "motrhed", "vjork", "beck lovr",
	} {
		t.Run(text, func(t *testing.T) {
			words, err := ix.words(text)
			if err != nil {
				t.Fatal(err)
			}
			req := bleve.NewSearchRequestOptions(buildQuery(textFields, words, true), 100, 0, false)
			req.SortByCustom(relevanceOrder())
			ref, err := ix.bi.SearchInContext(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			want := hitKeys(ref)
			got := forceTypo(t, ix, text)
			if len(want) == 0 {
				if len(got) > 0 {
					t.Fatalf("%q: reference finds nothing, typo pass %v", text, got)
				}
				return
			}
			if len(got) == 0 || got[0] != want[0] {
				t.Errorf("%q: want %s first as the reference, got %v (reference %v)", text, want[0], got, want)
			}
			for _, k := range got {
				if !slices.Contains(want, k) {
					t.Errorf("%q: %s found, the reference has only %v", text, k, want)
				}
			}
		})
	}
}

// TestTypoPassRankingDictionary holds TestTypoPassRanking's and
// TestRankingTogetherTypoPass's rules in the dictionary pass: an exact word
// outranks a near one, and words standing together still rank first.
func TestTypoPassRankingDictionary(t *testing.T) {
	cat, rank := catalogueIndex(t), rankingIndex(t)
	tests := []struct {
		ix    *Index
		text  string
		first []string
		above [][2]string
	}{
		{ix: cat, text: "lover", first: []string{"lover", "loser"}},
		{ix: cat, text: "loser", first: []string{"loser", "creep", "lover"}},
		{ix: rank, text: "love heart", above: [][2]string{{"loveheart", "loreheart"}, {"loveheart", "heart1"}}},
		{ix: rank, text: "lore heart", above: [][2]string{{"loreheart", "loveheart"}}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got := forceTypo(t, tt.ix, tt.text)
			if len(got) < len(tt.first) || !slices.Equal(got[:len(tt.first)], tt.first) {
				t.Errorf("%q: want hits starting %q, got %q", tt.text, tt.first, got)
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

// neighbourCatalogue: six words one edit from "lovz", held by 1 to 6
// tracks, and one artist whose only track holds the rarest.
func neighbourCatalogue() []*relay.Track {
	var ts []*relay.Track
	for i, w := range []string{"lova", "lovb", "lovc", "lovd", "love", "lovf"} {
		for j := range i + 1 {
			ts = append(ts, track(fmt.Sprintf("%s%d", w, j), "Ann Field", w, "Songs", "Pop", nil, t0.Add(time.Duration(len(ts))*time.Hour)))
		}
	}
	return append(ts, track("rare", "Quentin Marsh", "Lova", "Quiet", "Folk", nil, t0.Add(time.Hour)))
}

// TestTypoPassFewClosest: a word stands for its maxCorrections closest
// corrections, the most frequent first, so the rarer neighbours' tracks
// are left out; those few are widened only when they match nothing with
// the other words.
func TestTypoPassFewClosest(t *testing.T) {
	ix, _ := openTemp(t)
	if err := ix.Apply(context.Background(), changes(1, neighbourCatalogue()...)); err != nil {
		t.Fatal(err)
	}
	got, res := searchKeys(t, ix, Query{Text: "lovz"})
	// lovf, love, lovd, lovc: 6+5+4+3 tracks.
	if res.Total != 18 {
		t.Errorf(`"lovz": %d hits, want the 18 tracks of its 4 most frequent corrections: %v`, res.Total, got)
	}
	for _, k := range got {
		if k == "rare" || k[:4] == "lova" || k[:4] == "lovb" {
			t.Errorf(`"lovz": %s found, a rarer correction than the 4 kept`, k)
		}
	}
	if got, _ := searchKeys(t, ix, Query{Text: "lovz marsh"}); !slices.Equal(got, []string{"rare"}) {
		t.Errorf(`"lovz marsh": got %v, want only rare (its correction is the rarest)`, got)
	}
}

// TestCorrectionsOrder: corrections come closest first, then by documents,
// and a word one edit away is corrected before two are tried.
func TestCorrectionsOrder(t *testing.T) {
	ix, _ := openTemp(t)
	cat := append(neighbourCatalogue(),
		track("far", "Ann Field", "Lxvz", "Songs", "Pop", nil, t0),
		track("near", "Ann Field", "Lovzy", "Songs", "Pop", nil, t0))
	if err := ix.Apply(context.Background(), changes(1, cat...)); err != nil {
		t.Fatal(err)
	}
	rd, err := ix.reader()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rd.Close() }()
	cs, err := correct(context.Background(), rd, textFields, "lovzz", 2)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cs {
		got = append(got, fmt.Sprintf("%s/%d", c.term, c.edits))
	}
	// lova and lovb are in 2 documents each, then ordered by term.
	want := []string{"lovzy/1", "lovf/2", "love/2", "lovd/2", "lovc/2", "lova/2", "lovb/2", "lxvz/2"}
	if !slices.Equal(got, want) {
		t.Errorf("corrections of lovzz: got %v, want %v", got, want)
	}
}
