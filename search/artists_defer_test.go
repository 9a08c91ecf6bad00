package search_test

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/search"
	"github.com/relaymusic/relay/sqlite"
)

// countingSource is the real store, counting the outbox pages and the
// artist name reads the index asks of it.
type countingSource struct {
	*sqlite.Store
	mu             sync.Mutex
	changes, names int
}

func (c *countingSource) Changes(ctx context.Context, after int64, limit int) ([]relay.Change, error) {
	c.mu.Lock()
	c.changes++
	c.mu.Unlock()
	return c.Store.Changes(ctx, after, limit)
}

func (c *countingSource) ArtistNames(ctx context.Context, dids []syntax.DID, n int) (map[syntax.DID][]string, error) {
	c.mu.Lock()
	c.names++
	c.mu.Unlock()
	return c.Store.ArtistNames(ctx, dids, n)
}

// applyInChunks writes evs to the store, a thousand at a time.
func (e *artistEnv) applyInChunks(evs []relay.Event) {
	e.t.Helper()
	for c := range slices.Chunk(evs, 1000) {
		if _, err := e.store.ApplyBatch(e.ctx, c, 0); err != nil {
			e.t.Fatal(err)
		}
	}
}

// seqs are the index's applied and artist sequences.
func seqs(t *testing.T, ix *search.Index) (applied, artists int64) {
	t.Helper()
	applied, err := ix.AppliedSeq()
	if err != nil {
		t.Fatal(err)
	}
	artists, err = ix.ArtistSeq()
	if err != nil {
		t.Fatal(err)
	}
	return applied, artists
}

// TestArtistsDeferredWhileCatchingUp: a backlog of several batches, one
// big account named by every batch and a hundred small ones, rebuilds the
// artist documents once, with the batch that drains the outbox, unless the
// interval or the pending bound makes it due sooner; either way every
// artist is current afterwards, its names found and its track count
// ranking it.
func TestArtistsDeferredWhileCatchingUp(t *testing.T) {
	e := newArtistEnv(t)
	big := artistDID("zipfgiant")
	var evs []relay.Event
	for range 2*search.CatchUpBatch + 1000 {
		evs = append(evs, e.put(big, "Ensemble"))
	}
	var members []syntax.DID
	for i := range 100 {
		d := artistDID(fmt.Sprintf("member%03d", i))
		members = append(members, d)
		for range 1 + i%5 {
			evs = append(evs, e.put(d, "Ensemble"))
		}
		evs = append(evs, e.put(d, fmt.Sprintf("Soloist %03d", i)))
	}
	// Spread over the whole outbox, so every batch names the big account
	// and many small ones.
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(evs), func(i, j int) { evs[i], evs[j] = evs[j], evs[i] })
	e.applyInChunks(evs)
	all := append([]syntax.DID{big}, members...)
	stored, err := e.store.Artists(e.ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	// "ensemble" matches every artist's one shared name alike, so the
	// ranking is by track count, then DID, as the store counts them.
	slices.SortFunc(stored, func(a, b relay.Artist) int {
		if a.TrackCount != b.TrackCount {
			return int(b.TrackCount - a.TrackCount)
		}
		return cmp.Compare(a.DID, b.DID)
	})
	var want []syntax.DID
	for _, a := range stored {
		want = append(want, a.DID)
	}
	batches := (len(evs) + search.CatchUpBatch - 1) / search.CatchUpBatch

	for _, tc := range []struct {
		name  string
		every time.Duration
		max   int
		// reads is the ArtistNames calls wanted: one rebuild of the 101
		// accounts is one read (artistReadBatch is 500).
		reads int
	}{
		{"deferred to the last batch", time.Hour, 100_000, 1},
		{"interval elapsed at every batch", 0, 100_000, batches},
		{"pending bound reached at every batch", time.Hour, 2, batches},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ix, err := search.Open(filepath.Join(t.TempDir(), "index"))
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			ix.SetArtistRefresh(tc.every, tc.max)
			src := &countingSource{Store: e.store}
			n, err := ix.CatchUp(e.ctx, src)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(evs) {
				t.Fatalf("CatchUp applied %d, want %d", n, len(evs))
			}
			// Each batch is a page, and one more finds the outbox drained.
			if src.changes != batches+1 {
				t.Errorf("%d outbox pages for %d batches", src.changes, batches)
			}
			if src.names != tc.reads {
				t.Errorf("ArtistNames read %d times over %d batches, want %d", src.names, batches, tc.reads)
			}
			if applied, artists := seqs(t, ix); artists != applied {
				t.Errorf("caught up, artist seq %d is behind applied seq %d", artists, applied)
			}
			res, err := ix.SearchArtists(e.ctx, search.ArtistQuery{Text: "ensemble", Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			// The first page is the 100 with most tracks, in order.
			if !slices.Equal(res.DIDs, want[:100]) || res.Total != uint64(len(want)) {
				t.Errorf("ensemble: %d of %d, want %d of %d in track count order:\n%v\nwant\n%v",
					len(res.DIDs), res.Total, 100, len(want), res.DIDs, want[:100])
			}
			for i, d := range members {
				q := fmt.Sprintf("soloist %03d", i)
				res, err := ix.SearchArtists(e.ctx, search.ArtistQuery{Text: q, Limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(res.DIDs, []syntax.DID{d}) {
					t.Errorf("%q: %v, want %s", q, res.DIDs, d)
				}
			}
			if c, err := ix.ArtistCount(e.ctx); err != nil || c != uint64(len(stored)) {
				t.Errorf("ArtistCount = %d, %v; the store has %d", c, err, len(stored))
			}
		})
	}
}

// TestArtistsCrashBetweenBatches: a catch-up dies after a track batch
// that deferred its artists and before the batch that rebuilds them, so
// on disk the artist seq is behind the applied seq. The follower prunes
// the outbox only up to the artist seq; reopened, the index is not
// rebuilt, finds the lost pending artists in the outbox again (a rename
// and a deletion that only the first batch named) and converges on the
// store.
func TestArtistsCrashBetweenBatches(t *testing.T) {
	e := newArtistEnv(t)
	e.artistCatalogue()
	e.ix.SetArtistRefresh(time.Hour, 100_000)
	_, flushed := seqs(t, e.ix)

	newbig, late := artistDID("newbig"), artistDID("latecomer")
	evs := []relay.Event{
		handleEvent(radiohead, "kida.example"),
		{Kind: relay.AccountStatus, DID: alicia, Active: false, Status: "deleted"},
	}
	for range search.CatchUpBatch {
		evs = append(evs, e.put(newbig, "Newbig Band"))
	}
	for range 200 {
		evs = append(evs, e.put(late, "Latecomer"))
	}
	e.applyInChunks(evs)

	src := &failingNames{Store: e.store, fail: true}
	if _, err := e.ix.CatchUp(e.ctx, src); err == nil {
		t.Fatal("CatchUp with failing artist reads: want an error")
	}
	applied, artists := seqs(t, e.ix)
	if applied != flushed+search.CatchUpBatch || artists != flushed {
		t.Fatalf("after the crash: applied %d, artists %d; want %d (one batch on) and %d", applied, artists, flushed+search.CatchUpBatch, flushed)
	}
	if p, err := e.ix.PrunableSeq(); err != nil || p != artists {
		t.Fatalf("PrunableSeq = %d, %v; want the artist seq %d", p, err, artists)
	}
	// The follower, its artist reads still failing, prunes what is
	// prunable and no more.
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- e.ix.Follow(ctx, src, 10*time.Millisecond, nil) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		floor, err := e.store.OutboxFloor(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if floor == artists+1 {
			break
		}
		if floor > artists+1 || time.Now().After(deadline) {
			t.Fatalf("outbox floor %d; want %d, the entry after the artist seq", floor, artists+1)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // ten more rounds of the follower
	cancel()
	<-done
	if floor, err := e.store.OutboxFloor(e.ctx); err != nil || floor != artists+1 {
		t.Fatalf("outbox floor %d, %v after following; want %d", floor, err, artists+1)
	}
	if got := e.find("kida"); len(got) != 0 {
		t.Errorf("before recovery the rename is not in the artist documents: %v", got)
	}

	// Restart: the pending set is gone, the outbox still names it.
	e.close()
	e.open()
	if a, b := seqs(t, e.ix); a != applied || b != artists {
		t.Fatalf("reopened at applied %d, artists %d; want %d, %d (no rebuild)", a, b, applied, artists)
	}
	e.ix.SetArtistRefresh(time.Hour, 100_000)
	e.catchUp()
	for q, want := range map[string][]syntax.DID{
		"kida":      {radiohead},
		"alicia":    nil,
		"newbig":    {newbig},
		"latecomer": {late},
		"bjork":     {bjork},
	} {
		if got := e.find(q); !slices.Equal(got, want) {
			t.Errorf("after recovery %q: %v, want %v", q, got, want)
		}
	}
	known := []syntax.DID{bjork, radiohead, alice, alicia, echoBig, echoSmall, newbig, late}
	as, err := e.store.Artists(e.ctx, known)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := e.ix.ArtistCount(e.ctx); err != nil || n != uint64(len(as)) {
		t.Errorf("ArtistCount = %d, %v; the store has %d artists", n, err, len(as))
	}
	if a, b := seqs(t, e.ix); a != b {
		t.Errorf("caught up: applied %d, artists %d", a, b)
	}
}

// TestArtistsPrunedPastArtistSeq: an outbox pruned past the artist seq
// (not by the follower) has lost the pending artists, so OpenCurrent
// rebuilds the index rather than open one it cannot bring up to date.
func TestArtistsPrunedPastArtistSeq(t *testing.T) {
	e := newArtistEnv(t)
	e.artistCatalogue()
	e.ix.SetArtistRefresh(time.Hour, 100_000)
	evs := []relay.Event{handleEvent(radiohead, "kida.example")}
	for range search.CatchUpBatch + 10 {
		evs = append(evs, e.put(artistDID("newbig"), "Newbig Band"))
	}
	e.applyInChunks(evs)
	if _, err := e.ix.CatchUp(e.ctx, &failingNames{Store: e.store, fail: true}); err == nil {
		t.Fatal("CatchUp with failing artist reads: want an error")
	}
	applied, artists := seqs(t, e.ix)
	if artists >= applied {
		t.Fatalf("artist seq %d not behind applied seq %d", artists, applied)
	}
	if err := e.store.PruneOutbox(e.ctx, applied); err != nil {
		t.Fatal(err)
	}
	e.close()
	e.open()
	if a, b := seqs(t, e.ix); a == applied || a != b {
		t.Fatalf("reopened at applied %d, artists %d; want a rebuild, both at the outbox head", a, b)
	}
	e.catchUp()
	if got := e.find("kida"); !slices.Equal(got, []syntax.DID{radiohead}) {
		t.Errorf("kida after the rebuild: %v", got)
	}
}

// TestArtistsBatchLandsThenFails: a batch that defers its artists lands
// in the index and is then reported failed (scorch can do both). The
// follower goes on after it, as AppliedSeq says; the accounts only it
// named must still be rebuilt once caught up, not lost with the error.
func TestArtistsBatchLandsThenFails(t *testing.T) {
	e := newArtistEnv(t)
	e.artistCatalogue()
	e.ix.SetArtistRefresh(time.Hour, 100_000)
	first, second := artistDID("firstbatch"), artistDID("secondbatch")
	var evs []relay.Event
	for range search.CatchUpBatch {
		evs = append(evs, e.put(first, "First Batch Band"))
	}
	for range 10 {
		evs = append(evs, e.put(second, "Second Batch Band"))
	}
	e.applyInChunks(evs)

	e.ix.FailNextBatchAfterLanding()
	if _, err := e.ix.CatchUp(e.ctx, e.store); err == nil {
		t.Fatal("CatchUp over a failing batch: want its error")
	}
	if applied, artists := seqs(t, e.ix); applied <= artists {
		t.Fatalf("after the failed batch: applied %d, artists %d; want the batch landed, artists behind", applied, artists)
	}
	e.catchUp()
	if applied, artists := seqs(t, e.ix); applied != artists {
		t.Fatalf("caught up: applied %d, artists %d", applied, artists)
	}
	for q, d := range map[string]syntax.DID{"first batch band": first, "second batch band": second} {
		if got := e.find(q); !slices.Equal(got, []syntax.DID{d}) {
			t.Errorf("%q: %v, want %s", q, got, d)
		}
	}
}
