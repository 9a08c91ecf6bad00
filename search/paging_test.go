package search

import (
	"context"
	"fmt"
	"testing"
	"time"

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
