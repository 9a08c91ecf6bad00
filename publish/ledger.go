package publish

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

// Ledger is what publish reads and writes of relay's SQLite database: the
// uploads table (schema v5) for the hourly limits, and the tracks table to
// tell whether an object is still referenced. It opens the database file
// the store keeps (the store has no methods for either yet); writes go
// through one connection, which waits on the store's writer
// (busy_timeout) rather than failing.
type Ledger struct {
	db *sql.DB
}

// OpenLedger opens the SQLite database at path (datadir.StorePath), which
// the store has already created and migrated.
func OpenLedger(ctx context.Context, path string) (*Ledger, error) {
	params := url.Values{}
	params.Set("_journal_mode", "WAL")
	params.Set("_busy_timeout", "10000")
	params.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite3", "file:"+path+"?"+params.Encode())
	if err != nil {
		return nil, fmt.Errorf("publish: opening %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("publish: opening %s: %w", path, err)
	}
	return &Ledger{db: db}, nil
}

// Close closes the database.
func (l *Ledger) Close() error { return l.db.Close() }

// Limits are the per-user bounds over a sliding window.
type Limits struct {
	Uploads int
	Bytes   int64
	Window  time.Duration
}

// ErrRateLimited is Reserve's error past a limit; RetryAfter says when to
// try again.
type ErrRateLimited struct {
	RetryAfter time.Duration
	What       string
}

func (e *ErrRateLimited) Error() string {
	return fmt.Sprintf("%s; try again in %d s", e.What, retrySeconds(e.RetryAfter))
}

func retrySeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// Reserve counts an upload of size bytes by did at now, unless it would
// cross lim within the window: then it is an *ErrRateLimited, whose
// RetryAfter is when enough of the window's oldest uploads leave it. size 0
// checks the count only and records nothing. Check and insert are one
// transaction, so concurrent uploads of one user cannot both pass the last
// place. The returned id releases the reservation (Release).
func (l *Ledger) Reserve(ctx context.Context, did string, now time.Time, size int64, lim Limits) (int64, error) {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("publish: reserving an upload: %w", err)
	}
	defer tx.Rollback()
	since := now.Add(-lim.Window)
	rows, err := tx.QueryContext(ctx, `SELECT at, bytes FROM uploads WHERE did = ? AND at > ? ORDER BY at`, did, since.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("publish: reading uploads: %w", err)
	}
	type up struct{ at, bytes int64 }
	var ups []up
	var total int64
	for rows.Next() {
		var u up
		if err := rows.Scan(&u.at, &u.bytes); err != nil {
			rows.Close()
			return 0, fmt.Errorf("publish: reading uploads: %w", err)
		}
		ups = append(ups, u)
		total += u.bytes
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("publish: reading uploads: %w", err)
	}
	leaves := func(u up) time.Duration { return time.UnixMicro(u.at).Add(lim.Window).Sub(now) }
	if len(ups) >= lim.Uploads {
		// The place frees when the upload that many back leaves the window.
		return 0, &ErrRateLimited{RetryAfter: leaves(ups[len(ups)-lim.Uploads]), What: fmt.Sprintf("at most %d uploads an hour", lim.Uploads)}
	}
	if total+size > lim.Bytes {
		if size > lim.Bytes {
			return 0, &ErrRateLimited{RetryAfter: lim.Window, What: fmt.Sprintf("at most %d MB an hour", lim.Bytes>>20)}
		}
		need := total + size - lim.Bytes
		for _, u := range ups {
			need -= u.bytes
			if need <= 0 {
				return 0, &ErrRateLimited{RetryAfter: leaves(u), What: fmt.Sprintf("at most %d MB an hour", lim.Bytes>>20)}
			}
		}
	}
	if size == 0 {
		return 0, nil
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO uploads (did, at, bytes) VALUES (?, ?, ?)`, did, now.UnixMicro(), size)
	if err != nil {
		return 0, fmt.Errorf("publish: recording an upload: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("publish: recording an upload: %w", err)
	}
	// Rows out of every window are of no use to anyone.
	if _, err := tx.ExecContext(ctx, `DELETE FROM uploads WHERE did = ? AND at <= ?`, did, since.UnixMicro()); err != nil {
		return 0, fmt.Errorf("publish: pruning uploads: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("publish: recording an upload: %w", err)
	}
	return id, nil
}

// Release forgets the reservation id: the upload it counted stored nothing.
func (l *Ledger) Release(ctx context.Context, id int64) error {
	if id == 0 {
		return nil
	}
	if _, err := l.db.ExecContext(ctx, `DELETE FROM uploads WHERE rowid = ?`, id); err != nil {
		return fmt.Errorf("publish: releasing an upload: %w", err)
	}
	return nil
}

// Referenced reports whether a live track names the object at objURL (as
// its audio or image URL) or, for audio, carries its sha256. The columns
// have no index: a scan of the tracks table, once per failed publish or
// delete.
func (l *Ledger) Referenced(ctx context.Context, objURL, sha string) (bool, error) {
	var one int
	err := l.db.QueryRowContext(ctx, `SELECT 1 FROM tracks WHERE deleted = 0 AND (audio_url = ?1 OR image_url = ?1 OR (?2 != '' AND json_extract(record, '$.audioSha256') = ?2)) LIMIT 1`, objURL, sha).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("publish: looking for tracks naming %s: %w", objURL, err)
	}
	return true, nil
}

// Media is the audio and image URLs of the live track did/collection/rkey;
// ok is false when there is none.
func (l *Ledger) Media(ctx context.Context, did, collection, rkey string) (audioURL, imageURL string, ok bool, err error) {
	err = l.db.QueryRowContext(ctx, `SELECT audio_url, image_url FROM tracks WHERE did = ? AND collection = ? AND rkey = ? AND deleted = 0`, did, collection, rkey).Scan(&audioURL, &imageURL)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", "", false, nil
	case err != nil:
		return "", "", false, fmt.Errorf("publish: reading track %s/%s/%s: %w", did, collection, rkey, err)
	}
	return audioURL, imageURL, true, nil
}
