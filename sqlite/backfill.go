package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// never is the next_attempt_at of a repo given up: no retry time comes.
const never = math.MaxInt64

// retryMicros stores a retry time; the zero time is never.
func retryMicros(t time.Time) int64 {
	if t.IsZero() {
		return never
	}
	return t.UnixMicro()
}

// AddBackfillRepos records repos to backfill; ones already known keep their
// state. It returns how many were new.
func (s *Store) AddBackfillRepos(ctx context.Context, dids []syntax.DID) (int, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("beginning backfill insert: %w", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO backfill_repos (did, updated_at) VALUES (?, ?) ON CONFLICT (did) DO NOTHING`)
	if err != nil {
		return 0, fmt.Errorf("preparing backfill insert: %w", err)
	}
	now := time.Now().UnixMicro()
	added := 0
	for _, d := range dids {
		res, err := st.ExecContext(ctx, d.String(), now)
		if err != nil {
			return 0, fmt.Errorf("adding backfill repo %s: %w", d, err)
		}
		n, _ := res.RowsAffected()
		added += int(n)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("committing backfill insert: %w", err)
	}
	return added, nil
}

// BackfillSource returns where listing a source got to.
func (s *Store) BackfillSource(ctx context.Context, source string) (cursor string, complete bool, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT cursor, complete FROM backfill_sources WHERE source = ?`, source).Scan(&cursor, &complete)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("reading backfill source %s: %w", source, err)
	}
	return cursor, complete, nil
}

// SetBackfillSource saves where listing a source got to.
func (s *Store) SetBackfillSource(ctx context.Context, source, cursor string, complete bool) error {
	_, err := s.w.ExecContext(ctx, `
INSERT INTO backfill_sources (source, cursor, complete) VALUES (?, ?, ?)
ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor, complete = excluded.complete`, source, cursor, complete)
	if err != nil {
		return fmt.Errorf("saving backfill source %s: %w", source, err)
	}
	return nil
}

// BackfillDue returns up to limit repos to work on now: pending ones, and
// failed ones whose retry time has come (a repo given up has none).
func (s *Store) BackfillDue(ctx context.Context, now time.Time, limit int) ([]relay.DueRepo, error) {
	rows, err := s.r.QueryContext(ctx, `
SELECT did, attempts, state, last_error FROM backfill_repos
WHERE state = ? OR (state = ? AND next_attempt_at <= ?)
ORDER BY next_attempt_at, did LIMIT ?`, relay.RepoPending, relay.RepoFailed, now.UnixMicro(), limit)
	if err != nil {
		return nil, fmt.Errorf("listing due backfill repos: %w", err)
	}
	defer rows.Close()
	var out []relay.DueRepo
	for rows.Next() {
		var (
			d string
			r relay.DueRepo
		)
		if err := rows.Scan(&d, &r.Attempts, &r.State, &r.LastError); err != nil {
			return nil, fmt.Errorf("reading due backfill repo: %w", err)
		}
		r.DID = syntax.DID(d)
		out = append(out, r)
	}
	return out, rows.Err()
}

// RequeueBackfill marks repos pending with a fresh set of attempts, whatever
// their state (given up included): an operator asked for them by name.
func (s *Store) RequeueBackfill(ctx context.Context, dids []syntax.DID) error {
	for _, d := range dids {
		if _, err := s.w.ExecContext(ctx, `
INSERT INTO backfill_repos (did, updated_at) VALUES (?, ?)
ON CONFLICT (did) DO UPDATE SET state = ?, attempts = 0, next_attempt_at = 0, updated_at = excluded.updated_at`,
			d.String(), time.Now().UnixMicro(), relay.RepoPending); err != nil {
			return fmt.Errorf("queueing %s for backfill: %w", d, err)
		}
	}
	return nil
}

// BackfillWaiting returns the earliest retry time among failed repos not
// given up (zero time: none).
func (s *Store) BackfillWaiting(ctx context.Context) (time.Time, error) {
	var at sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT MIN(next_attempt_at) FROM backfill_repos WHERE state = ? AND next_attempt_at < ?`,
		relay.RepoFailed, never).Scan(&at)
	if err != nil {
		return time.Time{}, fmt.Errorf("reading backfill retry times: %w", err)
	}
	if !at.Valid {
		return time.Time{}, nil
	}
	return time.UnixMicro(at.Int64), nil
}

// StartBackfill counts an attempt at a repo before it is made, and marks it
// failed with relay.ErrAttemptUnfinished, due again at retryAt (zero: never,
// it is given up): a repo whose fetch kills the process then uses up its
// attempts like any other failure, not fetched again at every restart.
// FailBackfill or ResyncRepo records how the attempt ended;
// UndoBackfillStart takes it back.
//
// It starts the attempt only if the repo is still as BackfillDue listed it
// (same state and attempts), and reports whether it did: a repo finished or
// started by someone else since (a worker, another process) is left alone.
func (s *Store) StartBackfill(ctx context.Context, r relay.DueRepo, retryAt time.Time) (bool, error) {
	res, err := s.w.ExecContext(ctx, `
UPDATE backfill_repos SET state = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = ?, updated_at = ?
WHERE did = ? AND state = ? AND attempts = ?`,
		relay.RepoFailed, relay.ErrAttemptUnfinished, retryMicros(retryAt), time.Now().UnixMicro(), r.DID.String(), r.State, r.Attempts)
	if err != nil {
		return false, fmt.Errorf("recording backfill attempt of %s: %w", r.DID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("recording backfill attempt of %s: %w", r.DID, err)
	}
	return n == 1, nil
}

// UndoBackfillStart puts a repo back as it was before StartBackfill (due at
// once): the attempt was interrupted by a shutdown, not failed.
func (s *Store) UndoBackfillStart(ctx context.Context, r relay.DueRepo) error {
	_, err := s.w.ExecContext(ctx, `
UPDATE backfill_repos SET state = ?, attempts = ?, last_error = ?, next_attempt_at = 0, updated_at = ?
WHERE did = ? AND state = ? AND last_error = ?`,
		r.State, r.Attempts, r.LastError, time.Now().UnixMicro(), r.DID.String(), relay.RepoFailed, relay.ErrAttemptUnfinished)
	if err != nil {
		return fmt.Errorf("undoing backfill attempt of %s: %w", r.DID, err)
	}
	return nil
}

// FailBackfill records how a failed attempt ended (StartBackfill counted
// it) and when to try again (zero: never, it is given up).
func (s *Store) FailBackfill(ctx context.Context, did syntax.DID, cause error, retryAt time.Time) error {
	_, err := s.w.ExecContext(ctx, `
UPDATE backfill_repos SET state = ?, last_error = ?, next_attempt_at = ?, updated_at = ?
WHERE did = ?`, relay.RepoFailed, cause.Error(), retryMicros(retryAt), time.Now().UnixMicro(), did.String())
	if err != nil {
		return fmt.Errorf("recording backfill failure of %s: %w", did, err)
	}
	return nil
}

// GiveUpBackfill gives up a failed repo without another attempt (its
// attempts were used under a lower limit, or before limits were stored), if
// it is still as BackfillDue listed it, and reports whether it did.
func (s *Store) GiveUpBackfill(ctx context.Context, r relay.DueRepo) (bool, error) {
	res, err := s.w.ExecContext(ctx, `
UPDATE backfill_repos SET next_attempt_at = ?, updated_at = ?
WHERE did = ? AND state = ? AND attempts = ?`,
		never, time.Now().UnixMicro(), r.DID.String(), relay.RepoFailed, r.Attempts)
	if err != nil {
		return false, fmt.Errorf("giving up backfill of %s: %w", r.DID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("giving up backfill of %s: %w", r.DID, err)
	}
	return n == 1, nil
}

// BackfillCounts counts repos by state.
func (s *Store) BackfillCounts(ctx context.Context) (relay.BackfillCounts, error) {
	var c relay.BackfillCounts
	err := s.r.QueryRowContext(ctx, `
SELECT
	COALESCE(SUM(state = ?), 0),
	COALESCE(SUM(state = ?), 0),
	COALESCE(SUM(state = ?), 0),
	COALESCE(SUM(state = ? AND next_attempt_at = ?), 0),
	COALESCE(SUM(records), 0)
FROM backfill_repos`, relay.RepoPending, relay.RepoDone, relay.RepoFailed, relay.RepoFailed, never).
		Scan(&c.Pending, &c.Done, &c.Failed, &c.Exhausted, &c.Records)
	if err != nil {
		return c, fmt.Errorf("counting backfill repos: %w", err)
	}
	return c, nil
}

// BackfillFailures lists up to limit failed repos, given up or not.
func (s *Store) BackfillFailures(ctx context.Context, limit int) ([]relay.FailedRepo, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT did, attempts, last_error FROM backfill_repos WHERE state = ? ORDER BY did LIMIT ?`,
		relay.RepoFailed, limit)
	if err != nil {
		return nil, fmt.Errorf("listing backfill failures: %w", err)
	}
	defer rows.Close()
	var out []relay.FailedRepo
	for rows.Next() {
		var f relay.FailedRepo
		var d string
		if err := rows.Scan(&d, &f.Attempts, &f.Error); err != nil {
			return nil, fmt.Errorf("reading backfill failure: %w", err)
		}
		f.DID = syntax.DID(d)
		out = append(out, f)
	}
	return out, rows.Err()
}

// ResyncRepo applies a snapshot of one repo at rev, covering the given
// collections: every track in it is put (the rev check keeps anything newer
// the live stream already wrote), every track the store holds for the repo
// in those collections that is not in the snapshot is deleted (it was
// deleted while we were not looking), and the repo is marked done, all in
// one transaction. Tracks of other collections are left alone: a snapshot
// says nothing of what it did not read. A non-empty handle is stored as the
// account's. The store does not validate collections (validate does, before
// a track gets here), so any NSID is a collection to it; a snapshot covering
// none, or holding a track of a collection it does not cover, is a caller's
// error.
func (s *Store) ResyncRepo(ctx context.Context, did syntax.DID, rev, handle string, collections []syntax.NSID, tracks []*relay.Track) (relay.ApplyResult, error) {
	var res relay.ApplyResult
	if len(collections) == 0 {
		return res, fmt.Errorf("resync of %s covers no collection", did)
	}
	covered := make(map[syntax.NSID]bool, len(collections))
	for _, c := range collections {
		if c == "" {
			return res, fmt.Errorf("resync of %s covers an empty collection", did)
		}
		covered[c] = true
	}
	for _, t := range tracks {
		if !covered[t.Collection] {
			return res, fmt.Errorf("resync of %s holds %s, of a collection it does not cover", did, t.URI())
		}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("beginning resync of %s: %w", did, err)
	}
	defer tx.Rollback()
	// recent: a first track of an account deactivated earlier is hidden, as
	// on the live path.
	a := applier{tx: tx, now: time.Now().UnixMicro(), stmts: map[string]*sql.Stmt{}, recent: s.recent}

	// Only a handle: an empty one means the snapshot's handle did not
	// verify, not (as on the live path) that the DID document changed, so
	// it must not reset the resolver's lookups and their backoff.
	if handle != "" {
		if _, err := a.identity(ctx, &relay.Event{Kind: relay.IdentityUpdate, DID: did, Handle: handle}); err != nil {
			return res, err
		}
	}
	type key struct{ collection, rkey string }
	// What the store shows now, so an unchanged record (same CID) only has
	// its rev moved on: a resync of an unchanged repo rewrites nothing and
	// sends nothing to the search index.
	shown := map[key]string{}
	cur, err := tx.QueryContext(ctx, `SELECT collection, rkey, cid FROM tracks WHERE did = ? AND deleted = 0`, did.String())
	if err != nil {
		return res, fmt.Errorf("listing stored tracks of %s: %w", did, err)
	}
	for cur.Next() {
		var k key
		var cid string
		if err := cur.Scan(&k.collection, &k.rkey, &cid); err != nil {
			cur.Close()
			return res, fmt.Errorf("reading stored track of %s: %w", did, err)
		}
		shown[k] = cid
	}
	cur.Close()
	if err := cur.Err(); err != nil {
		return res, fmt.Errorf("listing stored tracks of %s: %w", did, err)
	}

	inSnapshot := make(map[key]bool, len(tracks))
	for _, t := range tracks {
		k := key{t.Collection.String(), t.RKey.String()}
		inSnapshot[k] = true
		if cid, ok := shown[k]; ok && cid == t.CID {
			if _, err := a.exec(ctx, `UPDATE tracks SET rev = ? WHERE did = ? AND collection = ? AND rkey = ? AND rev < ?`,
				t.Rev, did.String(), k.collection, k.rkey, t.Rev); err != nil {
				return res, fmt.Errorf("moving rev of %s: %w", t.URI(), err)
			}
			count(&res, false)
			continue
		}
		changed, err := a.putTrack(ctx, t)
		if err != nil {
			return res, err
		}
		count(&res, changed)
	}
	rows, err := tx.QueryContext(ctx, `SELECT collection, rkey FROM tracks WHERE did = ? AND deleted = 0 AND rev < ?`, did.String(), rev)
	if err != nil {
		return res, fmt.Errorf("listing stored tracks of %s: %w", did, err)
	}
	var gone []key
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.collection, &k.rkey); err != nil {
			rows.Close()
			return res, fmt.Errorf("reading stored track of %s: %w", did, err)
		}
		if covered[syntax.NSID(k.collection)] && !inSnapshot[k] {
			gone = append(gone, k)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, fmt.Errorf("listing stored tracks of %s: %w", did, err)
	}
	for _, k := range gone {
		changed, err := a.deleteTrack(ctx, &relay.Event{Kind: relay.TrackDelete, DID: did,
			Collection: syntax.NSID(k.collection), RKey: syntax.RecordKey(k.rkey), Rev: rev})
		if err != nil {
			return res, err
		}
		count(&res, changed)
	}
	if _, err := tx.ExecContext(ctx, `
INSERT INTO backfill_repos (did, state, records, rev, last_error, updated_at) VALUES (?, ?, ?, ?, '', ?)
ON CONFLICT (did) DO UPDATE SET state = excluded.state, records = excluded.records, rev = excluded.rev, last_error = '', updated_at = excluded.updated_at`,
		did.String(), relay.RepoDone, len(tracks), rev, a.now); err != nil {
		return res, fmt.Errorf("marking %s backfilled: %w", did, err)
	}
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("committing resync of %s: %w", did, err)
	}
	a.committed(s.recent)
	return res, nil
}
