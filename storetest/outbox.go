package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

func testOutbox(t *testing.T, open func(t *testing.T) Backend) {
	t.Run("an empty outbox has head 0 and floor 0", func(t *testing.T) {
		f := newFixture(t, open)
		if got := f.head(); got != 0 {
			t.Errorf("OutboxSeq = %d, want 0", got)
		}
		if got, err := f.b.OutboxFloor(f.ctx); err != nil || got != 0 {
			t.Errorf("OutboxFloor = %d, %v; want 0", got, err)
		}
		if cs := f.since(0); len(cs) != 0 {
			t.Errorf("Changes on an empty store = %d entries", len(cs))
		}
	})

	t.Run("Changes returns entries after a seq in seq order, up to limit", func(t *testing.T) {
		f := newFixture(t, open)
		var want []syntax.ATURI
		for i := range 6 {
			tr := track(did(1), rkey(i), rev(1), fmt.Sprint("t", i), base)
			f.apply(put(tr)) // one batch each: the order of entries is the order of commits
			want = append(want, tr.URI())
		}
		all := f.since(0)
		if len(all) != len(want) {
			t.Fatalf("Changes(0) = %d entries, want %d", len(all), len(want))
		}
		for i, c := range all {
			if c.URI != want[i] {
				t.Errorf("entry %d is %s, want %s (commit order)", i, c.URI, want[i])
			}
			if i > 0 && c.Seq <= all[i-1].Seq {
				t.Errorf("entry %d has seq %d after %d: not increasing", i, c.Seq, all[i-1].Seq)
			}
			if c.Track == nil || c.Track.URI() != c.URI || c.Track.Title != fmt.Sprint("t", i) {
				t.Errorf("entry %d Track = %+v, want the visible track %s", i, c.Track, want[i])
			}
		}
		if got := f.head(); got != all[len(all)-1].Seq {
			t.Errorf("OutboxSeq = %d, want the last entry's %d", got, all[len(all)-1].Seq)
		}
		page := f.changes(all[1].Seq, 2)
		if len(page) != 2 || page[0].Seq != all[2].Seq || page[1].Seq != all[3].Seq {
			t.Errorf("Changes(after %d, limit 2) = %v, want seqs %d, %d", all[1].Seq, seqs(page), all[2].Seq, all[3].Seq)
		}
		if rest := f.changes(all[len(all)-1].Seq, 10); len(rest) != 0 {
			t.Errorf("Changes after the head = %v, want none", seqs(rest))
		}
	})

	t.Run("a change carries the track's searchable state when read", func(t *testing.T) {
		f := newFixture(t, open)
		tr := track(did(1), rkey(1), rev(1), "v1", base)
		tr.Album, tr.Genre, tr.Tags = "album", "genre", []string{"x", "y"}
		f.apply(put(tr))
		cs := f.since(0)
		if len(cs) != 1 || cs[0].Track == nil {
			t.Fatalf("Changes = %+v, want one entry with the track", cs)
		}
		got := cs[0].Track
		row := f.get(tr.URI())
		if got.DID != tr.DID || got.RKey != tr.RKey || got.Title != tr.Title || got.Artist != tr.Artist ||
			got.Album != tr.Album || got.Genre != tr.Genre || fmt.Sprint(got.Tags) != fmt.Sprint(tr.Tags) ||
			row == nil || !got.SortAt.Equal(row.SortAt) {
			t.Errorf("change Track = %+v, want the searchable fields of %+v", got, tr)
		}
		// The entry is read with the current state: a later update shows
		// through an earlier entry (the index converges on the last state).
		f.apply(put(track(did(1), rkey(1), rev(2), "v2", base)))
		cs = f.since(0)
		if len(cs) < 2 || cs[0].Track == nil || cs[0].Track.Title != "v2" {
			t.Errorf("after an update, the first entry's Track = %+v, want the current title v2", cs[0].Track)
		}
	})

	t.Run("pruning lowers nothing but the floor", func(t *testing.T) {
		f := newFixture(t, open)
		for i := range 5 {
			f.apply(put(track(did(1), rkey(i), rev(1), "t", base)))
		}
		all := f.since(0)
		if len(all) != 5 {
			t.Fatalf("Changes = %d entries, want 5", len(all))
		}
		if got, _ := f.b.OutboxFloor(f.ctx); got != all[0].Seq {
			t.Errorf("OutboxFloor = %d, want the first entry's %d", got, all[0].Seq)
		}
		if err := f.b.PruneOutbox(f.ctx, all[2].Seq); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.b.OutboxFloor(f.ctx); got != all[3].Seq {
			t.Errorf("OutboxFloor after pruning to %d = %d, want %d", all[2].Seq, got, all[3].Seq)
		}
		if cs := f.since(0); len(cs) != 2 || cs[0].Seq != all[3].Seq {
			t.Errorf("Changes(0) after pruning = %v, want %d, %d", seqs(cs), all[3].Seq, all[4].Seq)
		}
		headBefore := f.head()
		if err := f.b.PruneOutbox(f.ctx, headBefore); err != nil {
			t.Fatal(err)
		}
		if got := f.head(); got != headBefore {
			t.Errorf("OutboxSeq after pruning everything = %d, want %d: the highest ever written", got, headBefore)
		}
		if got, _ := f.b.OutboxFloor(f.ctx); got != 0 {
			t.Errorf("OutboxFloor of an emptied outbox = %d, want 0", got)
		}
		// A seq is never reused: the next entry comes after every pruned one.
		f.apply(put(track(did(1), rkey(9), rev(1), "t", base)))
		if cs := f.since(0); len(cs) != 1 || cs[0].Seq <= headBefore {
			t.Errorf("after pruning to %d, new entries = %v, want one above it", headBefore, seqs(cs))
		}
	})

	t.Run("only changes to what search shows write entries", func(t *testing.T) {
		a := track(did(1), rkey(1), rev(2), "a", base)
		cases := []struct {
			name   string
			events []relay.Event // after put(a) with an identity and an active account
			want   []syntax.ATURI
		}{
			{"stale put", []relay.Event{put(track(did(1), rkey(1), rev(1), "old", base))}, nil},
			{"replayed put", []relay.Event{put(a)}, nil},
			{"stale delete", []relay.Event{del(did(1), rkey(1), rev(1))}, nil},
			{"same handle", []relay.Event{identity(did(1), "a.example")}, nil},
			{"new handle", []relay.Event{identity(did(1), "b.example")}, []syntax.ATURI{a.URI()}},
			{"active again", []relay.Event{account(did(1), true, "")}, nil},
			{"newer put", []relay.Event{put(track(did(1), rkey(1), rev(3), "new", base))}, []syntax.ATURI{a.URI()}},
			{"newer delete", []relay.Event{del(did(1), rkey(1), rev(3))}, []syntax.ATURI{a.URI()}},
			{"new track", []relay.Event{put(track(did(1), rkey(2), rev(3), "b", base))}, []syntax.ATURI{relay.TrackURI(did(1), relay.TrackCollection, rkey(2))}},
			{"hidden", []relay.Event{account(did(1), false, "takendown")}, []syntax.ATURI{a.URI()}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				f := newFixture(t, open)
				f.apply(put(a), identity(did(1), "a.example"), account(did(1), true, ""))
				head := f.head()
				f.apply(c.events...)
				news := f.since(head)
				got := map[syntax.ATURI]bool{}
				for _, ch := range news {
					got[ch.URI] = true
				}
				for _, u := range c.want {
					if !got[u] {
						t.Errorf("no entry for %s", u)
					}
				}
				if len(c.want) == 0 && len(news) != 0 {
					t.Errorf("wrote %d entries (%v), want none", len(news), seqs(news))
				}
			})
		}
	})
}

// testOutboxConcurrent holds the ordering the search follower relies on:
// the outbox is commit-ordered and gap-free. A seq becomes visible to
// Changes only after every lower seq is, so a follower that asks for
// "after the last seq I saw" never skips one, however many writers commit
// at once.
func testOutboxConcurrent(t *testing.T, open func(t *testing.T) Backend) {
	f := newFixture(t, open)
	const (
		writers = 4
		batches = 30
		perURI  = 6 // URIs shared by every writer, so revs race
	)
	shared := make([]syntax.RecordKey, perURI)
	for i := range shared {
		shared[i] = rkey(i)
	}
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()

	type seen struct {
		track *relay.Track // nil: not visible
	}
	state := map[syntax.ATURI]seen{}
	// A first commit fixes where the follower starts, so a backend may
	// number from anywhere; from there on every seq is the one before + 1.
	f.apply(put(track(did(0), shared[0], nextRev(), "warm-up", base)))
	last := f.head()
	polls := 0 // pages that returned entries
	follow := func() error {
		for {
			cs, err := f.b.Changes(f.ctx, last, 7) // small pages: more interleaving with commits
			if err != nil {
				return fmt.Errorf("Changes(%d): %w", last, err)
			}
			if len(cs) > 0 {
				polls++
			}
			for _, c := range cs {
				if c.Seq != last+1 {
					return fmt.Errorf("after seq %d the follower saw seq %d: the outbox must be gap-free and commit-ordered", last, c.Seq)
				}
				last = c.Seq
				state[c.URI] = seen{c.Track}
			}
			if len(cs) == 0 {
				return nil
			}
		}
	}

	followed := make(chan error, 1)
	go func() {
		for {
			if err := follow(); err != nil {
				followed <- err
				return
			}
			select {
			case <-ctx.Done():
				followed <- nil
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()

	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := did(w + 1)
			for b := range batches {
				evs := []relay.Event{
					put(track(did(0), shared[b%perURI], nextRev(), fmt.Sprintf("shared w%d b%d", w, b), base)),
					put(track(d, rkey(100+b), nextRev(), fmt.Sprintf("own w%d b%d", w, b), base)),
				}
				if b%5 == 4 {
					evs = append(evs, del(d, rkey(100+b-2), nextRev()))
				}
				if b%7 == 6 {
					evs = append(evs, account(d, (b/7)%2 == 1, "deactivated")) // off, on, off, on
				}
				if _, err := f.b.ApplyBatch(ctx, evs, int64(b+1)); err != nil {
					errs <- fmt.Errorf("writer %d batch %d: %w", w, b, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	cancel()
	if err := <-followed; err != nil {
		t.Fatal(err)
	}
	if err := follow(); err != nil { // what committed after the last poll
		t.Fatal(err)
	}
	if head := f.head(); last != head {
		t.Errorf("follower ended at seq %d, OutboxSeq is %d", last, head)
	}

	// The follower's view is the store's: what it holds visible is exactly
	// VisibleTracks, with the same titles.
	vis := f.visible()
	for u, s := range state {
		v, ok := vis[u]
		switch {
		case s.track == nil && ok:
			t.Errorf("%s: follower holds it hidden, store shows %q", u, v.Title)
		case s.track != nil && !ok:
			t.Errorf("%s: follower holds %q, store does not show it", u, s.track.Title)
		case s.track != nil && v.Title != s.track.Title:
			t.Errorf("%s: follower holds %q, store shows %q", u, s.track.Title, v.Title)
		}
	}
	for u := range vis {
		if _, ok := state[u]; !ok {
			t.Errorf("%s is visible but the follower never saw a change for it", u)
		}
	}
	if len(vis) == 0 {
		t.Error("nothing visible after the writers: the test wrote nothing")
	}
	t.Logf("follower saw seqs up to %d in %d pages, %d uris, %d visible", last, polls, len(state), len(vis))
}

func seqs(cs []relay.Change) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.Seq
	}
	return out
}
