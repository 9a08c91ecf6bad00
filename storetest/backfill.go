package storetest

// The backfill's part of the store: backfill.Store, the interface the
// backfill declares.

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
	"github.com/relaymusic/relay/backfill"
)

// Backfill is what `relay backfill` needs of the store: applying a repo
// snapshot, and a resumable queue of repos and listing positions.
type Backfill = backfill.Store

func (f *fixture) resync(d syntax.DID, rv, handle string, tracks ...*relay.Track) relay.ApplyResult {
	f.t.Helper()
	res, err := f.b.ResyncRepo(f.ctx, d, rv, handle, []syntax.NSID{relay.TrackCollection}, tracks)
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
		c, err := f.b.BackfillCounts(f.ctx)
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
		due := f.due(now)
		if !slices.Equal(due, ds) {
			t.Errorf("due = %v, want all pending %v", due, ds)
		}
		retry := now.Add(time.Hour).Truncate(time.Microsecond)
		if err := f.b.FailBackfill(f.ctx, did(2), errors.New("getRepo: 502"), retry); err != nil {
			t.Fatal(err)
		}
		if due := f.due(now); slices.Contains(due, did(2)) {
			t.Errorf("a failed repo is due before its retry time: %v", due)
		}
		if due := f.due(retry); !slices.Contains(due, did(2)) {
			t.Errorf("a failed repo is not due at its retry time: %v", due)
		}
		if w, err := f.b.BackfillWaiting(f.ctx); err != nil || !w.Equal(retry) {
			t.Errorf("BackfillWaiting = %v, %v; want %v", w, err, retry)
		}
		// How attempts are counted is the backfill's business (it is
		// changing); the queue only has to keep what it was told.
		c, err := f.b.BackfillCounts(f.ctx)
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
		if due := f.due(now); !slices.Contains(due, did(2)) {
			t.Errorf("a requeued repo is not due: %v", due)
		}
		f.resync(did(1), rev(1), "")
		if due := f.due(now); slices.Contains(due, did(1)) {
			t.Errorf("a resynced repo is still due: %v", due)
		}
		if c, _ := f.b.BackfillCounts(f.ctx); c.Done != 1 || c.Failed != 0 {
			t.Errorf("BackfillCounts after requeue and resync = %+v, want 1 done, 0 failed", c)
		}
	})

	t.Run("a repo given up is not due nor waiting, is exhausted, and a requeue revives it", func(t *testing.T) {
		f := newFixture(t, open)
		if _, err := f.b.AddBackfillRepos(f.ctx, []syntax.DID{did(1), did(2)}); err != nil {
			t.Fatal(err)
		}
		retry := time.Now().Add(time.Minute).Truncate(time.Microsecond)
		if err := f.b.FailBackfill(f.ctx, did(1), errors.New("gone"), time.Time{}); err != nil {
			t.Fatal(err)
		}
		if err := f.b.FailBackfill(f.ctx, did(2), errors.New("502"), retry); err != nil {
			t.Fatal(err)
		}
		if due := f.due(time.Now().Add(1000 * 24 * time.Hour)); !slices.Equal(due, []syntax.DID{did(2)}) {
			t.Errorf("due in 1000 days = %v, want only the repo not given up", due)
		}
		if w, err := f.b.BackfillWaiting(f.ctx); err != nil || !w.Equal(retry) {
			t.Errorf("BackfillWaiting = %v, %v; want %v (a given-up repo waits for nothing)", w, err, retry)
		}
		if c, err := f.b.BackfillCounts(f.ctx); err != nil || c.Failed != 2 || c.Exhausted != 1 {
			t.Errorf("BackfillCounts = %+v, %v; want 2 failed, 1 exhausted", c, err)
		}
		if fails, err := f.b.BackfillFailures(f.ctx, 10); err != nil || len(fails) != 2 {
			t.Errorf("BackfillFailures = %+v, %v; want both, given up or not", fails, err)
		}
		if err := f.b.RequeueBackfill(f.ctx, []syntax.DID{did(1)}); err != nil {
			t.Fatal(err)
		}
		if due := f.due(time.Now()); !slices.Equal(due, []syntax.DID{did(1)}) {
			t.Errorf("due after the requeue = %v, want the requeued repo", due)
		}
		if c, _ := f.b.BackfillCounts(f.ctx); c.Exhausted != 0 || c.Pending != 1 {
			t.Errorf("BackfillCounts after the requeue = %+v, want 1 pending, none exhausted", c)
		}
	})

	t.Run("an attempt starts only on a repo as listed, and is taken back as it was", func(t *testing.T) {
		f := newFixture(t, open)
		d := did(1)
		if _, err := f.b.AddBackfillRepos(f.ctx, []syntax.DID{d}); err != nil {
			t.Fatal(err)
		}
		listed := f.listed(d)
		running := relay.DueRepo{DID: d, Attempts: 1, State: relay.RepoFailed, LastError: relay.ErrAttemptUnfinished}
		past := time.Now().Add(-time.Minute)
		for i, tc := range []struct {
			name    string
			r       relay.DueRepo
			started bool
			after   relay.DueRepo
		}{
			{"as listed", listed, true, running},
			{"the same listing again (a second dispatcher)", listed, false, running},
		} {
			ok, err := f.b.StartBackfill(f.ctx, tc.r, past)
			if err != nil || ok != tc.started {
				t.Fatalf("%d %s: started %v, %v; want %v", i, tc.name, ok, err, tc.started)
			}
			if got := f.listed(d); got != tc.after {
				t.Fatalf("%d %s: after: %+v, want %+v", i, tc.name, got, tc.after)
			}
		}
		if err := f.b.UndoBackfillStart(f.ctx, listed); err != nil {
			t.Fatal(err)
		}
		if got := f.listed(d); got != listed {
			t.Fatalf("after the undo: %+v, want %+v", got, listed)
		}
		// A failure ends an attempt without counting another.
		if ok, err := f.b.StartBackfill(f.ctx, listed, past); !ok || err != nil {
			t.Fatalf("restart: %v, %v", ok, err)
		}
		if err := f.b.FailBackfill(f.ctx, d, errors.New("boom"), past); err != nil {
			t.Fatal(err)
		}
		failed := f.listed(d)
		if failed.Attempts != 1 || failed.LastError != "boom" || failed.State != relay.RepoFailed {
			t.Fatalf("after the failure: %+v", failed)
		}
		// Given up only as listed: a stale listing gives nothing up.
		if ok, err := f.b.GiveUpBackfill(f.ctx, listed); ok || err != nil {
			t.Fatalf("give up of a stale listing: %v, %v", ok, err)
		}
		if ok, err := f.b.GiveUpBackfill(f.ctx, failed); !ok || err != nil {
			t.Fatalf("give up: %v, %v", ok, err)
		}
		if due := f.due(time.Now().Add(time.Hour)); len(due) != 0 {
			t.Fatalf("due after the give-up: %v", due)
		}
		// Done since it was listed: not started again.
		if err := f.b.RequeueBackfill(f.ctx, []syntax.DID{d}); err != nil {
			t.Fatal(err)
		}
		stale := f.listed(d)
		f.resync(d, rev(3), "")
		if ok, err := f.b.StartBackfill(f.ctx, stale, past); ok || err != nil {
			t.Fatalf("start of a done repo: %v, %v", ok, err)
		}
		if c, _ := f.b.BackfillCounts(f.ctx); c.Done != 1 || c.Failed != 0 {
			t.Errorf("BackfillCounts = %+v, want the repo done", c)
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

func (f *fixture) due(now time.Time) []syntax.DID {
	f.t.Helper()
	rs, err := f.b.BackfillDue(f.ctx, now, 100)
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

// listed is the due listing of the one repo d, failing the test if it is
// not due (within the hour).
func (f *fixture) listed(d syntax.DID) relay.DueRepo {
	f.t.Helper()
	rs, err := f.b.BackfillDue(f.ctx, time.Now().Add(time.Hour), 100)
	if err != nil {
		f.t.Fatalf("BackfillDue: %v", err)
	}
	for _, r := range rs {
		if r.DID == d {
			return r
		}
	}
	f.t.Fatalf("%s is not due: %+v", d, rs)
	return relay.DueRepo{}
}
