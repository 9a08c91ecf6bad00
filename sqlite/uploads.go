package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ReserveUpload records an upload of size bytes by did at now, if admit,
// shown the did's uploads of the window before now (their times and sizes,
// oldest first), returns nil; admit's error is returned as it is and records
// nothing. size 0 only asks admit. Reading, admit and the insert are one
// write transaction, so two concurrent uploads of one user cannot both take
// the last place. Rows of did out of the window are pruned on the way. The
// id returned is the reservation's, for ReleaseUpload (0 when size is 0).
func (s *Store) ReserveUpload(ctx context.Context, did string, now time.Time, size int64, window time.Duration, admit func(at []time.Time, bytes []int64) error) (int64, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("reserving an upload of %s: %w", did, err)
	}
	defer tx.Rollback()
	since := now.Add(-window).UnixMicro()
	rows, err := tx.QueryContext(ctx, `SELECT at, bytes FROM uploads WHERE did = ? AND at > ? ORDER BY at`, did, since)
	if err != nil {
		return 0, fmt.Errorf("reading uploads of %s: %w", did, err)
	}
	var (
		ats   []time.Time
		sizes []int64
	)
	for rows.Next() {
		var at, n int64
		if err := rows.Scan(&at, &n); err != nil {
			rows.Close()
			return 0, fmt.Errorf("reading uploads of %s: %w", did, err)
		}
		ats, sizes = append(ats, time.UnixMicro(at)), append(sizes, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("reading uploads of %s: %w", did, err)
	}
	if err := admit(ats, sizes); err != nil {
		return 0, err
	}
	if size == 0 {
		return 0, nil
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO uploads (did, at, bytes) VALUES (?, ?, ?)`, did, now.UnixMicro(), size)
	if err != nil {
		return 0, fmt.Errorf("recording an upload of %s: %w", did, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("recording an upload of %s: %w", did, err)
	}
	// Rows out of every window are of no use to anyone.
	if _, err := tx.ExecContext(ctx, `DELETE FROM uploads WHERE did = ? AND at <= ?`, did, since); err != nil {
		return 0, fmt.Errorf("pruning uploads of %s: %w", did, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("recording an upload of %s: %w", did, err)
	}
	return id, nil
}

// ReleaseUpload forgets the reservation id (an upload that stored nothing);
// 0, or one already gone, is no error.
func (s *Store) ReleaseUpload(ctx context.Context, id int64) error {
	if id == 0 {
		return nil
	}
	if _, err := s.w.ExecContext(ctx, `DELETE FROM uploads WHERE rowid = ?`, id); err != nil {
		return fmt.Errorf("releasing upload %d: %w", id, err)
	}
	return nil
}

// ObjectReferenced reports whether a live (not deleted) track names the
// object at objURL as its audio or image URL or, when sha is not empty,
// carries it as its record's audioSha256. An empty objURL names nothing
// (a track without artwork has an empty image_url). One EXISTS per column,
// so that each could use a partial index of its own (see refQuery for why
// schema.sql has none).
func (s *Store) ObjectReferenced(ctx context.Context, objURL, sha string) (bool, error) {
	var used bool
	err := s.r.QueryRowContext(ctx, refQuery, objURL, sha).Scan(&used)
	if err != nil {
		return false, fmt.Errorf("looking for tracks naming %s: %w", objURL, err)
	}
	return used, nil
}

// refQuery is ObjectReferenced's: ?1 the URL, ?2 the sha256. It scans
// tracks (0.4-0.7 s at 100k, BenchmarkObjectReferenced): indexes on
// audio_url, image_url and the record's audioSha256 made it 0.5 ms but
// took ingest from 28k to 16k events/s (BenchmarkApplyBatch, same run),
// for a question asked only on deletes and failed publishes. The way out
// is a table of this instance's own media keys kept by the apply path.
const refQuery = `
SELECT (?1 != '' AND (EXISTS (SELECT 1 FROM tracks WHERE audio_url = ?1 AND deleted = 0)
                    OR EXISTS (SELECT 1 FROM tracks WHERE image_url = ?1 AND image_url != '' AND deleted = 0)))
    OR (?2 != '' AND EXISTS (SELECT 1 FROM tracks WHERE json_extract(record, '$.audioSha256') = ?2 AND deleted = 0))`

// TrackMedia returns the audio and image URLs of the live track
// did/collection/rkey; ok is false when there is none.
func (s *Store) TrackMedia(ctx context.Context, did, collection, rkey string) (audioURL, imageURL string, ok bool, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT audio_url, image_url FROM tracks WHERE did = ? AND collection = ? AND rkey = ? AND deleted = 0`, did, collection, rkey).Scan(&audioURL, &imageURL)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", "", false, nil
	case err != nil:
		return "", "", false, fmt.Errorf("reading the media of %s/%s/%s: %w", did, collection, rkey, err)
	}
	return audioURL, imageURL, true, nil
}
