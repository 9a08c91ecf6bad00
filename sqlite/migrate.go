package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/relaymusic/relay"
)

// schemaVersion is stored in SQLite's user_version. 0 is a new file or one
// made before versions were kept.
//
//	1: actors holds only accounts with tracks or tombstones, and the handle
//	   resolver's columns.
//	2: actors.handle_recheck, and the resolver's index covers rechecks.
//	3: a track is its at-uri: tracks keyed (did, collection, rkey), the feed
//	   index and the outbox carry the collection.
//	4: tracks.audio_missing; the plays and audio_checks tables (new tables
//	   are made by the schema itself).
//	5: auth_sessions, oauth_sessions, oauth_requests and uploads (new
//	   tables only).
//	6: actors.track_count, kept by triggers on tracks (the schema makes
//	   them); counted once here.
const schemaVersion = 6

// migrate brings a database made under an older schema up to the current
// one, in one transaction with the version bump (SQLite's DDL is
// transactional: a crash leaves the old shape whole). A new file only gets
// its version.
func migrate(ctx context.Context, db *sql.DB) error {
	var v int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	if v >= schemaVersion {
		return nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning migration: %w", err)
	}
	defer tx.Rollback()
	// Again under the write lock: a relay backfill opening the same file
	// at the same moment may have migrated it while we waited.
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("reading schema version: %w", err)
	}
	if v >= schemaVersion {
		return nil
	}
	// Tracks first: the actors step applies the current schema, whose feed
	// index names tracks.collection. It goes by the table's shape, not the
	// version, so an older file whose tracks already have the column (a
	// test's) is left as it is.
	hasCollection, err := hasColumn(ctx, tx, "tracks", "collection")
	if err != nil {
		return err
	}
	hasTracks, err := hasTable(ctx, tx, "tracks")
	if err != nil {
		return err
	}
	if hasTracks && !hasCollection {
		if err := tracksWithCollection(ctx, tx); err != nil {
			return err
		}
	}
	// Version 4's column. Version 3's rebuild above made tracks without it
	// too, so this goes by the shape as well.
	if hasTracks {
		hasAudio, err := hasColumn(ctx, tx, "tracks", "audio_missing")
		if err != nil {
			return err
		}
		if !hasAudio {
			if _, err := tx.ExecContext(ctx, `ALTER TABLE tracks ADD COLUMN audio_missing INTEGER NOT NULL DEFAULT 0`); err != nil {
				return fmt.Errorf("migrating tracks to audio checks: %w", err)
			}
		}
	}
	hasActors, err := hasTable(ctx, tx, "actors")
	if err != nil {
		return err
	}
	// Version 1 rebuilds actors in the current shape, so a version 0 file
	// needs no later step for that table.
	if hasActors && v < 1 {
		if err := actorsWithTracks(ctx, tx); err != nil {
			return err
		}
	} else if hasActors && v < 2 {
		if err := handleRecheck(ctx, tx); err != nil {
			return err
		}
	}
	if hasActors && v < 6 {
		if err := actorTrackCounts(ctx, tx); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
		return fmt.Errorf("saving schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing migration: %w", err)
	}
	return nil
}

// actorsWithTracks (version 1) rebuilds actors with only the accounts that
// have tracks or tombstones, each of them with a row. The old table held the
// whole network's accounts (5 GB at 40M): it is read only through the
// accounts with tracks and dropped whole, which costs what the tracks cost,
// not a 40M-row delete (measured: 2.6 s for 1M old rows beside 10k artists,
// most of it freeing the old table's pages). The file keeps the freed pages
// for reuse; VACUUM, with relay stopped, returns them to the disk.
func actorsWithTracks(ctx context.Context, tx *sql.Tx) error {
	start := time.Now()
	for _, q := range []string{
		// The count triggers (version 6) name actors' columns; the schema
		// below makes them again over the new table.
		`DROP TRIGGER IF EXISTS tracks_count_insert`,
		`DROP TRIGGER IF EXISTS tracks_count_update`,
		`DROP TRIGGER IF EXISTS tracks_count_delete`,
		`ALTER TABLE actors RENAME TO actors_v0`,
		relay.Schema,
		`INSERT INTO actors (did, handle, active, status, updated_at)
SELECT t.did, COALESCE(a.handle, ''), COALESCE(a.active, 1), COALESCE(a.status, ''), COALESCE(a.updated_at, 0)
FROM (SELECT DISTINCT did FROM tracks) t LEFT JOIN actors_v0 a ON a.did = t.did`,
		`DROP TABLE actors_v0`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("migrating actors to accounts with tracks: %w", err)
		}
	}
	var kept int64
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM actors`).Scan(&kept); err != nil {
		return fmt.Errorf("counting migrated actors: %w", err)
	}
	slog.Info("sqlite: actors migrated to accounts with tracks", "kept", kept, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// handleRecheck (version 2) adds the column an identity event without a
// handle sets, and replaces the resolver's index with one that also covers
// the accounts it marks. Adding a column with a constant default rewrites no
// row; the new index is built when the schema is applied, after this.
func handleRecheck(ctx context.Context, tx *sql.Tx) error {
	for _, q := range []string{
		`ALTER TABLE actors ADD COLUMN handle_recheck INTEGER NOT NULL DEFAULT 0`,
		`DROP INDEX IF EXISTS actors_handle_todo`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("migrating actors to handle rechecks: %w", err)
		}
	}
	return nil
}

// tracksWithCollection (version 3) makes a track its at-uri. tracks is
// rebuilt keyed (did, collection, rkey), every row copied as an
// app.relay.track, the only collection indexed before; the outbox gains the
// column, its entries filled the same way. Rows keep their revs, so
// tombstones still block older creates, and the outbox keeps its sequence
// numbers (AUTOINCREMENT's counter is untouched), so the search index
// resumes where it was. The table below is version 3's, frozen here: the
// schema applied after the migration creates nothing it already has.
func tracksWithCollection(ctx context.Context, tx *sql.Tx) error {
	start := time.Now()
	const cols = `did, rkey, rev, deleted, cid, title, artist, album, genre, tags, description,
	duration, file_type, audio_url, image_url, features, record, created_at, indexed_at, sort_at`
	for _, q := range []string{
		`ALTER TABLE tracks RENAME TO tracks_v2`,
		// The index moved with the table; the new one is made by the schema.
		`DROP INDEX IF EXISTS tracks_feed`,
		`CREATE TABLE tracks (
	did         TEXT    NOT NULL,
	collection  TEXT    NOT NULL,
	rkey        TEXT    NOT NULL,
	rev         TEXT    NOT NULL,
	deleted     INTEGER NOT NULL DEFAULT 0,
	cid         TEXT    NOT NULL DEFAULT '',
	title       TEXT    NOT NULL DEFAULT '',
	artist      TEXT    NOT NULL DEFAULT '',
	album       TEXT    NOT NULL DEFAULT '',
	genre       TEXT    NOT NULL DEFAULT '',
	tags        TEXT    NOT NULL DEFAULT '[]',
	description TEXT    NOT NULL DEFAULT '',
	duration    INTEGER,
	file_type   TEXT    NOT NULL DEFAULT '',
	audio_url   TEXT    NOT NULL DEFAULT '',
	image_url   TEXT    NOT NULL DEFAULT '',
	features    TEXT    NOT NULL DEFAULT '[]',
	record      TEXT    NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL DEFAULT 0,
	indexed_at  INTEGER NOT NULL,
	sort_at     INTEGER NOT NULL,
	PRIMARY KEY (did, collection, rkey)
)`,
		`INSERT INTO tracks (collection, ` + cols + `) SELECT '` + relay.TrackCollection + `', ` + cols + ` FROM tracks_v2`,
		`DROP TABLE tracks_v2`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("migrating tracks to at-uri keys: %w", err)
		}
	}
	hasOutbox, err := hasTable(ctx, tx, "outbox")
	if err != nil {
		return err
	}
	outboxHas, err := hasColumn(ctx, tx, "outbox", "collection")
	if err != nil {
		return err
	}
	if hasOutbox && !outboxHas {
		for _, q := range []string{
			`ALTER TABLE outbox ADD COLUMN collection TEXT NOT NULL DEFAULT ''`,
			`UPDATE outbox SET collection = '` + relay.TrackCollection + `'`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("migrating outbox to at-uri keys: %w", err)
			}
		}
	}
	var n int64
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tracks`).Scan(&n); err != nil {
		return fmt.Errorf("counting migrated tracks: %w", err)
	}
	slog.Info("sqlite: tracks migrated to at-uri keys", "tracks", n, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// actorTrackCounts (version 6) gives actors the count its triggers keep
// from now on, counted once from tracks. Version 1's rebuild made the
// column already (the current schema); the count is made either way.
func actorTrackCounts(ctx context.Context, tx *sql.Tx) error {
	has, err := hasColumn(ctx, tx, "actors", "track_count")
	if err != nil {
		return err
	}
	if !has {
		if _, err := tx.ExecContext(ctx, `ALTER TABLE actors ADD COLUMN track_count INTEGER NOT NULL DEFAULT 0`); err != nil {
			return fmt.Errorf("migrating actors to track counts: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE actors SET track_count =
	(SELECT COUNT(*) FROM tracks t WHERE t.did = actors.did AND t.deleted = 0 AND t.audio_missing = 0)`); err != nil {
		return fmt.Errorf("counting artists' tracks: %w", err)
	}
	return nil
}

func hasTable(ctx context.Context, tx *sql.Tx, name string) (bool, error) {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, name).Scan(&n); err != nil {
		return false, fmt.Errorf("reading schema: %w", err)
	}
	return n == 1, nil
}

// hasColumn reports whether table has column (false when there is no table).
func hasColumn(ctx context.Context, tx *sql.Tx, table, column string) (bool, error) {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`, table, column).Scan(&n); err != nil {
		return false, fmt.Errorf("reading schema of %s: %w", table, err)
	}
	return n == 1, nil
}
