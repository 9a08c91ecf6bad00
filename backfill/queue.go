package backfill

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// maxRetryDelay caps the backoff.
const maxRetryDelay = 10 * time.Minute

// queue is the backfill's queue of repos. It owns the rules: a repo is
// pending until tried, done once a snapshot is applied (ResyncRepo), failed
// otherwise; a failed repo comes due again after a backoff that doubles per
// attempt, until maxAttempts are used and it is given up. An attempt is
// counted before its fetch, so a repo that kills the process uses up its
// attempts too; a shutdown takes it back.
type queue struct {
	st          queueStore
	maxAttempts int
	retryBase   time.Duration
}

// requeue queues repos named by the operator afresh, done or given up.
func (q *queue) requeue(ctx context.Context, dids []syntax.DID) error {
	if len(dids) == 0 {
		return nil
	}
	return q.st.RequeueBackfill(ctx, dids)
}

// due lists up to limit repos to attempt now. A failed repo listed with its
// attempts used (a run with a lower limit before, or a row from before the
// queue gave repos up) is given up here instead.
func (q *queue) due(ctx context.Context, limit int) ([]relay.DueRepo, error) {
	for {
		rs, err := q.st.BackfillDue(ctx, time.Now(), limit)
		if err != nil {
			return nil, err
		}
		out, gaveUp := rs[:0], 0
		for _, r := range rs {
			if r.State != relay.RepoFailed || r.Attempts < q.maxAttempts {
				out = append(out, r)
				continue
			}
			if _, err := q.st.GiveUpBackfill(ctx, r); err != nil {
				return nil, err
			}
			gaveUp++
		}
		// A page of only given-up repos says nothing of the next one.
		if len(out) > 0 || gaveUp == 0 {
			return out, nil
		}
	}
}

// errNotDue: the repo changed between listing and starting (a worker or
// another process has it or finished it); not an attempt, not counted.
var errNotDue = errors.New("repo no longer due")

// start counts an attempt at r before it is made, due again after the
// backoff should the process stop during it. It returns errNotDue if r
// changed since it was listed.
func (q *queue) start(ctx context.Context, r relay.DueRepo) error {
	started, err := q.st.StartBackfill(ctx, r, q.retryAt(r.Attempts+1))
	if err != nil {
		return err
	}
	if !started {
		return errNotDue
	}
	return nil
}

// undo takes back the attempt start counted: a shutdown interrupted it.
func (q *queue) undo(ctx context.Context, r relay.DueRepo) error {
	return q.st.UndoBackfillStart(ctx, r)
}

// fail records that the attempt start counted failed with cause, and
// returns when the repo is tried again (zero: given up).
func (q *queue) fail(ctx context.Context, r relay.DueRepo, cause error) (time.Time, error) {
	at := q.retryAt(r.Attempts + 1)
	return at, q.st.FailBackfill(ctx, r.DID, cause, at)
}

// retryAt is when a repo that has had attempts tries is due again: zero
// (never) once maxAttempts are used.
func (q *queue) retryAt(attempts int) time.Time {
	if attempts >= q.maxAttempts {
		return time.Time{}
	}
	return time.Now().Add(q.retryDelay(attempts))
}

// retryDelay is exponential backoff with jitter after attempts tries:
// between half and all of base * 2^(attempts-1), capped.
func (q *queue) retryDelay(attempts int) time.Duration {
	delay := min(q.retryBase<<min(max(attempts-1, 0), 16), maxRetryDelay)
	return delay/2 + rand.N(delay/2+1)
}

// next is the earliest retry time of a repo not given up; zero: none.
func (q *queue) next(ctx context.Context) (time.Time, error) {
	return q.st.BackfillWaiting(ctx)
}

func (q *queue) counts(ctx context.Context) (relay.BackfillCounts, error) {
	return q.st.BackfillCounts(ctx)
}

// failures lists the repos still failing, for the report.
func (q *queue) failures(ctx context.Context) ([]relay.FailedRepo, error) {
	return q.st.BackfillFailures(ctx, 1000)
}
