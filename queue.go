package relay

import "github.com/bluesky-social/indigo/atproto/syntax"

// RepoState is where a repo stands in the backfill queue.
type RepoState string

// The backfill queue's states. A failed repo is retried at its next attempt
// time, or never again once it is given up (its attempts used).
const (
	RepoPending RepoState = "pending" // listed, not tried since
	RepoDone    RepoState = "done"    // a snapshot of it applied
	RepoFailed  RepoState = "failed"  // its last attempt failed or did not finish
)

// ErrAttemptUnfinished is the error a repo keeps from the moment its
// attempt starts until it ends: if the process stops during the attempt
// (killed, out of memory), it stays as the repo's last error.
const ErrAttemptUnfinished = "attempt did not finish: the process stopped during it"

// DueRepo is a repo to backfill now, as the queue listed it: the attempts
// it already had and the state it was in, so that starting it can check it
// is still so, and an interrupted attempt can put it back.
type DueRepo struct {
	DID       syntax.DID
	Attempts  int
	State     RepoState
	LastError string
}

// FailedRepo is a repo whose last backfill attempt failed, with its error.
type FailedRepo struct {
	DID      syntax.DID
	Attempts int
	Error    string
}

// BackfillCounts counts the backfill queue's repos by state.
type BackfillCounts struct {
	Pending, Done, Failed int
	// Exhausted are the failed repos given up (no attempt left); they are
	// counted in Failed too.
	Exhausted int
	// Records is the tracks in the snapshots applied.
	Records int64
}
