package backfill

import (
	"context"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// Store is what a backfill needs of the store: applying a repo snapshot,
// where listing each source got to, and the rows of the queue. The queue's
// rules (states, retry times, exhaustion) are the queue's (queue.go); the
// store keeps what it is told and does atomically what must be: an attempt
// starts only on a repo still as it was listed.
type Store interface {
	// ResyncRepo applies a snapshot of a repo at rev, covering collections,
	// in one transaction (puts, deletes of what the snapshot lacks in those
	// collections, the handle) and marks the repo done. Tracks of a
	// collection the snapshot does not cover are left alone.
	ResyncRepo(ctx context.Context, did syntax.DID, rev, handle string, collections []syntax.NSID, tracks []*relay.Track) (relay.ApplyResult, error)

	// AddBackfillRepos queues repos as pending; known ones keep their
	// state. It returns how many were new.
	AddBackfillRepos(ctx context.Context, dids []syntax.DID) (int, error)
	// BackfillSource and SetBackfillSource keep where listing a source got.
	BackfillSource(ctx context.Context, source string) (cursor string, complete bool, err error)
	SetBackfillSource(ctx context.Context, source, cursor string, complete bool) error

	queueStore
}

// queueStore holds the queue's rows. A retry time of zero is never: the
// repo is given up.
type queueStore interface {
	// RequeueBackfill makes repos pending with no attempts, whatever their
	// state.
	RequeueBackfill(ctx context.Context, dids []syntax.DID) error
	// BackfillDue lists up to limit repos pending, or failed with a retry
	// time at or before now, earliest retry first.
	BackfillDue(ctx context.Context, now time.Time, limit int) ([]relay.DueRepo, error)
	// BackfillWaiting is the earliest retry time of a failed repo not given
	// up; zero when there is none.
	BackfillWaiting(ctx context.Context) (time.Time, error)
	// StartBackfill, only if r is still as listed (state and attempts),
	// counts an attempt and marks it failed with relay.ErrAttemptUnfinished,
	// due at retryAt; it reports whether it did.
	StartBackfill(ctx context.Context, r relay.DueRepo, retryAt time.Time) (bool, error)
	// UndoBackfillStart puts a started repo back as r was, due at once.
	UndoBackfillStart(ctx context.Context, r relay.DueRepo) error
	// FailBackfill records the error a started attempt ended with and the
	// retry time.
	FailBackfill(ctx context.Context, did syntax.DID, cause error, retryAt time.Time) error
	// GiveUpBackfill, only if r is still as listed, gives a failed repo up.
	GiveUpBackfill(ctx context.Context, r relay.DueRepo) (bool, error)
	// BackfillCounts counts repos by state (Exhausted: given up).
	BackfillCounts(ctx context.Context) (relay.BackfillCounts, error)
	// BackfillFailures lists up to limit failed repos, by DID.
	BackfillFailures(ctx context.Context, limit int) ([]relay.FailedRepo, error)
}
