package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"
)

// TestStartBackfill: an attempt is counted when it starts, only on a repo
// still as it was listed, and taken back as it was by UndoBackfillStart.
func TestStartBackfill(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	const did = syntax.DID("did:plc:aaaaaaaaaaaaaaaaaaaaaaaa")
	if _, err := s.AddBackfillRepos(ctx, []syntax.DID{did}); err != nil {
		t.Fatal(err)
	}
	list := func() DueRepo {
		t.Helper()
		due, err := s.BackfillDue(ctx, time.Now().Add(time.Hour), 10, 10)
		if err != nil || len(due) != 1 {
			t.Fatalf("due = %+v, %v", due, err)
		}
		return due[0]
	}
	listed := list()
	for i, tc := range []struct {
		r       DueRepo
		started bool
		after   DueRepo // state after the call
	}{
		{listed, true, DueRepo{DID: did, Attempts: 1, State: BackfillFailed, LastError: ErrAttemptUnfinished}},
		// The same listing again (a second dispatcher, a stale list): no.
		{listed, false, DueRepo{DID: did, Attempts: 1, State: BackfillFailed, LastError: ErrAttemptUnfinished}},
	} {
		ok, err := s.StartBackfill(ctx, tc.r, time.Now())
		if err != nil || ok != tc.started {
			t.Fatalf("%d: started %v, %v; want %v", i, ok, err, tc.started)
		}
		if got := list(); got != tc.after {
			t.Fatalf("%d: after: %+v, want %+v", i, got, tc.after)
		}
	}
	if err := s.UndoBackfillStart(ctx, listed); err != nil {
		t.Fatal(err)
	}
	if got := list(); got != listed {
		t.Fatalf("after the undo: %+v, want %+v", got, listed)
	}
	// A failure ends an attempt without counting another.
	if ok, err := s.StartBackfill(ctx, listed, time.Now()); !ok || err != nil {
		t.Fatalf("restart: %v, %v", ok, err)
	}
	if err := s.FailBackfill(ctx, did, errors.New("boom"), time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := list(); got.Attempts != 1 || got.LastError != "boom" {
		t.Fatalf("after the failure: %+v", got)
	}
	// Done since it was listed: not started again.
	stale := list()
	if _, err := s.ResyncRepo(ctx, did, "3kaaaaaaaaaaa", "", nil); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.StartBackfill(ctx, stale, time.Now()); ok || err != nil {
		t.Fatalf("start of a done repo: %v, %v", ok, err)
	}
}
