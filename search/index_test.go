package search

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

func mustSeq(t *testing.T, ix *Index) int64 {
	t.Helper()
	seq, err := ix.AppliedSeq()
	if err != nil {
		t.Fatalf("AppliedSeq: %v", err)
	}
	return seq
}

func mustCount(t *testing.T, ix *Index) uint64 {
	t.Helper()
	n, err := ix.DocCount()
	if err != nil {
		t.Fatalf("DocCount: %v", err)
	}
	return n
}

func TestApply(t *testing.T) {
	ctx := context.Background()
	cat := catalogue()
	tests := []struct {
		name      string
		batches   [][]relay.Change
		wantSeq   int64
		wantCount uint64
		wantErr   bool
		find      string // a query that must find exactly findKeys
		findKeys  []string
	}{
		{name: "new index", wantSeq: 0, wantCount: 0},
		{name: "index", batches: [][]relay.Change{changes(1, cat[:3]...)}, wantSeq: 3, wantCount: 3},
		{name: "seq is the highest, gaps allowed", batches: [][]relay.Change{{
			{Seq: 5, URI: cat[0].URI(), Track: cat[0]},
			{Seq: 9, URI: cat[1].URI(), Track: cat[1]},
		}}, wantSeq: 9, wantCount: 2},
		{name: "delete removes", batches: [][]relay.Change{changes(1, cat[:3]...), {deletion(4, "joga")}},
			wantSeq: 4, wantCount: 2, find: "bjork"},
		{name: "re-applying old seqs is a no-op", batches: [][]relay.Change{
			changes(1, cat[:3]...),
			{deletion(2, "hoppipolla"), deletion(3, "aceofspades")},
		}, wantSeq: 3, wantCount: 3, find: "sigur ros", findKeys: []string{"hoppipolla"}},
		{name: "partly old batch applies only the new part", batches: [][]relay.Change{
			changes(1, cat[:2]...),
			{deletion(2, "hoppipolla"), deletion(3, "joga"), {Seq: 4, URI: cat[2].URI(), Track: cat[2]}},
		}, wantSeq: 4, wantCount: 2, find: "sigur ros", findKeys: []string{"hoppipolla"}},
		{name: "later change of a doc in the same batch wins", batches: [][]relay.Change{{
			{Seq: 1, URI: cat[0].URI(), Track: cat[0]},
			deletion(2, "joga"),
			{Seq: 3, URI: cat[1].URI(), Track: cat[1]},
		}}, wantSeq: 3, wantCount: 1},
		{name: "update replaces fields", batches: [][]relay.Change{
			changes(1, cat[0]),
			changes(2, track("joga", "Björk", "Bachelorette", "Homogenic", "Art Pop", nil, t0)),
		}, wantSeq: 2, wantCount: 1, find: "joga"},
		{name: "out of order is refused whole", batches: [][]relay.Change{{
			{Seq: 2, URI: cat[0].URI(), Track: cat[0]},
			{Seq: 1, URI: cat[1].URI(), Track: cat[1]},
		}}, wantErr: true, wantSeq: 0, wantCount: 0},
		{name: "track under another uri is refused", batches: [][]relay.Change{{
			{Seq: 1, URI: relay.TrackURI(testDID, relay.TrackCollection, syntax.RecordKey("other")), Track: cat[0]},
		}}, wantErr: true, wantSeq: 0, wantCount: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix, _ := openTemp(t)
			var err error
			for _, b := range tt.batches {
				if err = ix.Apply(ctx, b); err != nil {
					break
				}
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("Apply error = %v, want error %v", err, tt.wantErr)
			}
			if got := mustSeq(t, ix); got != tt.wantSeq {
				t.Errorf("AppliedSeq = %d, want %d", got, tt.wantSeq)
			}
			if got := mustCount(t, ix); got != tt.wantCount {
				t.Errorf("DocCount = %d, want %d", got, tt.wantCount)
			}
			if tt.find != "" {
				got, _ := searchKeys(t, ix, Query{Text: tt.find})
				if fmt.Sprint(got) != fmt.Sprint(tt.findKeys) && !(len(got) == 0 && len(tt.findKeys) == 0) {
					t.Errorf("%q finds %v, want %v", tt.find, got, tt.findKeys)
				}
			}
		})
	}
}

func TestApplyCanceled(t *testing.T) {
	ix, _ := openTemp(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ix.Apply(ctx, changes(1, catalogue()...)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply on canceled ctx = %v, want context.Canceled", err)
	}
	if mustSeq(t, ix) != 0 || mustCount(t, ix) != 0 {
		t.Fatal("canceled Apply changed the index")
	}
}

func TestReopenKeepsSeqAndDocs(t *testing.T) {
	dir := t.TempDir() + "/index"
	ix, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	cat := catalogue()
	if err := ix.Apply(context.Background(), append(changes(1, cat...), deletion(int64(len(cat)+1), "joga"))); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix, err = Open(dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer ix.Close()
	if got, want := mustSeq(t, ix), int64(len(cat)+1); got != want {
		t.Errorf("AppliedSeq after reopen = %d, want %d", got, want)
	}
	if got, want := mustCount(t, ix), uint64(len(cat)-1); got != want {
		t.Errorf("DocCount after reopen = %d, want %d", got, want)
	}
	if got, _ := searchKeys(t, ix, Query{Text: "motorhead"}); fmt.Sprint(got) != "[aceofspades]" {
		t.Errorf("search after reopen = %v", got)
	}
}

// bulkOutbox makes n entries over 300 distinct tracks: every track is
// indexed, some are updated, and those whose number is a multiple of 7 are
// finally deleted.
func bulkOutbox(n int) (entries []relay.Change, live map[string]bool) {
	live = map[string]bool{}
	for i := 1; i <= n; i++ {
		k := i % 300
		key := fmt.Sprintf("bulk%03d", k)
		t := track(key, "Bulk Artist", fmt.Sprintf("Bulk Song %d", i), "Bulk", "Test", nil, t0.Add(time.Duration(i)*time.Second))
		c := relay.Change{Seq: int64(i), URI: t.URI(), Track: t}
		if k%7 == 0 && i > n-300 {
			c.Track = nil
		}
		live[key] = c.Track != nil
		entries = append(entries, c)
	}
	for k, ok := range live {
		if !ok {
			delete(live, k)
		}
	}
	return entries, live
}

func TestCatchUp(t *testing.T) {
	ctx := context.Background()
	entries, live := bulkOutbox(2500)
	tests := []struct {
		name      string
		preApply  int // entries applied before CatchUp
		wantCount int // returned by CatchUp
	}{
		{name: "from empty, several batches", preApply: 0, wantCount: 2500},
		{name: "from the middle", preApply: 1234, wantCount: 2500 - 1234},
		{name: "nothing to do", preApply: 2500, wantCount: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix, _ := openTemp(t)
			if tt.preApply > 0 {
				if err := ix.Apply(ctx, entries[:tt.preApply]); err != nil {
					t.Fatal(err)
				}
			}
			src := &fakeSource{entries: entries}
			n, err := ix.CatchUp(ctx, src)
			if err != nil {
				t.Fatalf("CatchUp: %v", err)
			}
			if n != tt.wantCount {
				t.Errorf("CatchUp applied %d, want %d", n, tt.wantCount)
			}
			if got := mustSeq(t, ix); got != 2500 {
				t.Errorf("AppliedSeq = %d, want 2500", got)
			}
			if got := mustCount(t, ix); got != uint64(len(live)) {
				t.Errorf("DocCount = %d, want %d", got, len(live))
			}
		})
	}
}

func TestCatchUpErrors(t *testing.T) {
	ix, _ := openTemp(t)
	if _, err := ix.CatchUp(context.Background(), &fakeSource{failN: 1}); err == nil {
		t.Error("CatchUp with a failing source: want error")
	}
	// A source that keeps returning entries the index already has must not
	// spin forever.
	if err := ix.Apply(context.Background(), changes(1, catalogue()[:2]...)); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.CatchUp(context.Background(), &staleSource{}); err == nil {
		t.Error("CatchUp with a stale source: want error")
	}
}

type staleSource struct{ fakeSource }

func (*staleSource) Changes(context.Context, int64, int) ([]relay.Change, error) {
	return changes(1, catalogue()[:2]...), nil
}

func TestFollow(t *testing.T) {
	ix, _ := openTemp(t)
	cat := catalogue()
	// The first call fails: Follow must log it and carry on.
	src := &fakeSource{entries: changes(1, cat[:5]...), failN: 1}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ix.Follow(ctx, src, 10*time.Millisecond, nil) }()

	waitSeq := func(want int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for mustSeq(t, ix) != want {
			if time.Now().After(deadline) {
				t.Fatalf("AppliedSeq stuck at %d, want %d", mustSeq(t, ix), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitSeq(5)
	// Another process writes the outbox.
	src.add(changes(6, cat[5:]...)...)
	src.add(deletion(int64(len(cat)+1), "joga"))
	waitSeq(int64(len(cat) + 1))
	if got, want := mustCount(t, ix), uint64(len(cat)-1); got != want {
		t.Errorf("DocCount = %d, want %d", got, want)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Follow returned %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Follow did not stop")
	}
}
