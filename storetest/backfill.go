package storetest

// The backfill's part of the store. backfill/ takes the concrete store
// today; Backfill is declared here until it declares its own interface.

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/sqlite"
)

// Backfill is what `relay backfill` needs of the store: applying a repo
// snapshot, and a resumable queue of repos and listing positions.
type Backfill interface {
	ResyncRepo(ctx context.Context, did syntax.DID, rev, handle string, tracks []*relay.Track) (relay.ApplyResult, error)
	AddBackfillRepos(ctx context.Context, dids []syntax.DID) (int, error)
	BackfillDue(ctx context.Context, now time.Time, maxAttempts, limit int) ([]sqlite.DueRepo, error)
	FailBackfill(ctx context.Context, did syntax.DID, cause error, retryAt time.Time) error
	BackfillCounts(ctx context.Context, maxAttempts int) (sqlite.BackfillCounts, error)
	BackfillFailures(ctx context.Context, limit int) ([]sqlite.FailedBackfill, error)
	BackfillSource(ctx context.Context, source string) (cursor string, complete bool, err error)
	SetBackfillSource(ctx context.Context, source, cursor string, complete bool) error
	RequeueBackfill(ctx context.Context, dids []syntax.DID) error
	BackfillWaiting(ctx context.Context, maxAttempts int) (time.Time, error)
}

func (f *fixture) resync(d syntax.DID, rv, handle string, tracks ...*relay.Track) relay.ApplyResult {
	f.t.Helper()
	res, err := f.b.ResyncRepo(f.ctx, d, rv, handle, tracks)
	if err != nil {
		f.t.Fatalf("ResyncRepo: %v", err)
	}
	return res
}

func testResync(t *testing.T, open func(t *testing.T) Backend) {
	t.Run("a snapshot puts its tracks, deletes older absent ones, keeps newer live ones", func(t *testing.T) {
		f := newFixture(t, open)
		d := did(1)
		changed := track(d, rkey(1), rev(1), "before", base)
		absent := track(d, rkey(2), rev(1), "deleted while away", base)
		live := track(d, rkey(3), rev(5), "written live after the snapshot", base)
		f.apply(put(changed), put(absent), put(live))
		other := track(did(2), rkey(4), rev(1), "another repo", base)
		f.apply(put(other))

		changed2 := track(d, rkey(1), rev(3), "after", base)
		added := track(d, rkey(5), rev(3), "new in the snapshot", base)
		f.resync(d, rev(3), "artist.example", changed2, added)

		if got := f.get(changed.URI()); got == nil || got.Title != "after" || got.CID != changed2.CID {
			t.Errorf("changed record = %+v, want the snapshot's", got)
		}
		f.shownEverywhere(absent.URI(), false)
		f.shownEverywhere(live.URI(), true)
		f.shownEverywhere(added.URI(), true)
		f.shownEverywhere(other.URI(), true)
		if got := f.get(added.URI()); got == nil || got.Handle != "artist.example" {
			t.Errorf("Handle after a resync = %v, want artist.example", got)
		}
		// The snapshot's delete is a tombstone at its rev.
		f.apply(put(absent))
		f.shownEverywhere(absent.URI(), false)
		cs := f.since(0)
		if ch := lastChange(cs, absent.URI()); ch == nil || ch.Track != nil {
			t.Errorf("last change for the absent record = %+v, want one with nil Track", ch)
		}
		if ch := lastChange(cs, added.URI()); ch == nil || ch.Track == nil {
			t.Errorf("last change for the added record = %+v, want one with the track", ch)
		}
		c, err := f.b.BackfillCounts(f.ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		if c.Done != 1 || c.Records != 2 {
			t.Errorf("BackfillCounts = %+v, want 1 done with 2 records", c)
		}
	})

	t.Run("a snapshot older than a live write keeps the live version", func(t *testing.T) {
		f := newFixture(t, open)
		liveV := track(did(1), rkey(1), rev(5), "live", base)
		f.apply(put(liveV))
		f.resync(did(1), rev(3), "", track(did(1), rkey(1), rev(3), "snapshot", base))
		if got := f.get(liveV.URI()); got == nil || got.Title != "live" || got.Rev != rev(5) {
			t.Errorf("after an older snapshot: %+v, want the live rev(5) version", got)
		}
	})

	t.Run("an unchanged record writes no outbox entry", func(t *testing.T) {
		f := newFixture(t, open)
		a := track(did(1), rkey(1), rev(1), "same", base)
		f.apply(put(a))
		head := f.head()
		same := *a
		same.Rev = rev(4)
		res := f.resync(did(1), rev(4), "", &same)
		if news := f.since(head); len(news) != 0 {
			t.Errorf("resync of an unchanged record wrote %d outbox entries, want none", len(news))
		}
		if res.Applied != 0 {
			t.Errorf("ApplyResult = %+v, want nothing applied", res)
		}
		// Its rev moved on: a live event between the two revs is stale.
		f.apply(put(track(did(1), rkey(1), rev(2), "between", base)))
		if got := f.get(a.URI()); got == nil || got.Title != "same" {
			t.Errorf("after a put older than the snapshot: %+v, want the snapshot's", got)
		}
	})

	t.Run("a resync of a repo with nothing stored puts every track", func(t *testing.T) {
		f := newFixture(t, open)
		a := track(did(1), rkey(1), rev(2), "a", base)
		b := track(did(1), rkey(2), rev(2), "b", base)
		if res := f.resync(did(1), rev(2), "", a, b); res.Applied != 2 {
			t.Errorf("ApplyResult = %+v, want 2 applied", res)
		}
		if got := uris(f.lookup(a.URI(), b.URI())); len(got) != 2 {
			t.Errorf("Tracks = %v, want both", got)
		}
	})
}

func testBackfillQueue(t *testing.T, open func(t *testing.T) Backend) {
	const maxAttempts = 2
	t.Run("repos move from pending to failed and back by requeue, to done by resync", func(t *testing.T) {
		f := newFixture(t, open)
		ds := []syntax.DID{did(1), did(2), did(3)}
		if n, err := f.b.AddBackfillRepos(f.ctx, ds); err != nil || n != 3 {
			t.Fatalf("AddBackfillRepos = %d, %v; want 3", n, err)
		}
		if n, err := f.b.AddBackfillRepos(f.ctx, ds[1:]); err != nil || n != 0 {
			t.Errorf("adding known repos again = %d, %v; want 0 new", n, err)
		}
		now := time.Now()
		due := f.due(now, maxAttempts)
		if !slices.Equal(due, ds) {
			t.Errorf("due = %v, want all pending %v", due, ds)
		}
		retry := now.Add(time.Hour).Truncate(time.Microsecond)
		if err := f.b.FailBackfill(f.ctx, did(2), errors.New("getRepo: 502"), retry); err != nil {
			t.Fatal(err)
		}
		if due := f.due(now, maxAttempts); slices.Contains(due, did(2)) {
			t.Errorf("a failed repo is due before its retry time: %v", due)
		}
		if due := f.due(retry, maxAttempts); !slices.Contains(due, did(2)) {
			t.Errorf("a failed repo is not due at its retry time: %v", due)
		}
		if w, err := f.b.BackfillWaiting(f.ctx, maxAttempts); err != nil || !w.Equal(retry) {
			t.Errorf("BackfillWaiting = %v, %v; want %v", w, err, retry)
		}
		// How attempts are counted is the backfill's business (it is
		// changing); the queue only has to keep what it was told.
		c, err := f.b.BackfillCounts(f.ctx, maxAttempts)
		if err != nil {
			t.Fatal(err)
		}
		if c.Pending != 2 || c.Failed != 1 || c.Done != 0 {
			t.Errorf("BackfillCounts = %+v, want 2 pending, 1 failed", c)
		}
		fails, err := f.b.BackfillFailures(f.ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(fails) != 1 || fails[0].DID != did(2) || fails[0].Error != "getRepo: 502" {
			t.Errorf("BackfillFailures = %+v, want did(2) with its error", fails)
		}
		if err := f.b.RequeueBackfill(f.ctx, []syntax.DID{did(2)}); err != nil {
			t.Fatal(err)
		}
		if due := f.due(now, maxAttempts); !slices.Contains(due, did(2)) {
			t.Errorf("a requeued repo is not due: %v", due)
		}
		f.resync(did(1), rev(1), "")
		if due := f.due(now, maxAttempts); slices.Contains(due, did(1)) {
			t.Errorf("a resynced repo is still due: %v", due)
		}
		if c, _ := f.b.BackfillCounts(f.ctx, maxAttempts); c.Done != 1 || c.Failed != 0 {
			t.Errorf("BackfillCounts after requeue and resync = %+v, want 1 done, 0 failed", c)
		}
	})

	t.Run("a listing position round-trips", func(t *testing.T) {
		f := newFixture(t, open)
		if c, done, err := f.b.BackfillSource(f.ctx, "https://relay.example"); err != nil || c != "" || done {
			t.Errorf("unknown source = %q, %v, %v; want empty", c, done, err)
		}
		for _, s := range []struct {
			cursor   string
			complete bool
		}{{"page-2", false}, {"", true}} {
			if err := f.b.SetBackfillSource(f.ctx, "https://relay.example", s.cursor, s.complete); err != nil {
				t.Fatal(err)
			}
			if c, done, err := f.b.BackfillSource(f.ctx, "https://relay.example"); err != nil || c != s.cursor || done != s.complete {
				t.Errorf("BackfillSource = %q, %v, %v; want %q, %v", c, done, err, s.cursor, s.complete)
			}
		}
	})
}

func (f *fixture) due(now time.Time, maxAttempts int) []syntax.DID {
	f.t.Helper()
	rs, err := f.b.BackfillDue(f.ctx, now, maxAttempts, 100)
	if err != nil {
		f.t.Fatalf("BackfillDue: %v", err)
	}
	out := make([]syntax.DID, len(rs))
	for i, r := range rs {
		out[i] = r.DID
	}
	slices.Sort(out)
	return out
}
