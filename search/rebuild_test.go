package search

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"slices"
	"testing"

	"github.com/relaymusic/relay"
)

func seqOf(tracks []*relay.Track) iter.Seq2[*relay.Track, error] {
	return func(yield func(*relay.Track, error) bool) {
		for _, t := range tracks {
			if !yield(t, nil) {
				return
			}
		}
	}
}

// allPages collects every page of q.
func allPages(t *testing.T, ix *Index, q Query) ([]string, uint64) {
	t.Helper()
	var all []string
	var total uint64
	for page := 0; ; page++ {
		keys, res := searchKeys(t, ix, q)
		if page == 0 {
			total = res.Total
		}
		all = append(all, keys...)
		if res.Cursor == "" {
			return all, total
		}
		q.Cursor = res.Cursor
	}
}

func TestRebuildMatchesApply(t *testing.T) {
	ctx := context.Background()
	// Enough tracks for several rebuild batches, plus the catalogue.
	tracks := catalogue()
	for i := range 2300 {
		tracks = append(tracks, track(fmt.Sprintf("gen%04d", i), fmt.Sprintf("Generated Artist %d", i%37),
			fmt.Sprintf("Generated Song %d", i), fmt.Sprintf("Album %d", i%11), "Generated", []string{"gen"}, t0))
	}

	inc, _ := openTemp(t)
	if err := inc.Apply(ctx, changes(1, tracks...)); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir() + "/index"
	// Something is already there: a stale index Rebuild must replace.
	stale, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := stale.Apply(ctx, changes(1, track("stale", "Stale", "Stale", "", "", nil, t0))); err != nil {
		t.Fatal(err)
	}
	if err := stale.Close(); err != nil {
		t.Fatal(err)
	}
	const seq = 4242
	if err := Rebuild(ctx, dir, seq, seqOf(tracks), nil); err != nil {
		t.Fatalf("Rebuild: %v", err)
	}
	for _, leftover := range []string{dir + ".rebuild", dir + ".old"} {
		if _, err := os.Stat(leftover); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind (stat err %v)", leftover, err)
		}
	}
	reb, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer reb.Close()

	if got := mustSeq(t, reb); got != seq {
		t.Errorf("AppliedSeq = %d, want %d", got, seq)
	}
	if a, b := mustCount(t, inc), mustCount(t, reb); a != b || b != uint64(len(tracks)) {
		t.Errorf("DocCount incremental %d, rebuilt %d, want %d", a, b, len(tracks))
	}
	for _, text := range []string{"bjork", "the the", "motö", "generated song 12", "generated artist", "gen", "album 3", "stale", "hopipola"} {
		for _, sort := range []Sort{SortRelevance, SortNewest} {
			q := Query{Text: text, Limit: 100, Sort: sort}
			a, at := allPages(t, inc, q)
			b, bt := allPages(t, reb, q)
			if !slices.Equal(a, b) || at != bt {
				t.Errorf("%q %v: incremental %d hits (total %d), rebuilt %d hits (total %d); first %v vs %v",
					text, sort, len(a), at, len(b), bt, a[:min(5, len(a))], b[:min(5, len(b))])
			}
		}
	}

	// The rebuilt index is a normal one: it keeps applying from seq.
	if err := reb.Apply(ctx, []relay.Change{deletion(seq, "joga"), deletion(seq+1, "hbfs")}); err != nil {
		t.Fatal(err)
	}
	if got, _ := searchKeys(t, reb, Query{Text: "bjork"}); len(got) != 1 {
		t.Errorf("change at seq %d was applied to an index at seq %d: %v", seq, seq, got)
	}
	if got, _ := searchKeys(t, reb, Query{Text: "daft punk"}); len(got) != 0 {
		t.Errorf("change after seq was not applied: %v", got)
	}
}

func TestRebuildFailureKeepsOldIndex(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir() + "/index"
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Apply(ctx, changes(1, catalogue()...)); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("listing failed")
	failing := func(yield func(*relay.Track, error) bool) {
		if yield(catalogue()[0], nil) {
			yield(nil, boom)
		}
	}
	if err := Rebuild(ctx, dir, 99, failing, nil); !errors.Is(err, boom) {
		t.Fatalf("Rebuild = %v, want %v", err, boom)
	}
	ix, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if got, want := mustSeq(t, ix), int64(len(catalogue())); got != want {
		t.Errorf("old index seq = %d, want %d", got, want)
	}
	if _, err := os.Stat(dir + ".rebuild"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("partial rebuild left behind: %v", err)
	}
}
