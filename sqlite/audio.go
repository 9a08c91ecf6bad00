package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bluesky-social/indigo/atproto/syntax"

	"github.com/relaymusic/relay"
)

// The audio checker's two cursors (state table). keyAudioSweep is where
// the sweep of the tracks already stored when the checker first ran got
// to: the rowid of the last track swept in key order (a track row is never
// removed: a delete leaves a tombstone); 0 before it starts, -1 once done.
// keyAudioOutbox is the outbox seq followed: every track written after the
// first sync comes through the outbox (audiocheck's Prunable holds back
// the search index's pruning until it is read).
//
// The sweep goes in key order, the order of audio_checks' primary key, so
// a batch appends to its b-tree: in rowid order (arrival order) each batch
// of 2000 touched some 2000 leaf pages, and 1M tracks took 71 s instead of
// a few.
const (
	keyAudioSweep  = "audio.sweep"
	keyAudioOutbox = "audio.outbox"
)

// SyncAudioChecks brings the audio checker's queue in step with the tracks,
// by at most limit tracks swept and limit outbox entries: a new track gets
// a row, due at now; a changed audio_url resets its row (unchecked, due at
// now) and, from the outbox, shows the track again if its old audio was
// missing (appended to the outbox in the same transaction); a deleted
// track loses its row. It reports whether more is left to do. The first
// call starts the outbox cursor at its head and sweeps every track there
// is; should the outbox be pruned past the cursor (the checker was off
// while serve ran), the sweep starts again.
func (s *Store) SyncAudioChecks(ctx context.Context, now time.Time, limit int) (more bool, err error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("starting audio sync: %w", err)
	}
	defer tx.Rollback()
	var sweep, outCur, floor, head int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE((SELECT value FROM state WHERE key = ?), 0),
	COALESCE((SELECT value FROM state WHERE key = ?), -1),
	COALESCE((SELECT MIN(seq) FROM outbox), 0),
	COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0)`,
		keyAudioSweep, keyAudioOutbox).Scan(&sweep, &outCur, &floor, &head); err != nil {
		return false, fmt.Errorf("reading audio cursors: %w", err)
	}
	switch {
	case outCur < 0:
		outCur = head
	case floor > outCur+1:
		// Entries pruned unread: sweep everything again.
		outCur, sweep = floor-1, 0
	}
	nowUS := now.UnixMicro()

	const queue = `
INSERT INTO audio_checks (did, collection, rkey, audio_url, next_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (did, collection, rkey) DO UPDATE SET
	audio_url = excluded.audio_url, status = '', misses = 0, checked_at = 0, next_at = excluded.next_at
WHERE audio_checks.audio_url != excluded.audio_url`
	if sweep >= 0 {
		q := `SELECT rowid, did, collection, rkey, audio_url, deleted FROM tracks`
		args := []any{}
		if sweep > 0 {
			q += ` WHERE (did, collection, rkey) > (SELECT did, collection, rkey FROM tracks WHERE rowid = ?)`
			args = append(args, sweep)
		}
		q += ` ORDER BY did, collection, rkey LIMIT ?`
		args = append(args, limit)
		type row struct {
			did, coll, rkey, url string
		}
		var batch []row
		n := 0
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return false, fmt.Errorf("sweeping tracks for audio: %w", err)
		}
		for rows.Next() {
			var (
				r       row
				deleted bool
			)
			if err := rows.Scan(&sweep, &r.did, &r.coll, &r.rkey, &r.url, &deleted); err != nil {
				rows.Close()
				return false, fmt.Errorf("sweeping tracks for audio: %w", err)
			}
			n++
			if !deleted && r.url != "" {
				batch = append(batch, r)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return false, fmt.Errorf("sweeping tracks for audio: %w", err)
		}
		if n < limit {
			sweep = -1
		}
		st, err := tx.PrepareContext(ctx, queue)
		if err != nil {
			return false, fmt.Errorf("preparing audio queue: %w", err)
		}
		defer st.Close()
		for _, r := range batch {
			if _, err := st.ExecContext(ctx, r.did, r.coll, r.rkey, r.url, nowUS); err != nil {
				return false, fmt.Errorf("queueing audio of a stored track: %w", err)
			}
		}
	}

	outHi := min(outCur+int64(limit), head)
	if outHi > outCur {
		const inRange = `FROM outbox o
JOIN tracks t ON t.did = o.did AND t.collection = o.collection AND t.rkey = o.rkey
LEFT JOIN audio_checks c ON c.did = t.did AND c.collection = t.collection AND c.rkey = t.rkey
WHERE o.seq > ? AND o.seq <= ?`
		// A track hidden for its old audio whose URL changed (or that was
		// deleted and made again) is shown until its new audio is checked.
		const reset = ` AND t.deleted = 0 AND t.audio_missing = 1 AND (c.did IS NULL OR c.audio_url != t.audio_url)`
		for _, q := range []struct{ what, sql string }{
			{"deleted tracks' audio", `DELETE FROM audio_checks WHERE (did, collection, rkey) IN (
SELECT t.did, t.collection, t.rkey ` + inRange + ` AND t.deleted = 1)`},
			{"changed audio to the outbox", `INSERT INTO outbox (did, collection, rkey)
SELECT DISTINCT t.did, t.collection, t.rkey ` + inRange + reset},
			{"changed audio shown", `UPDATE tracks SET audio_missing = 0 WHERE audio_missing = 1 AND (did, collection, rkey) IN (
SELECT t.did, t.collection, t.rkey ` + inRange + reset + `)`},
		} {
			if _, err := tx.ExecContext(ctx, q.sql, outCur, outHi); err != nil {
				return false, fmt.Errorf("syncing %s: %w", q.what, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `
INSERT INTO audio_checks (did, collection, rkey, audio_url, next_at)
SELECT t.did, t.collection, t.rkey, t.audio_url, ? `+inRange+` AND t.deleted = 0 AND t.audio_url != ''
ON CONFLICT (did, collection, rkey) DO UPDATE SET
	audio_url = excluded.audio_url, status = '', misses = 0, checked_at = 0, next_at = excluded.next_at
WHERE audio_checks.audio_url != excluded.audio_url`, nowUS, outCur, outHi); err != nil {
			return false, fmt.Errorf("queueing changed tracks' audio: %w", err)
		}
	}
	for _, kv := range []struct {
		key string
		v   int64
	}{{keyAudioSweep, sweep}, {keyAudioOutbox, max(outHi, outCur)}} {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
			kv.key, kv.v); err != nil {
			return false, fmt.Errorf("saving %s: %w", kv.key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("committing audio sync: %w", err)
	}
	return sweep >= 0 || outHi < head, nil
}

// AudioOutboxCursor is the outbox seq the audio checker has followed; -1
// before its first sync. Pruning past it would lose changed URLs.
func (s *Store) AudioOutboxCursor(ctx context.Context) (int64, error) {
	var v int64
	err := s.r.QueryRowContext(ctx, `SELECT value FROM state WHERE key = ?`, keyAudioOutbox).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return -1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading %s: %w", keyAudioOutbox, err)
	}
	return v, nil
}

// DueAudioChecks returns up to limit checks due at now, the longest due
// first, each with the track's current audio URL (a URL changed since the
// row was written comes with its state reset).
func (s *Store) DueAudioChecks(ctx context.Context, now time.Time, limit int) ([]relay.AudioCheck, error) {
	rows, err := s.r.QueryContext(ctx, `
SELECT c.did, c.collection, c.rkey, t.audio_url, c.audio_url, c.status, c.misses, c.checked_at, c.next_at
FROM audio_checks c
JOIN tracks t ON t.did = c.did AND t.collection = c.collection AND t.rkey = c.rkey
WHERE c.next_at <= ? AND t.deleted = 0 AND t.audio_url != ''
ORDER BY c.next_at LIMIT ?`, now.UnixMicro(), limit)
	if err != nil {
		return nil, fmt.Errorf("listing due audio checks: %w", err)
	}
	defer rows.Close()
	var out []relay.AudioCheck
	for rows.Next() {
		var (
			c                     relay.AudioCheck
			did, coll, rkey, last string
			checked, next         int64
		)
		if err := rows.Scan(&did, &coll, &rkey, &c.AudioURL, &last, &c.Status, &c.Misses, &checked, &next); err != nil {
			return nil, fmt.Errorf("reading due audio check: %w", err)
		}
		// Stored values were parsed before they were written.
		c.DID, c.Collection, c.RKey = syntax.DID(did), syntax.NSID(coll), syntax.RecordKey(rkey)
		c.NextAt = microTime(next)
		if last == c.AudioURL {
			c.CheckedAt = microTime(checked)
		} else {
			c.Status, c.Misses = relay.AudioUnchecked, 0
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing due audio checks: %w", err)
	}
	return out, nil
}

// SaveAudioCheck stores a check's outcome, if the track still has the URL
// checked (a change since wins; it is checked afresh). In the same
// transaction it hides the track (Status missing) or shows it again (any
// other status), appending it to the outbox when that changes what lists
// show. It reports whether the track's visibility changed.
func (s *Store) SaveAudioCheck(ctx context.Context, c relay.AudioCheck) (bool, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("starting audio check save: %w", err)
	}
	defer tx.Rollback()
	key := []any{c.DID.String(), c.Collection.String(), c.RKey.String()}
	var checked int64
	if !c.CheckedAt.IsZero() {
		checked = c.CheckedAt.UnixMicro()
	}
	res, err := tx.ExecContext(ctx, `
UPDATE audio_checks SET audio_url = ?, status = ?, misses = ?, checked_at = ?, next_at = ?
WHERE did = ? AND collection = ? AND rkey = ? AND EXISTS (
	SELECT 1 FROM tracks t WHERE t.did = audio_checks.did AND t.collection = audio_checks.collection
	AND t.rkey = audio_checks.rkey AND t.deleted = 0 AND t.audio_url = ?)`,
		append(append([]any{c.AudioURL, string(c.Status), c.Misses, checked, c.NextAt.UnixMicro()}, key...), c.AudioURL)...)
	if err != nil {
		return false, fmt.Errorf("saving audio check of %s: %w", c.URI(), err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err // the track changed or went: nothing to save
	}
	missing := c.Status == relay.AudioMissing
	res, err = tx.ExecContext(ctx, `UPDATE tracks SET audio_missing = ? WHERE did = ? AND collection = ? AND rkey = ? AND audio_missing != ?`,
		append(append([]any{missing}, key...), missing)...)
	if err != nil {
		return false, fmt.Errorf("marking audio of %s: %w", c.URI(), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("reading rows affected: %w", err)
	}
	if n > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (did, collection, rkey) VALUES (?, ?, ?)`, key...); err != nil {
			return false, fmt.Errorf("appending to outbox: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("committing audio check of %s: %w", c.URI(), err)
	}
	return n > 0, nil
}
