package search

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// TestPagingUnderWrites pages with limit 2 while matching tracks are added
// and deleted between pages: no page repeats a track, every track that
// existed throughout is seen, and a deleted track is not served after its
// deletion.
func TestPagingUnderWrites(t *testing.T) {
	for _, sort := range []Sort{SortNewest, SortRelevance} {
		t.Run(fmt.Sprint("sort=", sort), func(t *testing.T) {
			ctx := context.Background()
			ix, _ := openTemp(t)
			var initial []*relay.Track
			for i := range 12 {
				artist := "Some Band"
				if i%4 == 0 {
					artist = "Paging Band" // scores vary for relevance
				}
				// Groups of three share a SortAt, so ties order by id.
				initial = append(initial, track(fmt.Sprintf("p%02d", i), artist, fmt.Sprintf("Paging Song %d", i),
					"", "", nil, t0.Add(time.Duration(i/3)*time.Hour)))
			}
			seq := int64(1)
			if err := ix.Apply(ctx, changes(seq, initial...)); err != nil {
				t.Fatal(err)
			}
			seq += int64(len(initial))

			// Between pages: delete one initial track and add one new one
			// (newer, older, or tied with what has been seen).
			doomed := []string{"p03", "p10", "p00", "p07", "p11"}
			deletedAt := map[string]int{} // key -> page after which it was deleted
			write := func(page int) {
				var cs []relay.Change
				if page < len(doomed) {
					cs = append(cs, deletion(seq, doomed[page]))
					deletedAt[doomed[page]] = page
					seq++
				}
				at := t0.Add(time.Duration(page%5-1) * time.Hour)
				nt := track(fmt.Sprintf("new%02d", page), "Paging Band", "Paging Paging New", "", "", nil, at)
				cs = append(cs, relay.Change{Seq: seq, URI: nt.URI(), Track: nt})
				seq++
				if err := ix.Apply(ctx, cs); err != nil {
					t.Fatal(err)
				}
			}

			seen := map[string]int{} // key -> page it was served on
			q := Query{Text: "paging", Limit: 2, Sort: sort}
			for page := 0; ; page++ {
				if page > 50 {
					t.Fatal("paging does not end")
				}
				keys, res := searchKeys(t, ix, q)
				if len(keys) > 2 {
					t.Fatalf("page %d has %d hits, limit 2", page, len(keys))
				}
				for _, k := range keys {
					if p, dup := seen[k]; dup {
						t.Errorf("%s served on page %d and again on page %d", k, p, page)
					}
					if d, ok := deletedAt[k]; ok && d < page {
						t.Errorf("%s served on page %d after its deletion after page %d", k, page, d)
					}
					seen[k] = page
				}
				if res.Cursor == "" {
					break
				}
				write(page)
				q.Cursor = res.Cursor
			}
			for _, tr := range initial {
				k := string(tr.RKey)
				if _, doomed := deletedAt[k]; doomed {
					continue
				}
				if _, ok := seen[k]; !ok {
					t.Errorf("%s existed throughout but was never served (seen %v)", k, seen)
				}
			}
		})
	}
}

// TestRelevanceTotalAndTies pins Total to the first run, and orders equal
// scores by id so the ranking is reproducible.
func TestRelevanceTotalAndTies(t *testing.T) {
	ix, _ := openTemp(t)
	var tracks []*relay.Track
	for _, k := range []string{"tie5", "tie1", "tie4", "tie2", "tie3"} {
		tracks = append(tracks, track(k, "Tie Band", "Same Title", "", "", nil, t0))
	}
	if err := ix.Apply(context.Background(), changes(1, tracks...)); err != nil {
		t.Fatal(err)
	}
	var all []string
	q := Query{Text: "same title", Limit: 2}
	for {
		keys, res := searchKeys(t, ix, q)
		if res.Total != 5 {
			t.Fatalf("Total = %d, want 5", res.Total)
		}
		all = append(all, keys...)
		if res.Cursor == "" {
			break
		}
		q.Cursor = res.Cursor
		// Total stays the first run's even as the index grows.
		extra := track(fmt.Sprintf("tie9%d", len(all)), "Tie Band", "Same Title", "", "", nil, t0)
		if err := ix.Apply(context.Background(), changes(int64(10+len(all)), extra)); err != nil {
			t.Fatal(err)
		}
	}
	if got := fmt.Sprint(all); got != "[tie1 tie2 tie3 tie4 tie5]" {
		t.Fatalf("tied hits in order %s, want by id", got)
	}
}

// echoTracks match "echo" (and, with a typo, "lanterm") with scores spread
// over a few levels and many ties, so page boundaries fall inside ties.
func echoTracks() []*relay.Track {
	var out []*relay.Track
	for i := range 40 {
		artist, album := "Other Artist", ""
		if i%3 == 0 {
			artist = "Echo Lantern"
		}
		if i%5 == 0 {
			album = "Echo Lantern Echo"
		}
		out = append(out, track(fmt.Sprintf("echo%02d", i), artist, fmt.Sprintf("Echo Lantern %d", i%4),
			album, "", nil, t0.Add(time.Duration(i)*time.Minute)))
	}
	return out
}

// pages pages q through, each page on the index next picks, and returns
// the record keys page by page.
func pages(t *testing.T, q Query, next func(page int) *Index) [][]string {
	t.Helper()
	var out [][]string
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatal("paging does not end")
		}
		keys, res := searchKeys(t, next(page), q)
		out = append(out, keys)
		if res.Cursor == "" {
			return out
		}
		q.Cursor = res.Cursor
	}
}

// TestRelevanceCursorElsewhere: a relevance cursor continues on another
// replica over the same data, after a restart, and whichever index a load
// balancer picks per page, with exactly the pages of the frozen ranking
// while nothing changes; exact and typo-tolerant rankings alike.
func TestRelevanceCursorElsewhere(t *testing.T) {
	ctx := context.Background()
	// Not openTemp: a is closed and reopened below.
	build := func() (*Index, string) {
		dir := t.TempDir() + "/index"
		ix, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := ix.Apply(ctx, changes(1, echoTracks()...)); err != nil {
			t.Fatal(err)
		}
		return ix, dir
	}
	a, aDir := build()
	// b is another replica: the same tracks, written in other batches, so
	// its segments differ from a's.
	b, _ := openTemp(t)
	for i, cs := range slices.Collect(slices.Chunk(changes(1, echoTracks()...), 7)) {
		if err := b.Apply(ctx, cs); err != nil {
			t.Fatalf("batch %d: %v", i, err)
		}
	}
	for _, text := range []string{"echo", "echo lantern", "lanterm"} {
		t.Run(text, func(t *testing.T) {
			q := Query{Text: text, Limit: 3}
			full, _ := searchKeys(t, a, Query{Text: text, Limit: 100})
			if len(full) != 40 {
				t.Fatalf("%q matches %d tracks, want 40", text, len(full))
			}
			pinned := pages(t, q, func(int) *Index { return a })
			if got := fmt.Sprint(slices.Concat(pinned...)); got != fmt.Sprint(full) {
				t.Fatalf("pinned pages %v\nwant the ranking %v", pinned, full)
			}
			for name, next := range map[string]func(int) *Index{
				"other replica": func(p int) *Index {
					if p == 0 {
						return a
					}
					return b
				},
				"alternating": func(p int) *Index { return []*Index{a, b}[p%2] },
			} {
				if got := pages(t, q, next); fmt.Sprint(got) != fmt.Sprint(pinned) {
					t.Errorf("%s: pages %v\nwant %v", name, got, pinned)
				}
			}
		})
	}

	// A restart: the frozen rankings are gone, the cursors still continue.
	q := Query{Text: "echo", Limit: 7}
	want := pages(t, q, func(int) *Index { return a })
	first, res := searchKeys(t, a, q)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	re, err := Open(aDir)
	if err != nil {
		t.Fatal(err)
	}
	defer re.Close()
	q.Cursor = res.Cursor
	got := append([][]string{first}, pages(t, q, func(int) *Index { return re })...)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after a restart: pages %v\nwant %v", got, want)
	}
}

// TestRelevanceCursorSurvivesFlood: other clients' searches, however many,
// never make a client's next page fail or change (issue 11: 260 one-result
// searches used to expire every cursor).
func TestRelevanceCursorSurvivesFlood(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		budget  int
		evicted bool
	}{
		{"default budget", snapshotMaxBytes, false},
		{"budget for two rankings", 2 * (&snapshot{ids: make([]string, 40)}).bytes() * 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix, _ := openTemp(t)
			ix.snaps = newSnapshotCache(snapshotTTL, tc.budget)
			tracks := append(echoTracks(), catalogue()...)
			if err := ix.Apply(ctx, changes(1, tracks...)); err != nil {
				t.Fatal(err)
			}
			full, _ := searchKeys(t, ix, Query{Text: "echo", Limit: 100})
			q := Query{Text: "echo", Limit: 4}
			first, res := searchKeys(t, ix, q)
			c, err := decodeCursor(res.Cursor, SortRelevance)
			if err != nil {
				t.Fatal(err)
			}
			// 300 other searches, each leaving a cursor behind.
			words := []string{"lantern", "other", "artist", "echo lantern", "electronic", "icelandic"}
			for i := range 300 {
				if _, r := searchKeys(t, ix, Query{Text: words[i%len(words)], Limit: 1}); r.Cursor == "" {
					t.Fatalf("flood search %d left no cursor", i)
				}
			}
			if _, ok := ix.snaps.get(c.Token); ok == tc.evicted {
				t.Fatalf("client's ranking still cached = %v, want %v", ok, !tc.evicted)
			}
			q.Cursor = res.Cursor
			rest := pages(t, q, func(int) *Index { return ix })
			if got := fmt.Sprint(slices.Concat(append([][]string{first}, rest...)...)); got != fmt.Sprint(full) {
				t.Fatalf("pages after the flood give %v\nwant %v", got, full)
			}
		})
	}
}

// TestCursorLongDID: a track whose at-uri carries a 2 KB did:web at a page
// boundary does not break the next page, in either sort.
func TestCursorLongDID(t *testing.T) {
	ix, _ := openTemp(t)
	long := syntax.DID("did:web:" + strings.Repeat("a", 2000))
	var tracks []*relay.Track
	for i := range 4 {
		tr := track(fmt.Sprintf("long%d", i), "Long Band", "Long Name", "", "", nil, t0.Add(time.Duration(i)*time.Hour))
		tr.DID = long
		tracks = append(tracks, tr)
	}
	if err := ix.Apply(context.Background(), changes(1, tracks...)); err != nil {
		t.Fatal(err)
	}
	for _, sort := range []Sort{SortRelevance, SortNewest} {
		got := pages(t, Query{Text: "long name", Limit: 1, Sort: sort}, func(int) *Index { return ix })
		if n := len(slices.Concat(got...)); n != 4 {
			t.Errorf("sort %v: paged through %d of 4 tracks: %v", sort, n, got)
		}
	}
}
