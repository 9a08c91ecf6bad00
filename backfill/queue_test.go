package backfill

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

func queueDID(i int) syntax.DID {
	return syntax.DID("did:plc:queue" + string(rune('a'+i)) + "aaaaaaaaaaaaaaaaaa")
}

// failedTimes queues did and fails it k times through the store alone, as
// an earlier run (with any limit) would have left it: failed, due now.
func failedTimes(t *testing.T, st *sqlite.Store, did syntax.DID, k int) relay.DueRepo {
	t.Helper()
	ctx := context.Background()
	if _, err := st.AddBackfillRepos(ctx, []syntax.DID{did}); err != nil {
		t.Fatal(err)
	}
	for range k {
		r := listedRepo(t, st, did)
		if ok, err := st.StartBackfill(ctx, r, time.Now()); !ok || err != nil {
			t.Fatalf("start: %v, %v", ok, err)
		}
		if err := st.FailBackfill(ctx, did, errors.New("502"), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return listedRepo(t, st, did)
}

// listedRepo is did as the store lists it, whatever its retry time.
func listedRepo(t *testing.T, st *sqlite.Store, did syntax.DID) relay.DueRepo {
	t.Helper()
	rs, err := st.BackfillDue(context.Background(), time.Now().Add(24*time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.DID == did {
			return r
		}
	}
	t.Fatalf("%s not listed: %+v", did, rs)
	return relay.DueRepo{}
}

// TestQueueRetry: an attempt counted at its start is due again after the
// backoff (base * 2^(attempts-1), jittered down to half, capped at 10m),
// whether it then fails or the process dies during it; the attempt that
// uses the last one gives the repo up.
func TestQueueRetry(t *testing.T) {
	const maxAttempts = 5
	for _, tc := range []struct {
		name   string
		before int // attempts already made
		base   time.Duration
		delay  time.Duration // full backoff after this attempt; 0: given up
	}{
		{"first attempt", 0, time.Second, time.Second},
		{"second attempt doubles", 1, time.Second, 2 * time.Second},
		{"fourth attempt", 3, time.Second, 8 * time.Second},
		{"capped", 3, 5 * time.Minute, 10 * time.Minute},
		{"the last attempt gives up", maxAttempts - 1, time.Second, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := openStore(t)
			q := &queue{st: st, maxAttempts: maxAttempts, retryBase: tc.base}
			r := failedTimes(t, st, queueDID(0), tc.before)
			inBackoff := func(what string, at time.Time, from time.Time) {
				t.Helper()
				if tc.delay == 0 {
					if !at.IsZero() {
						t.Errorf("%s: retry at %v, want never", what, at)
					}
					return
				}
				lo, hi := from.Add(tc.delay/2), time.Now().Add(tc.delay)
				if at.Before(lo.Truncate(time.Microsecond)) || at.After(hi) {
					t.Errorf("%s: retry in %v, want within [%v, %v]", what, at.Sub(from), tc.delay/2, tc.delay)
				}
			}

			// Started: due after the backoff should the process stop now.
			from := time.Now()
			if err := q.start(ctx, r); err != nil {
				t.Fatal(err)
			}
			next, err := q.next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			inBackoff("after the start", next, from)
			if got, err := st.BackfillFailures(ctx, 10); err != nil || len(got) != 1 ||
				got[0].Attempts != tc.before+1 || got[0].Error != relay.ErrAttemptUnfinished {
				t.Errorf("started: %+v, %v; want attempt %d counted, unfinished", got, err, tc.before+1)
			}

			from = time.Now()
			at, err := q.fail(ctx, r, errors.New("getRepo: 502"))
			if err != nil {
				t.Fatal(err)
			}
			inBackoff("fail's answer", at, from)
			next, err = q.next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			inBackoff("after the failure", next, from)
			if due, err := q.due(ctx, 10); err != nil || len(due) != 0 {
				t.Errorf("due at once after a failure: %+v, %v", due, err)
			}
			c, err := q.counts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if exhausted := c.Exhausted == 1; exhausted != (tc.delay == 0) || c.Failed != 1 {
				t.Errorf("counts = %+v, want 1 failed, exhausted %v", c, tc.delay == 0)
			}
		})
	}
}

// TestQueueDue: what the queue lists. Repos failed as often as the limit
// (a run with a lower limit, rows from before repos were given up) are
// given up rather than listed, however many come first; a requeue by name
// brings any repo back with fresh attempts.
func TestQueueDue(t *testing.T) {
	const maxAttempts = 3
	for _, tc := range []struct {
		name     string
		attempts []int // per repo queueDID(i), failed that often (0: pending)
		requeue  []int
		want     []int // due, in DID order
		given    int   // exhausted after listing
	}{
		{"pending and failing repos are due", []int{0, 1, 2}, nil, []int{0, 1, 2}, 0},
		{"repos at the limit are given up", []int{3, 4, 1}, nil, []int{2}, 2},
		// The due repo failed last, so it is listed last.
		{"a page of only given-up repos does not end the listing", []int{3, 3, 3, 3, 1}, nil, []int{4}, 4},
		{"nothing left", []int{5}, nil, nil, 1},
		{"a requeue revives a repo at the limit", []int{3, 3}, []int{1}, []int{1}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := openStore(t)
			q := &queue{st: st, maxAttempts: maxAttempts, retryBase: time.Millisecond}
			for i, k := range tc.attempts {
				failedTimes(t, st, queueDID(i), k)
			}
			var named []syntax.DID
			for _, i := range tc.requeue {
				named = append(named, queueDID(i))
			}
			if err := q.requeue(ctx, named); err != nil {
				t.Fatal(err)
			}
			// A limit of 2 pages through the repos given up.
			rs, err := q.due(ctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			var got, want []syntax.DID
			for _, r := range rs {
				got = append(got, r.DID)
			}
			for _, i := range tc.want {
				want = append(want, queueDID(i))
			}
			slices.Sort(got)
			if len(want) > 2 {
				want = want[:2] // one page
			}
			if !slices.Equal(got, want) {
				t.Errorf("due = %v, want %v", got, want)
			}
			c, err := q.counts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if c.Exhausted != tc.given {
				t.Errorf("exhausted = %d, want %d (%+v)", c.Exhausted, tc.given, c)
			}
			if next, err := q.next(ctx); err != nil || !next.IsZero() && len(tc.want) == 0 {
				t.Errorf("next retry = %v, %v; want none when nothing is left", next, err)
			}
		})
	}
}

// TestQueueStartUndo: a start is refused on a repo that changed since it
// was listed, and a shutdown's undo leaves the repo as listed, due at once.
func TestQueueStartUndo(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	q := &queue{st: st, maxAttempts: 3, retryBase: time.Hour}
	r := failedTimes(t, st, queueDID(0), 1)
	if err := q.start(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := q.start(ctx, r); !errors.Is(err, errNotDue) {
		t.Fatalf("second start of one listing: %v, want errNotDue", err)
	}
	if due, _ := q.due(ctx, 10); len(due) != 0 {
		t.Fatalf("due while started: %+v", due)
	}
	if err := q.undo(ctx, r); err != nil {
		t.Fatal(err)
	}
	due, err := q.due(ctx, 10)
	if err != nil || len(due) != 1 || due[0] != r {
		t.Fatalf("due after the undo = %+v, %v; want %+v", due, err, r)
	}
}
